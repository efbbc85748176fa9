"""The GRPO trainer on a tiny local model: parity with trl.GRPOTrainer at the defaults, every
estimator x placement and every advantage mode training for real, LoRA, gradient accumulation,
several iterations, named rewards and config checks."""

import math

import pytest
import torch
import trl

from grpo_ext import rewards
from grpo_ext import GRPOConfig, GRPOTrainer
from grpo_ext import advantages as adv_modes
from grpo_ext import kl as kl_estimators
from tests.tiny_setup import addition_dataset, common_args, digit_reward, tiny_model_path


def _move_away_from_reference(model, seed=0, scale=0.05):
    """At initialisation policy == reference, where every estimator and its gradient are 0; move the
    policy by the same seeded noise in both trainers so the KL term is really compared."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def _first_step(trainer, seed=0):
    """One generation batch, then the loss and the gradients of one training micro-step."""
    _move_away_from_reference(trainer.model)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    rows = [trainer.train_dataset[0]] * 4
    torch.manual_seed(seed)
    batch = trainer._generate_and_score_completions(rows)  # noqa: SLF001
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    trainer.model.zero_grad()
    return batch, loss.detach(), grads


@pytest.mark.parametrize("overrides", [
    {},                                                    # beta 0.04, loss_type dapo, k3 x ratio (TRL's defaults)
    {"loss_type": "grpo", "use_bias_correction_kl": False},
    {"loss_type": "dr_grpo", "scale_rewards": "none"},
    {"loss_type": "bnpo", "scale_rewards": "batch", "importance_sampling_level": "sequence"},
])
def test_defaults_reproduce_trl(tmp_path, overrides):
    path, data = tiny_model_path(), addition_dataset()
    kwargs = common_args(str(tmp_path), **overrides)
    theirs = trl.GRPOTrainer(path, reward_funcs=[digit_reward], args=trl.GRPOConfig(**kwargs), train_dataset=data)
    ours = GRPOTrainer(path, reward_funcs=[digit_reward], args=GRPOConfig(**kwargs), train_dataset=data)
    b_theirs, loss_theirs, g_theirs = _first_step(theirs)
    b_ours, loss_ours, g_ours = _first_step(ours)
    assert [h for h in ours._metrics["train"]["kl/k3"]][-1] > 1e-4  # noqa: SLF001 (a real KL term)
    assert torch.equal(b_theirs["completion_ids"], b_ours["completion_ids"])
    mask = b_ours["completion_mask"].bool()
    adv_theirs = b_theirs["advantages"].unsqueeze(1).expand_as(mask)
    torch.testing.assert_close(b_ours["advantages"][mask], adv_theirs[mask], rtol=1e-6, atol=1e-6)
    assert b_ours["advantages"].abs().sum() > 0
    torch.testing.assert_close(loss_ours, loss_theirs, rtol=1e-6, atol=1e-7)
    assert g_ours.keys() == g_theirs.keys() and g_ours
    for name in g_ours:
        torch.testing.assert_close(g_ours[name], g_theirs[name], rtol=1e-5, atol=1e-7, msg=name)


def any_digit(completions, **kwargs):
    """A binary reward (for passk, which counts rewards above 0.5 as correct)."""
    return [float(any(ch.isdigit() for ch in c)) for c in completions]


def _train(tmp_path, reward=digit_reward, **overrides):
    args = GRPOConfig(**common_args(str(tmp_path), **overrides))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[reward], args=args, train_dataset=addition_dataset())
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    changed = [n for n, p in trainer.model.named_parameters() if p.requires_grad and not torch.equal(p, before[n])]
    logs = [h for h in trainer.state.log_history if "loss" in h]
    return trainer, changed, logs


def _all_finite(logs):
    return all(math.isfinite(v) for h in logs for v in h.values() if isinstance(v, float))


ESTIMATORS = list(kl_estimators.available())


@pytest.mark.slow
@pytest.mark.parametrize("placement", ["loss", "reward"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_estimator_and_placement_trains(tmp_path, estimator, placement):
    trainer, changed, logs = _train(tmp_path, kl_estimator=estimator, kl_placement=placement)
    assert changed, "no parameter changed"
    assert logs and _all_finite(logs)
    last = logs[-1]
    for name in ("kl/k1", "kl/k2", "kl/k3", "kl"):
        assert name in last
    assert last["kl/k3"] >= 0 and last["kl/k2"] >= 0


MODES = [m for m in adv_modes.available() if m != "gae"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_every_advantage_mode_trains(tmp_path, mode):
    extra = {"passk_k": 2, "reward": any_digit} if mode == "passk" else {}
    if mode == "normalize_then_sum":  # chosen through TRL's own setting
        extra = {"multi_objective_aggregation": "normalize_then_sum"}
    trainer, changed, logs = _train(tmp_path, advantage_mode=mode, **extra)
    assert changed and _all_finite(logs)
    assert {"advantages/mean", "advantages/std", "advantages/zero_variance_groups"} <= set(logs[-1])


@pytest.mark.slow
def test_lora(tmp_path):
    from peft import LoraConfig

    args = GRPOConfig(**common_args(str(tmp_path), kl_estimator="full"))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset(),
                          peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    lora = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if "lora_B" in n}
    trainer.train()
    assert lora and any(not torch.equal(p, lora[n]) for n, p in trainer.model.named_parameters() if n in lora)
    assert _all_finite([h for h in trainer.state.log_history if "loss" in h])


@pytest.mark.slow
def test_gradient_accumulation_and_iterations(tmp_path):
    _, changed, logs = _train(tmp_path, gradient_accumulation_steps=2, per_device_train_batch_size=2,
                              num_iterations=2, kl_estimator="k1+", max_steps=2)
    assert changed and _all_finite(logs) and len(logs) == 2


@pytest.mark.slow
def test_adaptive_kl_controller_moves_beta(tmp_path):
    trainer, _, logs = _train(tmp_path, kl_target=1e-9, kl_horizon=10, max_steps=3, learning_rate=5e-2)
    betas = [h["kl/beta"] for h in logs if "kl/beta" in h]
    assert betas and betas[-1] > 0.04  # the measured KL is far above the tiny target: beta grows
    assert betas[-1] <= 0.04 * 1.02 ** 3 + 1e-12  # by at most 1 + 0.2 / horizon per step


@pytest.mark.slow
def test_named_rewards_run_through_the_runner(tmp_path):
    args = GRPOConfig(**common_args(str(tmp_path), reward_timeout=5.0, max_steps=1))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=["math_accuracy", "soft_overlong(max_length=6, cache_length=2)"],
                          args=args, train_dataset=addition_dataset())
    assert trainer.reward_func_names == ["math_accuracy", "soft_overlong"]
    trainer.train()
    assert trainer.reward_runner.stats["ok"] >= 8
    last = [h for h in trainer.state.log_history if "loss" in h][-1]
    assert "rewards/math_accuracy/mean" in last and "rewards/soft_overlong/mean" in last


@pytest.mark.parametrize("overrides, message", [
    ({"kl_estimator": "k4"}, "unknown kl_estimator 'k4'"),
    ({"kl_placement": "both"}, "kl_placement must be"),
    ({"kl_placement": "reward", "beta": 0.0}, "needs beta > 0"),
    ({"advantage_mode": "gae"}, "needs a critic"),
    ({"advantage_mode": "rlooo"}, "Did you mean 'rloo'"),
    ({"advantage_mode": "grpo", "scale_rewards": "none"}, "contradicts scale_rewards"),
    ({"advantage_mode": "passk", "passk_k": 9}, "passk_k must be between 1 and num_generations"),
    ({"kl_target": -1.0}, "kl_target must be positive"),
    ({"kl_correction": "yes"}, "kl_correction must be"),
    ({"gamma": 1.5}, "gamma and lam must be in"),
])
def test_config_checks(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        GRPOConfig(**common_args(str(tmp_path), **overrides))


def test_config_follows_trl_settings(tmp_path):
    assert GRPOConfig(**common_args(str(tmp_path))).advantage_mode == "grpo"
    assert GRPOConfig(**common_args(str(tmp_path), scale_rewards="batch")).advantage_mode == "batch_std"
    assert GRPOConfig(**common_args(str(tmp_path))).kl_correction == "importance_ratio"  # TRL's default
    assert GRPOConfig(**common_args(str(tmp_path), use_bias_correction_kl=False)).kl_correction == "none"


def test_unknown_reward_name_fails_before_training(tmp_path):
    with pytest.raises(rewards.UnknownRewardError, match="Did you mean 'math_accuracy'"):
        GRPOTrainer(tiny_model_path(), reward_funcs=["math_acuracy(gold_column=answer)"],
                    args=GRPOConfig(**common_args(str(tmp_path))), train_dataset=addition_dataset())
