"""The ten places where grpo_ext stopped being a drop-in for trl.GRPOTrainer, each reproduced as a
TRL user would meet it."""

import json
import os

import pytest
import torch
import trl
from trl import ModelConfig, TrlParser
from trl.scripts.grpo import GRPOScriptArguments

from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer
from grpo_ext import advantages as adv_modes
from grpo_ext.ppo import CRITIC_ATTR
from tests.test_grpo_trainer import _first_step
from tests.tiny_setup import addition_dataset, common_args, digit_reward, tiny_model_path


def length_reward(completions, **kwargs):
    return [float(len(c)) for c in completions]


# 1 -----------------------------------------------------------------------------------------------
def test_a_plain_trl_config_is_accepted(tmp_path):
    theirs = trl.GRPOConfig(**common_args(str(tmp_path), steps_per_generation=2, scale_rewards="none"))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=theirs, train_dataset=addition_dataset())
    assert isinstance(trainer.args, GRPOConfig)
    assert (trainer.args.steps_per_generation, trainer.args.generation_batch_size) == (2, 8)
    assert trainer.args.advantage_mode == "dr_grpo" and trainer.args.kl_estimator == "k3"
    trainer.train()
    assert trainer.state.global_step == 2


# 2 -----------------------------------------------------------------------------------------------
def test_trl_script_pattern_parses(tmp_path):
    parser = TrlParser((GRPOScriptArguments, GRPOConfig, ModelConfig))
    script, args, model = parser.parse_args_and_config([
        "--output_dir", str(tmp_path), "--dataset_name", "x", "--reward_funcs", "accuracy_reward",
        "--model_name_or_path", "m", "--kl_estimator", "k1", "--advantage_mode", "rloo", "--use_cpu", "true"])
    assert script.reward_funcs == ["accuracy_reward"]
    assert (args.kl_estimator, args.advantage_mode, model.model_name_or_path) == ("k1", "rloo", "m")


# 3 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", ["group", "none", "batch"])
def test_normalize_then_sum_matches_trl(tmp_path, scale):
    path, data = tiny_model_path(), addition_dataset()
    kwargs = common_args(str(tmp_path), multi_objective_aggregation="normalize_then_sum", scale_rewards=scale,
                         reward_weights=[1.0, 0.5])
    theirs = trl.GRPOTrainer(path, reward_funcs=[digit_reward, length_reward], args=trl.GRPOConfig(**kwargs),
                             train_dataset=data)
    ours = GRPOTrainer(path, reward_funcs=[digit_reward, length_reward], args=GRPOConfig(**kwargs), train_dataset=data)
    assert ours.args.advantage_mode == "normalize_then_sum"
    b_theirs, loss_theirs, _ = _first_step(theirs)
    b_ours, loss_ours, _ = _first_step(ours)
    mask = b_ours["completion_mask"].bool()
    torch.testing.assert_close(b_ours["advantages"][mask], b_theirs["advantages"][:, None].expand_as(mask)[mask])
    torch.testing.assert_close(loss_ours, loss_theirs)
    with pytest.raises(ValueError, match="normalize_then_sum"):
        GRPOConfig(**common_args(str(tmp_path), multi_objective_aggregation="normalize_then_sum",
                                 advantage_mode="rloo"))


# 4 -----------------------------------------------------------------------------------------------
HOLES = [1, 1, 0, 0, 1, 1]  # model, model, tool output, tool output, model, model


def tool_rollout(prompts, trainer):
    """Completions with a tool's output in the middle (env_mask 0), as multi-turn tool calling makes."""
    tok = trainer.processing_class
    out = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "env_mask": []}
    for j, prompt in enumerate(prompts):  # the sampler already repeats each prompt num_generations times
        out["prompt_ids"].append(tok(prompt, add_special_tokens=False)["input_ids"])
        out["completion_ids"].append([(7 * j + k) % 20 + 5 for k in range(len(HOLES))])
        out["logprobs"].append([-1.0] * len(HOLES))
        out["env_mask"].append(list(HOLES))
    return out


def alternating_reward(completion_ids, **kwargs):
    return [float(ids[0] % 2 == 1) for ids in completion_ids]  # 1, 0, 1, 0 within each group


