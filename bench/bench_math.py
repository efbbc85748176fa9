"""Accuracy and throughput of rewards.math.verify against math-verify, on one core, in one run.

    python bench/bench_math.py [--cases tests/data/math_cases.jsonl] [--repeat 3]

Both checkers see the same (completion, gold) pairs from the case file. math-verify is installed
with the ``dev`` extra for this benchmark only; the library never imports it. The process (and the
worker process that rewards.math starts) is pinned to CPU 0. The adversarial inputs at the end are
timed separately, one call each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewards import math as ours  # noqa: E402

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
    """(correct count, cases per second, slowest single case in s)."""
    for c in cases[:3]:
        check(c["completion"], c["gold"])  # warm up: imports, worker start
    correct, slowest, start = 0, 0.0, time.perf_counter()
    for _ in range(repeat):
        correct = 0
        for c in cases:
            t = time.perf_counter()
            got = check(c["completion"], c["gold"])
            slowest = max(slowest, time.perf_counter() - t)
            correct += got == c["expected"]
    elapsed = time.perf_counter() - start
    return correct, repeat * len(cases) / elapsed, slowest


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=str(Path(__file__).resolve().parents[1] / "tests/data/math_cases.jsonl"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    cases = [json.loads(line) for line in open(args.cases)]
    checkers = {"rewards.math.verify": ours.verify, "math-verify 0.9.0": math_verify_check}
    rows = []
    for name, check in checkers.items():
        correct, rate, slowest = run(check, cases, args.repeat)
        adv_times, _ = adversarial(check)
        rows.append((name, correct, rate, slowest, sum(adv_times), max(adv_times)))
    print(f"\n{len(cases)} cases x {args.repeat}, one core (CPU 0)\n")
    print("| checker | correct | accuracy | cases/s | slowest case (s) | adversarial total (s) | adversarial max (s) |")
    print("|---|---|---|---|---|---|---|")
    for name, correct, rate, slowest, adv_total, adv_max in rows:
        print(f"| {name} | {correct}/{len(cases)} | {correct / len(cases):.1%} | {rate:.0f} | {slowest:.3f} "
              f"| {adv_total:.2f} | {adv_max:.2f} |")
    print(f"\nthroughput ratio: {rows[0][2] / rows[1][2]:.1f}x")
    by_cat: dict[str, list[int]] = {}
    for c in cases:
        by_cat.setdefault(c["category"], [0, 0, 0])
    for name, check in checkers.items():
        col = 1 if name.startswith("rewards") else 2
        for c in cases:
            by_cat[c["category"]][col] += check(c["completion"], c["gold"]) == c["expected"]
    counts = {cat: sum(1 for c in cases if c["category"] == cat) for cat in by_cat}
    print("\n| category | cases | ours | math-verify |\n|---|---|---|---|")
    for cat, (_, a, b) in by_cat.items():
        print(f"| {cat} | {counts[cat]} | {a} | {b} |")


if __name__ == "__main__":
    main()
