"""Cost of the code sandbox against a plain ``subprocess.run`` of the same program, in one run,
as root and rootless (an unprivileged user; started as root, the script re-runs itself as
``nobody`` through ``setpriv`` with the system Python).

    python bench/bench_code.py [--runs 100]

Both sides run the same trivial program (``print(sum(range(10)))``) from a file with the same
interpreter. "plain" writes the file to a temporary directory and calls subprocess.run;
"sandbox" is rewards.sandbox.run (user namespaces, new root, bounded tmpfs, limits, clean-up).
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


def measure(runs: int) -> dict:
    python = sandbox.default_python()
    cores = os.cpu_count() or 1
    rows = {}
    for name, fn in (("plain subprocess.run", plain), ("rewards.sandbox.run", sandboxed)):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print this user's measurements as JSON (internal)")
    args = parser.parse_args()
    if not sandbox.namespaces_available():
        raise SystemExit(f"the sandbox is unavailable here: {sandbox.support()['error']}")
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
