"""Attacks on the math reward, by class: how many wrong answers are paid, how many dodge to None,
and how many honest answers are refused.

    python bench/bench_math_attacks.py [--cases tests/data/math_attacks.jsonl] [--root DIR]

Each row of the case file is a completion, a gold, the class of attack it belongs to and whether it
is a right answer (``expected``). Every row goes through ``math_accuracy`` as training calls it;
``--root`` runs another checkout's code (for before/after tables) on the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=str(ROOT / "tests" / "data" / "math_attacks.jsonl"))
    ap.add_argument("--root", default=str(ROOT), help="checkout whose grpo_ext.rewards to run")
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    from grpo_ext import rewards

    reward = rewards.get("math_accuracy")
    rows = [json.loads(line) for line in Path(args.cases).open()]
    tally: dict[str, Counter] = {}
    for row in rows:
        got = reward(completions=[row["completion"]], answer=[row["gold"]])[0]
        t = tally.setdefault(row["class"], Counter())
        if row["expected"] is None:  # a fault of the row (no gold): None is the right score
            t["row_faults"] += 1
            t["row_faults_not_none"] += got is not None
        elif row["expected"]:
            t["honest"] += 1
            t["honest_refused"] += got != 1.0
        else:
            t["attacks"] += 1
            t["paid"] += got == 1.0
            t["none"] += got is None
    print(f"{len(rows)} rows from {args.cases}, code from {args.root}\n")
    print("| class | attacks | paid | None | honest | honest refused | row faults not scored None |")
    print("|---|---|---|---|---|---|---|")
    total = Counter()
    for cls, t in tally.items():
        total.update(t)
        print(f"| {cls} | {t['attacks']} | {t['paid']} | {t['none']} | {t['honest']} | {t['honest_refused']} | "
              f"{t['row_faults_not_none']} of {t['row_faults']} |")
    print(f"| **all** | {total['attacks']} | {total['paid']} | {total['none']} | {total['honest']} | "
          f"{total['honest_refused']} | {total['row_faults_not_none']} of {total['row_faults']} |")


if __name__ == "__main__":
    main()
