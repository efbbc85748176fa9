"""TRL's user-facing options x grpo-ext's variants, each cell a real two-step training run.

Variants: ``ours`` (grpo-ext at its defaults, which must reproduce ``trl.GRPOTrainer``: the same
losses and the same final parameters, run side by side), ``full`` (exact KL), ``reward`` (KL in the
reward), ``rloo`` and ``reinforce_pp`` (two non-GRPO advantage modes) and ``ppo`` (PPOTrainer,
critic and GAE). Every cell checks more than "it ran": the steps happened, every logged number is
finite, the parameters moved (or, where the option says nothing may be learnt, did not), and the
advantages the loss used have the mode's defining property. Options checked further (logged
advantages, reference sync, masks with holes, evaluation, resume, dtypes) say so in their checks.

Cells that grpo-ext refuses are listed in ``REFUSED`` with the error they must raise; the README's
feature-matrix section names them with the reason, and ``test_readme_lists_every_refusal_and_option``
keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Callable

import pytest
import torch
import transformers
import trl
from datasets import Dataset

from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer
from grpo_ext.ppo import CRITIC_ATTR
from tests.test_dropin import HOLES, alternating_reward, tool_rollout
from tests.test_tools import Counter, chat_dataset, f, holes_inside, text_reward, tool_args, tool_model_path
from tests.tiny_setup import addition_dataset, common_args, digit_reward, tiny_model_path, tiny_reward_model_path

ROOT = Path(__file__).resolve().parents[1]

VARIANTS: dict[str, dict] = {
    "ours": {},
    "full": {"kl_estimator": "full"},
    "reward": {"kl_placement": "reward"},
    "rloo": {"advantage_mode": "rloo"},
    "reinforce_pp": {"advantage_mode": "reinforce_pp"},
    "ppo": {},
}


def length_reward(completions, **kwargs):
    return [len(c) / 10.0 for c in completions]


def chat_digit_reward(completions, **kwargs):
    return digit_reward([c[-1]["content"] for c in completions])


async def async_digit_reward(completions, **kwargs):
    return digit_reward(completions)


def conversational_dataset(n: int = 8) -> Dataset:
    return Dataset.from_dict({"prompt": [[{"role": "user", "content": f"{i}+{i % 3}="}] for i in range(n)]})


@dataclasses.dataclass
class Option:
    """One TRL option: config overrides, trainer keyword arguments, and what to check afterwards."""

    overrides: dict = dataclasses.field(default_factory=dict)
    trainer_kwargs: Callable[[], dict] = dict
    rewards: Callable[[], list] = lambda: [digit_reward]
    learns: bool = True  # False: the option leaves nothing to learn, so the parameters must not move
    stop_at: int | None = None  # stop the run (as a kill would) after this many steps
    trl_peer: bool = True  # False: TRL has no such option, so the defaults column is not compared with TRL
    check: Callable | None = None  # check(trainer, variant, tmp_path)
    model: Callable[[], str] = tiny_model_path  # the policy's folder


def _lora():
    from peft import LoraConfig

    return {"peft_config": LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])}


def check_logged_advantages(trainer, variant, tmp_path):
    adv, mask = trainer._last_advantages, trainer._last_advantage_mask  # noqa: SLF001
    used = (adv * mask).sum(1) / mask.sum(1).clamp(min=1)
    logged = torch.tensor(list(trainer._logs["advantages"])[-len(used):])  # noqa: SLF001
    torch.testing.assert_close(logged, used.float())


def check_ref_synced(trainer, variant, tmp_path):
    policy = {n: p for n, p in trainer.model.named_parameters() if CRITIC_ATTR not in n}
    ref = dict(trainer.ref_model.named_parameters())
    assert set(ref) == set(policy), "the reference mirrors the policy, never the critic"
    # alpha = 1 and a sync every step: the reference is the policy itself after the last step
    for name, p in ref.items():
        torch.testing.assert_close(p, policy[name], msg=name)


def check_holes(trainer, variant, tmp_path):
    adv, mask = trainer._last_advantages, trainer._last_advantage_mask  # noqa: SLF001
    holes = ~torch.tensor(HOLES, dtype=torch.bool)
    assert (adv[:, holes] == 0).all() and (mask[:, holes] == 0).all()
    assert adv[:, ~holes].abs().max() > 0.05, "the reward reached no model token"


def check_tool_holes(trainer, variant, tmp_path):
    """TRL's tool loop made tool-result holes (tool_mask 0 inside completions); the advantages the
    loss used are 0 there and reached the model's tokens."""
    adv, mask = trainer._last_advantages, trainer._last_advantage_mask  # noqa: SLF001
    holes = holes_inside(mask)
    assert holes.any(), "no tool result in the last batch"
    assert (adv[holes] == 0).all() and adv[mask > 0].abs().max() > 0
    assert all(h["tools/call_frequency"] > 0 for h in trainer.state.log_history if "loss" in h)


