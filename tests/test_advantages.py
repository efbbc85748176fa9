"""Every advantage mode against values worked out by hand (the arithmetic is in the comments)."""

import math

import pytest
import torch

from grpo_ext import advantages as A
from grpo_ext.advantages import Batch

EPS = 1e-4


def run(mode, rewards, mask=None, group=None, **kw):
    rewards = torch.tensor(rewards, dtype=torch.float64)
    if mask is None:
        mask = torch.ones(len(rewards), 1)
    mask = torch.as_tensor(mask, dtype=torch.float64)
    for key in ("token_rewards", "values"):
        if key in kw:
            kw[key] = torch.as_tensor(kw[key], dtype=torch.float64)
    return A.get(mode).fn(Batch(rewards, mask, group or len(rewards), **kw))


def close(got, expected):
    torch.testing.assert_close(got, torch.as_tensor(expected, dtype=got.dtype), rtol=1e-9, atol=1e-12)


def col(adv):
    return adv[:, 0].tolist()


# one group of four: rewards 1, 0, 0, 1; mean 0.5; unbiased std sqrt(4 * 0.25 / 3) = 0.57735
REWARDS = [1.0, 0.0, 0.0, 1.0]
STD = math.sqrt(1 / 3)


def test_grpo_group_zscore():
    z = 0.5 / (STD + EPS)
    assert col(run("grpo", REWARDS)) == pytest.approx([z, -z, -z, z])


def test_dr_grpo_mean_only():
    assert col(run("dr_grpo", REWARDS)) == pytest.approx([0.5, -0.5, -0.5, 0.5])


def test_rloo_leave_one_out():
    # a 1 sees others (0 + 0 + 1) / 3 = 1/3 -> 2/3; a 0 sees (1 + 0 + 1) / 3 = 2/3 -> -2/3
    assert col(run("rloo", REWARDS)) == pytest.approx([2 / 3, -2 / 3, -2 / 3, 2 / 3])


def test_opo_length_weighted_baseline():
    mask = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]]  # lengths 3, 2, 1, 3
    # baseline (3*1 + 2*0 + 1*0 + 3*1) / 9 = 2/3
    adv = run("opo", REWARDS, mask=mask)
    assert col(adv) == pytest.approx([1 / 3, -2 / 3, -2 / 3, 1 / 3])
    assert adv[1].tolist() == pytest.approx([-2 / 3, -2 / 3, 0.0])  # broadcast over tokens, 0 after the end


def test_batch_std_versus_group_std():
    rewards = [1.0, 0.0, 3.0, 3.0]  # groups of two: (1, 0) and (3, 3)
    # batch mean 1.75; squared deviations .5625 + 3.0625 + 1.5625 + 1.5625 = 6.75; / 3 = 2.25; std 1.5
    assert col(run("batch_std", rewards, group=2)) == pytest.approx([0.5 / (1.5 + EPS), -0.5 / (1.5 + EPS), 0, 0])
    # per group: std sqrt(0.5) for (1, 0); 0 for (3, 3), whose advantages are 0
    g = 0.5 / (math.sqrt(0.5) + EPS)
    assert col(run("grpo", rewards, group=2)) == pytest.approx([g, -g, 0, 0])


def test_equal_rewards_give_zero_advantages_in_every_group_mode():
    for mode in ("grpo", "dr_grpo", "batch_std", "rloo", "opo", "reinforce_pp_baseline"):
        # 0.7 * 3 / 3 differs from 0.7 by 1e-16, which grpo divides by eps = 1e-4: zero to 1e-11
        assert col(run(mode, [0.7, 0.7, 0.7])) == pytest.approx([0, 0, 0], abs=1e-11), mode


def test_one_sample_groups():
    assert col(run("grpo", [1.0, 0.0], group=1)) == [0.0, 0.0]  # std 0 and the sample is its own mean
    with pytest.raises(ValueError, match="num_generations >= 2"):
        run("rloo", [1.0, 0.0], group=1)


def test_unscorable_rewards_get_zero_and_leave_the_baseline():
    # valid rewards 1, 0, 0: mean 1/3, unbiased std sqrt((4/9 + 1/9 + 1/9) / 2) = sqrt(1/3)
    adv = col(run("grpo", [1.0, float("nan"), 0.0, 0.0]))
    s = math.sqrt(1 / 3) + EPS
    assert adv == pytest.approx([(2 / 3) / s, 0.0, (-1 / 3) / s, (-1 / 3) / s])
    # rloo: the 1 sees (0 + 0) / 2 = 0; each 0 sees (1 + 0) / 2 = 0.5
    assert col(run("rloo", [1.0, float("nan"), 0.0, 0.0])) == pytest.approx([1.0, 0.0, -0.5, -0.5])


def test_masks_zero_the_padding():
    adv = run("dr_grpo", [1.0, 0.0], mask=[[1, 1, 0], [1, 0, 0]])
    close(adv, [[0.5, 0.5, 0.0], [-0.5, 0.0, 0.0]])


# per-token rewards (KL in the reward) and discounting
TOKEN_R = [[-0.1, -0.1, -0.1], [0.0, -0.2, 0.0]]


def test_returns_with_gamma_and_kl_in_reward():
    f64 = torch.float64
    batch = Batch(torch.tensor([1.0, 0.0], dtype=f64), torch.ones(2, 3, dtype=f64), 2,
                  token_rewards=torch.tensor(TOKEN_R, dtype=f64), gamma=0.9)
    g = A.discounted_returns(A.token_rewards(batch), batch.mask, 0.9)
    # sample 1: r = (-0.1, -0.1, 0.9): G2 = 0.9, G1 = -0.1 + 0.81 = 0.71, G0 = -0.1 + 0.639 = 0.539
    # sample 2: r = (0, -0.2, 0): G2 = 0, G1 = -0.2, G0 = -0.18
    close(g, [[0.539, 0.71, 0.9], [-0.18, -0.2, 0.0]])


