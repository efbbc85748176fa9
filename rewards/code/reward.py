"""Code-execution rewards: run the completion's program against tests, locally or on a service.

The program is the last fenced code block tagged for the row's language (its name or an alias:
```` ```cpp ````, ```` ```c++ ````, ```` ```js ````, ```` ```rs ```` ...; see
:mod:`rewards.code.languages`) or untagged. Languages: Python, C++, C, Java (``public class Main``),
JavaScript, Rust, and any registered with :func:`rewards.code.languages.register_language`.

Tests come from the dataset column ``verification_info``, in the layouts of
:mod:`rewards.code.rows` (stdin/stdout ``test_cases``, APPS/TACO ``input_output``, call-based
``fn_name``, assert-style ``test_code``); the row's ``language`` key names its language, else the
reward's ``language`` does. Stdin/stdout: one run per case; a case passes when the program exits 0
and its output matches (``compare``: ``lines`` by default, or ``tokens``: integers exact, decimals
within a tolerance; set per reward or per row). Call-based (APPS / TACO / LiveCodeBench
function-call problems): each input is the list of arguments; ``fn_name`` is a top-level function
or a method of class ``Solution``; the return value is serialised in the sandbox and compared here
by ``rewards.code._checks.same`` (tuples are lists, ``True`` is not ``1``, floats within 1e-9).
One run for all cases; a case that takes longer than ``wall_seconds`` fails it and every case
after it. Assert-style: the test code runs in an interpreter of its own, apart from the program's
(:mod:`rewards.code.split`); each check that runs (an ``assert``, a ``unittest`` case, HumanEval's
``check(candidate)`` called with the row's ``entry_point``) counts.

``code_execution`` scores the share of tests passed (stdin/stdout cases, call-based cases, or the
checks that ran); ``code_execution_binary`` 1.0 only when all pass. A completion without a code
block, or whose program does not compile, scores 0.0; one whose tests the *service* could not run,
or whose row ran no check at all or cannot run split (``dataset_error``, logged with the row),
scores ``None``.

Each completion gets one outcome, counted per batch (``CodeExecution.last_outcomes``, the running
``CodeExecution.totals``, and TRL's metrics ``code/<outcome>`` as the batch's share when the
trainer passes ``log_metric``): ``no_code``, ``compile_error``, ``timeout``, ``runtime_error``,
``wrong_answer`` (the first three, in that order, win over a wrong answer in another case),
``passed`` (every test), ``service_error``, ``dataset_error``, ``judge_error`` (a checker or
interactor failed: scored ``None``).

Rows with a ``checker``, an ``interactor``, ``subtasks`` or a ``grader`` are judged problems
(:mod:`rewards.code.judge_rows`, scored by :mod:`rewards.code.judge`; docs/judges.md).

Backends (``backend=``): ``local`` (default; :mod:`rewards.code.sandbox` on this machine) or a sandbox
service: ``sandbox_fusion`` or ``piston`` with ``url=`` (:mod:`rewards.code.backends`: retries,
back-off, a time-out per request). Services run stdin/stdout tests only.

Threat model (the program is written by a policy that is paid for passing; docs/code.md has the
whole of it and the attacks tested): a verdict never comes from the program's exit status or from
anything it prints or writes, except stdin/stdout tests, where the expected output never enters
the sandbox and the exit status must also be 0. Call-based tests run under a harness
(``rewards.code._harness``) that reports each return value over a separate pipe, signed per run;
the expected outputs never enter the sandbox, so a forged report cannot hold a right value.
Assert-style tests never share an interpreter with the program: the program's sandbox answers
calls with plain data, the assertions are evaluated and counted in the test code's own sandbox,
and the report comes from there, so nothing the program does to its interpreter (builtins,
frames, closures, gc finalisers, signals, its memory) reaches the verdict. The sandbox's own
guarantees (no network, no host files or processes, bounded memory, disk, processes and time,
compilers included) are in ``rewards.code.sandbox``; a remote service's are its own.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import _checks, judge, outcomes as _outcomes, sandbox
from .compare import outputs_match, values_equal
from .extract import encodable, extract_code
from .split import run_split
from .backends import BACKENDS, Backend, LocalBackend, Prepared, Run
from .judge_rows import is_judged, parse_problem
from .rows import RowFormatError, Tests, parse_tests  # noqa: F401 - re-exported
from .languages import CompileLimits, Language, get_language  # noqa: F401 - re-exported
from ..registry import register
from ..text import completion_text

logger = logging.getLogger(__name__)

HARNESS = (Path(__file__).parent / "_harness.py").read_text()
OUTCOMES = _outcomes.OUTCOMES
OUTPUT_BYTES = 16 << 20  # stdin/stdout: an output this long or longer fails (it was cut, not compared whole)
CALL_REPORT_BYTES = (16 << 20) + (1 << 20)  # call-based: the harness's report (return values of 16 MiB in all, signed)


def _call_passes(payloads: list[str], tests: Tests) -> int:
    """Cases passed, from a verified report of a call-based run (0 if it is out of order)."""
    passed = 0
    for i, line in enumerate(payloads):
        kind, _, rest = line.partition(" ")
        index, _, value = rest.partition(" ")
        if kind in ("t", "x", "fin", "end"):
            break
        if kind not in ("r", "e") or index != str(i) or i >= tests.count:
            return 0
        if kind == "r":
            try:
                got = _checks.decode(value)
            except (ValueError, RecursionError):
                return 0
            expected = tests.outputs[i]
            passed += values_equal(got, expected) or (
                tests.unwrap_single and isinstance(expected, list) and len(expected) == 1
                and values_equal(got, expected[0]))
    return passed


def _harness_outcome(payloads: list[str], passed: int, tests: Tests) -> str:
    if passed == tests.count:
        return "passed"
    kinds = {line.partition(" ")[0] for line in payloads}
    return "timeout" if "t" in kinds else "runtime_error" if kinds & {"e", "x"} else "wrong_answer"


class CodeExecution:
    """Share of tests passed by the last code block of the completion, run in a sandbox.

    ``bounds_itself``: every program runs under its own time and memory limits (locally) or a
    request time-out (services), so the trainers call it on the whole batch in the trainer's
    process rather than one completion at a time in the reward pool: programs of the whole batch
    run ``concurrency`` at a time and the batch's outcomes reach TRL's metrics.
    """

    bounds_itself = True

    def __init__(self, language: str = "python", concurrency: int = 2, wall_seconds: float = 5.0,
                 memory_bytes: int = 1 << 30, isolation: str = "namespaces", binary: bool = False,
                 python_executable: str | None = None, compare: str = "lines", backend: str | Backend = "local",
                 url: str | None = None, compile_seconds: float = 30.0, request_timeout: float = 30.0,
                 retries: int = 2, backoff: float = 0.5, testlib: str | None = None):
        self.language = get_language(language).name  # for rows that do not name theirs
        self.testlib = testlib  # a local testlib.h for judged rows' jury programs (docs/judges.md); else $GRPO_EXT_TESTLIB
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if compare not in ("lines", "tokens"):
            raise ValueError(f"compare must be 'lines' or 'tokens', got {compare!r}")
        self.concurrency, self.isolation, self.binary, self.compare = concurrency, isolation, binary, compare
        self.wall_seconds = wall_seconds
        self.limits = sandbox.Limits(wall_seconds=wall_seconds, cpu_seconds=max(1, int(wall_seconds) + 1),
                                     memory_bytes=memory_bytes, total_memory_bytes=memory_bytes,
                                     output_bytes=OUTPUT_BYTES)
        self.python_executable = python_executable
        self.local = LocalBackend(self.limits, CompileLimits(wall_seconds=compile_seconds), isolation, python_executable)
        if isinstance(backend, Backend):
            self.backend = backend
        elif backend == "local":
            if url is not None:
                raise ValueError("url is for the remote backends ('sandbox_fusion', 'piston'), not 'local'")
            self.backend = self.local
        elif backend in BACKENDS:
            if url is None:
                raise ValueError(f"backend {backend!r} needs url='http://host:port'")
            self.backend = BACKENDS[backend](url, timeout=request_timeout, retries=retries, backoff=backoff,
                                             run_seconds=wall_seconds, compile_seconds=compile_seconds,
                                             memory_mb=memory_bytes >> 20)
        else:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)} or a Backend, got {backend!r}")
        self.last_outcomes: list[str] = []
        self.totals: Counter[str] = Counter()

    # -- running -------------------------------------------------------------------------------
    def _call_based(self, prepared: Prepared, tests: Tests, row: int) -> tuple[int, int, str]:
        """Run call-based tests under the harness: (cases passed, cases, outcome)."""
        tools = self.local.toolchain(prepared.language)
        key = os.urandom(32)
        spec = {"key": key.hex(), "program": prepared.code, "case_seconds": self.wall_seconds,
                "fn_name": tests.fn_name, "inputs": list(tests.inputs)}
        calls = len(tests.inputs)
        limits = sandbox.Limits(**{**self.limits.__dict__, "wall_seconds": self.wall_seconds * (calls + 1) + 2,
                                   "cpu_seconds": self.limits.cpu_seconds * calls})
        result = sandbox.run({"harness.py": HARNESS}, [tools.run[0], "-I", "harness.py"], stdin=json.dumps(spec),
                             limits=limits, isolation=self.isolation, channel=True, read_only=tools.read_only,
                             channel_bytes=CALL_REPORT_BYTES)
        payloads = _checks.signed_lines(result.channel, key)
        if not payloads or result.truncated:  # nothing signed (or a forged line): no case is known to pass
            return 0, tests.count, "timeout" if result.timed_out else "runtime_error"
        passed = _call_passes(payloads, tests)  # signed cases before a cut-off keep their verdicts; the rest fail
        if result.timed_out:
            return passed, tests.count, "timeout"
        if payloads[-1] != "end":
            return passed, tests.count, "runtime_error"
        return passed, tests.count, _harness_outcome(payloads, passed, tests)

    def _split(self, prepared: Prepared, tests: Tests, row: int) -> tuple[int, int, str]:
        """Run assert-style tests split from the program (:mod:`rewards.code.split`): (checks held, checks, outcome)."""
        tools = self.local.toolchain(prepared.language)
        limits = sandbox.Limits(**{**self.limits.__dict__, "wall_seconds": self.wall_seconds * 2 + 2,
                                   "cpu_seconds": self.limits.cpu_seconds * 2})
        verdict = run_split(prepared.code, tests.test_code, tests.entry_point, tools.run[0], tools.read_only, limits,
                            budget=self.wall_seconds, isolation=self.isolation, prompt=tests.prompt)
        if verdict.outcome == "dataset_error":
            logger.warning("code reward: row %d cannot be scored (None): %s", row, verdict.detail)
        elif verdict.detail.startswith(("the test side ended", "cannot run split")):
            logger.warning("code reward: row %d: %s", row, verdict.detail)
        return verdict.passed, verdict.checks, verdict.outcome

    def _stdin_case(self, prepared: Prepared, stdin: str, expected: str, compare: str) -> tuple[int, int, str]:
        run: Run = self.backend.execute(prepared, stdin)
        if run.status != "ok":
            return 0, 1, run.status
        if len(run.stdout.encode("utf-8", "replace")) >= OUTPUT_BYTES:
            return 0, 1, "wrong_answer"  # cut at the bound: never compared as if it were whole
        return (1, 1, "passed") if outputs_match(run.stdout, expected, compare) else (0, 1, "wrong_answer")

    def _prepare(self, tests: Tests, code: str) -> Prepared | Run:
        if tests.test_code is not None:  # Python; the program's side reports a syntax error itself
            language = get_language(tests.language)
            return Prepared(language, code, {language.source: code})
        backend = self.local if tests.harnessed else self.backend  # harnessed rows are local only
        try:
            return backend.prepare(get_language(tests.language), code)
        except sandbox.SandboxUnavailable:
            raise
        except OSError as err:
            return Run("service_error" if backend.remote else "runtime_error", detail=str(err))

    def __call__(self, completions, verification_info, log_metric=None) -> list[float | None]:
        """One score per completion. Each row is scored on its own path (judged rows by
        :mod:`rewards.code.judge`, the others here), so a row's verdict never depends on its batch."""
        infos = list(verification_info)
        if len(infos) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(infos)} verification_info values")
        judged = [i for i, info in enumerate(infos) if is_judged(info)]
        plain = [i for i in range(len(infos)) if i not in set(judged)]
        scores, outcomes = [None] * len(infos), [""] * len(infos)
        if judged:
            self._judged(judged, completions, infos, scores, outcomes)
        if plain:
            got = self._plain([completions[i] for i in plain], [infos[i] for i in plain], plain)
            for i, (score, outcome) in zip(plain, got):
                scores[i], outcomes[i] = score, outcome
        self._record(outcomes, log_metric)
        return scores

    def _judged(self, rows, completions, infos, scores, outcomes) -> None:
        """Judged rows (checkers, interactors, subtasks, graders): :mod:`rewards.code.judge`; a
        program that cannot be written as UTF-8 does not compile."""
        sendable = []
        for i in rows:
            try:
                language = parse_problem(infos[i], i, self.language, self.testlib).language
            except RowFormatError as err:  # the row's fault, whatever the program: None, never the batch's end
                scores[i], outcomes[i] = None, "dataset_error"
                logger.warning("code reward: row %d cannot be scored (None): %s", i, err)
                continue
            code = extract_code(completion_text(completions[i]), language)
            if code is not None and not encodable(code):
                scores[i], outcomes[i] = 0.0, "compile_error"
            else:
                sendable.append(i)
        if sendable:
            got, kinds = judge.score_batch(self, [completions[i] for i in sendable], [infos[i] for i in sendable])
            for i, score, outcome in zip(sendable, got, kinds):
                scores[i], outcomes[i] = score, outcome

    def _plain(self, completions, verification_info, rows) -> list[tuple[float | None, str]]:
        """Scores and outcomes of stdin/stdout, call-based and assert-style rows; a malformed row
        (``RowFormatError``: test code that is not Python, unequal inputs and outputs...) scores
        None with its reason logged, and the rest of the batch is scored as usual."""
        parsed: dict[int, Tests] = {}
        for j, (i, info) in enumerate(zip(rows, verification_info)):
            try:
                parsed[j] = parse_tests(info, i, self.language)
            except RowFormatError as err:
                logger.warning("code reward: row %d cannot be scored (None): %s", i, err)
        out: list[tuple[float | None, str]] = [(None, "dataset_error")] * len(rows)
        good = sorted(parsed)
        if good:
            got = self._scored([completions[j] for j in good], [parsed[j] for j in good], [rows[j] for j in good])
            for j, result in zip(good, got):
                out[j] = result
        return out

    def _scored(self, completions, all_tests: list[Tests], rows: list[int]) -> list[tuple[float | None, str]]:
        if self.backend.remote:
            if any(t.harnessed for t in all_tests):
                raise RowFormatError(f"the {self.backend.name} backend runs stdin/stdout tests only; call-based and "
                                     "assert-style rows need backend='local'")
            for language in {t.language for t in all_tests}:
                self.backend.service_language(get_language(language))  # an unsupported one fails before any run
        codes = [extract_code(completion_text(c), t.language) for c, t in zip(completions, all_tests, strict=True)]
        todo = [i for i, code in enumerate(codes) if code is not None and encodable(code)]
        with ThreadPoolExecutor(self.concurrency) as pool:
            prepared = dict(zip(todo, pool.map(lambda i: self._prepare(all_tests[i], codes[i]), todo)))
            jobs, owner = [], []
            for i, ready in prepared.items():
                tests = all_tests[i]
                if isinstance(ready, Run):
                    continue
                if tests.harnessed:
                    jobs.append((self._call_based if tests.fn_name else self._split, (ready, tests, rows[i])))
                    owner.append(i)
                    continue
                compare = tests.compare or self.compare
                for stdin, expected in tests.cases:
                    jobs.append((self._stdin_case, (ready, stdin, expected, compare)))
                    owner.append(i)
            results = list(pool.map(lambda job: job[0](*job[1]), jobs))
        passed, total, seen = [0] * len(completions), [0] * len(completions), [[] for _ in completions]
        for i, (n, of, outcome) in zip(owner, results):
            passed[i] += n
            total[i] += of
            seen[i].append(outcome)
        out = []
        for i, tests in enumerate(all_tests):
            ready = prepared.get(i)
            if codes[i] is None:
                outcome = "no_code"
            elif i not in prepared:
                outcome = "compile_error"  # not writable as UTF-8 (a lone surrogate)
            elif isinstance(ready, Run):
                outcome = ready.status
            else:
                outcome = _outcomes.worst(seen[i])  # a fault of the row or the service; else the worst failure
            out.append((_outcomes.score(outcome, passed[i], total[i], self.binary), outcome))
        return out

    def _record(self, outcomes: list[str], log_metric) -> None:
        self.last_outcomes = outcomes
        self.totals.update(outcomes)
        counts = Counter(outcomes)
        if counts["judge_error"]:
            logger.warning("code reward: a checker or interactor failed on %d of %d completions (scored None)",
                           counts["judge_error"], len(outcomes))
        if counts["dataset_error"]:
            logger.warning("code reward: %d of %d completions met a row that cannot be scored (None; see the "
                           "warnings above for the rows)", counts["dataset_error"], len(outcomes))
        if counts["service_error"]:
            logger.warning("code reward: the %s service failed on %d of %d completions (scored None)",
                           self.backend.name, counts["service_error"], len(outcomes))
        if log_metric is not None and outcomes:
            for name in OUTCOMES:
                log_metric(f"code/{name}", counts[name] / len(outcomes))


@register("code_execution")
class CodeExecutionShare(CodeExecution):
    """Share of tests passed by the completion's last code block, run in a sandbox (local or a service)."""


@register("code_execution_binary")
class CodeExecutionBinary(CodeExecution):
    """1.0 when the completion's last code block passes every test in a sandbox (local or a service), else 0.0."""

    def __init__(self, **kwargs):
        super().__init__(binary=True, **kwargs)
