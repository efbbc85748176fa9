"""Scoring judged code problems (:mod:`rewards.code.judge_rows`) in the sandbox: special judges,
interactors, subtasks and graders. The code rewards call it for a batch that holds judged rows.

Per test, the contestant's program runs in its own sandbox (:mod:`rewards.code.sandbox`) with only the
test's input on stdin. Then, depending on the problem:

- **checker program**: a *second* sandbox holds the checker (compiled once per batch, in the
  sandbox, with the files its row gives, such as ``testlib.h``), the test input, the contestant's
  captured output and the jury's answer; its exit status (and points) is the verdict
  (:mod:`rewards.code.checkers`). The jury's answer and the checker never enter the contestant's
  sandbox, and the contestant's output is only ever data to the checker;
- **built-in checker**: the output is compared here (:data:`rewards.code.checkers.BUILTIN`);
- **interactor**: the interactor and the contestant run at once, each in its own sandbox (own
  namespaces, files, /proc and bounds), connected by two pipes only: the interactor's stdout is
  the contestant's stdin and the contestant's stdout the interactor's stdin. The interactor alone
  holds the test input and the answer; its exit status (a testlib verdict) is the score, and it
  reaches us through the process's exit, not through anything the contestant can write. The
  interactor's wall clock is ``jury_seconds`` past the contestant's, so a contestant that stalls,
  floods or exits early is killed (or gone) first and the interactor reads end of input.

A contestant that times out, crashes or exits non-zero scores 0 for that test whatever the judge
says. A judge that fails (testlib ``_fail``, a crash, a time-out, a malformed score, a checker or
interactor that does not compile) makes the completion's score ``None`` with outcome
``judge_error``: never a pass, never a 0, and counted.

A problem's score is the mean of its tests' scores, or with subtasks the points earned (each
subtask's points times the lowest score among its tests) over all points.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from . import sandbox
from .checkers import Verdict, builtin_verdict, cms_verdict, testlib_verdict
from .backends import LocalBackend, Prepared, Run
from .judge_rows import Problem, Program, parse_problem
from .languages import get_language

logger = logging.getLogger(__name__)

JURY_SECONDS = 10.0  # wall clock of one checker run, and the interactor's margin over the contestant's
JURY_CACHE = 256  # compiled jury programs kept (the least recently used beyond it are dropped)
_BASH = "/bin/bash"
# runs the jury program given as arguments, then hands its result file to the parent over the side channel
_WITH_RESULT = '"$@"; status=$?; cat result.txt >&"$SANDBOX_CHANNEL_FD" 2>/dev/null; exit $status'
_SEVERITY = ("compile_error", "timeout", "runtime_error", "wrong_answer")


@dataclass(frozen=True)
class TestScore:
    score: float | None  # in [0, 1]; None: the judge failed
    outcome: str  # passed, partial, wrong_answer, timeout, runtime_error, judge_error
    detail: str = ""


class Judge:
    """Compiles jury programs once and scores contestants' programs on judged problems."""

    def __init__(self, local: LocalBackend, jury_seconds: float = JURY_SECONDS):
        self.local, self.jury_seconds = local, jury_seconds
        self.jury_backend = LocalBackend(replace(local.limits, wall_seconds=jury_seconds,
                                                 cpu_seconds=int(jury_seconds) + 1),
                                         local.compile_limits, local.isolation, local.python_executable)
        self._jury: OrderedDict[Program, Prepared | str] = OrderedDict()
        self._compiling: dict[Program, threading.Lock] = {}  # one compile per program at a time
        self._lock = threading.Lock()

    # -- preparing --------------------------------------------------------------------------
    def backend(self, problem: Problem) -> LocalBackend:
        """The contestant's backend, under the problem's own time and memory limits when it has them."""
        limits = self.local.limits
        if problem.wall_seconds:
            limits = replace(limits, wall_seconds=problem.wall_seconds, cpu_seconds=int(problem.wall_seconds) + 1)
        if problem.memory_bytes:
            limits = replace(limits, memory_bytes=problem.memory_bytes, total_memory_bytes=problem.memory_bytes)
        if limits == self.local.limits:
            return self.local
        return LocalBackend(limits, self.local.compile_limits, self.local.isolation, self.local.python_executable)

    def prepare(self, problem: Problem, code: str) -> Prepared | Run:
        """Compile the contestant's code (with the grader's files when the problem has a grader)."""
        language = get_language(problem.language)
        if problem.grader is None:
            return self.local.prepare(language, code)
        files, source = dict(problem.grader.files), problem.grader.source
        if language.name == "cpp":
            units = sorted({source, *(n for n in files if n.endswith(".cpp"))})
            flags = language.compile[:language.compile.index("-o")]  # the compiler and its flags
            language = replace(language, source=source, compile=(*flags, "-o", "main", *units))
        else:
            entry = next(n for n, _ in problem.grader.files if n.endswith(".py"))
            language = replace(language, source=source, compile=("python", "-I", "-m", "py_compile", source),
                               run=("python", "-E", "-s", entry))  # not -I: the grader imports the contestant from its folder
        return self.local.prepare(language, code, files=files)

    def jury(self, program: Program) -> Prepared | str:
        """The compiled jury program, or why it could not be compiled (compiled once while cached)."""
        with self._lock:
            compiling = self._compiling.setdefault(program, threading.Lock())
        with compiling:
            with self._lock:
                if program in self._jury:
                    self._jury.move_to_end(program)
                    return self._jury[program]
            ready = self.jury_backend.prepare(get_language(program.language), program.source,
                                              files=dict(program.files))
            if isinstance(ready, Run):
                ready = f"the {program.language} jury program does not compile: {ready.detail[-500:]}"
                logger.warning("code judge: %s", ready)
            with self._lock:
                self._jury[program] = ready
                while len(self._jury) > JURY_CACHE:
                    dropped, _ = self._jury.popitem(last=False)
                    self._compiling.pop(dropped, None)
        return ready

    # -- one test ---------------------------------------------------------------------------
    def test(self, problem: Problem, prepared: Prepared, index: int) -> TestScore:
        if problem.interactor is not None:
            return self._interactive(problem, prepared, index)
        stdin, answer = problem.tests[index]
        run = self.backend(problem).execute(prepared, stdin)
        if run.status != "ok":
            return TestScore(0.0, run.status, run.detail)
        if problem.checker is None:
            name, options = problem.builtin
            return _from_verdict(builtin_verdict(name, dict(options), run.stdout, answer, stdin))
        return _from_verdict(self.check(problem.checker, stdin, run.stdout, answer))

    def check(self, program: Program, stdin: str, output: str, answer: str) -> Verdict:
        """Run a checker program on one test's input, the contestant's output and the answer."""
        ready = self.jury(program)
        if isinstance(ready, str):
            return Verdict(None, "judge_error", ready)
        tools = self.jury_backend.toolchain(ready.language)
        files = {**ready.files, "input.txt": stdin, "output.txt": output, "answer.txt": answer}
        if program.protocol == "cms":
            result = sandbox.run(files, [*tools.run, "input.txt", "answer.txt", "output.txt"],
                                 limits=self.jury_backend.run_limits(ready.language), isolation=self.local.isolation,
                                 read_only=tools.read_only, executables=ready.executables)
            return cms_verdict(None if result.timed_out else result.returncode, result.stdout, result.stderr)
        argv = [_BASH, "-c", _WITH_RESULT, "checker", *tools.run, "input.txt", "output.txt", "answer.txt", "result.txt"]
        result = sandbox.run(files, argv, limits=self.jury_backend.run_limits(ready.language),
                             isolation=self.local.isolation, channel=True, read_only=tools.read_only,
                             executables=ready.executables, channel_bytes=64 << 10)
        return testlib_verdict(None if result.timed_out else result.returncode, result.stdout, result.stderr,
                               result.channel.decode(errors="replace"), program.points_max)

    def _interactive(self, problem: Problem, prepared: Prepared, index: int) -> TestScore:
        program = problem.interactor
        ready = self.jury(program)
        if isinstance(ready, str):
            return TestScore(None, "judge_error", ready)
        stdin, answer = problem.tests[index]
        backend = self.backend(problem)
        tools, jury_tools = backend.toolchain(prepared.language), self.jury_backend.toolchain(ready.language)
        contestant_limits = backend.run_limits(prepared.language)
        jury_limits = replace(self.jury_backend.run_limits(ready.language),
                              wall_seconds=contestant_limits.wall_seconds + self.jury_seconds)
        jury_files = {**ready.files, "input.txt": stdin, "answer.txt": answer}
        jury_argv = [_BASH, "-c", _WITH_RESULT, "interactor", *jury_tools.run, "input.txt", "output.txt",
                     "answer.txt", "result.txt"]
        contestant, interactor = run_connected(
            dict(files=prepared.files, argv=list(tools.run), limits=contestant_limits, read_only=tools.read_only,
                 executables=prepared.executables),
            dict(files=jury_files, argv=jury_argv, limits=jury_limits, read_only=jury_tools.read_only,
                 executables=ready.executables, channel=True, channel_bytes=64 << 10),
            self.local.isolation)
        if contestant.timed_out:
            return TestScore(0.0, "timeout")
        verdict = testlib_verdict(None if interactor.timed_out else interactor.returncode, "", interactor.stderr,
                                  interactor.channel.decode(errors="replace"), program.points_max)
        if not contestant.ok:
            return TestScore(0.0, "wrong_answer" if verdict.score == 0.0 else "runtime_error",
                             f"exit {contestant.returncode} {contestant.exceeded or ''}")
        return _from_verdict(verdict)

    # -- a batch ----------------------------------------------------------------------------
    def score(self, problems: list[Problem], codes: list[str | None], concurrency: int) -> list[tuple[float | None, str]]:
        """(score, outcome) per completion; ``codes[i]`` is None when the completion has no code."""
        todo = [i for i, code in enumerate(codes) if code is not None]
        with ThreadPoolExecutor(concurrency) as pool:
            prepared = dict(zip(todo, pool.map(lambda i: self._prepare_safely(problems[i], codes[i]), todo)))
            jobs = [(i, t) for i, ready in prepared.items() if not isinstance(ready, Run)
                    for t in range(problems[i].count)]
            results = list(pool.map(lambda job: self.test(problems[job[0]], prepared[job[0]], job[1]), jobs))
        per_test: dict[int, list[TestScore]] = {i: [] for i in prepared}
        for (i, _), result in zip(jobs, results):
            per_test[i].append(result)
        out = []
        for i, problem in enumerate(problems):
            ready = prepared.get(i)
            if codes[i] is None:
                out.append((0.0, "no_code"))
            elif isinstance(ready, Run):
                out.append((0.0, ready.status))
            else:
                out.append(aggregate(problem, per_test[i]))
        return out

    def _prepare_safely(self, problem: Problem, code: str) -> Prepared | Run:
        try:
            return self.prepare(problem, code)
        except sandbox.SandboxUnavailable:
            raise
        except OSError as err:
            return Run("runtime_error", detail=str(err))


