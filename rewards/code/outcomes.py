"""Outcomes of one completion and the score each one gets: ``None`` for faults of the row or the
jury alone, never for a completion that failed.

The trainer turns a ``None`` into a zero advantage, so a ``None`` paid to a wrong program lets it
escape its negative reward. The rule: a verdict is ``None`` only when the failure would have
happened whatever the program did (the row cannot be scored, a service is down, a checker fails on
the expected answer itself); a failure that the program's output or behaviour caused or could
have caused is a failed check, scored like any other (0 for that check). Every path charges a
failure through :func:`charge`, and scores through :func:`score`.
"""

from __future__ import annotations

OUTCOMES = ("no_code", "compile_error", "timeout", "runtime_error", "wrong_answer", "passed", "service_error",
            "dataset_error", "judge_error")
JURY_FAULTS = frozenset({"service_error", "dataset_error", "judge_error"})  # scored None
SEVERITY = ("compile_error", "timeout", "runtime_error", "wrong_answer")  # the first one seen names the outcome


def is_jury_fault(outcome: str) -> bool:
    return outcome in JURY_FAULTS


def charge(fault: str, *, program_free: bool, failure: str = "wrong_answer") -> str:
    """The outcome of a failure on the jury's side (a checker, an interactor, the test code, a
    service): ``fault`` (one of :data:`JURY_FAULTS`) only when ``program_free`` (it happens
    without the program: on the expected answer, on a run that never reached the program, on a
    row read before anything ran), else ``failure`` (a 0 for the check, never ``None``)."""
    if fault not in JURY_FAULTS:
        raise ValueError(f"{fault!r} is not a jury fault; one of {sorted(JURY_FAULTS)}")
    return fault if program_free else failure


def worst(outcomes) -> str:
    """The outcome of a completion from the outcomes of its tests (all passed: ``passed``)."""
    seen = set(outcomes)
    for fault in ("service_error", "dataset_error", "judge_error"):
        if fault in seen:
            return fault
    return next((o for o in SEVERITY if o in seen), "passed")


def score(outcome: str, passed: int, checks: int, binary: bool = False) -> float | None:
    """The reward of a completion: ``None`` for a jury fault, 0.0 without code or when it does not
    compile or no check exists, else the share ``passed / checks`` (``binary``: 1.0 only when every
    check passed). ``checks`` is fixed by the tests before the program runs; a check that never
    ran (the program raised, stalled or exited first) is a failed one."""
    if outcome in JURY_FAULTS:
        return None
    if outcome in ("no_code", "compile_error") or checks <= 0:
        return 0.0
    if not 0 <= passed <= checks:
        raise ValueError(f"passed checks ({passed}) must lie in [0, {checks}]")
    if binary:
        return float(passed == checks and outcome == "passed")
    return passed / checks
