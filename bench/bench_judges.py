"""The cost of judged tests (``python bench/bench_code.py --judges``): one test at a time under each
kind of judge, then reward batches, as root and rootless. ``--tree DIR`` measures the checkout in
DIR (an earlier version: ``git archive <commit> | tar -x -C DIR``) with these same problems; a kind
that version cannot judge prints "not run".
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_code import _commented
from grpo_ext.rewards.code import sandbox


def _grader_problems():
    """tests/grader_problems.py of this checkout (an earlier one, measured with --tree, may lack it)."""
    path = Path(__file__).resolve().parents[1] / "tests" / "grader_problems.py"
    spec = importlib.util.spec_from_file_location("bench_grader_problems", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JUDGE_NOTE = """With ``--judges``: the cost of one test under each kind of judge (tests/judge_problems.py:
"proper divisor" with a C++ or Python testlib-style checker, "guess the number" with a Python or C++
interactor, seven questions; an a-plus-b interactor whose output file a checker judges; a Python
grader in its own interpreter, a C++ grader as its own program, calling the contestant's across
pipes, tests/grader_problems.py), the contestant
compiled once, one test at a time (the first call also compiles the jury's program); then reward batches
of ``--programs`` completions x 4 tests, ``concurrency`` = cores, through ``code_execution``."""


def _judge_cases() -> list:
    from grpo_ext.rewards.code.judge_rows import parse_problem
    from tests.judge_problems import SOLUTIONS, checker_info, interactive_info, source, sum_info
    from tests.judge_problems import SUM_PROGRAMS as SUMS

    gp = _grader_problems()

    cpp_search = ("#include <cstdio>\n#include <cstring>\nint main() { int lo = 1, hi = 100; char r[4];\n"
                  "  while (true) { int m = (lo + hi) / 2; std::printf(\"? %d\\n\", m); std::fflush(stdout);\n"
                  "    if (std::scanf(\"%3s\", r) != 1) return 1;\n"
                  "    if (!std::strcmp(r, \"=\")) { std::printf(\"! %d\\n\", m); return 0; }\n"
                  "    if (!std::strcmp(r, \"<\")) hi = m - 1; else lo = m + 1; } }")
    plain = {k: v for k, v in checker_info().items() if k != "checker"}
    python_checker = dict(checker_info(), checker={"language": "python", "source": (
        "import sys\nn = int(open(sys.argv[1]).read())\nd = int(open(sys.argv[2]).read())\n"
        "sys.exit(0 if 1 < d < n and n % d == 0 else 1)")})
    right = SOLUTIONS["checker"]["right"]
    smallest = "n = int(input())\nprint(next(k for k in range(2, n) if n % k == 0))"  # the jury's own answers
    cases = [("plain output comparison (lines, no checker)", plain, "python", smallest, 1),
             ("built-in checker (float)", dict(plain, checker={"builtin": "float"}), "python", smallest, 1),
             ("checker program, Python (testlib exit codes)", python_checker, "python", right, 2),
             ("checker program, C++ (testlib-style header)", checker_info(), "python", right, 2),
             ("interactor, Python <-> Python, 7 questions", interactive_info("python"), "python",
              SOLUTIONS["interactive"]["right"], 2),
             ("interactor, C++ <-> C++, 7 questions", dict(interactive_info("cpp"), language="cpp"), "cpp", cpp_search, 2),
             ("interactor + checker (Python, tout judged), 2 questions", sum_info(), "python", SUMS["right"], 3),
             ("Python grader, two interpreters (find the secret, 10 questions)", gp.info(gp.LARGE, subtasks=False),
              "python", gp.PROGRAMS["right"], 2),
             ("C++ grader, two programs via stubs (find the secret, 10 questions)", gp.cpp_info(gp.LARGE, subtasks=False),
              "cpp", gp.CPP_PROGRAMS["right"], 2)]
    assert source  # the problems' files are read from tests/data/judges
    return [(label, parse_problem(info, 0), info, language, code, runs) for label, info, language, code, runs in cases]


def measure_judges(runs: int, programs: int) -> dict:
    from grpo_ext.rewards.code.judge import Judge
    from grpo_ext.rewards.code.reward import CodeExecution

    judge = Judge(CodeExecution(wall_seconds=5).local)
    tests, batches = [], []
    cases = _judge_cases()
    for label, problem, _, _, code, per_test in cases:
        prepared = judge.prepare(problem, code)
        start = time.perf_counter()
        first = judge.test(problem, prepared, 0)  # compiles the jury's program once
        first_seconds = time.perf_counter() - start
        if first.score != 1.0:  # an earlier version that cannot judge this kind (--tree)
            tests.append((label, per_test, None, None, None))
            continue
        times = []
        for k in range(runs):
            start = time.perf_counter()
            result = judge.test(problem, prepared, k % problem.count)
            times.append(time.perf_counter() - start)
            assert result.score == 1.0, (label, result)
        times.sort()
        tests.append((label, per_test, statistics.median(times), times[int(0.95 * (len(times) - 1))], first_seconds))
    for label, problem, info, language, code, _ in cases:
        if next(t for t in tests if t[0] == label)[2] is None:
            batches.append((label, None, programs * problem.count))
            continue
        batch = CodeExecution(wall_seconds=5, concurrency=os.cpu_count() or 1)
        completions = [f"```{language}\n{_commented(language, code, k)}\n```" for k in range(programs)]
        start = time.perf_counter()
        scores = batch(completions=completions, verification_info=[info] * programs)
        seconds = time.perf_counter() - start
        assert scores == [1.0] * programs, (label, scores, batch.last_outcomes)
        batches.append((label, seconds, programs * problem.count))
    info = sandbox.support()
    return {"as": info["as"], "bounds": info["bounds"], "tests": tests, "batches": batches}


def judges_rootless(runs: int, programs: int, tree: str | None) -> dict | None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                           str(Path(__file__).resolve().parent / "bench_code.py"), "--judges", "--runs", str(runs), "--programs", str(programs),
                           "--json", *(["--tree", tree] if tree else [])], capture_output=True, text=True, cwd="/", env={"PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        print(f"rootless run failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def print_judges(results: list[dict], runs: int, programs: int) -> None:
    print(f"\n{JUDGE_NOTE}\n\n{runs} tests per judge, one at a time\n")
    print("| sandbox runs as | run bounds | judge | sandboxed runs per test | median (ms) | p95 (ms) "
          "| first call, jury compile included (ms) |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        for label, per_test, median, p95, first in result["tests"]:
            if median is None:
                print(f"| {result['as']} | {result['bounds']} | {label} | {per_test} | not run | | |")
                continue
            print(f"| {result['as']} | {result['bounds']} | {label} | {per_test} | {median * 1e3:.0f} | {p95 * 1e3:.0f} "
                  f"| {first * 1e3:.0f} |")
    print(f"\nreward batches: {programs} distinct completions x 4 tests, concurrency {os.cpu_count()}\n")
    print("| sandbox runs as | judge | batch (s) | completions/s | tests/s |")
    print("|---|---|---|---|---|")
    for result in results:
        for label, seconds, tests in result["batches"]:
            if seconds is None:
                print(f"| {result['as']} | {label} | not run | | |")
                continue
            print(f"| {result['as']} | {label} | {seconds:.1f} | {programs / seconds:.1f} | {tests / seconds:.1f} |")


def run_judges(runs: int, programs: int, as_json: bool, tree: str | None) -> None:
    here = measure_judges(runs, programs)
    if as_json:
        print(json.dumps(here))
        return
    print_judges([here] + [r for r in [judges_rootless(runs, programs, tree)] if r], runs, programs)
