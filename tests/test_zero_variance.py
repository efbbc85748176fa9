"""One "zero variance" rule (grpo_ext.advantages.constant_groups) for the metrics, the dynamic
sampling filter and the advantage modes, checked with weighted rewards: with reward_weights
[1.0, 0.2] a group of equal rewards has a float32 standard deviation of ~1e-7, not 0."""

import math

import pytest
import torch

from grpo_ext import GRPOConfig, GRPOTrainer, advantages, dynamic
from tests.tiny_setup import addition_dataset, common_args, tiny_model_path

WEIGHTS = torch.tensor([1.0, 0.2])


def weighted(rows) -> torch.Tensor:
    """[N] float32 sequence rewards as the trainer sums them: per-function scores times weights."""
    return (torch.tensor(rows, dtype=torch.float32) * WEIGHTS).nansum(dim=1)


# four groups of 8 (the offline default's num_generations): all correct + formatted, all wrong +
# formatted, half and half, 0.7-credit + formatted
GROUPS = [[1, 1]] * 8 + [[0, 1]] * 8 + [[1, 1]] * 4 + [[0, 1]] * 4 + [[0.7, 1]] * 8
CONSTANT = [True, True, False, True]


def test_float32_sums_of_equal_weighted_rewards_do_not_have_zero_std():
    """Why an exact test is wrong: the premise of the issue, reproduced."""
    std = advantages.nanstd(weighted(GROUPS).view(4, 8), dim=1)
    assert std[0] > 0 and std[1] > 0 and std[3] > 0  # ~1e-7, ~1e-8, ~6e-8
    assert not torch.isclose(std[0], torch.zeros(())), "TRL's isclose(std, 0) would count it as varied"


def test_constant_groups_rule():
    assert advantages.constant_groups(weighted(GROUPS).view(4, 8)).tolist() == CONSTANT
    nan = float("nan")
    got = advantages.constant_groups(torch.tensor([
        [1.0, nan, 1.0 + 1e-7, nan],   # scorable values equal within tolerance
        [nan, nan, nan, nan],          # nothing scorable
        [nan, 3.0, nan, nan],          # one scorable value
        [1000.0, 1000.0004, 1000.0, 1000.0],  # relative: 4e-4 <= 1e-6 * 1000.0004
        [0.0, 1e-5, 0.0, 0.0],         # absolute: 1e-5 > 1e-6
    ]))
    assert got.tolist() == [True, True, True, True, False]


def test_zero_variance_filter_uses_the_rule():
    rewards = weighted(GROUPS).view(4, 8)
    per_func = torch.tensor(GROUPS, dtype=torch.float32).view(4, 8, 2)
    assert dynamic.get("zero_variance").fn(rewards, per_func).tolist() == CONSTANT
    # first reward constant: groups 0, 1 and 3 (1, 0, 0.7 everywhere), not the mixed one
    assert dynamic.get("first_reward_constant").fn(rewards, per_func).tolist() == CONSTANT


def _batch(**kw) -> advantages.Batch:
    rewards = weighted(GROUPS)
    return advantages.Batch(rewards=rewards, mask=torch.ones(32, 3), group_size=8,
                            per_func=torch.tensor(GROUPS, dtype=torch.float32), weights=WEIGHTS, **kw)


@pytest.mark.parametrize("mode", ["grpo", "dr_grpo", "batch_std", "rloo", "opo"])
def test_constant_groups_get_exactly_zero_advantage(mode):
    """(reinforce_pp_baseline and normalize_then_sum centre constant groups at 0 too, then whiten
    over the batch, which shifts every completion by the batch mean: see the next test.)"""
    adv = advantages.get(mode).fn(_batch())  # [32, 3]
    for g, constant in enumerate(CONSTANT):
        block = adv[8 * g: 8 * g + 8]
        if constant:
            assert (block == 0).all(), f"{mode}: group {g} is constant, got {block[:, 0].tolist()}"
        else:
            assert (block != 0).all()


@pytest.mark.parametrize("mode", ["reinforce_pp_baseline", "normalize_then_sum"])
def test_batch_whitened_modes_treat_constant_groups_alike(mode):
    """Centred at exactly 0 before whitening: every constant group ends at the same value."""
    adv = advantages.get(mode).fn(_batch())[:, 0]
    constant = torch.cat([adv[0:16], adv[24:32]])
    assert (constant == constant[0]).all() and (adv[16:24] != constant[0]).all()


def test_mixed_group_values_by_hand():
    """The mixed group: weighted rewards 1.2 (x4), 0.2 (x4); mean 0.7, unbiased std sqrt(8 * 0.25 / 7)."""
    adv = advantages.get("grpo").fn(_batch())[16:24, 0]
    expected = 0.5 / (math.sqrt(2 / 7) + 1e-4)
    assert adv.tolist() == pytest.approx([expected] * 4 + [-expected] * 4, rel=1e-5)
    loo = advantages.get("rloo").fn(_batch())[16:24, 0]
    # leave-one-out baselines: (3 * 1.2 + 4 * 0.2) / 7 for a correct one, (4 * 1.2 + 3 * 0.2) / 7 for a wrong one
    assert loo.tolist() == pytest.approx([1.2 - 4.4 / 7] * 4 + [0.2 - 5.4 / 7] * 4, rel=1e-5)


def test_per_token_kl_returns_survive_in_a_constant_group():
    """KL in the reward: a constant group's outcome part is 0, its per-token KL returns remain."""
    token = torch.zeros(32, 3)
    token[:, 0] = -0.01  # the first token of every completion pays -0.01
    adv = advantages.get("dr_grpo").fn(_batch(token_rewards=token))
    # G_0 = R - 0.01 for every member (constant within the group); G_1 = G_2 = R; baseline = own G_0
    assert adv[0].tolist() == pytest.approx([0.0, 0.01, 0.01], abs=1e-6)


@pytest.mark.slow
def test_trainer_metrics_count_weighted_constant_groups(tmp_path):
    """Two rewards always 1.0, weights [1.0, 0.2]: every group is constant, and both metrics say so."""

    def one(completions, **kwargs):
        return [1.0] * len(completions)

    def also_one(completions, **kwargs):
        return [1.0] * len(completions)

    args = GRPOConfig(**common_args(str(tmp_path), reward_weights=[1.0, 0.2], beta=0.0,
                                    per_device_train_batch_size=8, num_generations=8))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[one, also_one], args=args,
                          train_dataset=addition_dataset())
    trainer.train()
    logs = [h for h in trainer.state.log_history if "frac_reward_zero_std" in h]
    assert len(logs) == 2
    assert all(h["frac_reward_zero_std"] == 1.0 and h["advantages/zero_variance_groups"] == 1.0 for h in logs)
    assert all(h["advantages/max"] == 0.0 and h["advantages/min"] == 0.0 for h in logs)
