"""Differential test: rewards.math.verify and math-verify on the same generated answer variants.

    python bench/bench_math_diff.py [--out bench/results/math_diff_after.jsonl] [--per-variant 4]

``--out x.jsonl`` also writes ``x.md``: the disagreements grouped by decision and convention, with
a count and one example each.

The pairs come from ``bench/math_variants.py`` (gold answers in the formats of GSM8K, MATH, AIME,
olympiad and multiple-choice data, each written the ways models write it, plus near misses). Each
pair carries the convention that decides it. Every pair on which the two checkers disagree is
written to ``--out`` with the verdicts and the triage: ``decision`` names the side whose verdict
follows the convention (``ours`` or ``math-verify``), ``reason`` the convention. The table counts
disagreements by family and by decision, and each checker's mistakes against the conventions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_math import math_verify_check  # noqa: E402
from math_variants import pairs  # noqa: E402

from grpo_ext.rewards import math as ours  # noqa: E402


def _mv(completion: str, gold: str) -> bool:
    try:
        return math_verify_check(completion, gold)
    except Exception:  # the peer may raise; a raise is a "no"
        return False


def write_markdown(path: Path, rows: list[dict], disagreements: list[dict]) -> None:
    """Disagreements grouped by (decision, family, convention): count, one example."""
    groups: dict[tuple, list[dict]] = {}
    for d in disagreements:
        groups.setdefault((d["decision"], d["family"], d["reason"]), []).append(d)
    lines = [f"# Disagreements with math-verify: {len(disagreements)} of {len(rows)} generated pairs", "",
             "Decision: the side whose verdict follows the convention (the generator's label for the variant).", "",
             "| decided for | family | convention (same / different) | pairs | completion formats | ours | math-verify "
             "| example gold | example answer |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (decision, family, reason), ds in sorted(groups.items()):
        d = ds[0]
        gold, answer = (x.replace("\n", " ").replace("|", "\\|") for x in (d["gold"][-40:], d["variant"]))
        formats = ", ".join(sorted({x["format"] for x in ds}))
        lines.append(f"| {decision} | {family} | {reason} | {len(ds)} | {formats} | {d['ours']} | {d['math_verify']} "
                     f"| `{gold}` | `{answer}` |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench/results/math_diff_after.jsonl"))
    parser.add_argument("--per-variant", type=int, default=4, help="completion formats per variant")
    args = parser.parse_args()
    rows = list(pairs(per_variant=args.per_variant))
    disagreements, wrong = [], Counter()
    for row in rows:
        check = ours.explain(row["completion"], row["gold"])
        a, b = bool(check.correct), _mv(row["completion"], row["gold"])
        wrong["ours"] += a != row["expected"]
        wrong["math-verify"] += b != row["expected"]
        if a != b:
            decision = "ours" if a == row["expected"] else "math-verify"
            disagreements.append(dict(row, ours=a, math_verify=b, ours_extracted=check.answer, ours_reason=check.reason,
                                      decision=decision, reason=f"{row['convention']} ({'same' if row['expected'] else 'different'})"))
    with open(args.out, "w") as f:
        for d in disagreements:
            f.write(json.dumps(d) + "\n")
    write_markdown(Path(args.out).with_suffix(".md"), rows, disagreements)
    print(f"\n{len(rows)} pairs ({sum(r['expected'] for r in rows)} equivalent, {sum(not r['expected'] for r in rows)} not); "
          f"{len(disagreements)} disagreements, written to {args.out}\n")
    print("| family | pairs | disagreements | decided for ours | decided for math-verify |\n|---|---|---|---|---|")
    for family in dict.fromkeys(r["family"] for r in rows):
        ds = [d for d in disagreements if d["family"] == family]
        print(f"| {family} | {sum(r['family'] == family for r in rows)} | {len(ds)} | "
              f"{sum(d['decision'] == 'ours' for d in ds)} | {sum(d['decision'] == 'math-verify' for d in ds)} |")
    print(f"| **all** | {len(rows)} | {len(disagreements)} | {sum(d['decision'] == 'ours' for d in disagreements)} | "
          f"{sum(d['decision'] == 'math-verify' for d in disagreements)} |")
    print(f"\nverdicts against the conventions: ours wrong on {wrong['ours']}, math-verify wrong on {wrong['math-verify']}")


if __name__ == "__main__":
    main()
