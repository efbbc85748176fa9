"""Whole datasets converted to a checked ``verification_info`` column, from the layouts of the
datasets that carry code problems; the top of the code modules' import order (languages, rows,
checkers, judge_rows, then this module: nothing below imports it).

:func:`convert_dataset` converts a dataset once, from the column layout :func:`detect_layout`
finds. A row that cannot be judged (malformed, or of a kind not run here) never fails the whole
dataset: it is left out, and reported by its ``id`` (else its index) with the reason, counted in
a warning and in the ``skipped`` list the caller may pass. Layouts:

- ``verification_info`` (open-r1's code sets; the canonical forms of :mod:`rewards.code.rows`
  and :mod:`rewards.code.judge_rows`),
- ``input_output`` (APPS, TACO), with an optional ``language`` column,
- ``test_cases`` or ``tests`` (a list of ``{"input", "output"}``, or its JSON text),
- ``public_tests`` (DeepMind's CodeContests: ``public_tests``, ``private_tests`` and
  ``generated_tests``, each ``{"input": [...], "output": [...]}``; all of them are the tests),
- ``official_tests`` (open-r1/codeforces, :func:`from_codeforces`),
- ``test_names`` with ``grader_files`` (open-r1/ioi, one row per subtask, the tests in a
  ``test_cases`` column: :func:`from_ioi`); the subtask rows of a problem become one row.

Codeforces rows as open-r1/codeforces stores them (:func:`from_codeforces`): the tests are
``official_tests`` plus the ``generated_tests`` open-r1 loads beside them; ``generated_checker``
(Python) runs with the ``cms`` protocol (input, jury answer, contestant output; the score on
stdout, ``checker_points_max`` per row when it prints on another scale than 0..1); without a
checker the ``codeforces`` comparison (tokens, yes/no in any case, ``\\r`` ignored);
``input_mode: file`` reads ``input.txt`` and writes ``output.txt`` (or the row's ``input_file`` /
``output_file``); an interactive row (``interaction_format``) needs an ``interactor`` column (and
takes an optional ``checker`` one), which that dataset does not carry.

IOI rows as open-r1/ioi stores them (:func:`from_ioi`): ``id``, ``subtask``, ``score``,
``test_names``, ``grader_files`` (``[[path, text], ...]``: ``graders/*`` is the grader,
``checker/*`` the checker with its own ``testlib.h``, run with the ``cms`` protocol),
``time_limit`` (s), ``memory_limit`` (bytes when at least 2**20, else megabytes; see
:func:`rewards.code.judge_rows.memory_bytes`), ``task_type`` (only ``Batch``); the contestant's
file is ``<id>.cpp`` and, as open-r1 does, it is compiled after ``#include <bits/stdc++.h>`` and
``#include "<id>.h"`` when it does not include them itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from .judge_rows import is_judged, parse_problem
from .languages import UnknownLanguageError, get_language
from .rows import RowFormatError, _load, parse_tests

logger = logging.getLogger(__name__)

LAYOUTS = ("verification_info", "input_output", "test_cases", "tests", "public_tests", "official_tests", "test_names")
CONTEST_SPLITS = ("public_tests", "private_tests", "generated_tests")  # CodeContests' columns
CODEFORCES_TESTS = ("official_tests", "generated_tests")


# -- Codeforces ---------------------------------------------------------------------------------
def _cases(row: Mapping, where: str) -> list:
    tests = []
    for key in CODEFORCES_TESTS:
        value = _load(row.get(key) or [], f"{where}: {key!r}")
        if not isinstance(value, list):
            raise RowFormatError(f"{where}: {key!r} must be a list of {{'input', 'output'}}")
        tests += [{"input": t.get("input"), "output": t.get("output")} if isinstance(t, Mapping) else t for t in value]
    if not tests:
        raise RowFormatError(f"{where}: 'official_tests' must be a non-empty list of {{'input', 'output'}}")
    return tests


def from_codeforces(row: Mapping, index: int, language: str = "cpp", testlib: str | None = None) -> dict:
    """A judged ``verification_info`` (a dict, checked) from an open-r1/codeforces row."""
    where = f"codeforces row {index} ({row.get('id', '?')})"
    info: dict = {"language": row.get("language") or language, "test_cases": _cases(row, where)}
    mode = row.get("input_mode") or "stdio"
    if mode == "file":
        info["input_file"] = row.get("input_file") or "input.txt"
        info["output_file"] = row.get("output_file") or "output.txt"
    elif mode != "stdio":
        raise RowFormatError(f"{where}: input_mode {mode!r} is neither 'stdio' nor 'file'")
    checker = _load(row.get("checker"), f"{where}: 'checker'") if row.get("checker") else None
    if row.get("interaction_format"):
        if not row.get("interactor"):
            raise RowFormatError(f"{where} is interactive ('interaction_format') but has no 'interactor' program; "
                                 "add one (a testlib interactor) or leave the row out")
        info["interactor"] = _load(row["interactor"], f"{where}: 'interactor'")
    if checker is not None:
        info["checker"] = checker
    elif row.get("generated_checker") and not info.get("interactor"):  # it reads an output, not a transcript
        info["checker"] = {"language": "python", "source": row["generated_checker"], "protocol": "cms",
                           "points_max": row.get("checker_points_max") or 1}
    elif not info.get("interactor"):
        info["checker"] = {"builtin": "codeforces"}
    for key in ("time_limit", "memory_limit", "testlib"):
        if row.get(key) is not None:
            info[key] = row[key]
    try:
        parse_problem(info, index, language, testlib)
    except RowFormatError as err:
        raise RowFormatError(f"{where}: {err}") from None
    return info


# -- IOI ----------------------------------------------------------------------------------------
def with_includes(code: str, task: str) -> str:
    """The contestant's C++ after the includes open-r1 adds to IOI submissions that lack them."""
    heads = [line for line in (f'#include "{task}.h"', "#include <bits/stdc++.h>")
             if line.split()[1].strip('"<>') not in code]
    return "\n".join([*heads, code]) if heads else code