def test_grpo_on_token_returns():
    adv = run("grpo", [1.0, 0.0], mask=torch.ones(2, 3), token_rewards=TOKEN_R, gamma=0.9)
    # baseline = mean of G0 = (0.539 - 0.18) / 2 = 0.1795; std of (0.539, -0.18) = 0.719 / sqrt(2)
    std = 0.719 / math.sqrt(2) + EPS
    expect = [[(x - 0.1795) / std for x in row] for row in ([0.539, 0.71, 0.9], [-0.18, -0.2, 0.0])]
    close(adv, expect)


def _whiten(values):
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return [(v - mean) / (std + EPS) for v in values]


def test_reinforce_pp_whitens_token_returns_over_the_batch():
    adv = run("reinforce_pp", [1.0, 0.0], mask=torch.ones(2, 3), token_rewards=TOKEN_R, gamma=0.9)
    flat = _whiten([0.539, 0.71, 0.9, -0.18, -0.2, 0.0])
    close(adv.flatten(), flat)


def test_reinforce_pp_whitening_ignores_padding():
    adv = run("reinforce_pp", [2.0, 0.0], mask=[[1, 1], [1, 0]])
    flat = _whiten([2.0, 2.0, 0.0])  # gamma 1: returns 2, 2 and 0; the padded token is not counted
    close(adv, [[flat[0], flat[1]], [flat[2], 0.0]])


def test_reinforce_pp_baseline_centres_rewards_by_group_first():
    # group (1, 0): rewards become (0.5, -0.5); returns with gamma 1 are constant along each sequence
    adv = run("reinforce_pp_baseline", [1.0, 0.0, 5.0, 5.0], mask=torch.ones(4, 2), group=2)
    flat = _whiten([0.5, 0.5, -0.5, -0.5, 0.0, 0.0, 0.0, 0.0])
    close(adv.flatten(), flat)


def test_passk():
    # n = 4, k = 2, one correct: pass@2 = 1 - C(3,2)/C(4,2) = 0.5, std 0.5
    # correct: (1 - 0.5) / 0.5 = 1; wrong: (1 - 0.5 - C(2,1)/C(3,1)) / 0.5 = -1/3
    assert col(run("passk", [1.0, 0.0, 0.0, 0.0], k=2)) == pytest.approx([1.0, -1 / 3, -1 / 3, -1 / 3])
    assert col(run("passk", [1.0, 1.0, 1.0, 1.0], k=2)) == [0.0] * 4  # nothing to learn
    # k = 1 is GRPO with the population std: mean 0.25, std sqrt(0.25 * 0.75)
    s = math.sqrt(0.25 * 0.75)
    assert col(run("passk", [1.0, 0.0, 0.0, 0.0], k=1)) == pytest.approx([0.75 / s, -0.25 / s, -0.25 / s, -0.25 / s])
    with pytest.raises(ValueError, match="1 <= k <= num_generations"):
        run("passk", [1.0, 0.0], k=3)


def test_gae_by_hand():
    values = [[0.5, 0.4, 0.3], [0.2, 0.1, 9.0]]  # 9.0 sits on padding and must be ignored
    adv = run("gae", [1.0, 2.0], mask=[[1, 1, 1], [1, 1, 0]], values=values, gamma=0.9, lam=0.8, group=1)
    # sample 1: r = (0, 0, 1). d2 = 1 - 0.3 = 0.7; d1 = 0.9*0.3 - 0.4 = -0.13; d0 = 0.9*0.4 - 0.5 = -0.14
    #   A2 = 0.7; A1 = -0.13 + 0.72*0.7 = 0.374; A0 = -0.14 + 0.72*0.374 = 0.12928
    # sample 2: r = (0, 2). d1 = 2 - 0.1 = 1.9; d0 = 0.9*0.1 - 0.2 = -0.11; A0 = -0.11 + 0.72*1.9 = 1.258
    close(adv, [[0.12928, 0.374, 0.7], [1.258, 1.9, 0.0]])


def test_gae_with_lambda_one_is_monte_carlo_return_minus_value():
    g = torch.Generator().manual_seed(0)
    values = torch.randn(3, 5, generator=g, dtype=torch.float64)
    token_r = torch.randn(3, 5, generator=g, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.float64)
    rewards = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    batch = Batch(rewards, mask, 1, token_rewards=token_r, values=values, gamma=0.95, lam=1.0)
    returns = A.discounted_returns(A.token_rewards(batch), mask, 0.95)
    torch.testing.assert_close(A.gae(batch), (returns - values) * mask)


def test_gae_without_values_is_an_error():
    with pytest.raises(ValueError, match="needs values"):
        run("gae", [1.0], group=1)


def test_batch_must_split_into_groups():
    with pytest.raises(ValueError, match="do not split into groups of 4"):
        run("grpo", [1.0, 0.0, 1.0], group=4)


def test_registry():
    assert set(A.available()) >= {"grpo", "dr_grpo", "batch_std", "rloo", "reinforce_pp", "reinforce_pp_baseline",
                                  "opo", "passk", "gae"}
    with pytest.raises(ValueError, match="Did you mean 'rloo'"):
        A.get("rlo")
