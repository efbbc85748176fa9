"""Assert-style tests (``test_code``) run split: the program and the test code each in a sandboxed
interpreter of its own, joined by two pipes that carry plain data only.

::

    program's sandbox                        test code's sandbox                    this process
    _program.py: loads solution.py,  <-- requests (call f / get / set) --   _testside.py: runs tests.py,
    answers calls                    -- values as plain data, or refs -->   evaluates the assertions,
                                                                            counts the checks  -- report -->

Nothing the program does to its own interpreter (builtins, frames, closures, the garbage
collector, signals, its memory) reaches the interpreter where the assertions are evaluated and
counted: the two share no memory, no process and no namespace, and the only thing that crosses
is a line of JSON decoded strictly (:mod:`rewards.code._wire`). The expected values never leave
the test side. The report travels from the test side to this process over the sandbox's channel,
which the program's sandbox is never given, so no signature is needed.

A check is an ``assert`` outside a ``unittest.TestCase`` (each time it runs; a failing one is
recorded and the test code goes on), a ``TestCase`` case (the harness runs every ``TestCase``
class the test code defines; skipped cases do not count), or one failure when the test code
stops on an exception. ``check(candidate)`` rows: with ``entry_point`` the harness calls
``check(<the program's entry_point>)`` unless the test code calls ``check`` itself. The score is
the share of checks that held; zero checks ran is the row's fault (``dataset_error``, ``None``).

What cannot run split (see docs/code.md): test code that passes the program a function or an
object of its own (the row is ``unsupported``: ``dataset_error``, ``None``, logged with the row),
and test code that uses a program's object other than by calling it or reading and setting its
attributes (iterating it, comparing it, ``isinstance`` against the program's class): such checks
fail for every program.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from . import sandbox

_HERE = Path(__file__).parent
PROGRAM_SIDE = (_HERE / "_program.py").read_text()
TEST_SIDE = (_HERE / "_testside.py").read_text()
TEST_PLAN = (_HERE / "_testplan.py").read_text()
TEST_PURE = (_HERE / "_testpure.py").read_text()
TEST_CASES = (_HERE / "_testcases.py").read_text()
TEST_EXEC = (_HERE / "_testexec.py").read_text()
WIRE = (_HERE / "_wire.py").read_text()
for _name, _text in (("_program.py", PROGRAM_SIDE), ("_testside.py", TEST_SIDE), ("_testplan.py", TEST_PLAN),
                     ("_testpure.py", TEST_PURE), ("_testcases.py", TEST_CASES), ("_testexec.py", TEST_EXEC),
                     ("_wire.py", WIRE)):
    compile(_text, _name, "exec")  # a broken side fails here, not as a runtime error on every row


@dataclass(frozen=True)
class Verdict:
    passed: int
    checks: int
    outcome: str  # passed, wrong_answer, runtime_error, timeout, compile_error, dataset_error
    detail: str = ""


def _outcome(report: dict) -> Verdict:
    checks, passed, program = report["checks"], report["passed"], report["program"]
    if type(report.get("row_error")) is str:  # found before the test code ran: the row's fault
        return Verdict(0, 0, "dataset_error", report["row_error"])
    if program in ("load_error SyntaxError", "load_error IndentationError", "load_error TabError"):
        return Verdict(0, max(checks, 1), "compile_error", program)
    if checks == 0:
        return Verdict(0, 0, "dataset_error", "the test code has no check (no assert that reads a name, no unittest "
                                              "case; for check(candidate) tests give 'entry_point')")
    if report.get("unsupported"):  # every program fails the checks it stops; never None (the program may steer to it)
        return Verdict(passed, checks, "runtime_error", f"cannot run split: {report['unsupported']}")
    if passed == checks:
        return Verdict(passed, checks, "passed")
    failed = f"failed at test lines {report['failed_lines']}" if report.get("failed_lines") else ""
    if program == "timeout":
        return Verdict(passed, checks, "timeout", failed)
    if program != "ok" or report.get("raised") or report.get("aborted"):
        what = f"program {program}, {report.get('raised', 0)} calls raised, stopped by {report.get('aborted')}"
        return Verdict(passed, checks, "runtime_error", f"{what}; {failed}")
    return Verdict(passed, checks, "wrong_answer", failed)


def _report(channel: bytes) -> dict | None:
    try:
        report = json.loads(channel.decode().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    ints = all(type(report.get(k)) is int and report[k] >= 0 for k in ("checks", "passed", "raised"))
    return report if ints and report["passed"] <= report["checks"] and type(report.get("program")) is str else None


def run_split(program: str, test_code: str, entry_point: str | None, python: str, read_only: tuple[str, ...],
              limits: sandbox.Limits, budget: float, isolation: str = "namespaces", prompt: str | None = None) -> Verdict:
    """Run ``test_code`` against ``program``; ``budget``: seconds of the program's time (loading
    included) for all the calls together; ``limits`` bound each interpreter's whole run."""
    requests_r, requests_w = os.pipe()
    answers_r, answers_w = os.pipe()
    program_side: dict = {}

    def serve():
        try:
            program_side["result"] = sandbox.run(
                {"_program.py": PROGRAM_SIDE, "_wire.py": WIRE, "solution.py": program, **({"prompt.py": prompt} if prompt else {})},
                [python, "-I", "_program.py", str(requests_r), str(answers_w)],
                limits=limits, isolation=isolation, read_only=read_only, fds=(requests_r, answers_w))
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the caller's thread
            program_side["error"] = err

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        tests = sandbox.run({"_testside.py": TEST_SIDE, "_testplan.py": TEST_PLAN, "_testpure.py": TEST_PURE,
                             "_testcases.py": TEST_CASES, "_testexec.py": TEST_EXEC, "_wire.py": WIRE, "tests.py": test_code},
                            [python, "-I", "_testside.py", str(answers_r), str(requests_w)],
                            stdin=json.dumps({"entry_point": entry_point, "budget": budget, "prompt": prompt}), limits=limits,
                            isolation=isolation, read_only=read_only, channel=True, fds=(answers_r, requests_w))
    finally:
        thread.join()
    if "error" in program_side:
        raise program_side["error"]
    if tests.timed_out:
        return Verdict(0, 1, "timeout", "the test code ran past its time limit")
    report = _report(tests.channel)
    if report is None:
        return Verdict(0, 1, "runtime_error", f"the test side ended without a report: {tests.stderr[-300:]}")
    return _outcome(report)