def _split_files(pairs, where: str) -> tuple[dict, dict]:
    grader, checker = {}, {}
    for pair in pairs or []:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str):
            raise RowFormatError(f"{where}: 'grader_files' must be [[path, text], ...], got {str(pair)[:80]}")
        path, content = pair
        if not content:
            continue
        folder, _, name = path.rpartition("/")
        if folder == "checker":
            checker[name] = content
        elif name.endswith((".cpp", ".h", ".py")):
            grader[name] = content
    return grader, checker


def _ioi_problem(pid: str, p: dict, language: str) -> dict:
    grader, checker_files = p["files"]
    info = {"language": language,
            "test_cases": [{"name": n, "input": t[0], "output": t[1]} for n, t in p["tests"].items()],
            "subtasks": p["subtasks"], "time_limit": p["time_limit"], "memory_limit": p["memory_limit"]}
    if grader:
        info["grader"] = {"files": grader, "source": f"{pid.lower()}.cpp", "prelude": with_includes("", pid.lower())}
    source = checker_files.pop("checker.cpp", None)
    if source:
        info["checker"] = {"language": "cpp", "source": source, "protocol": "cms", "files": checker_files}
    return {k: v for k, v in info.items() if v is not None}


def from_ioi(rows, tests: Mapping | None = None, language: str = "cpp", testlib: str | None = None,
             skipped: list | None = None) -> list[dict]:
    """Judged ``verification_info`` dicts, one per problem, from open-r1/ioi subtask rows; the tests
    come from each row's ``test_cases`` (a list in ``test_names`` order, or name -> (input, output))
    or from ``tests`` ``{(problem id, test name): (input, output)}``. Problems keep their first
    row's order; with ``skipped`` (a list), a problem that cannot be judged is left out and
    ``(id, reason)`` appended, else its error is raised."""
    problems: dict[str, dict] = {}
    broken: dict[str, str] = {}
    for index, row in enumerate(rows):
        where = f"ioi row {index} ({row.get('id', '?')}, subtask {row.get('subtask', '?')})"
        try:
            _add_subtask(problems, row, tests or {}, where)
        except RowFormatError as err:
            if skipped is None:
                raise
            broken.setdefault(str(row.get("id")), str(err))
    out = []
    for index, (pid, p) in enumerate(problems.items()):
        if pid in broken:
            continue
        info = _ioi_problem(pid, p, language)
        try:
            parse_problem(info, index, language, testlib)
        except RowFormatError as err:
            if skipped is None:
                raise RowFormatError(f"ioi problem {pid}: {err}") from None
            broken[pid] = f"ioi problem {pid}: {err}"
            continue
        out.append(info)
    if skipped is not None:
        skipped += list(broken.items())
    return out


def _add_subtask(problems: dict, row: Mapping, tests: Mapping, where: str) -> None:
    pid, names = row.get("id"), row.get("test_names")
    if not isinstance(pid, str) or not isinstance(names, list) or not names:
        raise RowFormatError(f"{where}: needs 'id' (text) and a non-empty list 'test_names'")
    if (row.get("task_type") or "Batch") != "Batch":
        raise RowFormatError(f"{where}: task_type {row.get('task_type')!r} is not read; only 'Batch' tasks are")
    given = _load(row.get("test_cases"), f"{where}: 'test_cases'")
    if isinstance(given, list):
        given = dict(zip(names, given))
    problem = problems.setdefault(pid, {"tests": {}, "subtasks": [], "files": _split_files(row.get("grader_files"), where),
                                        "time_limit": row.get("time_limit"), "memory_limit": row.get("memory_limit")})
    for name in names:
        test = (given or {}).get(name, tests.get((pid, name)))
        if isinstance(test, Mapping):
            test = (test.get("input"), test.get("output"))
        if not isinstance(test, (list, tuple)) or len(test) != 2:
            raise RowFormatError(f"{where}: test {name!r} is not among the tests given")
        problem["tests"].setdefault(name, tuple(test))
    problem["subtasks"].append({"name": str(row.get("subtask")), "points": row.get("score"), "tests": names})


