"""Judged code problems: rows whose tests are scored by a checker, an interactor, in subtasks or
through a grader, read from ``verification_info`` and from the layouts of the datasets that carry
them; every error names the row and the fix.

A row is judged when its ``verification_info`` has any of ``checker``, ``interactor``,
``subtasks`` or ``grader`` (:func:`is_judged`); :func:`parse_problem` reads it:

``language``        the contestant's language (default: the reward's);
``test_cases``      ``[{"input": str, "output": str, "name": str}, ...]``: ``output`` is the jury's
                    answer (given to the checker or interactor only; optional for interactive
                    problems), ``name`` optional (subtasks may name their tests);
``checker``         ``{"builtin": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}`` (see
                    :mod:`rewards.code.checkers`), or a program: ``{"language": "cpp", "source": str,
                    "files": {"testlib.h": str, ...}, "protocol": "testlib" | "cms",
                    "points_max": 1.0}``; without one, outputs are compared line by line;
``interactor``      a program (as above, protocol testlib): it and the contestant's program run at
                    once, each one's stdout the other's stdin; its exit status is the verdict;
``subtasks``        ``[{"name": str, "points": number >= 0, "tests": [index or name, ...]}, ...]``:
                    a subtask scores its points times the lowest score of its tests (all its tests
                    passed: all its points); the row scores the points earned over the points in all;
                    every test must belong to a subtask;
``grader``          ``{"files": {"grader.cpp": str, "task.h": str, ...}, "source": "task.cpp"}``:
                    the contestant's code is written as ``source`` and compiled (C++: every ``.cpp``
                    file together) or run (Python: the first ``.py`` file of ``files``, importing it)
                    with the grader's files, which own ``main``;
``time_limit``      seconds per run (default: the reward's ``wall_seconds``);
``memory_limit``    megabytes per run (default: the reward's ``memory_bytes``).

The layouts of the datasets that carry such rows (Codeforces, IOI) are read by
:mod:`rewards.code.judge_datasets`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

from .checkers import BUILTIN, OPTIONS, PROTOCOLS
from .rows import RowFormatError
from .languages import UnknownLanguageError, get_language

JUDGE_KEYS = ("checker", "interactor", "subtasks", "grader")
MAX_POINTS_SCALE = 1e6


@dataclass(frozen=True)
class Program:
    """A jury program (checker or interactor)."""

    language: str
    source: str
    files: tuple[tuple[str, str], ...] = ()
    protocol: str = "testlib"
    points_max: float = 1.0


@dataclass(frozen=True)
class Subtask:
    name: str
    points: float
    tests: tuple[int, ...]


@dataclass(frozen=True)
class Grader:
    files: tuple[tuple[str, str], ...]
    source: str  # the name the contestant's code is written as


@dataclass(frozen=True)
class Problem:
    language: str
    tests: tuple[tuple[str, str], ...]  # (input, jury answer)
    checker: Program | None = None
    builtin: tuple[str, tuple[tuple[str, float], ...]] = ("lines", ())
    interactor: Program | None = None
    subtasks: tuple[Subtask, ...] = ()
    grader: Grader | None = None
    wall_seconds: float | None = None
    memory_bytes: int | None = None

    @property
    def count(self) -> int:
        return len(self.tests)


def is_judged(info) -> bool:
    """Whether a ``verification_info`` value (mapping or JSON text) is a judged problem."""
    if isinstance(info, str):
        if not any(f'"{key}"' in info for key in JUDGE_KEYS):
            return False
        try:
            info = json.loads(info)
        except json.JSONDecodeError:
            return False
    return isinstance(info, Mapping) and any(info.get(key) is not None for key in JUDGE_KEYS)


def _files(value, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise RowFormatError(f"{where}: 'files' must map file names to text, got {str(value)[:80]}")
    for name in value:
        if "/" in name or name in ("", ".", "..") or name.startswith("."):
            raise RowFormatError(f"{where}: file name {name!r} must be a plain name (no folders, not hidden)")
    return tuple(sorted(value.items()))


def _language(name, where: str) -> str:
    try:
        return get_language(name).name
    except UnknownLanguageError as err:
        raise RowFormatError(f"{where}: {err}") from None


def _program(spec, where: str, interactor: bool = False) -> Program:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("source"), str) or not spec["source"].strip():
        raise RowFormatError(f"{where} needs a non-empty text 'source' (and 'language', default cpp)")
    protocol = spec.get("protocol", "testlib")
    if protocol not in PROTOCOLS or (interactor and protocol != "testlib"):
        allowed = ("testlib",) if interactor else PROTOCOLS
        raise RowFormatError(f"{where}: 'protocol' must be one of {allowed}, got {protocol!r}")
    points_max = spec.get("points_max", 1.0)
    if not isinstance(points_max, (int, float)) or not 0 < points_max <= MAX_POINTS_SCALE:
        raise RowFormatError(f"{where}: 'points_max' must be a number in (0, {MAX_POINTS_SCALE:g}], got {points_max!r}")
    return Program(_language(spec.get("language", "cpp"), where), spec["source"], _files(spec.get("files"), where),
                   protocol, float(points_max))


def _builtin(spec: Mapping, where: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    name = spec["builtin"]
    if name not in BUILTIN:
        raise RowFormatError(f"{where}: built-in checker {name!r} is unknown; known: {', '.join(BUILTIN)}")
    options = {k: v for k, v in spec.items() if k != "builtin"}
    allowed = OPTIONS.get(name, ())
    for key, value in options.items():
        if key not in allowed:
            raise RowFormatError(f"{where}: the {name!r} checker takes {list(allowed) or 'no options'}, got {key!r}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise RowFormatError(f"{where}: {key!r} must be a finite number >= 0, got {value!r}")
    return name, tuple(sorted((k, float(v)) for k, v in options.items()))


def _tests(cases, where: str, interactive: bool) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    if not isinstance(cases, list) or not cases:
        raise RowFormatError(f"{where}: 'test_cases' must be a non-empty list of {{'input', 'output'}}")
    tests, names = [], []
    for j, case in enumerate(cases):
        answer = case.get("output", "" if interactive else None) if isinstance(case, Mapping) else None
        if not isinstance(case, Mapping) or not isinstance(case.get("input", ""), str) or not isinstance(answer, str):
            raise RowFormatError(f"{where}: test case {j} needs text 'input' and 'output', got {str(case)[:80]}")
        tests.append((case.get("input", ""), answer))
        names.append(str(case.get("name", j)))
    if len(set(names)) != len(names):
        raise RowFormatError(f"{where}: test names must be unique, got {names}")
    return tuple(tests), tuple(names)


def _subtasks(specs, names: tuple[str, ...], where: str) -> tuple[Subtask, ...]:
    if not isinstance(specs, list) or not specs:
        raise RowFormatError(f"{where}: 'subtasks' must be a non-empty list of {{'points', 'tests'}}")
    index = {name: i for i, name in enumerate(names)}
    out, covered = [], set()
    for k, spec in enumerate(specs):
        points = spec.get("points") if isinstance(spec, Mapping) else None
        tests = spec.get("tests") if isinstance(spec, Mapping) else None
        if not isinstance(points, (int, float)) or isinstance(points, bool) or not 0 <= points < math.inf:
            raise RowFormatError(f"{where}: subtask {k} needs 'points' >= 0, got {points!r}")
        if not isinstance(tests, list) or not tests:
            raise RowFormatError(f"{where}: subtask {k} needs a non-empty list 'tests' (indices or names)")
        chosen = []
        for t in tests:
            i = t if isinstance(t, int) and not isinstance(t, bool) and 0 <= t < len(names) else index.get(str(t))
            if i is None:
                raise RowFormatError(f"{where}: subtask {k} names test {t!r}, which is not among the "
                                     f"{len(names)} test cases")
            chosen.append(i)
        covered.update(chosen)
        out.append(Subtask(str(spec.get("name", k)), float(points), tuple(dict.fromkeys(chosen))))
    if sum(s.points for s in out) <= 0:
        raise RowFormatError(f"{where}: the subtasks' points add up to 0; give at least one subtask points > 0")
    if len(covered) != len(names):
        missing = [names[i] for i in range(len(names)) if i not in covered]
        raise RowFormatError(f"{where}: tests {missing[:5]} belong to no subtask; add them to one or drop them")
    return tuple(out)


def _grader(spec, language: str, where: str) -> Grader:
    if language not in ("cpp", "python"):
        raise RowFormatError(f"{where}: graders are read for cpp and python, not {language!r}")
    if not isinstance(spec, Mapping) or not spec.get("files") or not isinstance(spec.get("source"), str):
        raise RowFormatError(f"{where}: 'grader' needs 'files' (name -> text) and 'source' (the contestant's file name)")
    files = _files(spec["files"], f"{where}: grader")
    source = spec["source"]
    _files({source: ""}, f"{where}: grader source")
    if source in dict(files):
        raise RowFormatError(f"{where}: the grader's files already hold {source!r}, the contestant's file")
    ext = ".cpp" if language == "cpp" else ".py"
    if not source.endswith(ext) or not any(n.endswith(ext) for n, _ in files):
        raise RowFormatError(f"{where}: a {language} grader needs 'source' ending {ext} and a {ext} file among its files")
    return Grader(files, source)


def _limits(info: Mapping, where: str) -> tuple[float | None, int | None]:
    time_limit, memory = info.get("time_limit"), info.get("memory_limit")
    for key, value in (("time_limit", time_limit), ("memory_limit", memory)):
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e6):
            raise RowFormatError(f"{where}: {key!r} must be a positive number (seconds, megabytes), got {value!r}")
    return (float(time_limit) if time_limit else None), (int(memory * (1 << 20)) if memory else None)


def parse_problem(info, row: int, default_language: str = "python") -> Problem:
    """Validate one judged ``verification_info`` value; errors name the row and what is wrong."""
    where = f"verification_info of row {row}"
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except json.JSONDecodeError as err:
            raise RowFormatError(f"{where} is not valid JSON: {err}") from None
    if not isinstance(info, Mapping):
        raise RowFormatError(f"{where} must be a mapping, got {type(info).__name__}")
    for key in ("input_output", "test_code", "fn_name", "compare"):
        if info.get(key) is not None:
            raise RowFormatError(f"{where}: a judged row (with {[k for k in JUDGE_KEYS if info.get(k)]}) takes "
                                 f"'test_cases', not {key!r}")
    language = _language(info.get("language") or default_language, where)
    interactor = _program(info["interactor"], f"{where}: 'interactor'", True) if info.get("interactor") else None
    tests, names = _tests(info.get("test_cases"), where, interactor is not None)
    checker, builtin = None, ("lines", ())
    spec = info.get("checker")
    if spec is not None:
        if interactor is not None:
            raise RowFormatError(f"{where}: give a 'checker' or an 'interactor', not both (the interactor's exit "
                                 "status is the verdict)")
        if isinstance(spec, Mapping) and "builtin" in spec:
            builtin = _builtin(spec, f"{where}: 'checker'")
        else:
            checker = _program(spec, f"{where}: 'checker'")
    subtasks = _subtasks(info["subtasks"], names, where) if info.get("subtasks") is not None else ()
    grader = _grader(info["grader"], language, where) if info.get("grader") is not None else None
    if grader is not None and interactor is not None:
        raise RowFormatError(f"{where}: a grader and an interactor together are not supported")
    wall, memory = _limits(info, where)
    return Problem(language, tests, checker, builtin, interactor, subtasks, grader, wall, memory)
