"""Attacks on the math reward through its public entry point, each a row of
tests/data/math_attacks.jsonl: a wrong or non-answer completion must score exactly 0.0 (not 1.0,
not the None that training turns into a zero advantage); an honest right answer must score 1.0."""

import json
from pathlib import Path

import pytest

from grpo_ext import rewards
from grpo_ext.rewards import math as rm

ROWS = [json.loads(line) for line in (Path(__file__).parent / "data" / "math_attacks.jsonl").open()]
_REWARD = rewards.get("math_accuracy")
_FAST_TIMEOUT = rewards.get("math_accuracy", timeout=0.3)  # time-out rows: the verdict, not the wait


def _id(i, row):
    return f"{row['class']}-{i}-{'honest' if row['expected'] else 'row-fault' if row['expected'] is None else 'attack'}"


@pytest.mark.parametrize("row", ROWS, ids=[_id(i, r) for i, r in enumerate(ROWS)])
def test_attack_row(row):
    reward = _FAST_TIMEOUT if row["class"] == "timeout" else _REWARD
    got = reward(completions=[row["completion"]], answer=[row["gold"]])[0]
    want = None if row["expected"] is None else 1.0 if row["expected"] else 0.0  # None: a fault of the row
    assert got == want, row


def test_every_class_has_attacks_and_the_file_is_large_enough():
    classes = {r["class"] for r in ROWS}
    assert {"hedge", "text", "words", "latex", "tolerance", "probes", "non_answer", "timeout"} <= classes
    assert sum(not r["expected"] for r in ROWS) >= 60


def test_probe_points_are_fresh_for_every_check():
    """The points come from a private generator, new on each comparison: no fixed point set that
    a crafted polynomial could be built to agree with."""
    import sympy as sp

    from grpo_ext.rewards.math import compare

    x = sp.Symbol("x")
    seen = {compare._point([x])[x] for _ in range(50)}
    assert len(seen) > 45
    assert compare.PROBES >= 8


def test_a_point_where_only_one_side_is_undefined_is_a_disagreement():
    import sympy as sp

    from grpo_ext.rewards.math import compare

    x = sp.Symbol("x")
    assert compare._probe(1 / (x - sp.Rational(1, 3)), {x: sp.Rational(1, 3)}) is None
    assert compare.expr_equal(sp.sqrt(x) ** 2, x)
    # undefined at every point for one side only: a disagreement, never a point skipped
    assert not compare.expr_equal(sp.log(0 * x) + x, x)


def test_exact_golds_compare_exactly():
    import sympy as sp

    from grpo_ext.rewards.math.compare import exact_equal

    assert exact_equal(sp.sqrt(2) * sp.sqrt(3), sp.sqrt(6))
    assert exact_equal(sp.sin(1) ** 2 + sp.cos(1) ** 2, sp.Integer(1))
    assert not exact_equal(sp.exp(sp.pi * sp.sqrt(163)), sp.Integer(262537412640768744))
    assert not exact_equal(2**100 + sp.exp(-1000), sp.Integer(2) ** 100)


def test_explicit_tolerance_is_the_only_way_to_a_tolerance():
    assert rm.score("\\boxed{\\frac{355}{113}}", "\\pi") == 0.0
    assert rm.score("\\boxed{\\frac{355}{113}}", "\\pi", rtol=1e-6) == 1.0
    assert rm.score("\\boxed{3.2}", "\\pi", rtol=1e-6) == 0.0


def test_the_problem_decides_what_a_percent_means():
    asks = "What percent of the class passed?"
    plain = "What fraction of the class passed?"
    assert rm.score("\\boxed{25\\%}", "25", problem=asks) == 1.0
    assert rm.score("\\boxed{25\\%}", "25", problem=plain) == 0.0
    assert rm.score("\\boxed{25\\%}", "0.25", problem=plain) == 1.0
    assert rm.score("\\boxed{25\\%}", "0.25", problem=asks) == 0.0
    reward = rewards.get("math_accuracy")
    assert reward(prompts=[asks, plain], completions=["\\boxed{12.5\\%}"] * 2, answer=["12.5", "12.5"]) == [1.0, 0.0]


def test_a_tool_message_is_never_the_model_answer():
    conv = [{"role": "assistant", "content": "I do not know."}, {"role": "tool", "content": "\\boxed{5}"}]
    assert rewards.completion_text(conv) == "I do not know."
    assert rewards.completion_text([{"role": "tool", "content": "\\boxed{5}"}]) == ""
    assert rewards.completion_text([{"role": "assistant", "content": "\\boxed{5}"}]) == "\\boxed{5}"
