"""PPOTrainer: PPO with a learned critic and GAE, on the GRPO trainer's data, rewards, generation
and logging.

The algorithm (Schulman et al. 2017, arXiv:1707.06347; for language models Ouyang et al. 2022,
arXiv:2203.02155):

- rollout: sample completions, score them, compute per-token KL to the reference (k1 by default)
  and the critic's values; rewards are ``r_t = -beta * kl_t`` plus the sequence reward on the last
  token; advantages from GAE(gamma, lambda); returns ``R_t = A_t + V_old(s_t)``; advantages
  whitened over the batch's valid tokens;
- update: TRL's clipped policy loss on those advantages, plus ``vf_coef * 1/2 E[(V - R)^2]``
  (clipped around ``V_old`` by ``cliprange_value``), for ``num_iterations`` epochs over
  ``steps_per_generation`` mini-batches of each rollout.

The critic is a scalar value head on a copy of the policy's backbone (or on a model given by
``value_model_path``). It is attached to the policy as the submodule ``value_critic``, so one
optimizer and one DeepSpeed engine (ZeRO-1/2/3) train both. Saving writes the policy as a plain
transformers model (``AutoModelForCausalLM.from_pretrained`` loads it) and the critic beside it
in ``critic/``; resuming from a checkpoint restores both.

Departures from the classic recipe, by design: the value head reads the same positions as the
policy's log-probs (the state before each completion token); PEFT is not supported yet.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field

import safetensors.torch
import torch
from torch import nn
from transformers import AutoModel
from trl.trainer.callbacks import SyncRefModelCallback

from grpo_ext.config import GRPOConfig
from grpo_ext.losses import masked_mean, value_loss
from grpo_ext.trainer import GRPOTrainer, refuse_multimodal

CRITIC_DIR = "critic"
CRITIC_ATTR = "value_critic"


@dataclass
class PPOConfig(GRPOConfig):
    num_generations: int | None = field(default=1, metadata={"help": "Completions per prompt (1 is classic PPO)."})
    beta: float = field(default=0.05, metadata={"help": "KL coefficient of the per-token KL reward."})
    kl_estimator: str = field(default="k1", metadata={"help": "Per-token KL in the reward (k1 is the classic)."})
    kl_placement: str = field(default="reward", metadata={"help": "'reward' (classic PPO) or 'loss'."})
    advantage_mode: str | None = field(default="gae", metadata={"help": "Advantage mode; 'gae' uses the critic."})
    gamma: float = field(default=1.0, metadata={"help": "Discount for GAE."})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda."})
    vf_coef: float = field(default=0.1, metadata={"help": "Weight of the value loss."})
    cliprange_value: float | None = field(
        default=0.2, metadata={"help": "Clip the new values to V_old +- this in the value loss (None: no clip)."}
    )
    whiten_advantages: bool = field(default=True, metadata={"help": "Whiten advantages over the batch's tokens."})
    value_model_path: str | None = field(
        default=None, metadata={"help": "Backbone of the critic (default: a copy of the policy's)."}
    )

    def __post_init__(self):
        generations, eval_generations = self.num_generations, self.num_generations_eval
        if generations == 1:
            # trl.GRPOConfig insists on groups of >= 2 that divide the generation batch; PPO needs no
            # groups, so TRL's checks run with the per-device batch as the group size (and evaluation
            # with the user's num_generations_eval, or 1: one completion per prompt, as in training)
            if self.per_device_train_batch_size < 2:
                raise ValueError("PPOConfig with num_generations=1 needs per_device_train_batch_size >= 2")
            self.num_generations = self.per_device_train_batch_size
            self.num_generations_eval = eval_generations or 1
        super().__post_init__()
        self.num_generations = generations
        self.num_generations_eval = eval_generations or generations
        self._check_dynamic_sampling()  # TRL's checks ran with a stand-in group size; this one needs the real one
        if self.vf_coef < 0 or (self.cliprange_value is not None and self.cliprange_value <= 0):
            raise ValueError(f"vf_coef must be >= 0 and cliprange_value > 0 (or None); got {self.vf_coef}, "
                             f"{self.cliprange_value}")

    @property
    def has_critic(self) -> bool:
        return True


class Critic(nn.Module):
    """A backbone and a scalar head: values ``[B, L]`` for every position."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.config.hidden_size, 1)
        nn.init.normal_(self.head.weight, std=1.0 / (backbone.config.hidden_size + 1) ** 0.5)
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> Critic:
        """A critic from a transformers model folder, or from a folder written by :meth:`save`.

        A causal LM's folder also holds its LM head, which the critic's backbone does not have:
        it is skipped as expected, without transformers' load report of an "unexpected" key."""
        from transformers import AutoConfig
        from transformers.models.auto.modeling_auto import MODEL_MAPPING

        backbone_cls = MODEL_MAPPING[type(AutoConfig.from_pretrained(path))]
        saved = backbone_cls._keys_to_ignore_on_load_unexpected
        backbone_cls._keys_to_ignore_on_load_unexpected = [*(saved or []), r"^lm_head\."]
        try:
            backbone = AutoModel.from_pretrained(path, **kwargs)
        finally:
            backbone_cls._keys_to_ignore_on_load_unexpected = saved
        critic = cls(backbone)
        head_file = os.path.join(path, "value_head.safetensors")
        if os.path.exists(head_file):
            critic.head.load_state_dict(safetensors.torch.load_file(head_file))
        return critic

    def forward(self, input_ids, attention_mask) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        return self.head(hidden.to(self.head.weight.dtype)).squeeze(-1)

    def save(self, path: str, state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """Backbone as a transformers model, head as ``value_head.safetensors``."""
        state = state_dict if state_dict is not None else self.state_dict()
        backbone = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
        head = {k.removeprefix("head."): v.contiguous() for k, v in state.items() if k.startswith("head.")}
        self.backbone.save_pretrained(path, state_dict=backbone)
        safetensors.torch.save_file(head, os.path.join(path, "value_head.safetensors"))
        with open(os.path.join(path, "critic.json"), "w") as f:
            json.dump({"kind": "scalar value head", "hidden_size": self.backbone.config.hidden_size}, f)


class PPOTrainer(GRPOTrainer):
    """PPO with a critic and GAE; the same arguments as :class:`grpo_ext.GRPOTrainer`."""

    def __init__(self, model, reward_funcs=None, args=None, *rest, **kwargs):
        if kwargs.get("peft_config") is not None:
            raise ValueError("PPOTrainer does not support peft_config yet; train the full model or use GRPOTrainer")
        if args is None:
            args = PPOConfig(output_dir="ppo-out")
        if not isinstance(args, PPOConfig):
            raise TypeError(f"PPOTrainer needs a grpo_ext.PPOConfig, got {type(args).__name__}")
        super().__init__(model, reward_funcs, args, *rest, **kwargs)
        policy = self.accelerator.unwrap_model(self.model)
        source = args.value_model_path or policy.config._name_or_path
        critic = Critic.from_pretrained(source, **(args.model_init_kwargs or {}))
        policy.add_module(CRITIC_ATTR, critic.to(device=policy.device, dtype=policy.dtype))
        self._critic_free_weight_sync()

    @property
    def critic(self) -> Critic:
        return getattr(self.accelerator.unwrap_model(self.model), CRITIC_ATTR)

    @contextlib.contextmanager
    def policy_only(self):
        """The policy without its critic submodule: what the reference model and vLLM mirror."""
        policy = self.accelerator.unwrap_model(self.model)
        critic = policy._modules.pop(CRITIC_ATTR, None)
        try:
            yield policy
        finally:
            if critic is not None:
                policy.add_module(CRITIC_ATTR, critic)

    def _critic_free_weight_sync(self) -> None:
        """TRL's weight copies (reference-model sync, vLLM weight sync) walk all of the policy's
        parameters; the critic's must stay out of both."""
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, SyncRefModelCallback):
                sync = callback.on_step_end

                def on_step_end(*args, _sync=sync, **kwargs):
                    with self.policy_only() as policy:
                        return _sync(*args, **{**kwargs, "model": policy})

                callback.on_step_end = on_step_end
        generation = getattr(self, "vllm_generation", None)
        if generation is not None:
            sync_weights = generation.sync_weights

            def critic_free_sync_weights(*args, **kwargs):
                with self.policy_only():
                    return sync_weights(*args, **kwargs)

            generation.sync_weights = critic_free_sync_weights

    # -- rollout ---------------------------------------------------------------------------------
    def _values(self, batch) -> torch.Tensor:
        refuse_multimodal(batch, "PPOTrainer's critic")
        ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        t = batch["completion_ids"].shape[1]
        return self.critic(ids, attention)[:, -t - 1 : -1].float()  # [B, T]: the state before each token

    def _rollout_values(self, output) -> None:
        with torch.no_grad():
            output["old_values"] = self._values(output)

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        mask = output["completion_mask"] * output.get("tool_mask", 1)
        raw = output["advantages"]  # GAE, [B, T]
        output["returns"] = (raw + output["old_values"]) * mask
        if self.args.whiten_advantages:
            output["advantages"] = self._whiten(raw, mask)
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["value/rollout_mean"].append(self._global_mean(output["old_values"], mask))
        self._metrics[mode]["value/returns_mean"].append(self._global_mean(output["returns"], mask))
        return output

    def _whiten(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Whiten over the valid tokens of all processes."""
        stats = torch.stack([(x * mask).sum(), (x * x * mask).sum(), mask.sum()]).double()
        total, sq, count = self.accelerator.reduce(stats, reduction="sum").tolist()
        mean = total / max(count, 1.0)
        var = max(sq / max(count, 1.0) - mean * mean, 0.0) * count / max(count - 1.0, 1.0)
        return (x - mean) / (var**0.5 + self.args.advantage_eps) * mask

    # -- update ----------------------------------------------------------------------------------
    def _compute_loss(self, model, inputs):
        loss = super()._compute_loss(model, inputs)
        mask = inputs["completion_mask"] * inputs.get("tool_mask", 1)
        values = self._values(inputs)
        v_loss = value_loss(values, inputs["old_values"], inputs["returns"], mask, self.args.cliprange_value)
        training = self.model.training
        scale = self.current_gradient_accumulation_steps if training else 1.0
        mode = "train" if training else "eval"
        with torch.no_grad():
            self._metrics[mode]["value/loss"].append(self.accelerator.gather(v_loss.detach()).mean().item())
            self._metrics[mode]["value/mean"].append(self._global_mean(values.detach(), mask))
            if self.args.cliprange_value is not None:
                clipped = ((values - inputs["old_values"]).abs() > self.args.cliprange_value).float()
                self._metrics[mode]["value/clip_fraction"].append(self._global_mean(clipped, mask))
            residual = masked_mean((inputs["returns"] - values) ** 2, mask)
            spread = masked_mean((inputs["returns"] - masked_mean(inputs["returns"], mask)) ** 2, mask)
            self._metrics[mode]["value/explained_variance"].append((1 - residual / spread.clamp(min=1e-8)).item())
        return loss + self.args.vf_coef * v_loss / scale

    # -- saving ----------------------------------------------------------------------------------
    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        output_dir = output_dir or self.args.output_dir
        policy = self.accelerator.unwrap_model(self.model)
        if state_dict is None:
            state_dict = policy.state_dict()
        prefix = CRITIC_ATTR + "."
        critic_state = {k.removeprefix(prefix): v for k, v in state_dict.items() if k.startswith(prefix)}
        policy_state = {k: v for k, v in state_dict.items() if not k.startswith(prefix)}
        critic = policy._modules.pop(CRITIC_ATTR)  # the policy saves as a plain transformers model
        try:
            super()._save(output_dir, state_dict=policy_state)
        finally:
            policy.add_module(CRITIC_ATTR, critic)
        if self.args.should_save and critic_state:
            critic.save(os.path.join(output_dir, CRITIC_DIR), critic_state)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        saved = os.path.join(resume_from_checkpoint, CRITIC_DIR)
        if os.path.isdir(saved):
            loaded = Critic.from_pretrained(saved)
            self.critic.load_state_dict(loaded.to(next(self.critic.parameters()).dtype).state_dict())
