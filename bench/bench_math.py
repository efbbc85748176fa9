"""Accuracy and throughput of rewards.math.verify against math-verify, on one core, in one run.

    python bench/bench_math.py [--cases tests/data/math_cases.jsonl] [--repeat 3]

Per kind of case (the file's ``category``), and for the held-out cases: correct verdicts, false
positives, false negatives and the slowest single case, for both checkers; then cases per second.

Both checkers see the same (completion, gold) pairs from the case file. math-verify is installed
with the ``dev`` extra for this benchmark only; the library never imports it. The process (and the
worker process that rewards.math starts) is pinned to CPU 0. The adversarial inputs at the end are
timed separately, one call each.

Last, the loaded-machine run: the case file once more through ``rewards.math.explain`` while
another process keeps every core busy (``--load-procs`` busy loops, 2 per core by default), with a
fresh worker started under that load; it reports the verdicts that differ from the idle run and the
time-outs (goal: none). ``--load-only`` runs just that part.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grpo_ext.rewards import math as ours  # noqa: E402

ADVERSARIAL = [
    ("\\boxed{9^{9^{9^9}}}", "1"),
    ("\\boxed{100000!}", "2"),
    ("\\boxed{" + "(" * 500 + "1" + ")" * 500 + "}", "1"),
    ("\\boxed{" + "{" * 500 + "1" + "}" * 500 + "}", "1"),
    ("x " * 100_000 + "\\boxed{7}", "7"),
    ("\\boxed{10^{10^{10}}}", "1"),
    ("\\boxed{(x+1)^{100000}}", "x"),
    ("\\boxed{\\frac{1}{2004!}}", "\\frac{1}{2006!}"),
    ("\\boxed{" + "+".join(["x"] * 3000) + "}", "3000x"),
]


def math_verify_check(completion: str, gold: str) -> bool:
    """The peer, used as its documentation shows: the gold answer in ``$...$``. Gold solutions
    (GSM8K ``####``, MATH ``\\boxed{}``) are cut to their answer first, as a user of it would."""
    from math_verify import parse, verify

    return bool(verify(parse(f"${ours.gold_answer(gold)}$"), parse(completion)))


def run(check, cases, repeat: int):
    """Per case (verdict, seconds of its slowest repeat); and cases per second over all repeats."""
    for c in cases[:3]:
        check(c["completion"], c["gold"])  # warm up: imports, worker start
    verdicts, slowest = [None] * len(cases), [0.0] * len(cases)
    start = time.perf_counter()
    for _ in range(repeat):
        for i, c in enumerate(cases):
            t = time.perf_counter()
            try:
                verdicts[i] = bool(check(c["completion"], c["gold"]))
            except Exception:  # the peer may raise; a raise is a "no"
                verdicts[i] = False
            slowest[i] = max(slowest[i], time.perf_counter() - t)
    return verdicts, slowest, repeat * len(cases) / (time.perf_counter() - start)


def tally(cases, verdicts, slowest, pick) -> dict:
    rows = [(c, v, t) for c, v, t in zip(cases, verdicts, slowest) if pick(c)]
    return {"n": len(rows), "correct": sum(v == c["expected"] for c, v, _ in rows),
            "fp": sum(v and not c["expected"] for c, v, _ in rows),
            "fn": sum(c["expected"] and not v for c, v, _ in rows),
            "slowest": max((t for _, _, t in rows), default=0.0)}


def adversarial(check):
    times, results = [], []
    for completion, gold in ADVERSARIAL:
        t = time.perf_counter()
        try:
            results.append(check(completion, gold))
        except Exception as err:  # the peer may raise; that is a result too
            results.append(f"raised {type(err).__name__}")
        times.append(time.perf_counter() - t)
    return times, results


_BUSY = "import multiprocessing as mp, sys\ndef spin():\n    while True: pass\nif __name__ == '__main__':\n" \
        "    ps = [mp.Process(target=spin) for _ in range(int(sys.argv[1]))]\n    [p.start() for p in ps]\n" \
        "    [p.join() for p in ps]\n"


def verdicts_of(cases) -> list[tuple[bool | None, str]]:
    """(correct, time-out cause) of every case, with a fresh worker (its start is part of the run)."""
    from grpo_ext.rewards._bounded import shared_worker

    shared_worker().close()
    out = []
    for c in cases:
        check = ours.explain(c["completion"], c["gold"])
        out.append((check.correct, check.timeout))
    return out


def loaded_run(cases, procs: int) -> None:
    """The case file idle, then with ``procs`` busy loops in another process: verdict changes."""
    t = time.perf_counter()
    idle = verdicts_of(cases)
    idle_s = time.perf_counter() - t
    busy = subprocess.Popen([sys.executable, "-c", _BUSY, str(procs)], start_new_session=True)
    try:
        time.sleep(1.0)  # let the load build up
        with open("/proc/loadavg") as f:
            load_before = f.read().split()[0]
        t = time.perf_counter()
        loaded = verdicts_of(cases)
        loaded_s = time.perf_counter() - t
        with open("/proc/loadavg") as f:
            load_after = f.read().split()[0]
    finally:
        os.killpg(busy.pid, signal.SIGKILL)  # the busy loops with it
        busy.wait()
    changed = [i for i, (a, b) in enumerate(zip(idle, loaded)) if a[0] != b[0]]
    timeouts = {"idle": sum(bool(v[1]) for v in idle), "loaded": sum(bool(v[1]) for v in loaded)}
    print(f"\nloaded machine: {procs} busy loops in another process on {os.cpu_count()} cores (load average "
          f"{load_before} -> {load_after}); a fresh worker for each run\n")
    print("| run | cases | seconds | time-outs | verdicts changed vs idle |\n|---|---|---|---|---|")
    print(f"| idle | {len(cases)} | {idle_s:.1f} | {timeouts['idle']} | - |")
    print(f"| loaded | {len(cases)} | {loaded_s:.1f} | {timeouts['loaded']} | {len(changed)} |")
    for i in changed:
        print(f"  changed: case {i} ({cases[i]['category']}): idle {idle[i]} -> loaded {loaded[i]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=str(Path(__file__).resolve().parents[1] / "tests/data/math_cases.jsonl"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--load-procs", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--load-only", action="store_true", help="only the loaded-machine run")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    cases = [json.loads(line) for line in open(args.cases)]
    if args.load_only:
        return loaded_run(cases, args.load_procs)
    checkers = {"ours": ours.verify, "math-verify": math_verify_check}
    results, adversarial_rows = {}, {}
    for name, check in checkers.items():
        results[name] = run(check, cases, args.repeat)
        times, _ = adversarial(check)
        adversarial_rows[name] = (sum(times), max(times))
    kinds = list(dict.fromkeys(c["category"] for c in cases))
    groups = [(k, lambda c, k=k: c["category"] == k) for k in kinds]
    groups += [("held out (written before the fixes)", lambda c: bool(c.get("held_out"))), ("all", lambda c: True)]
    print(f"\n{len(cases)} cases x {args.repeat}, one core (CPU 0); FP: a wrong answer scored right, "
          "FN: a right answer scored wrong; slowest: one case, seconds\n")
    print("| kind | cases | ours correct | math-verify correct | ours FP | math-verify FP | ours FN | math-verify FN "
          "| ours slowest | math-verify slowest |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, pick in groups:
        a, b = (tally(cases, *results[n][:2], pick) for n in checkers)
        bold = "**" if label == "all" else ""
        print(f"| {bold}{label}{bold} | {a['n']} | {a['correct']} | {b['correct']} | {a['fp']} | {b['fp']} | {a['fn']} "
              f"| {b['fn']} | {a['slowest']:.3f} | {b['slowest']:.3f} |")
    rate = {n: results[n][2] for n in checkers}
    print("\n| checker | cases/s | adversarial inputs: total (s) | adversarial max (s) |\n|---|---|---|---|")
    for name in checkers:
        print(f"| {name} | {rate[name]:.0f} | {adversarial_rows[name][0]:.2f} | {adversarial_rows[name][1]:.2f} |")
    print(f"\nthroughput ratio (ours / math-verify): {rate['ours'] / rate['math-verify']:.1f}x")
    loaded_run(cases, args.load_procs)


if __name__ == "__main__":
    main()