@pytest.mark.parametrize("overrides", [{"kl_placement": "reward", "advantage_mode": "reinforce_pp"},
                                       {"kl_placement": "reward", "advantage_mode": "grpo"}])
def test_masks_with_holes_still_carry_the_reward(tmp_path, overrides):
    args = GRPOConfig(**common_args(str(tmp_path), **overrides))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[alternating_reward], args=args,
                          train_dataset=addition_dataset(), rollout_func=tool_rollout)
    _, loss, grads = _first_step(trainer)
    adv = trainer._last_advantages  # noqa: SLF001 - what the loss used, gathered
    mask = torch.tensor(HOLES, dtype=torch.bool)
    assert adv.abs().max() > 0.1
    assert (adv[:, ~mask] == 0).all()
    assert (adv[0::2, mask] > 0).all() and (adv[1::2, mask] < 0).all()  # rewards 1 / 0 alternate


def test_holes_are_transparent_for_every_mode():
    """A completion with masked tokens in the middle gets, on its own tokens, exactly the advantages
    of the same completion with the masked tokens cut out."""
    g = torch.Generator().manual_seed(0)
    n, t = 8, 7
    holes = torch.ones(n, t)
    holes[:, 2:4] = 0
    holes[1, 5:] = 0  # and padding
    holes[4, 0] = 0  # a completion that starts with tool output
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.5, 0.0, 1.0, 1.0])
    token_rewards = torch.randn(n, t, generator=g) * 0.1
    values = torch.randn(n, t, generator=g)
    for name in adv_modes.available():
        kw = dict(group_size=4, token_rewards=token_rewards, values=values, gamma=0.9, lam=0.8, k=2,
                  per_func=torch.stack([rewards, rewards * 2], 1), weights=torch.tensor([1.0, 0.5]))
        with_holes = adv_modes.get(name).fn(adv_modes.Batch(rewards, holes, **kw))
        for i in range(n):
            keep = holes[i].bool()
            compact_mask = torch.zeros(n, t)
            compact_rewards, compact_values = torch.zeros(n, t), torch.zeros(n, t)
            for row in range(n):
                k = holes[row].bool()
                compact_mask[row, : k.sum()] = 1
                compact_rewards[row, : k.sum()] = token_rewards[row][k]
                compact_values[row, : k.sum()] = values[row][k]
            kw.update(token_rewards=compact_rewards, values=compact_values)
            compact = adv_modes.get(name).fn(adv_modes.Batch(rewards, compact_mask, **kw))
            torch.testing.assert_close(with_holes[i][keep], compact[i, : keep.sum()], msg=f"{name}, row {i}")
            assert (with_holes[i][~keep] == 0).all()


# 5 -----------------------------------------------------------------------------------------------
def test_full_kl_with_an_fp32_head_on_a_bf16_model(tmp_path):
    args = GRPOConfig(**common_args(str(tmp_path), kl_estimator="full", cast_lm_head_to_fp32=True,
                                    model_init_kwargs={"dtype": torch.bfloat16}))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset())
    assert trainer.model.lm_head.weight.dtype == torch.float32 and trainer.model.model.embed_tokens.weight.dtype == torch.bfloat16
    _, loss, grads = _first_step(trainer)
    kl = trainer._metrics["train"]["kl"][-1]  # noqa: SLF001
    assert torch.isfinite(loss) and kl > 0 and grads


# 7 -----------------------------------------------------------------------------------------------
def test_ppo_with_sync_ref_model(tmp_path):
    args = PPOConfig(**common_args(str(tmp_path), num_generations=1, sync_ref_model=True, ref_model_sync_steps=1,
                                   ref_model_mixup_alpha=0.5, beta=0.05))
    trainer = PPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset())
    before = {n: p.detach().clone() for n, p in trainer.ref_model.named_parameters()}
    trainer.train()
    policy = dict(trainer.model.named_parameters())
    assert not any(CRITIC_ATTR in n for n, _ in trainer.ref_model.named_parameters())
    moved = [n for n, p in trainer.ref_model.named_parameters() if not torch.equal(p, before[n])]
    assert moved and all(n in policy for n in moved)


