"""Graders run apart from the contestant (IOI style: the grader owns ``main``, the contestant writes
functions): Python graders here, C++ graders through stubs generated from the task header
(:mod:`rewards.code.graders_cpp`, run by :func:`run_cpp`).

::

    contestant's sandbox                            grader's sandbox (test input on stdin)
    graders_contestant.py: loads guess.py,  <-- call guess.find(<ask>) --    graders_grader.py: runs grader.py
    answers the grader's calls              -- call ask(50) (a lent fn) -->  as __main__; its stdout is
                                            <-- 1 ----------------------     judged, its report goes to
                                            -- 37 (find's value) ------->    the channel  -- report -->  us

Two interpreters, each in its own sandbox (own namespaces, /proc, files and bounds), joined by
two pipes that carry calls and plain values as lines of JSON (:mod:`rewards.code.graders_peer`,
values in :mod:`rewards.code._wire` form). The contestant's interpreter holds none of the
grader's state and none of the test's files: it cannot read the grader's secret, reset its
counters or touch its output. It may call only the functions the grader's modules define and
the functions the grader passes it. The grader's stdout is the output the row's checker (or
comparison) judges, and its report reaches us over the sandbox's channel, which the
contestant's sandbox is never given; what the contestant prints is not read.

Whose fault: the contestant's side ending, closing its pipe, breaking the protocol, raising in a
call, timing out, or the grader failing after the contestant answered: a 0 for the test. The
grader failing before it ever called the contestant (or not finishing, without having called
it): ``None`` (the jury's fault).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path

from . import sandbox
from .backends import Prepared, Run
from .graders_cpp import IN_FD, OUT_FD, STUB_CONTESTANT, STUB_GRADER, Unsupported, stubs

_HERE = Path(__file__).parent
SIDES = {name: (_HERE / name).read_text()
         for name in ("graders_peer.py", "graders_grader.py", "graders_contestant.py", "_wire.py")}
for _name, _text in SIDES.items():
    compile(_text, _name, "exec")  # a broken side fails here, not as a runtime error on every row
GRADER_START = 2.0  # seconds added to a graded contestant's wall clock: the grader's sandbox starts meanwhile
RESERVED = frozenset(SIDES)  # file names a Python grader's row may not use


def modules(files) -> list[str]:
    """The grader's Python module names, its entry (the first ``.py`` file) first."""
    return [name[:-3] for name, _ in files if name.endswith(".py")]


def run_python(grader, prepared: Prepared, stdin: str, limits: sandbox.Limits, jury_seconds: float,
               isolation: str, read_only: tuple[str, ...], python: str) -> Run:
    """One test: the grader (input on stdin) and the contestant's module, each in its own sandbox.

    ``limits`` bound the contestant's interpreter; the grader's wall clock is ``jury_seconds``
    longer, so a contestant that stalls is killed first and the grader sees it gone. The
    :class:`Run` is ``ok`` with the grader's stdout, a contestant's fault (``timeout``,
    ``runtime_error``), or ``judge_error``."""
    names = modules(grader.files)
    contestant = grader.source[:-3]
    to_grader_r, to_grader_w = os.pipe()
    to_contestant_r, to_contestant_w = os.pipe()
    side: dict = {}

    def contestant_side():
        try:
            side["result"] = sandbox.run(
                {**{n: SIDES[n] for n in ("graders_peer.py", "graders_contestant.py", "_wire.py")},
                 grader.source: prepared.files[grader.source]},
                [python, "-I", "graders_contestant.py", str(to_contestant_r), str(to_grader_w), contestant, *names],
                limits=limits, isolation=isolation, read_only=read_only, fds=(to_contestant_r, to_grader_w))
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the caller's thread
            side["error"] = err

    thread = threading.Thread(target=contestant_side, daemon=True)
    thread.start()
    try:
        jury = sandbox.run(
            {**dict(grader.files), **{n: SIDES[n] for n in ("graders_peer.py", "graders_grader.py", "_wire.py")}},
            [python, "-I", "graders_grader.py", str(to_grader_r), str(to_contestant_w), contestant, *names],
            stdin=stdin, limits=replace(limits, wall_seconds=limits.wall_seconds + jury_seconds,
                                        cpu_seconds=limits.cpu_seconds + int(jury_seconds)),
            isolation=isolation, read_only=read_only, channel=True, channel_bytes=64 << 10,
            fds=(to_grader_r, to_contestant_w))
    finally:
        thread.join()
    if "error" in side:
        raise side["error"]
    return verdict(side["result"], jury)


