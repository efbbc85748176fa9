"""Judged problems from the layouts of the datasets that carry them, as canonical judged
``verification_info`` dicts (:mod:`rewards.code.judge_rows`), checked; errors name the row.

- Codeforces rows as open-r1/codeforces stores them: ``official_tests`` (``[{"input",
  "output"}]``), ``generated_checker`` (a Python checker, run with the ``cms`` protocol: arguments
  input, jury answer, contestant output; the score on stdout), ``time_limit`` (s),
  ``memory_limit`` (MB), ``input_mode`` (only ``stdio`` is read), ``interaction_format`` (an
  interactive problem: it needs an ``interactor`` column, which that dataset does not carry);
- IOI rows as open-r1/ioi stores them, one row per subtask: ``id`` (the problem), ``subtask``,
  ``score`` (points), ``test_names``, ``grader_files`` (``[[name, content], ...]``),
  ``time_limit``, ``memory_limit``, with the tests given apart as ``{(id, test name): (input,
  output)}``; a ``checker.cpp`` among the grader files is the problem's checker (protocol ``cms``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .judge_rows import parse_problem
from .rows import RowFormatError


def from_codeforces(row: Mapping, index: int, language: str = "cpp") -> dict:
    """A judged ``verification_info`` (a dict, checked) from an open-r1/codeforces row."""
    where = f"codeforces row {index} ({row.get('id', '?')})"
    if row.get("input_mode") not in (None, "stdio"):
        raise RowFormatError(f"{where}: input_mode {row.get('input_mode')!r} (files) is not read; only 'stdio' rows are")
    tests = row.get("official_tests")
    if not isinstance(tests, list) or not tests:
        raise RowFormatError(f"{where}: 'official_tests' must be a non-empty list of {{'input', 'output'}}")
    info: dict = {"language": row.get("language") or language,
                  "test_cases": [{"input": t.get("input"), "output": t.get("output")} if isinstance(t, Mapping) else t
                                 for t in tests]}
    if row.get("interaction_format"):
        if not row.get("interactor"):
            raise RowFormatError(f"{where} is interactive ('interaction_format') but has no 'interactor' program; "
                                 "add one (a testlib interactor) or leave the row out")
        info["interactor"] = _load(row["interactor"])
    elif row.get("generated_checker"):
        info["checker"] = {"language": "python", "source": row["generated_checker"], "protocol": "cms"}
    else:
        info["checker"] = {"builtin": "lines"}
    for key in ("time_limit", "memory_limit"):
        if row.get(key) is not None:
            info[key] = row[key]
    try:
        parse_problem(info, index, language)
    except RowFormatError as err:
        raise RowFormatError(f"{where}: {err}") from None
    return info


def _load(value):
    return json.loads(value) if isinstance(value, str) and value.lstrip().startswith("{") else value


def from_ioi(rows, tests: Mapping, language: str = "cpp") -> list[dict]:
    """Judged ``verification_info`` dicts, one per problem, from open-r1/ioi subtask rows and the
    tests ``{(problem id, test name): (input, output)}``; problems keep their first row's order."""
    problems: dict[str, dict] = {}
    for index, row in enumerate(rows):
        where = f"ioi row {index} ({row.get('id', '?')}, subtask {row.get('subtask', '?')})"
        pid, names = row.get("id"), row.get("test_names")
        if not isinstance(pid, str) or not isinstance(names, list) or not names:
            raise RowFormatError(f"{where}: needs 'id' (text) and a non-empty list 'test_names'")
        if row.get("task_type", "Batch") != "Batch":
            raise RowFormatError(f"{where}: task_type {row.get('task_type')!r} is not read; only 'Batch' tasks are")
        files = {name: content for name, content in (row.get("grader_files") or []) if content}
        problem = problems.setdefault(pid, {"language": language, "names": [], "subtasks": [], "files": files,
                                            "time_limit": row.get("time_limit"),
                                            "memory_limit": row.get("memory_limit")})
        for name in names:
            if (pid, name) not in tests:
                raise RowFormatError(f"{where}: test {name!r} is not among the tests given")
            if name not in problem["names"]:
                problem["names"].append(name)
        problem["subtasks"].append({"name": str(row.get("subtask")), "points": row.get("score"), "tests": names})
    out = []
    for index, (pid, p) in enumerate(problems.items()):
        files = {n.rsplit("/", 1)[-1]: c for n, c in p["files"].items()}
        checker = files.pop("checker.cpp", None)
        grader = {k: v for k, v in files.items() if k.endswith((".cpp", ".h"))}
        info = {"language": p["language"],
                "test_cases": [{"name": n, "input": tests[pid, n][0], "output": tests[pid, n][1]} for n in p["names"]],
                "subtasks": p["subtasks"], "time_limit": p["time_limit"], "memory_limit": p["memory_limit"]}
        if grader:
            info["grader"] = {"files": grader, "source": f"{pid.lower()}.cpp"}
        if checker:
            info["checker"] = {"language": "cpp", "source": checker, "protocol": "cms"}
        info = {k: v for k, v in info.items() if v is not None}
        try:
            parse_problem(info, index, language)
        except RowFormatError as err:
            raise RowFormatError(f"ioi problem {pid}: {err}") from None
        out.append(info)
    return out