# 8 -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["rloo", "reinforce_pp"])
def test_logged_advantages_are_the_ones_used(tmp_path, mode):
    args = GRPOConfig(**common_args(str(tmp_path), advantage_mode=mode, log_completions=True))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset())
    batch, _, _ = _first_step(trainer)
    mask = batch["completion_mask"].float()
    used = (batch["advantages"] * mask).sum(1) / mask.sum(1).clamp(min=1)  # per completion, mean over its tokens
    logged = torch.tensor(list(trainer._logs["advantages"])[-len(used):])  # noqa: SLF001
    torch.testing.assert_close(logged, used.float())


# 9 -----------------------------------------------------------------------------------------------
def test_ppo_config_with_evaluation(tmp_path):
    args = PPOConfig(**common_args(str(tmp_path), num_generations=1, per_device_train_batch_size=8,
                                   per_device_eval_batch_size=4, eval_strategy="steps", eval_steps=1))
    assert args.num_generations == 1 and args.num_generations_eval == 1
    kept = PPOConfig(**common_args(str(tmp_path), num_generations=1, per_device_eval_batch_size=4,
                                   eval_strategy="steps", eval_steps=1, num_generations_eval=2))
    assert kept.num_generations_eval == 2
    trainer = PPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset(),
                         eval_dataset=addition_dataset(4))
    trainer.train()
    assert any("eval_reward" in h for h in trainer.state.log_history)


# 10 ----------------------------------------------------------------------------------------------
def test_adaptive_kl_coefficient_survives_resume(tmp_path):
    kwargs = common_args(str(tmp_path / "full"), max_steps=4, kl_target=0.001, kl_horizon=2, save_strategy="steps",
                         save_steps=2, beta=0.1)
    full = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=GRPOConfig(**kwargs),
                       train_dataset=addition_dataset())
    full.train()
    saved = json.loads((tmp_path / "full" / "checkpoint-2" / "grpo_ext_state.json").read_text())
    assert saved["beta"] != 0.1
    resumed = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward],
                          args=GRPOConfig(**{**kwargs, "output_dir": str(tmp_path / "full")}),
                          train_dataset=addition_dataset())
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "checkpoint-2"))
    assert resumed.beta == pytest.approx(full.beta, rel=1e-12) and full.beta != 0.1
    assert os.path.exists(tmp_path / "full" / "checkpoint-4" / "grpo_ext_state.json")


def test_full_refuses_a_model_that_scales_its_logits_after_the_head(tmp_path):
    """A head multiplier hidden in the model's forward (no config field names it) is caught at the
    first step, by comparing the head's log-probs with the model's."""
    args = GRPOConfig(**common_args(str(tmp_path), kl_estimator="full"))
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset())
    forward = trainer.model.forward

    def scaled(*a, **k):  # what the model's own forward makes of its logits (TRL reads log_probs from it)
        out = forward(*a, **k)
        if getattr(out, "log_probs", None) is not None:
            out.log_probs = out.log_probs * 3.0
        return out

    trainer.model.forward = scaled
    with pytest.raises(ValueError, match="logits to be lm_head"):
        _first_step(trainer)
    args2 = GRPOConfig(**common_args(str(tmp_path), kl_estimator="full"))
    plain = GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args2, train_dataset=addition_dataset())
    _first_step(plain)
    assert plain._head_verified  # noqa: SLF001


def test_forward_passes_that_cannot_see_images_refuse_them():
    from grpo_ext.trainer import multimodal_inputs, refuse_multimodal

    batch = {"prompt_ids": torch.zeros(1, 2), "pixel_values": torch.zeros(1, 3), "image_grid_thw": None}
    assert list(multimodal_inputs(batch)) == ["pixel_values"]
    with pytest.raises(NotImplementedError, match="vision-language"):
        refuse_multimodal(batch, "kl_estimator='full'")
    refuse_multimodal({"prompt_ids": torch.zeros(1, 2)}, "x")  # text-only batches pass


def test_ppo_policy_only_hides_the_critic_from_weight_copies(tmp_path):
    args = PPOConfig(**common_args(str(tmp_path), num_generations=1))
    trainer = PPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=args, train_dataset=addition_dataset())
    with trainer.policy_only() as policy:
        names = [n for n, _ in policy.named_parameters()]
        assert names == [n for n, _ in trainer.ref_model.named_parameters()]  # what vLLM and the reference mirror
    assert any(n.startswith(CRITIC_ATTR) for n, _ in trainer.model.named_parameters())  # back afterwards