def _from_verdict(verdict: Verdict) -> TestScore:
    return TestScore(verdict.score, verdict.outcome, verdict.detail)


def aggregate(problem: Problem, tests: list[TestScore]) -> tuple[float | None, str]:
    """The problem's (score, outcome) from its tests' scores, in test order."""
    if any(t.score is None for t in tests):
        return None, "judge_error"
    scores = [t.score for t in tests]
    if problem.subtasks:
        total = sum(s.points for s in problem.subtasks)
        earned = sum(s.points * min(scores[i] for i in s.tests) for s in problem.subtasks)
        score = earned / total
    else:
        score = sum(scores) / len(scores)
    if all(s == 1.0 for s in scores):
        return 1.0, "passed"
    seen = {"wrong_answer" if t.outcome == "partial" else t.outcome for t in tests}
    return score, next((o for o in _SEVERITY if o in seen), "wrong_answer")


def run_connected(contestant: dict, interactor: dict, isolation: str) -> tuple[sandbox.Result, sandbox.Result]:
    """Run two sandboxed programs at once, each one's stdout piped into the other's stdin.

    Each side is ``sandbox.run``'s keyword arguments. A side inherits its two pipe ends (``fds``)
    and bash makes them its stdin and stdout before it becomes the program; each run closes our
    copies, so when one side ends the other reads end of input or gets SIGPIPE.
    """
    to_contestant_r, to_contestant_w = os.pipe()
    to_interactor_r, to_interactor_w = os.pipe()
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(sandbox.run, **_piped(contestant, to_contestant_r, to_interactor_w), isolation=isolation)
        b = pool.submit(sandbox.run, **_piped(interactor, to_interactor_r, to_contestant_w), isolation=isolation)
        return a.result(), b.result()