def _tool_option(trainer_kwargs: Callable[[], dict], rewards: Callable[[], list]) -> Option:
    overrides = {k: v for k, v in tool_args("-").items() if k in ("max_completion_length", "max_tool_calling_iterations",
                                                                 "generation_kwargs")}
    return Option(overrides, trainer_kwargs=lambda: {"train_dataset": chat_dataset(), **trainer_kwargs()},
                  rewards=rewards, check=check_tool_holes, model=tool_model_path)


def check_evaluation(trainer, variant, tmp_path):
    evals = [h for h in trainer.state.log_history if "eval_reward" in h]
    assert len(evals) == 2 and all(math.isfinite(h["eval_reward"]) for h in evals)


def check_fp32_head(trainer, variant, tmp_path):
    model = trainer.accelerator.unwrap_model(trainer.model)
    assert model.lm_head.weight.dtype == torch.float32
    assert model.model.embed_tokens.weight.dtype == torch.bfloat16


def check_dynamic(trainer, variant, tmp_path):
    logs = [h for h in trainer.state.log_history if "dynamic_sampling/rounds" in h]
    assert len(logs) == 2 and all(1 <= h["dynamic_sampling/rounds"] <= 4 for h in logs)
    assert all(h["dynamic_sampling/prompts"] >= 1 for h in logs)


