"""Cost of the code sandbox against a plain ``subprocess.run`` of the same program, in one run,
as root and rootless (an unprivileged user; started as root, the script re-runs itself as
``nobody`` through ``setpriv`` with the system Python).

    python bench/bench_code.py [--runs 100]
    python bench/bench_code.py --language cpp [--programs 40 --cases 4]
    python bench/bench_code.py --language python
    python bench/bench_code.py --judges [--runs 20 --programs 16] [--tree DIR]   (bench/bench_judges.py)
    python bench/bench_code.py --rows --before-tree /tmp/grpo-ext-before [--runs 30 --programs 16]

With ``--language``: one program (read two numbers, print their sum) in that language, measured
four ways in the same run: "plain" compiles it with the same command in a temporary directory and
runs it with ``subprocess.run`` (no isolation; the floor); "sandbox" compiles and runs it with
``LocalBackend`` (compile in the sandbox, artifacts over the side channel, a fresh sandbox per
run); then whole reward batches (``--programs`` completions x ``--cases`` tests, ``concurrency`` =
cores) through ``code_execution`` with the local backend and with a Piston and a SandboxFusion
stand-in (tests/code_services.py: HTTP on this machine, running programs in the same sandbox;
these services compile in every request, so a remote batch compiles once per test case).

With ``--rows``: the whole ``code_execution`` reward on one row, one completion at a time, for an
assert-style (``test_code``) row and a call-based row, against the floor of the same work in one
plain ``subprocess.run`` (the program with the tests appended, or with a loop that calls the
function, no isolation); then a batch of ``--programs`` distinct completions with ``concurrency``
= cores (programs/s with every core busy). ``--before-tree`` names a checkout of an earlier
version (e.g. ``git archive <commit> | tar -x -C DIR``) measured the same way in a separate
process, so a design change is measured before and after in one run.

Both sides run the same trivial program (``print(sum(range(10)))``) from a file with the same
interpreter. "plain" writes the file to a temporary directory and calls subprocess.run;
"sandbox" is rewards.code.sandbox.run (user namespaces, new root, bounded tmpfs, limits, clean-up).
Throughput runs as many programs at a time as there are cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# --tree DIR (internal, for --rows): import rewards from that checkout instead of this one
TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(Path(__file__).resolve().parents[1])
sys.path.insert(0, TREE)

from grpo_ext.rewards.code import sandbox  # noqa: E402

PROGRAM = "print(sum(range(10)))"


def plain(python: str) -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.py").write_text(PROGRAM)
        out = subprocess.run([python, "-I", "main.py"], cwd=d, capture_output=True, text=True, timeout=10)
    assert out.stdout == "45\n", out
    return time.perf_counter() - start


def sandboxed(python: str) -> float:
    start = time.perf_counter()
    result = sandbox.run({"main.py": PROGRAM}, [python, "-I", "main.py"])
    assert result.ok and result.stdout == "45\n", result
    return time.perf_counter() - start


def measure(runs: int) -> dict:
    python = sandbox.default_python()
    cores = os.cpu_count() or 1
    rows = {}
    for name, fn in (("plain subprocess.run", plain), ("grpo_ext.rewards.code.sandbox.run", sandboxed)):
        fn(python)  # warm the file cache
        times = sorted(fn(python) for _ in range(runs))
        start = time.perf_counter()
        with ThreadPoolExecutor(cores) as pool:
            list(pool.map(lambda _: fn(python), range(runs)))
        rate = runs / (time.perf_counter() - start)
        rows[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], rate)
    info = sandbox.support()
    return {"rows": rows, "as": info["as"], "bounds": info["bounds"], "python": python, "cores": cores}


def rootless(runs: int) -> dict | None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                           str(Path(__file__).resolve()), "--runs", str(runs), "--json"],
                          capture_output=True, text=True, cwd="/", env={"PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        print(f"rootless run failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


SUM_PROGRAMS = {
    "python": "a, b = map(int, input().split())\nprint(a + b)",
    "cpp": "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }",
    "c": "#include <stdio.h>\nint main(void) { long a, b; scanf(\"%ld %ld\", &a, &b); printf(\"%ld\\n\", a + b); return 0; }",
    "java": "import java.util.*;\npublic class Main { public static void main(String[] x) { Scanner s = new Scanner(System.in);"
            " System.out.println(s.nextLong() + s.nextLong()); } }",
    "javascript": "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(a + b);",
    "rust": "use std::io::Read;\nfn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s).unwrap();"
            " let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect(); println!(\"{}\", v[0] + v[1]); }",
}


def plain_compile_and_run(language, code: str) -> float:
    """The floor: the same commands in a temporary directory, no isolation."""
    tools = language.toolchain()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        Path(d, language.source).write_text(code)
        if tools.compile:
            subprocess.run(list(tools.compile), cwd=d, capture_output=True, check=True, timeout=60)
        out = subprocess.run(list(tools.run), cwd=d, input="2 3\n", capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "5", out
    return time.perf_counter() - start


def sandbox_compile_and_run(language, code: str) -> float:
    from grpo_ext.rewards.code.backends import LocalBackend

    backend = LocalBackend(sandbox.Limits(wall_seconds=20, cpu_seconds=20))
    start = time.perf_counter()
    ready = backend.prepare(language, code)
    run = backend.execute(ready, "2 3\n")
    assert run.status == "ok" and run.stdout.strip() == "5", (ready, run)
    return time.perf_counter() - start


def reward_batch(language, code: str, programs: int, cases: int, backend: str, url: str | None) -> float:
    from grpo_ext.rewards.code import CodeExecution

    info = {"language": language.name, "test_cases": [{"input": f"{i} {i}\n", "output": f"{2 * i}\n"}
                                                      for i in range(cases)]}
    # a comment makes every program distinct, as a policy's samples are
    completions = [f"```{language.name}\n{_commented(language.name, code, k)}\n```" for k in range(programs)]
    reward = CodeExecution(backend=backend, url=url, wall_seconds=10, concurrency=os.cpu_count() or 1,
                           request_timeout=120)
    start = time.perf_counter()
    scores = reward(completions=completions, verification_info=[info] * programs)
    assert scores == [1.0] * programs, (scores, reward.last_outcomes)
    return time.perf_counter() - start


def _commented(name: str, code: str, k: int) -> str:
    return code + (f"\n# sample {k}" if name == "python" else f"\n// sample {k}")


def measure_language(name: str, runs: int, programs: int, cases: int) -> None:
    from grpo_ext.rewards.code.languages import get_language
    from tests.code_services import StandIn

    language = get_language(name)
    code = SUM_PROGRAMS[language.name]
    rows = []
    for label, fn in (("plain compile + run (no isolation)", plain_compile_and_run),
                      ("sandbox compile + run (LocalBackend)", sandbox_compile_and_run)):
        fn(language, code)  # warm the file cache
        times = sorted(fn(language, code) for _ in range(runs))
        rows.append((label, statistics.median(times), times[int(0.95 * (len(times) - 1))]))
    base = rows[0][1]
    print(f"\n{language.name}: {runs} compile-and-run cycles of one program, one at a time\n")
    print("| runner | median (ms) | p95 (ms) | overhead median (ms) |")
    print("|---|---|---|---|")
    for label, median, p95 in rows:
        print(f"| {label} | {median * 1e3:.0f} | {p95 * 1e3:.0f} | {(median - base) * 1e3:+.0f} |")
    print(f"\n{language.name}: a reward batch of {programs} distinct programs x {cases} tests, "
          f"concurrency {os.cpu_count()}\n")
    print("| backend | batch (s) | programs/s | test runs/s |")
    print("|---|---|---|---|")
    seconds = reward_batch(language, code, programs, cases, "local", None)
    print(f"| local sandbox | {seconds:.1f} | {programs / seconds:.1f} | {programs * cases / seconds:.1f} |")
    for api in ("piston", "sandbox_fusion"):
        if api == "sandbox_fusion" and language.name == "c":
            continue  # SandboxFusion has no C
        with StandIn(api) as service:
            seconds = reward_batch(language, code, programs, cases, api, service.url)
        print(f"| {api} stand-in (HTTP, same machine) | {seconds:.1f} | {programs / seconds:.1f} "
              f"| {programs * cases / seconds:.1f} |")


ADD = "def add(a, b):\n    return a + b\n"
ROWS = {  # kind: (row, the same checks as one plain Python file)
    "test_code": ({"language": "python", "test_code": "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(2, 2) == 4"},
                  ADD + "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(2, 2) == 4\n"),
    "call-based": ({"language": "python", "fn_name": "add", "inputs": [[1, 2], [-1, 1], [2, 2]], "outputs": [3, 0, 4]},
                   ADD + "print([add(*a) for a in [[1, 2], [-1, 1], [2, 2]]] == [3, 0, 4])\n"),
}


def plain_row(python: str, source: str) -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.py").write_text(source)
        out = subprocess.run([python, "-I", "main.py"], cwd=d, capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and out.stdout in ("", "True\n"), out
    return time.perf_counter() - start


def reward_rows(runs: int, programs: int) -> dict:
    """This tree's reward on each row kind: times of single completions, and a batch's rate."""
    from grpo_ext.rewards.code import CodeExecution

    python, cores, out = sandbox.default_python(), os.cpu_count() or 1, {}
    single = CodeExecution(wall_seconds=5, concurrency=1)
    batch = CodeExecution(wall_seconds=5, concurrency=cores)
    for kind, (row, source) in ROWS.items():
        completion = f"```python\n{ADD}```"
        assert single(completions=[completion], verification_info=[row]) == [1.0]  # warm
        times = sorted(_timed(lambda: single(completions=[completion], verification_info=[row])) for _ in range(runs))
        plain = sorted(_timed(lambda: plain_row(python, source)) for _ in range(runs))
        many = [f"```python\n{ADD}# sample {k}\n```" for k in range(programs)]
        start = time.perf_counter()
        assert batch(completions=many, verification_info=[row] * programs) == [1.0] * programs
        rate = programs / (time.perf_counter() - start)
        out[kind] = {"plain": plain, "reward": times, "rate": [rate]}
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _stats(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def measure_rows(runs: int, programs: int, before: str | None, rounds: int = 3) -> None:
    """Both trees in alternating rounds (so a busy machine weighs on both alike), times pooled."""
    trees = ([("before", before)] if before else []) + [("after", TREE)]
    results = {label: {kind: {"plain": [], "reward": [], "rate": []} for kind in ROWS} for label, _ in trees}
    for _ in range(rounds):
        for label, tree in trees:
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--rows-json", "--tree", tree,
                                   "--runs", str(max(1, runs // rounds)), "--programs", str(programs)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"the {label} tree ({tree}) failed: {proc.stderr.strip()[-800:]}")
            for kind, got in json.loads(proc.stdout.splitlines()[-1]).items():
                for key, values in got.items():
                    results[label][kind][key] += values
    info = sandbox.support()
    print(f"\ncode_execution on one row, {runs} completions one at a time (median, p95), and a batch of "
          f"{programs} distinct completions with concurrency {os.cpu_count()} (median of {rounds} rounds); "
          f"trees measured in alternating rounds; sandbox as {info['as']}, bounds {info['bounds']}\n")
    print("| row | design | plain subprocess.run median / p95 (ms) | reward median / p95 (ms) "
          "| overhead median / p95 (ms) | programs/s, all cores |")
    print("|---|---|---|---|---|---|")
    for kind in ROWS:
        for label, _ in trees:
            r = results[label][kind]
            (pm, pp), (rm, rp) = _stats(sorted(r["plain"])), _stats(sorted(r["reward"]))
            print(f"| {kind} | {label} | {pm * 1e3:.0f} / {pp * 1e3:.0f} | {rm * 1e3:.0f} / {rp * 1e3:.0f} "
                  f"| {(rm - pm) * 1e3:+.0f} / {(rp - pp) * 1e3:+.0f} | {statistics.median(r['rate']):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--language", help="measure compile-and-run and reward batches in this language")
    parser.add_argument("--programs", type=int, default=40, help="--language: completions per reward batch")
    parser.add_argument("--cases", type=int, default=4, help="--language: tests per completion")
    parser.add_argument("--judges", action="store_true", help="measure checkers and interactors (see JUDGE_NOTE)")
    parser.add_argument("--json", action="store_true", help="print this user's measurements as JSON (internal)")
    parser.add_argument("--rows", action="store_true", help="measure the reward on a test_code and a call-based row")
    parser.add_argument("--before-tree", help="--rows: also measure the checkout in this folder (an earlier version)")
    parser.add_argument("--rows-json", action="store_true", help="--rows for this tree only, as JSON (internal)")
    parser.add_argument("--tree", help="import rewards from this checkout (--judges: measure an earlier version)")
    args = parser.parse_args()
    if not sandbox.namespaces_available():
        raise SystemExit(f"the sandbox is unavailable here: {sandbox.support()['error']}")
    if args.judges:
        from bench_judges import run_judges

        run_judges(min(args.runs, 40), args.programs, args.json, args.tree)
        return
    if args.rows_json:
        print(json.dumps(reward_rows(args.runs, args.programs)))
        return
    if args.rows:
        measure_rows(min(args.runs, 50), min(args.programs, 40), args.before_tree)
        return
    if args.language:
        measure_language(args.language, min(args.runs, 30), args.programs, args.cases)
        return
    here = measure(args.runs)
    if args.json:
        print(json.dumps(here))
        return
    results = [here] + [r for r in [rootless(args.runs)] if r]
    print(f"\n{args.runs} runs of a trivial Python program, {here['python']}, {here['cores']} programs at a time "
          "for throughput\n")
    print("| sandbox runs as | run bounds | runner | median (ms) | p95 (ms) | overhead median (ms) "
          "| overhead p95 (ms) | programs/s |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        rows = result["rows"]
        base_median, base_p95, _ = rows["plain subprocess.run"]
        for name, (median, p95, rate) in rows.items():
            print(f"| {result['as']} | {result['bounds']} | {name} | {median * 1e3:.1f} | {p95 * 1e3:.1f} "
                  f"| {(median - base_median) * 1e3:+.1f} | {(p95 - base_p95) * 1e3:+.1f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
