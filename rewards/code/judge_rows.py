"""Judged code problems: rows whose tests are scored by a checker, an interactor, in subtasks or
through a grader, read from ``verification_info`` and from the layouts of the datasets that carry
them; every error names the row and the fix.

A row is judged when its ``verification_info`` has any of ``checker``, ``interactor``,
``subtasks``, ``grader``, ``input_file`` or ``output_file`` (:func:`is_judged`);
:func:`parse_problem` reads it:

``language``        the contestant's language (default: the reward's);
``test_cases``      ``[{"input": str, "output": str, "name": str}, ...]``: ``output`` is the jury's
                    answer (given to the checker or interactor only; optional for interactive
                    problems), ``name`` optional (subtasks may name their tests);
``checker``         ``{"builtin": "float", "abs_tol": 1e-6, "rel_tol": 1e-6}`` (see
                    :mod:`rewards.code.checkers`), or a program: ``{"language": "cpp", "source": str,
                    "files": {"testlib.h": str, ...}, "protocol": "testlib" | "cms",
                    "points_max": 1.0}`` (``points_max``: the score that means a full pass, e.g. 100
                    for a checker that prints percentages); without one, outputs are compared line
                    by line;
``interactor``      a program (as above, protocol testlib): it and the contestant's program run at
                    once, each one's stdout the other's stdin; its exit status is a verdict, and
                    what it writes to its output file (testlib's ``tout``) is judged by the
                    ``checker`` when the row has one (Codeforces' interactive problems), else
                    compared with the test's answer by the ``tokens`` rule when it wrote anything;
``testlib``         the path of a local ``testlib.h`` for this row's jury programs (see below);
``input_file``, ``output_file``  file-mode problems: the test input is also written as
                    ``input_file`` and the contestant's output is read from ``output_file``
                    (plain names, e.g. ``input.txt``, ``output.txt``);
``subtasks``        ``[{"name": str, "points": number >= 0, "tests": [index or name, ...]}, ...]``:
                    a subtask scores its points times the lowest score of its tests (all its tests
                    passed: all its points); the row scores the points earned over the points in all;
                    every test must belong to a subtask;
``grader``          ``{"files": {"grader.cpp": str, "task.h": str, ...}, "source": "task.cpp",
                    "prelude": "#include ..."}`` (``prelude`` optional, written before the code):
                    the contestant's code is written as ``source``; the grader (Python: the first
                    ``.py`` file of ``files``; C++: its ``.cpp`` files, with the task header among
                    the ``.h`` files) owns main and runs in a sandbox of its own, calling the
                    contestant's functions across pipes (:mod:`rewards.code.graders`);
``time_limit``      seconds per run (default: the reward's ``wall_seconds``);
``memory_limit``    per run, in megabytes, or in bytes when the value is at least 2**20 (no
                    judge gives a million megabytes; open-r1's IOI rows give bytes), default: the
                    reward's ``memory_bytes``.

A jury program whose source includes ``testlib.h`` takes the header from its ``files`` (packages
that carry their own copy), else from the row's ``testlib`` path, else from the reward's
``testlib`` setting, else from ``$GRPO_EXT_TESTLIB``; with none of them the row is refused with an
error naming the row and the settings. grpo-ext ships no testlib.h.

The layouts of the datasets that carry such rows (Codeforces, IOI) are read by
:mod:`rewards.code.judge_datasets`.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .checkers import BUILTIN, OPTIONS, PROTOCOLS
from .graders import RESERVED
from .rows import RowFormatError
from .languages import UnknownLanguageError, get_language

JUDGE_KEYS = ("checker", "interactor", "subtasks", "grader", "input_file", "output_file")
MAX_POINTS_SCALE = 1e6
TESTLIB_ENV = "GRPO_EXT_TESTLIB"  # the path of a local testlib.h
MEMORY_BYTES_FROM = 1 << 20  # a memory_limit this large is in bytes, below it in megabytes
_INCLUDES_TESTLIB = re.compile(r'^\s*#\s*include\s*[<"]testlib\.h[>"]', re.MULTILINE)


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
    prelude: str = ""  # written before the contestant's code (open-r1's IOI includes)


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
    input_file: str | None = None  # file mode: the input is also this file
    output_file: str | None = None  # file mode: the output is read from this file

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
    reserved = sorted(RESERVED & {source, *(n for n, _ in files)}) if language == "python" else []
    if reserved:
        raise RowFormatError(f"{where}: the grader's file names {reserved} are the judge's own; rename them")
    if language == "python" and source[:-3] in {n[:-3] for n, _ in files if n.endswith(".py")}:
        raise RowFormatError(f"{where}: the contestant's module {source!r} has the name of one of the grader's")
    prelude = spec.get("prelude") or ""
    if not isinstance(prelude, str):
        raise RowFormatError(f"{where}: the grader's 'prelude' must be text, got {prelude!r}")
    return Grader(files, source, prelude)


def memory_bytes(value) -> int:
    """A row's ``memory_limit`` in bytes: bytes when at least 2**20, else megabytes."""
    return int(value) if value >= MEMORY_BYTES_FROM else int(value * (1 << 20))


