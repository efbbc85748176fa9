"""The attack table of docs/code.md: issue 16's attacks (tests/test_code_split.py) against every
row shape, scored by ``code_execution``, as root and rootless; with ``--tree`` against another
checkout (an earlier version, root only), to show what the attacks won there.

    python bench/code_attacks.py                                   # this checkout, root and rootless
    python bench/code_attacks.py --tree /tmp/grpo-ext-before       # an earlier version, root
    python bench/code_attacks.py --verdicts [--tree ...]           # the verdict attacks and controls

Prints one markdown table: attack x row shape -> score (``root / rootless``); with ``--verdicts``
the attacks and controls of tests/test_code_verdicts.py, _r4.py and _r5.py: row shape, fair share, score per mode.
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


def _shape(row: dict) -> str:
    if "fn_name" in row:
        return "call-based"
    if "test_cases" in row:
        return "stdin"
    if "TestCase" in row["test_code"]:
        return "unittest"
    return "check(candidate)" if "entry_point" in row or "def check" in row["test_code"] else "assert"


def verdicts(modes: list[str]) -> None:
    import json

    import test_code_verdicts
    import test_code_verdicts_r4
    import test_code_verdicts_r5
    from test_code_verdicts import fenced

    def fence(spec):  # round 5's extraction rows carry their whole completion in the row
        return spec[0]["completion"] if spec[1] is None else fenced(spec[1])

    def info(spec):
        return {k: v for k, v in spec[0].items() if k != "completion"}

    rows, where = [], {}
    for module in (test_code_verdicts, test_code_verdicts_r4, test_code_verdicts_r5):  # the rounds' attacks and controls
        rows += [(name, spec, "attack") for name, spec in module.ATTACKS.items()]
        rows += [(name, spec, "control") for name, spec in module.CONTROLS.items()]
        where.update(dict.fromkeys([*module.ATTACKS, *module.CONTROLS], f"tests/{module.__name__}.py"))
    got = {}
    for mode in modes:
        use = [r for r in rows if mode == "root" or _carries(json, r[1][0])]
        try:
            if mode == "root":
                from grpo_ext.rewards.code import CodeExecution

                out = CodeExecution(wall_seconds=2)(completions=[fence(r[1]) for r in use],
                                                   verification_info=[info(r[1]) for r in use])
            else:
                out = Runner(mode).score([fence(r[1]) for r in use], [info(r[1]) for r in use], wall_seconds=2)
        except Exception as err:  # noqa: BLE001 - an earlier version may raise on a row; score them one by one
            print(f"{mode}: the batch raised {type(err).__name__}: {str(err)[:100]}; scoring one row at a time")
            out = []
            for r in use:
                try:
                    out.append(CodeExecution(wall_seconds=2)(completions=[fence(r[1])],
                                                             verification_info=[info(r[1])])[0])
                except Exception as one:  # noqa: BLE001
                    out.append(f"raises {type(one).__name__}")
        got[mode] = dict(zip([r[0] for r in use], out))
    test = {"attack": "test_attack_is_not_paid_above_its_fair_share", "control": "test_control_is_paid_its_share"}
    print(f"\nrewards from {TREE}\n")
    print("| kind | case | row shape | fair share | " + " | ".join(modes) + " | test |")
    print("|---|---|---|---|" + "---|" * len(modes) + "---|")
    for name, (row, _, fair), kind in rows:
        cells = [_fmt(got[m].get(name, "n/a")) for m in modes]
        print(f"| {kind} | {name} | {_shape(row)} | {fair:.2g} | " + " | ".join(cells)
              + f" | `{where[name]}::{test[kind]}[<mode>-{name}]` |")


def _carries(json, row) -> bool:
    try:
        json.dumps(row)
    except ValueError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="score with the rewards package of this checkout (root only)")
    parser.add_argument("--verdicts", action="store_true", help="the verdict attacks and controls")
    args = parser.parse_args()
    modes = ["root"] if args.tree else ["root", "rootless"]
    if args.verdicts:
        verdicts(modes)
        return
    results = {mode: scores(mode) for mode in modes}
    print(f"\nscores ({' / '.join(modes)}), rewards from {TREE}\n")
    print("| attack | " + " | ".join(SHAPES) + " |")
    print("|---|" + "---|" * len(SHAPES))
    for attack in ATTACKS:
        cells = [" / ".join(_fmt(results[m][attack][i]) for m in modes) for i in range(len(SHAPES))]
        print(f"| {attack} | " + " | ".join(cells) + " |")


def _fmt(score) -> str:
    return "None" if score is None else score if isinstance(score, str) else f"{score:.2g}"


if __name__ == "__main__":
    main()
