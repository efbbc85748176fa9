"""PPO with a critic and GAE on the tiny local model."""

import os

import pytest
import torch
from transformers import AutoModelForCausalLM

from grpo_ext import GRPOConfig, PPOConfig, PPOTrainer
from grpo_ext.ppo import CRITIC_DIR, Critic
from tests.tiny_setup import addition_dataset, digit_reward, tiny_model_path


def fixed_reward(completions, **kwargs):
    return [1.0] * len(completions)


def ppo_args(tmp_path, **overrides):
    args = dict(output_dir=str(tmp_path), per_device_train_batch_size=8, max_completion_length=8, max_steps=20,
                learning_rate=1e-3, report_to="none", logging_steps=1, save_strategy="no", use_cpu=True,
                disable_tqdm=True, beta=0.01, seed=0)
    args.update(overrides)
    return PPOConfig(**args)


def train(tmp_path, reward=fixed_reward, **overrides):
    trainer = PPOTrainer(tiny_model_path(), reward_funcs=[reward], args=ppo_args(tmp_path, **overrides),
                         train_dataset=addition_dataset(256))
    trainer.train()
    return trainer, [h for h in trainer.state.log_history if "loss" in h]


@pytest.mark.slow
def test_value_loss_falls_with_fixed_rewards(tmp_path):
    _, logs = train(tmp_path)
    losses = [h["value/loss"] for h in logs]
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.25 * first, losses
    assert logs[-1]["value/explained_variance"] > logs[0]["value/explained_variance"]


@pytest.mark.slow
def test_reward_rises_end_to_end(tmp_path):
    _, logs = train(tmp_path, reward=digit_reward, max_steps=60, learning_rate=3e-3)
    rewards = [h["reward"] for h in logs]
    early, late = sum(rewards[:15]) / 15, sum(rewards[-15:]) / 15
    assert late > early + 0.05, rewards


@pytest.mark.slow
def test_several_epochs_and_groups(tmp_path):
    trainer, logs = train(tmp_path, max_steps=2, num_iterations=2, num_generations=2, per_device_train_batch_size=4,
                          gradient_accumulation_steps=2)
    assert len(logs) == 2 and all("value/loss" in h for h in logs)


@pytest.mark.slow
def test_save_policy_as_plain_model_and_critic_beside_it(tmp_path):
    trainer, _ = train(tmp_path, max_steps=2)
    out = tmp_path / "final"
    trainer.save_model(str(out))
    policy = AutoModelForCausalLM.from_pretrained(out)
    assert not any("critic" in name for name, _ in policy.named_parameters())
    trained = trainer.accelerator.unwrap_model(trainer.model)
    for name, p in policy.named_parameters():
        torch.testing.assert_close(p, trained.get_parameter(name), msg=name)
    critic = Critic.from_pretrained(str(out / CRITIC_DIR))
    for name, p in critic.named_parameters():
        torch.testing.assert_close(p, trainer.critic.get_parameter(name), msg=name)


@pytest.mark.slow
def test_resume_restores_the_critic(tmp_path):
    trainer, _ = train(tmp_path, max_steps=2, save_strategy="steps", save_steps=2)
    checkpoint = tmp_path / "checkpoint-2"
    assert (checkpoint / CRITIC_DIR / "value_head.safetensors").exists()
    saved_head = trainer.critic.head.weight.detach().clone()
    resumed = PPOTrainer(tiny_model_path(), reward_funcs=[fixed_reward],
                         args=ppo_args(tmp_path, max_steps=3, save_strategy="no"), train_dataset=addition_dataset(256))
    assert not torch.equal(resumed.critic.head.weight, saved_head)  # a fresh head before resuming
    resumed._load_from_checkpoint(str(checkpoint))  # noqa: SLF001 (what train(resume_from_checkpoint) calls)
    torch.testing.assert_close(resumed.critic.head.weight, saved_head)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.state.global_step == 3


def test_config(tmp_path):
    args = ppo_args(tmp_path)
    assert (args.num_generations, args.advantage_mode, args.kl_placement, args.kl_estimator) == (1, "gae", "reward", "k1")
    with pytest.raises(ValueError, match="per_device_train_batch_size >= 2"):
        ppo_args(tmp_path, per_device_train_batch_size=1)
    with pytest.raises(ValueError, match="vf_coef"):
        ppo_args(tmp_path, vf_coef=-1.0)
    with pytest.raises(TypeError, match="needs a grpo_ext.PPOConfig"):
        PPOTrainer(tiny_model_path(), reward_funcs=[fixed_reward], args=GRPOConfig(output_dir=str(tmp_path), use_cpu=True))
    with pytest.raises(ValueError, match="does not support peft_config"):
        PPOTrainer(tiny_model_path(), reward_funcs=[fixed_reward], args=args, peft_config=object())
    assert os.path.basename(CRITIC_DIR) == "critic"