class StopAt(transformers.TrainerCallback):
    """Ends a run after ``step`` optimizer steps, as if it had been killed there."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


def check_resume(trainer, variant, tmp_path):
    """A run stopped after step 2's checkpoint and resumed to step 3 ends with the parameters of
    the run that never stopped (RNG, optimizer, scheduler, adaptive state and critic restored)."""
    option = dataclasses.replace(OPTIONS["resume"], trainer_kwargs=dict)
    resumed = build(variant, option, tmp_path)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    uninterrupted = build(variant, option, tmp_path / "uninterrupted")
    uninterrupted.train()
    assert resumed.state.global_step == uninterrupted.state.global_step == 3
    for (name, a), (_, b) in zip(resumed.model.named_parameters(), uninterrupted.model.named_parameters()):
        torch.testing.assert_close(a, b, msg=name)


OPTIONS: dict[str, Option] = {
    **{f"loss_type={t}": Option({"loss_type": t}) for t in
       ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")},
    "importance_sampling_level=sequence": Option({"importance_sampling_level": "sequence"}),
    "scale_rewards=batch": Option({"scale_rewards": "batch"}),
    "top_entropy_quantile=0.5": Option({"top_entropy_quantile": 0.5}),
    "entropy_coef=0.01": Option({"entropy_coef": 0.01}),
    "delta + epsilon_high": Option({"delta": 1.5, "epsilon_high": 0.28}),
    "off_policy_mask_threshold": Option({"off_policy_mask_threshold": 0.5, "num_iterations": 2}),
    "mask_truncated_completions": Option({"mask_truncated_completions": True}, learns=False),
    "num_iterations + steps_per_generation": Option({"num_iterations": 2, "steps_per_generation": 2}),
    "gradient_accumulation_steps=2": Option({"gradient_accumulation_steps": 2, "per_device_train_batch_size": 2,
                                             "num_generations": 2}),
    "reward_weights (2 rewards)": Option({"reward_weights": [1.0, 0.5]}, rewards=lambda: [digit_reward, length_reward]),
    "normalize_then_sum": Option({"multi_objective_aggregation": "normalize_then_sum", "reward_weights": [1.0, 0.5]},
                                 rewards=lambda: [digit_reward, length_reward]),
    "async reward": Option(rewards=lambda: [async_digit_reward]),
    "reward model by id": Option(rewards=lambda: [tiny_reward_model_path()]),
    "conversational prompts": Option(rewards=lambda: [chat_digit_reward], trainer_kwargs=lambda: {"train_dataset": conversational_dataset()}),
    "temperature=0.7": Option({"temperature": 0.7}),
    "PEFT (LoRA)": Option(trainer_kwargs=_lora),
    "sync_ref_model": Option({"sync_ref_model": True, "ref_model_sync_steps": 1, "ref_model_mixup_alpha": 1.0},
                             check=check_ref_synced),
    "rollout_func with tool masks": Option(rewards=lambda: [alternating_reward],
                                          trainer_kwargs=lambda: {"rollout_func": tool_rollout}, check=check_holes),
    "tools": _tool_option(lambda: {"tools": [f]}, rewards=lambda: [text_reward]),
    "environment_factory": _tool_option(lambda: {"environment_factory": Counter}, rewards=lambda: [text_reward]),
    "evaluation": Option({"eval_strategy": "steps", "eval_steps": 1, "per_device_eval_batch_size": 4},
                         trainer_kwargs=lambda: {"eval_dataset": addition_dataset(4)}, check=check_evaluation),
    "log_completions": Option({"log_completions": True}, check=check_logged_advantages),
    "bf16 + cast_lm_head_to_fp32": Option({"cast_lm_head_to_fp32": True, "model_init_kwargs": {"dtype": torch.bfloat16}},
                                          check=check_fp32_head),
    "dynamic_sampling": Option({"dynamic_sampling": True}, trl_peer=False, check=check_dynamic),
    "resume": Option({"save_strategy": "steps", "save_steps": 2, "max_steps": 3}, stop_at=2,
                     trainer_kwargs=lambda: {"callbacks": [StopAt(2)]}, check=check_resume),
}

# (option, variant) -> the error grpo-ext raises, with why; the README's feature matrix lists them
REFUSED: dict[tuple[str, str], str] = {
    **{("normalize_then_sum", v): "normalize_then_sum" for v in ("reward", "rloo", "reinforce_pp", "ppo")},
    ("PEFT (LoRA)", "ppo"): "PPOTrainer does not support peft_config",
    ("dynamic_sampling", "ppo"): "needs num_generations >= 2",
}


def config_kwargs(variant: str, option: Option, output_dir: str) -> dict:
    # plain SGD: Adam's first step is lr * sign(gradient), which turns noise-level gradient differences
    # into lr-sized parameter differences; with SGD parameters differ as much as the gradients do
    kwargs = common_args(output_dir, optim="sgd", learning_rate=0.1, **VARIANTS[variant], **option.overrides)
    if variant == "ppo":
        kwargs["num_generations"] = 1  # classic PPO: one completion per prompt
    return kwargs


def build(variant: str, option: Option, tmp_path, peer: bool = False):
    kwargs = config_kwargs(variant, option, str(tmp_path))
    extra = {"train_dataset": addition_dataset(), **option.trainer_kwargs()}
    if peer:
        return trl.GRPOTrainer(option.model(), reward_funcs=option.rewards(), args=trl.GRPOConfig(**kwargs), **extra)
    if variant == "ppo":
        return PPOTrainer(option.model(), reward_funcs=option.rewards(), args=PPOConfig(**kwargs), **extra)
    return GRPOTrainer(option.model(), reward_funcs=option.rewards(), args=GRPOConfig(**kwargs), **extra)


def trainable(trainer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}


def check_mode_property(trainer, variant):
    """The advantages the last batch trained on have the defining property of the variant's mode."""
    adv, mask = trainer._last_advantages, trainer._last_advantage_mask  # noqa: SLF001
    valid = mask > 0
    assert valid.any() and torch.isfinite(adv).all() and (adv[~valid] == 0).all()
    if variant == "rloo":  # leave-one-out baselines: each group's advantages sum to zero
        per_seq = (adv * mask).sum(1) / mask.sum(1).clamp(min=1)
        torch.testing.assert_close(per_seq.view(-1, trainer.num_generations).sum(1),
                                   torch.zeros(len(per_seq) // trainer.num_generations), atol=1e-5, rtol=0)
    if variant == "reinforce_pp" and adv[valid].std() > 0:  # whitened over the batch's valid tokens
        assert abs(adv[valid].mean().item()) < 1e-4 and abs(adv[valid].std().item() - 1) < 1e-2  # eps in the divisor


def run_cell(option_name: str, variant: str, tmp_path) -> None:
    option = OPTIONS[option_name]
    trainer = build(variant, option, tmp_path)
    before = trainable(trainer)
    trainer.train()
    assert trainer.state.global_step == (option.stop_at or trainer.args.max_steps)
    logs = [h for h in trainer.state.log_history if "loss" in h]
    numbers = [v for h in logs for v in h.values() if isinstance(v, float)]
    assert logs and all(math.isfinite(v) for v in numbers)
    after = trainable(trainer)
    moved = [n for n in before if not torch.equal(before[n], after[n])]
    if option.learns:
        assert moved, "no parameter changed"
    else:
        assert not moved, f"nothing was to be learnt, yet {moved[:3]} changed"
    if variant == "ppo":
        assert any(CRITIC_ATTR in n for n in moved) == option.learns
        assert all(math.isfinite(h["value/loss"]) for h in logs)
    if variant in ("full", "reward"):
        assert all(h["kl"] >= -1e-6 for h in logs if "kl" in h) and any("kl" in h for h in logs)  # exact 0 may round below
    if option.learns:
        check_mode_property(trainer, variant)
    if variant == "ours" and option.trl_peer and option_name != "resume":  # the same run through trl.GRPOTrainer
        peer = build(variant, option, tmp_path / "trl", peer=True)
        peer.train()
        peer_logs = [h for h in peer.state.log_history if "loss" in h]
        for key in ("loss", "reward", "kl"):
            ours_seen, theirs_seen = [h[key] for h in logs if key in h], [h[key] for h in peer_logs if key in h]
            assert ours_seen == pytest.approx(theirs_seen, rel=1e-4, abs=1e-6), key
        for (name, a), (_, b) in zip(trainer.model.named_parameters(), peer.model.named_parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=name)
    if option.check:
        option.check(trainer, variant, tmp_path)


CELLS = [(o, v) for o in OPTIONS for v in VARIANTS]


@pytest.mark.slow
@pytest.mark.parametrize("option_name, variant", CELLS, ids=[f"{o}|{v}" for o, v in CELLS])
def test_cell(tmp_path, option_name, variant):
    refusal = REFUSED.get((option_name, variant))
    if refusal is None:
        run_cell(option_name, variant, tmp_path)
        return
    with pytest.raises((ValueError, NotImplementedError), match=refusal.split(" | ")[0]):
        build(variant, OPTIONS[option_name], tmp_path).train()


def _readme_section(name: str) -> str:
    readme = (ROOT / "docs" / "trainer.md").read_text()  # the matrix moved from the README to docs/trainer.md
    return readme.split(f"<!-- {name} -->")[1].split(f"<!-- end {name} -->")[0]


def test_readme_lists_every_refusal_and_option():
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|", _readme_section("refusals"), flags=re.M)
    assert rows[0] == ("option", "variant")
    assert set(rows[1:]) == set(REFUSED) and len(rows) == len(REFUSED) + 1, "README's refusals and REFUSED differ"
    listed = " ".join(_readme_section("matrix-options").split())
    for name in OPTIONS:
        words = re.findall(r"[a-z_0-9]{4,}", name.split("=")[-1] if name.startswith("loss_type") else name)
        assert all(w in listed or w in {"steps", "rewards"} for w in words), f"README's option list misses {name!r}"


@pytest.mark.slow
def test_resume_across_an_epoch_keeps_trls_prompt_order(tmp_path):
    """Three prompts, one per step: the checkpoint closes epoch 0, the resumed run trains epoch 1.
    It must see the prompts of the run that never stopped, and those must be trl.GRPOTrainer's
    (TRL's own sampler restarts its shuffle on resume and replays epoch 0's order)."""
    seen: dict[str, list[str]] = {}

    def recording(name):
        def reward(prompts, completions, **kwargs):
            seen.setdefault(name, []).append(prompts[0])  # one prompt (x num_generations) per step
            return digit_reward(completions)
        reward.__name__ = "digit_reward"
        return reward

    data = Dataset.from_dict({"prompt": ["1+2=", "3+4=", "5+6="]})
    kwargs = common_args(str(tmp_path / "a"), max_steps=6, save_strategy="steps", save_steps=3, optim="sgd",
                         learning_rate=0.1, shuffle_dataset=True)
    stopped = GRPOTrainer(tiny_model_path(), [recording("stopped")], GRPOConfig(**kwargs), train_dataset=data,
                          callbacks=[StopAt(3)])
    stopped.train()
    resumed = GRPOTrainer(tiny_model_path(), [recording("resumed")], GRPOConfig(**kwargs), train_dataset=data)
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-3"))
    kwargs["output_dir"] = str(tmp_path / "b")
    whole = GRPOTrainer(tiny_model_path(), [recording("whole")], GRPOConfig(**kwargs), train_dataset=data)
    whole.train()
    kwargs["output_dir"] = str(tmp_path / "c")
    theirs = trl.GRPOTrainer(tiny_model_path(), [recording("trl")], trl.GRPOConfig(**kwargs), train_dataset=data)
    theirs.train()
    assert seen["whole"] == seen["trl"] and len(seen["whole"]) == 6
    assert seen["stopped"] + seen["resumed"] == seen["whole"]
    assert set(seen["whole"][:3]) == set(seen["whole"][3:]) == {"1+2=", "3+4=", "5+6="}  # each epoch, every prompt
    assert seen["whole"][:3] != seen["whole"][3:]  # epochs are shuffled differently (what a restart would undo)
    for (name, a), (_, b) in zip(resumed.model.named_parameters(), whole.model.named_parameters()):
        torch.testing.assert_close(a, b, msg=name)