def _events(channel: bytes) -> list[dict]:
    events = []
    for line in channel.decode(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def verdict(contestant: sandbox.Result, jury: sandbox.Result) -> Run:
    """The test's :class:`Run` from both sides' results (see the module's docstring)."""
    events = _events(jury.channel)
    called = any(e.get("called") is True for e in events)
    final = next((e for e in reversed(events) if e.get("status") in ("ok", "contestant", "grader")), None)
    detail = str(final.get("detail", ""))[:500] if final else ""
    if contestant.timed_out:
        return Run("timeout", "", "the contestant's side ran past its time limit")
    if final is None:
        why = (f"the grader did not finish ({'timed out' if jury.timed_out else f'exit {jury.returncode}'}"
               f"{', ' + jury.exceeded if jury.exceeded else ''}): {jury.stderr[-300:]}")
        return Run("runtime_error", "", why) if called else Run("judge_error", "", why)
    if final["status"] == "grader":
        return Run("judge_error", "", f"{detail}: {jury.stderr[-300:]}")
    if final["status"] == "contestant":
        return Run("runtime_error", "", f"{detail}; the contestant's side: {contestant.stderr[-300:]}")
    if not contestant.ok:
        return Run("runtime_error", "", f"the contestant's side exit {contestant.returncode} {contestant.exceeded or ''}")
    return Run("ok", jury.stdout)


# -- C++ graders --------------------------------------------------------------------------------
def cpp_stubs(grader) -> tuple[str, str]:
    """(the grader's stub, the contestant's) for a C++ grader row; :class:`Unsupported` says why not."""
    files = dict(grader.files)
    headers = [text for name, text in files.items() if name.endswith((".h", ".hpp"))]
    if not headers:
        raise Unsupported("a C++ grader needs the task header (a .h file among its files) to run apart")
    return stubs("\n".join(headers), [text for name, text in files.items() if name.endswith(".cpp")])


def cpp_programs(language, grader) -> tuple[tuple, dict, tuple, dict]:
    """(the grader's compile command, its files, the contestant's compile command, its extra files)."""
    grader_stub, contestant_stub = cpp_stubs(grader)
    files = dict(grader.files)
    flags = language.compile[:language.compile.index("-o")]
    units = sorted(n for n in files if n.endswith(".cpp"))
    headers = {n: t for n, t in files.items() if not n.endswith(".cpp")}  # the contestant never sees the grader's code
    return ((*flags, "-o", "main", *units, STUB_GRADER), {**files, STUB_GRADER: grader_stub},
            (*flags, "-o", "main", language.source, STUB_CONTESTANT), {**headers, STUB_CONTESTANT: contestant_stub})


def _on_fds(argv: list[str], read_fd: int, write_fd: int) -> list[str]:
    """``argv`` run with the pipe ends as descriptors IN_FD and OUT_FD, through copies first, since
    the ends we were given may themselves be numbered IN_FD or OUT_FD."""
    redirect = (f'exec {{a}}<&{read_fd} {{b}}>&{write_fd} {read_fd}<&- {write_fd}>&- && '
                f'exec {IN_FD}<&"$a" {OUT_FD}>&"$b" && exec {{a}}<&- {{b}}>&- && exec "$@"')
    return ["/bin/bash", "-c", redirect, "grader-side", *argv]


def run_cpp(grader_program: Prepared, prepared: Prepared, stdin: str, limits: sandbox.Limits,
            jury_seconds: float, isolation: str, read_only: tuple[str, ...]) -> Run:
    """One test: the grader's program (input on stdin) and the contestant's, each in its own sandbox."""
    to_grader_r, to_grader_w = os.pipe()
    to_contestant_r, to_contestant_w = os.pipe()
    side: dict = {}

    def contestant_side():
        try:
            side["result"] = sandbox.run(prepared.files, _on_fds(["./main"], to_contestant_r, to_grader_w), limits=limits,
                                         isolation=isolation, executables=prepared.executables, read_only=read_only,
                                         fds=(to_contestant_r, to_grader_w))
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the caller's thread
            side["error"] = err

    thread = threading.Thread(target=contestant_side, daemon=True)
    thread.start()
    try:
        jury = sandbox.run(grader_program.files, _on_fds(["./main"], to_grader_r, to_contestant_w), stdin=stdin,
                           limits=replace(limits, wall_seconds=limits.wall_seconds + jury_seconds,
                                          cpu_seconds=limits.cpu_seconds + int(jury_seconds)),
                           isolation=isolation, executables=grader_program.executables, read_only=read_only, channel=True,
                           channel_bytes=1 << 10, fds=(to_grader_r, to_contestant_w))
    finally:
        thread.join()
    if "error" in side:
        raise side["error"]
    contestant, notes = side["result"], jury.channel.decode(errors="replace").split()
    if contestant.timed_out:
        return Run("timeout", "", "the contestant's side ran past its time limit")
    if "gone" in notes:
        return Run("runtime_error", "", f"the contestant's side ended or sent what does not parse: {contestant.stderr[-300:]}")
    if jury.ok:
        if not contestant.ok:
            return Run("runtime_error", "", f"the contestant's side exit {contestant.returncode}")
        return Run("ok", jury.stdout)
    why = (f"the grader {'timed out' if jury.timed_out else f'exited {jury.returncode}'}"
           f"{', ' + jury.exceeded if jury.exceeded else ''}: {jury.stderr[-300:]}")
    return Run("runtime_error", "", why) if "called" in notes else Run("judge_error", "", why)


# -- from the judge -----------------------------------------------------------------------------
def run_graded(judge, problem, prepared: Prepared, stdin: str) -> Run:
    """One test of a grader row for :class:`rewards.code.judge.Judge`."""
    backend = judge.backend(problem)
    tools = backend.toolchain(prepared.language)
    limits = backend.run_limits(prepared.language)  # the contestant's wall clock waits for the grader too:
    limits = replace(limits, wall_seconds=limits.wall_seconds + GRADER_START)  # its CPU time stays the row's
    if prepared.language.name == "cpp":
        ready = judge.grader_program(problem)
        if isinstance(ready, str):
            return Run("judge_error", detail=ready)
        return run_cpp(ready, prepared, stdin, limits, judge.jury_seconds, judge.local.isolation, tools.read_only)
    return run_python(problem.grader, prepared, stdin, limits, judge.jury_seconds, judge.local.isolation,
                      tools.read_only, tools.run[0])


def refusal(problem) -> str | None:
    """Why a row's C++ grader cannot run apart from the contestant (its header), or None."""
    if problem.grader is None or problem.language != "cpp":
        return None
    try:
        cpp_stubs(problem.grader)
    except Unsupported as err:
        return f"{err}; the grader cannot run apart from the contestant (docs/judges.md, Graders)"
    return None
