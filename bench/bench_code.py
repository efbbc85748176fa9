"""Cost of the code sandbox against a plain ``subprocess.run`` of the same program, in one run.

    python bench/bench_code.py [--runs 100]     (as root: the sandbox needs namespaces)

Both sides run the same trivial program (``print(sum(range(10)))``) from a file with the same
interpreter. "plain" writes the file to a temporary directory and calls subprocess.run; "sandbox"
is rewards.sandbox.run (fresh directory, namespaces, unprivileged user, limits, clean-up).
Throughput runs 2 programs at a time on this 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewards import sandbox  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    if not sandbox.namespaces_available():
        raise SystemExit("the sandbox needs root and unshare on this machine")
    python = sandbox.default_python()
    runners = {"plain subprocess.run": plain, "rewards.sandbox.run": sandboxed}
    rows = {}
    for name, fn in runners.items():
        fn(python)  # warm the file cache
        times = sorted(fn(python) for _ in range(args.runs))
        start = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda _: fn(python), range(args.runs)))
        rate = args.runs / (time.perf_counter() - start)
        rows[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], rate)
    base_median, base_p95, _ = rows["plain subprocess.run"]
    print(f"\n{args.runs} runs of a trivial Python program, {python}\n")
    print("| runner | median (ms) | p95 (ms) | overhead median (ms) | overhead p95 (ms) | programs/s (2 at a time) |")
    print("|---|---|---|---|---|---|")
    for name, (median, p95, rate) in rows.items():
        print(f"| {name} | {median * 1e3:.1f} | {p95 * 1e3:.1f} | {(median - base_median) * 1e3:+.1f} "
              f"| {(p95 - base_p95) * 1e3:+.1f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
