"""The task metrics of grpo_ext.metrics against enumeration, hand-built votes, simulation and
hand-computed tests."""

import itertools
import math
import random

import pytest

from grpo_ext import metrics as m
from grpo_ext.evaluation import math_same


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_the_share_of_k_subsets_with_a_correct_sample(n):
    for c in range(n + 1):
        samples = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(range(n), k))
            brute = sum(any(samples[i] for i in s) for s in subsets) / len(subsets)
            assert m.pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12), (n, c, k)


def test_pass_at_k_is_stable_where_binomials_overflow_floats():
    # C(2000, 1000) ~ 2e600 is no float; the product form stays exact to the last digits
    exact = 1 - math.comb(1990, 1000) / math.comb(2000, 1000)  # Python's integers: exact rationals
    assert m.pass_at_k(2000, 10, 1000) == pytest.approx(float(exact), rel=1e-12)
    assert m.pass_at_k(10, 0, 5) == 0.0 and m.pass_at_k(10, 6, 5) == 1.0
    assert m.pass_at_k(8, 2, 1) == pytest.approx(0.25)


def test_pass_at_k_refuses_impossible_counts():
    for n, c, k in ((4, 5, 1), (4, 1, 5), (4, 1, 0)):
        with pytest.raises(ValueError, match="pass@k needs"):
            m.pass_at_k(n, c, k)


def test_avg_at_k():
    assert m.avg_at_k([True, False, False, True]) == 0.5
    with pytest.raises(ValueError):
        m.avg_at_k([])


def test_maj_at_k_groups_equivalent_forms_as_one_vote():
    # three forms of one half against two votes for 3: by string equality 3 would win 2-1-1-1
    answers = ["1/2", "3", "0.5", "\\frac{1}{2}", "3"]
    correct = [True, False, True, True, False]
    assert m.maj_at_k(answers, correct, math_same) == 1.0
    assert m.maj_at_k(answers, correct) == 0.0  # plain text equality: "3" wins
    assert m.vote_groups(answers, math_same) == [[0, 2, 3], [1, 4]]


def test_maj_at_k_tie_scores_the_share_of_correct_leaders():
    assert m.maj_at_k(["4", "5"], [True, False]) == 0.5
    assert m.maj_at_k(["4", "5", "5", "4", "6"], [True, False, False, True, False]) == 0.5
    assert m.maj_at_k(["4", "5", "6", "7"], [True, False, False, False]) == 0.25
    assert m.maj_at_k(["5", "4", "4"], [False, True, True]) == 1.0  # order does not matter, votes do


def test_maj_at_k_unextracted_answers_do_not_vote():
    assert m.maj_at_k([None, None, "4"], [False, False, True]) == 1.0
    assert m.maj_at_k([None, None], [False, False]) == 0.0
    # a wrong answer given twice beats a right one given once, even among many non-answers
    assert m.maj_at_k([None, "3", "3", "4", None], [False, False, False, True, False]) == 0.0


def _coverage(rate_of, n: int, draws: int, seed: int) -> float:
    rng = random.Random(seed)
    hits = 0
    for _ in range(draws):
        truth, scores = rate_of(rng, n)
        low, high = m.interval(scores)
        hits += low <= truth <= high
    return hits / draws


@pytest.mark.parametrize("p, n", [(0.5, 50), (0.2, 100), (0.05, 200), (0.9, 30)])
def test_interval_keeps_its_level_on_bernoulli_problems(p, n):
    # each problem solved with probability p: 0/1 scores (greedy accuracy, maj@k)
    cover = _coverage(lambda rng, n: (p, [float(rng.random() < p) for _ in range(n)]), n, 2000, seed=int(p * 100) + n)
    assert 0.93 <= cover <= 0.975, cover  # 95% stated; 2000 draws: a standard error of 0.5%


def test_interval_keeps_its_level_on_avg_at_k():
    # problems of varying difficulty (rates from a Beta(2, 3)), 8 samples each: avg@8 is fractional;
    # the target is the mean rate of the problem population
    def draw(rng, n):
        rates = [rng.betavariate(2, 3) for _ in range(n)]
        return 0.4, [sum(rng.random() < r for _ in range(8)) / 8 for r in rates]

    cover = _coverage(draw, 60, 2000, seed=7)
    assert 0.93 <= cover <= 0.975, cover


def test_interval_at_the_edges():
    low, high = m.interval([0.0] * 20)
    assert low == 0.0 and 0.1 < high < 0.2  # Wilson's upper bound z^2 / (n + z^2) = 0.161
    assert high == pytest.approx(1.959963984540054 ** 2 / (20 + 1.959963984540054 ** 2))
    assert m.interval([]) == (0.0, 1.0)


def test_paired_test_hand_computed():
    # 0/1 scores: 6 problems improved, 1 got worse, 3 unchanged -> exact McNemar:
    # P(|X - 3.5| >= 2.5), X ~ Bin(7, 1/2) = 2 * (1 + 7) / 128 = 0.125
    before = [0, 0, 0, 0, 0, 0, 1, 1, 0, 1]
    after = [1, 1, 1, 1, 1, 1, 0, 1, 0, 1]
    assert m.paired_test(before, after) == pytest.approx(16 / 128)
    # fractional differences 0.5, 0.25, -0.25: sums over the 8 sign patterns are
    # +-0.5+-0.25+-0.25 -> |sum| in {1, 0.5, 0, 0.5, 0.5, 0, 0.5, 1}: >= 0.5 in 6 of 8
    assert m.paired_test([0, 0, 0.5], [0.5, 0.25, 0.25]) == pytest.approx(6 / 8)
    assert m.paired_test([0.3, 0.3], [0.3, 0.3]) == 1.0
    # all 5 of 5 improved: only the two all-same-sign patterns are as extreme
    assert m.paired_test([0] * 5, [1] * 5) == pytest.approx(2 / 32)
    with pytest.raises(ValueError, match="same problems"):
        m.paired_test([0], [0, 1])


def test_paired_test_monte_carlo_agrees_with_the_exact_one():
    rng = random.Random(3)
    before = [rng.randint(0, 8) / 8 for _ in range(14)]  # avg@8-like scores: fractional differences
    after = [min(1.0, b + rng.randint(-1, 3) / 8) for b in before]
    exact = m.paired_test(before, after)  # 2^m sign patterns enumerated
    assert 0.001 < exact < 0.5
    assert m.paired_test(before, after, exact_up_to=0, draws=20000) == pytest.approx(exact, abs=0.01)


def test_paired_test_on_many_0_1_problems_is_exact_mcnemar():
    # 40 improved, 10 worse, 50 unchanged: 2 * P(Bin(50, 1/2) <= 10), from exact integers
    before, after = [0] * 40 + [1] * 10 + [1] * 50, [1] * 40 + [0] * 10 + [1] * 50
    expected = 2 * sum(math.comb(50, i) for i in range(11)) / 2 ** 50
    assert m.paired_test(before, after) == pytest.approx(expected, rel=1e-12)
    assert expected < 1e-4  # below any Monte Carlo floor


def test_sample_ks():
    assert m.sample_ks(8) == [1, 2, 4, 8]
    assert m.sample_ks(6) == [1, 2, 4, 6]
    assert m.sample_ks(1) == [1]
