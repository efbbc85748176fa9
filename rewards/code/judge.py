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
  holds the test input and the answer; its exit status (a testlib verdict) reaches us through the
  process's exit, not through anything the contestant can write. As Codeforces runs interactive
  problems, what the interactor writes to its output file (testlib's ``tout``) is then judged by
  the row's checker; without a checker, a non-empty output file must match the test's answer
  token by token, so an interactor that only relays answers (testlib's interactor-a-plus-b)
  cannot pay a wrong program. The interactor's wall clock is ``jury_seconds`` past the
  contestant's, so a contestant that stalls, floods or exits early is killed (or gone) first and
  the interactor reads end of input; the interactor's stdout goes through a relay
  (:mod:`rewards.code.interactors`), so a last line it writes after the contestant exited
  meets no broken pipe.
- **file mode** (``input_file`` / ``output_file``): the input is also written as that file and the
  contestant's output is read back from its file, by a wrapper in the contestant's own sandbox;
- **grader**: the grader and the contestant run apart, each in its own sandbox, joined by pipes
  that carry calls and values: two interpreters (Python, :mod:`rewards.code.graders`) or two
  programs linked with stubs generated from the task header (C++, :mod:`rewards.code.graders_cpp`);
  the grader's stdout is the output judged. A C++ header the stubs cannot serve: ``None``
  (outcome ``judge_error``, logged with the reason).

A contestant that times out, crashes or exits non-zero scores 0 for that test whatever the judge
says. ``None`` (outcome ``judge_error``, counted) is for faults of the row or the jury only: a
jury program that does not compile, testlib's declared ``_fail``, an interactor that fails while
the contestant behaved, a checker that fails on the jury's *own* answer. When a checker fails
(a crash, a time-out, a malformed score) on the contestant's output, the same checker is run
once on the jury's answer for that test (kept while the judge lives): if it accepts it, the
failure was caused by the contestant's output and the test scores 0.

A problem's score is the mean of its tests' scores, or with subtasks the points earned (each
subtask's points times the lowest score among its tests) over all points.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from . import graders, sandbox
from .outcomes import charge
from .checkers import Verdict, builtin_verdict, cms_verdict, testlib_verdict
from .backends import LocalBackend, Prepared, Run
from .interactors import run_connected
from .judge_rows import Problem, Program, parse_problem
from .languages import get_language

logger = logging.getLogger(__name__)

JURY_SECONDS = 10.0  # wall clock of one checker run, and the interactor's margin over the contestant's
JURY_CACHE = 256  # compiled jury programs kept (the least recently used beyond it are dropped)
SELF_CHECKS = 4096  # the checker's verdicts on the jury's own answers kept, per (checker, test)
_BASH = "/bin/bash"
# runs the jury program given as arguments, then hands its result file to the parent over the side channel
_WITH_RESULT = '"$@"; status=$?; cat result.txt >&"$SANDBOX_CHANNEL_FD" 2>/dev/null; exit $status'
# the same, then a NUL and the interactor's output file (testlib's tout)
_WITH_OUTPUT = ('"$@"; status=$?; { cat result.txt; printf "\\0"; cat output.txt; } >&"$SANDBOX_CHANNEL_FD" 2>/dev/null; '
                'exit $status')
# file mode: the contestant's output file handed back over the channel (its name is $1)
_FILE_OUTPUT = 'out=$1; shift; "$@"; status=$?; cat -- "$out" >&"$SANDBOX_CHANNEL_FD" 2>/dev/null; exit $status'
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
        self._accepts: OrderedDict[tuple, Verdict] = OrderedDict()  # (checker, input, answer) -> verdict
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
        source = problem.grader.source
        if language.name == "cpp":  # compiled with the stub generated from the task header (graders_cpp)
            language = replace(language, source=source)
            _, _, compile_command, files = graders.cpp_programs(language, problem.grader)
            return self.local.prepare(replace(language, compile=compile_command), problem.grader.prelude + code,
                                      files=files)
        language = replace(language, source=source, compile=("python", "-I", "-m", "py_compile", source),
                           run=("python", "-I", source))  # the contestant's module, checked here, run by graders
        return self.local.prepare(language, problem.grader.prelude + code)

    def grader_program(self, problem: Problem) -> Prepared | str:
        """A C++ grader compiled with its stub (once while cached), or why it could not be."""
        language = get_language("cpp")
        compile_command, files, _, _ = graders.cpp_programs(replace(language, source=problem.grader.source),
                                                            problem.grader)
        stub = files.pop(graders.STUB_GRADER)
        program = Program("cpp", stub, tuple(sorted(files.items())), protocol=" ".join(compile_command))
        return self.jury(program, replace(language, source=graders.STUB_GRADER, compile=compile_command))

    def jury(self, program: Program, language=None) -> Prepared | str:
        """The compiled jury program, or why it could not be compiled (compiled once while cached)."""
        with self._lock:
            compiling = self._compiling.setdefault(program, threading.Lock())
        with compiling:
            with self._lock:
                if program in self._jury:
                    self._jury.move_to_end(program)
                    return self._jury[program]
            ready = self.jury_backend.prepare(language or get_language(program.language), program.source,
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
        if problem.grader is not None:
            run = graders.run_graded(self, problem, prepared, stdin)
            if run.status == "judge_error":
                return TestScore(None, "judge_error", run.detail)
        elif problem.input_file or problem.output_file:
            run = self._file_mode(problem, prepared, stdin)
        else:
            run = self.backend(problem).execute(prepared, stdin)
        if run.status != "ok":
            return TestScore(0.0, run.status, run.detail)
        if problem.checker is None:
            name, options = problem.builtin
            return _from_verdict(builtin_verdict(name, dict(options), run.stdout, answer, stdin))
        return _from_verdict(self.check(problem.checker, stdin, run.stdout, answer))

    def _file_mode(self, problem: Problem, prepared: Prepared, stdin: str) -> Run:
        """Run the contestant with the input also in ``input_file``; its output is ``output_file``'s."""
        backend = self.backend(problem)
        tools = backend.toolchain(prepared.language)
        files = dict(prepared.files)
        if problem.input_file:
            files[problem.input_file] = stdin
        argv = list(tools.run)
        if problem.output_file:
            argv = [_BASH, "-c", _FILE_OUTPUT, "contestant", problem.output_file, *argv]
        result = sandbox.run(files, argv, stdin=stdin, limits=backend.run_limits(prepared.language),
                             isolation=self.local.isolation, read_only=tools.read_only,
                             executables=prepared.executables, channel=bool(problem.output_file), channel_bytes=64 << 10)
        output = result.channel.decode(errors="replace") if problem.output_file else result.stdout
        if result.timed_out:
            return Run("timeout", output)
        if not result.ok:
            return Run("runtime_error", output, f"exit {result.returncode} {result.exceeded or ''}")
        return Run("ok", output)

    def check(self, program: Program, stdin: str, output: str, answer: str) -> Verdict:
        """A checker's verdict on one test's input, the contestant's output and the answer; a
        failure the contestant's output caused (the checker accepts the jury's answer) is a 0."""
        verdict = self._run_checker(program, stdin, output, answer)
        if verdict.score is not None or verdict.declared or isinstance(self.jury(program), str):
            return verdict
        jury = self.jury_verdict(program, stdin, answer)
        if charge("judge_error", program_free=jury.score != 1.0) == "wrong_answer":  # the output caused it
            return Verdict(0.0, "wrong_answer", f"the checker fails on this output ({verdict.detail[:200]}) and "
                                                "accepts the jury's answer")
        return Verdict(None, "judge_error", f"{verdict.detail[:200]}; on the jury's own answer: {jury.outcome} "
                                            f"{jury.detail[:200]}")

    def jury_verdict(self, program: Program, stdin: str, answer: str) -> Verdict:
        """The checker's verdict on the jury's own answer (run once per checker and test, kept)."""
        key = (program, stdin, answer)
        with self._lock:
            if key in self._accepts:
                self._accepts.move_to_end(key)
                return self._accepts[key]
        verdict = self._run_checker(program, stdin, answer, answer)
        if verdict.score != 1.0:
            logger.warning("code judge: the checker does not accept the jury's own answer: %s %s", verdict.outcome,
                           verdict.detail[:300])
        with self._lock:
            self._accepts[key] = verdict
            while len(self._accepts) > SELF_CHECKS:
                self._accepts.popitem(last=False)
        return verdict

    def _run_checker(self, program: Program, stdin: str, output: str, answer: str) -> Verdict:
        ready = self.jury(program)
        if isinstance(ready, str):
            return Verdict(None, "judge_error", ready)
        tools = self.jury_backend.toolchain(ready.language)
        files = {**ready.files, "input.txt": stdin, "output.txt": output, "answer.txt": answer}
        if program.protocol == "cms":
            result = sandbox.run(files, [*tools.run, "input.txt", "answer.txt", "output.txt"],
                                 limits=self.jury_backend.run_limits(ready.language), isolation=self.local.isolation,
                                 read_only=tools.read_only, executables=ready.executables)
            return cms_verdict(None if result.timed_out else result.returncode, result.stdout, result.stderr,
                               program.points_max)
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
        jury_argv = [_BASH, "-c", _WITH_OUTPUT, "interactor", *jury_tools.run, "input.txt", "output.txt",
                     "answer.txt", "result.txt"]
        contestant, interactor = run_connected(
            dict(files=prepared.files, argv=list(tools.run), limits=contestant_limits, read_only=tools.read_only,
                 executables=prepared.executables),
            dict(files=jury_files, argv=jury_argv, limits=jury_limits, read_only=jury_tools.read_only,
                 executables=ready.executables, channel=True, channel_bytes=64 << 10),
            self.local.isolation)
        if contestant.timed_out:
            return TestScore(0.0, "timeout")
        result, _, transcript = interactor.channel.decode(errors="replace").partition("\0")
        verdict = testlib_verdict(None if interactor.timed_out else interactor.returncode, "", interactor.stderr,
                                  result, program.points_max)
        if not contestant.ok:
            return TestScore(0.0, "wrong_answer" if verdict.score == 0.0 else "runtime_error",
                             f"exit {contestant.returncode} {contestant.exceeded or ''}")
        if verdict.score is None or verdict.score == 0.0:
            return _from_verdict(verdict)
        return _from_verdict(self._judge_transcript(problem, verdict, stdin, transcript, answer))

    def _judge_transcript(self, problem: Problem, verdict: Verdict, stdin: str, transcript: str, answer: str) -> Verdict:
        """The interactor's output file judged: by the row's checker, else against the answer."""
        if problem.checker is not None:
            checked = self.check(problem.checker, stdin, transcript, answer)
        elif transcript.strip() and not answer.strip():
            return Verdict(None, "judge_error", "the interactor wrote an output file but the row gives no answer to "
                                                "judge it with; add a 'checker' (or the answers)")
        elif transcript.strip():
            checked = builtin_verdict("tokens", {}, transcript, answer, stdin)
        else:
            return verdict
        if checked.score is None or checked.score <= verdict.score:
            return checked
        return verdict

    # -- a batch ----------------------------------------------------------------------------
    def score(self, problems: list[Problem], codes: list[str | None], concurrency: int) -> list[tuple[float | None, str]]:
        """(score, outcome) per completion; ``codes[i]`` is None when the completion has no code."""
        refused = {i: why for i, problem in enumerate(problems) if (why := graders.refusal(problem))}
        for why in sorted(set(refused.values())):
            logger.warning("code judge: completions on a row with a C++ grader score None: %s", why)
        todo = [i for i, code in enumerate(codes) if code is not None and i not in refused]
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
            if i in refused:
                out.append((None, "judge_error"))
            elif codes[i] is None:
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
            problems.append(parse_problem(info, i, reward.language, getattr(reward, "testlib", None)))
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