def _piped(side: dict, read_fd: int, write_fd: int) -> dict:
    """``side`` with its argv run with ``read_fd`` as stdin and ``write_fd`` as stdout."""
    redirect = f'exec "$@" <&{read_fd} >&{write_fd} {read_fd}<&- {write_fd}>&-'
    return dict(side, argv=[_BASH, "-c", redirect, "piped", *side["argv"]], fds=(read_fd, write_fd))


def score_batch(reward, completions, verification_info) -> tuple[list[float | None], list[str]]:
    """(scores, outcomes) of a code reward's batch that holds judged rows. Its plain stdin/stdout
    rows are read as problems with the built-in ``lines`` checker (``float`` at 1e-6 for
    ``compare: tokens``); call-based and assert-style rows cannot share a batch with judged rows."""
    from .extract import extract_code
    from .rows import FLOAT_TOLERANCE, RowFormatError, parse_tests
    from .judge_rows import is_judged
    from ..text import completion_text

    if reward.backend.remote:
        raise RowFormatError(f"the {reward.backend.name} backend cannot run checkers, interactors or graders; "
                             "judged rows need backend='local'")
    problems = []
    for i, info in enumerate(verification_info):
        if is_judged(info):
            problems.append(parse_problem(info, i, reward.language))
            continue
        tests = parse_tests(info, i, reward.language)
        if tests.harnessed:
            raise RowFormatError(f"verification_info of row {i}: call-based and assert-style rows cannot share a batch "
                                 "with judged rows (checker, interactor, subtasks, grader); score them apart")
        tolerance = (("abs_tol", FLOAT_TOLERANCE), ("rel_tol", FLOAT_TOLERANCE))
        builtin = ("lines", ()) if (tests.compare or reward.compare) == "lines" else ("float", tolerance)
        problems.append(Problem(tests.language, tests.cases, builtin=builtin))
    codes = [extract_code(completion_text(c), p.language) for c, p in zip(completions, problems, strict=True)]
    judge = getattr(reward, "_judge", None)
    if judge is None:
        judge = reward._judge = Judge(reward.local)
    results = judge.score(problems, codes, reward.concurrency)
    outcomes = [outcome for _, outcome in results]
    if reward.binary:
        return [None if s is None else float(o == "passed") for s, o in results], outcomes
    return [s for s, _ in results], outcomes
