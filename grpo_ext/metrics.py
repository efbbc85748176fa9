r"""Task metrics as RL papers report them, with their uncertainty: pure functions on per-problem
records (no model, no trainer). :mod:`grpo_ext.evaluation` produces the records.

For one problem with ``n`` sampled completions of which ``c`` are correct:

- **avg@k** = c / n over the first k samples: the expected accuracy of one sample at the
  evaluation temperature (``avg@1`` of a greedy decode is *greedy accuracy*).
- **pass@k** = 1 - C(n - c, k) / C(n, k): the unbiased estimator (Chen et al. 2021, arXiv:2107.03374,
  eq. 1) of the chance that at least one of k samples is correct, from n >= k samples. Computed as
  the product 1 - prod_{i = n-c+1}^{n} (1 - k / i), which never forms a binomial coefficient.
- **maj@k**: the k first answers vote; answers are grouped by *verified equivalence* (a callable
  ``same(a, b)``; for math the checker of :mod:`grpo_ext.rewards.math`, so ``1/2``, ``0.5`` and
  ``\frac{1}{2}`` are one vote), an answer that could not be extracted does not vote, and the
  problem scores the correctness of the winning group. **Tie rule**: when several groups share the
  most votes, the problem scores the share of those groups that are correct (the expected score
  of a uniform random tie-break), so no order of the samples is favoured. No votes at all: 0.

A benchmark's figure is the mean of the per-problem scores over its problems.

**Interval** (:func:`interval`): a Wilson score interval on the mean with the Kish effective
number of problems ``n_eff = p (1 - p) / var(mean)``, where ``var(mean) = s^2 / n`` and ``s^2``
is the (population) variance of the per-problem scores. For 0/1 scores (greedy, maj@k)
``s^2 = p (1 - p)``, so ``n_eff`` = n and it is the ordinary Wilson interval, which keeps its
level at small n and near 0 or 1, where the normal
(Wald) interval does not; for fractional scores (avg@k, pass@k), whose variance is below
p (1 - p), ``n_eff`` > n and the interval narrows accordingly. When every problem scores the
same (no spread), ``n_eff`` = n. The interval is over problems (the benchmark as a sample of
problems), not over the randomness of sampling alone. It is analytic, so it costs nothing and
is deterministic.

**Paired test** (:func:`paired_test`): before and after are measured on the *same* problems, so
the question is whether the per-problem differences d_i = after_i - before_i centre on 0. The
test is the two-sided sign-flip permutation test on sum(d_i): under "no effect" each d_i is as
likely to be -d_i. It assumes nothing about the shape of the scores, is exact (all 2^m sign
patterns of the m non-zero differences) up to m = 20 and a seeded Monte Carlo estimate beyond,
and for 0/1 scores it *is* the exact McNemar test (the discordant problems split Binomial(m, 1/2)).
An unpaired test would throw away that the same problems are hard for both models.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence

Z = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def avg_at_k(correct: Sequence[bool]) -> float:
    """Mean correctness of the samples given (the first k of a problem's samples)."""
    if not correct:
        raise ValueError("avg@k needs at least one sample")
    return sum(map(bool, correct)) / len(correct)


def _same_text(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def vote_groups(answers: Sequence[str | None], same: Callable[[str, str], bool] = _same_text) -> list[list[int]]:
    """Indices of the answers grouped by ``same``: each answer joins the first group whose first
    member it is equivalent to (``None`` answers are left out)."""
    groups: list[list[int]] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        home = next((g for g in groups if same(answers[g[0]], answer)), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool],
             same: Callable[[str, str], bool] = _same_text) -> float:
    """Majority-vote score of one problem (see the module docstring for the grouping and tie rule).
    A group is correct when its first member was scored correct."""
    if len(answers) != len(correct):
        raise ValueError(f"maj@k: {len(answers)} answers but {len(correct)} verdicts")
    groups = vote_groups(answers, same)
    if not groups:
        return 0.0
    top = max(map(len, groups))
    leaders = [g for g in groups if len(g) == top]
    return sum(bool(correct[g[0]]) for g in leaders) / len(leaders)


def interval(scores: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval on the mean of per-problem scores in [0, 1], with the Kish
    effective number of problems (see the module docstring)."""
    n = len(scores)
    if n == 0:
        return (0.0, 1.0)
    z = Z.get(level) or _z(level)
    p = sum(scores) / n
    var = sum((s - p) ** 2 for s in scores) / n
    n_eff = n if var <= 1e-15 or p in (0.0, 1.0) else min(p * (1 - p) * n / var, n * 1e6)
    centre = (p + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff))
    return (max(0.0, centre - half), min(1.0, centre + half))


def _z(level: float) -> float:
    from statistics import NormalDist

    if not 0 < level < 1:
        raise ValueError(f"a confidence level is in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def paired_test(before: Sequence[float], after: Sequence[float], exact_up_to: int = 20,
                draws: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of the sign-flip permutation test on the per-problem differences."""
    if len(before) != len(after):
        raise ValueError(f"a paired test needs the same problems: {len(before)} before, {len(after)} after")
    diffs = [a - b for a, b in zip(after, before) if abs(a - b) > 1e-12]
    if not diffs:
        return 1.0
    observed = abs(sum(diffs)) - 1e-9  # ties with the observed sum count as extreme
    if all(abs(abs(d) - 1) < 1e-12 for d in diffs):  # 0/1 scores: exact McNemar at any size
        return _sign_test(sum(d > 0 for d in diffs), len(diffs))
    if len(diffs) <= exact_up_to:
        hits = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= observed
                   for signs in itertools.product((1, -1), repeat=len(diffs)))
        return hits / 2 ** len(diffs)
    rng = random.Random(seed)
    hits = sum(abs(sum(d if rng.random() < 0.5 else -d for d in diffs)) >= observed for _ in range(draws))
    return (hits + 1) / (draws + 1)


def _sign_test(up: int, m: int) -> float:
    """Two-sided exact binomial test of ``up`` successes in ``m`` trials at 1/2 (exact rationals)."""
    tail = min(up, m - up)
    return min(1.0, 2 * sum(math.comb(m, i) for i in range(tail + 1)) / 2 ** m) if 2 * tail != m else 1.0


def figure(scores: Sequence[float], level: float = 0.95) -> dict:
    """{"value", "low", "high", "n"}: the mean of per-problem scores and its interval."""
    low, high = interval(scores, level)
    return {"value": sum(scores) / max(len(scores), 1), "low": low, "high": high, "n": len(scores)}


def sample_ks(n: int) -> list[int]:
    """The k of pass@k reported by default for n samples: 1, 2, 4, ... up to n, and n."""
    ks = [k for k in (2 ** i for i in range(n.bit_length())) if k <= n]
    return ks + ([n] if ks[-1] != n else [])
