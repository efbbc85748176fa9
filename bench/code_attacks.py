"""The attack table of docs/code.md: issue 16's attacks (tests/test_code_split.py) against every
row shape, scored by ``code_execution``, as root and rootless; with ``--tree`` against another
checkout (an earlier version, root only), to show what the attacks won there.

    python bench/code_attacks.py                                   # this checkout, root and rootless
    python bench/code_attacks.py --tree /tmp/grpo-ext-before       # an earlier version, root

Prints one markdown table: attack x row shape -> score (``root / rootless``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(ROOT)
sys.path[:0] = [TREE, str(ROOT / "tests")]

from sandbox_modes import Runner  # noqa: E402
from test_code_split import ATTACKS, SHAPES, fenced  # noqa: E402


def scores(mode: str) -> dict[str, list]:
    if mode == "root":  # through the checkout named by --tree (this one by default)
        from grpo_ext.rewards.code import CodeExecution

        def score(completions, infos):
            return CodeExecution(wall_seconds=3)(completions=completions, verification_info=infos)
    else:  # as nobody, through tests/sandbox_driver.py of this checkout
        def score(completions, infos):
            return Runner(mode).score(completions, infos, wall_seconds=3)
    shapes = list(SHAPES)
    return {attack: score([fenced(code, s) for s in shapes], [SHAPES[s] for s in shapes])
            for attack, code in ATTACKS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="score with the rewards package of this checkout (root only)")
    args = parser.parse_args()
    modes = ["root"] if args.tree else ["root", "rootless"]
    results = {mode: scores(mode) for mode in modes}
    print(f"\nscores ({' / '.join(modes)}), rewards from {TREE}\n")
    print("| attack | " + " | ".join(SHAPES) + " |")
    print("|---|" + "---|" * len(SHAPES))
    for attack in ATTACKS:
        cells = [" / ".join(_fmt(results[m][attack][i]) for m in modes) for i in range(len(SHAPES))]
        print(f"| {attack} | " + " | ".join(cells) + " |")


def _fmt(score) -> str:
    return "None" if score is None else f"{score:.2g}"


if __name__ == "__main__":
    main()