def _limits(info: Mapping, where: str) -> tuple[float | None, int | None]:
    time_limit, memory = info.get("time_limit"), info.get("memory_limit")
    for key, value, top in (("time_limit", time_limit, 1e6), ("memory_limit", memory, 1 << 50)):
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < top):
            raise RowFormatError(f"{where}: {key!r} must be a positive number (seconds; megabytes, or bytes from "
                                 f"{MEMORY_BYTES_FROM}), got {value!r}")
    return (float(time_limit) if time_limit else None), (memory_bytes(memory) if memory else None)


@functools.lru_cache(maxsize=8)
def _header(path: str, mtime: float) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def with_testlib(program: Program | None, row_path, setting: str | None, where: str) -> Program | None:
    """``program`` with ``testlib.h`` among its files when its source includes it (see the module
    docstring for where the header comes from)."""
    if program is None or "testlib.h" in dict(program.files) or not _INCLUDES_TESTLIB.search(program.source):
        return program
    path = row_path or setting or os.environ.get(TESTLIB_ENV)
    if not path:
        raise RowFormatError(f"{where} includes testlib.h but none is given: put testlib.h in its 'files', name a "
                             f"local copy in the row's 'testlib', the reward's testlib='/path/testlib.h' or "
                             f"${TESTLIB_ENV} (grpo-ext ships none)")
    if not isinstance(path, str) or not os.path.isfile(path):
        raise RowFormatError(f"{where}: the testlib setting names {path!r}, which is not a file; give the path of a "
                             "local testlib.h")
    text = _header(path, os.path.getmtime(path))
    return replace(program, files=tuple(sorted({**dict(program.files), "testlib.h": text}.items())))


def _file_names(info: Mapping, where: str) -> tuple[str | None, str | None]:
    names = info.get("input_file"), info.get("output_file")
    for key, name in zip(("input_file", "output_file"), names):
        if name is not None:
            if not isinstance(name, str):
                raise RowFormatError(f"{where}: {key!r} must be a file name, got {name!r}")
            _files({name: ""}, f"{where}: {key!r}")
    if names[0] is not None and names[0] == names[1]:
        raise RowFormatError(f"{where}: 'input_file' and 'output_file' are both {names[0]!r}; give two names")
    return names


def parse_problem(info, row: int, default_language: str = "python", testlib: str | None = None) -> Problem:
    """Validate one judged ``verification_info`` value; errors name the row and what is wrong.
    ``testlib``: the reward's testlib.h setting (see the module docstring)."""
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
    interactor = with_testlib(interactor, info.get("testlib"), testlib, f"{where}: the interactor")
    tests, names = _tests(info.get("test_cases"), where, interactor is not None)
    checker, builtin = None, ("lines", ())
    spec = info.get("checker")
    if spec is not None:
        if isinstance(spec, Mapping) and "builtin" in spec:
            builtin = _builtin(spec, f"{where}: 'checker'")
        else:
            checker = with_testlib(_program(spec, f"{where}: 'checker'"), info.get("testlib"), testlib,
                                   f"{where}: the checker")
    subtasks = _subtasks(info["subtasks"], names, where) if info.get("subtasks") is not None else ()
    grader = _grader(info["grader"], language, where) if info.get("grader") is not None else None
    if grader is not None and interactor is not None:
        raise RowFormatError(f"{where}: a grader and an interactor together are not supported")
    wall, memory = _limits(info, where)
    input_file, output_file = _file_names(info, where)
    if interactor is not None and (input_file or output_file):
        raise RowFormatError(f"{where}: an interactive row talks over stdin and stdout; drop 'input_file' and "
                             "'output_file'")
    return Problem(language, tests, checker, builtin, interactor, subtasks, grader, wall, memory,
                   input_file, output_file)