# -- whole datasets -----------------------------------------------------------------------------
def detect_layout(columns) -> str | None:
    """The first layout of :data:`LAYOUTS` whose column the dataset has (open-r1/ioi's
    ``test_names`` with ``grader_files`` first: its rows may also carry ``test_cases``), or None."""
    if "test_names" in columns and "grader_files" in columns and "verification_info" not in columns:
        return "test_names"
    return next((name for name in LAYOUTS if name in columns), None)


def convert_row(row: Mapping, layout: str, index: int, language: str = "python", testlib: str | None = None) -> str:
    """One row's tests as canonical ``verification_info`` JSON text (checked)."""
    if layout == "official_tests":
        return json.dumps(from_codeforces(row, index, language, testlib))
    if layout == "verification_info":
        info = _load(row["verification_info"], f"verification_info of row {index}")
        if is_judged(info):
            parse_problem(info, index, language, testlib)
        else:
            parse_tests(info, index)
        return row["verification_info"] if isinstance(row["verification_info"], str) else json.dumps(info)
    lang = row.get("language") or language
    if layout == "public_tests":
        info = {"language": lang, "test_cases": _contest_cases(row, index)}
    else:
        key = "input_output" if layout == "input_output" else "test_cases"
        info = {"language": lang, key: _load(row[layout], f"{layout} of row {index}")}
    parse_tests(info, index)
    return json.dumps(info)


def _contest_cases(row: Mapping, index: int) -> list[dict]:
    cases = []
    for split in CONTEST_SPLITS:
        tests = _load(row.get(split) or {"input": [], "output": []}, f"{split} of row {index}")
        if not isinstance(tests, Mapping) or len(tests.get("input") or []) != len(tests.get("output") or []):
            raise RowFormatError(f"{split} of row {index} needs lists 'input' and 'output' of equal length")
        cases += [{"input": i, "output": o} for i, o in zip(tests["input"] or [], tests["output"] or [])]
    return cases


def convert_dataset(data, language: str = "python", testlib: str | None = None, skipped: list | None = None):
    """A ``datasets.Dataset`` with a checked, canonical ``verification_info`` column, converted
    once from whichever layout the dataset has. Rows that cannot be judged are left out and
    reported (``(id or index, reason)`` in ``skipped`` and one warning with their count); only a
    dataset with no row left is an error."""
    layout = detect_layout(data.column_names)
    if layout is None:
        raise RowFormatError(f"the dataset has columns {data.column_names}; code problems need one of "
                             f"{', '.join(LAYOUTS)} (see rewards/code/judge_datasets.py)")
    try:
        get_language(language)
    except UnknownLanguageError as err:
        raise RowFormatError(str(err)) from None
    bad: list = []
    if layout == "test_names":
        data, values = _ioi_dataset(data, "cpp" if language == "python" else language, testlib, bad)
        keep = list(range(len(values)))
    else:
        values, keep = [], []
        for i, row in enumerate(data):
            try:
                values.append(convert_row(row, layout, i, language, testlib))
                keep.append(i)
            except RowFormatError as err:
                bad.append((row.get("id", i), str(err)))
    if skipped is not None:
        skipped += bad
    if bad:
        logger.warning("code dataset: %d of %d rows cannot be judged and are left out: %s", len(bad),
                       len(bad) + len(keep), "; ".join(f"{key}: {why[:200]}" for key, why in bad[:10]))
    if not keep:
        raise RowFormatError(f"no row of the dataset can be judged; the first: {bad[0][0]}: {bad[0][1]}" if bad else
                             "the dataset has no rows")
    if len(keep) < len(data):
        data = data.select(keep)
    drop = [c for c in dict.fromkeys((layout, "verification_info", *CONTEST_SPLITS, "official_tests", "test_cases"))
            if c in data.column_names]
    return data.remove_columns(drop).add_column("verification_info", values)


def _ioi_dataset(data, language: str, testlib: str | None, bad: list):
    """open-r1/ioi subtask rows: one row per problem (its first subtask row's other columns)."""
    rows = list(data)
    infos = from_ioi(rows, language=language, testlib=testlib, skipped=bad)
    first = {}
    for i, row in enumerate(rows):
        first.setdefault(row.get("id"), i)
    done = {str(row_id) for row_id, _ in bad}
    order = [first[pid] for pid in dict.fromkeys(r.get("id") for r in rows) if str(pid) not in done]
    return data.select(order), [json.dumps(info) for info in infos]
