"""GRPOConfig: ``trl.GRPOConfig`` plus the KL estimator, KL placement, advantage mode and reward
settings. Every field's ``help`` is its documentation; ``__post_init__`` checks combinations
before any model is loaded. Names (estimators, modes, rewards) are checked against their
registries here and resolved to callables once, when the trainer is built.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from dataclasses import dataclass, field

import torch
import trl

from grpo_ext import advantages, kl


def _quiet_known_noise() -> None:
    """Silence, narrowly, notices every run printed that say nothing about the run: TRL calls
    transformers' deprecated ``(is_)gradient_checkpointing*`` methods on each generation, and
    DeepSpeed announces on import that it fell back to the CPU on a machine without a GPU. (The
    ``gradient_checkpointing`` field and ``pin_memory`` notices are fixed at their source in
    :class:`GRPOConfig`.)"""
    warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing(_enable|_disable)?` is deprecated",
                            category=FutureWarning, module=r"transformers\.modeling_utils")
    logging.getLogger("DeepSpeed").addFilter(
        lambda record: not record.getMessage().startswith("Setting accelerator to CPU."))


_quiet_known_noise()


def skip_cpu_shm_build(deepspeed_config=None) -> bool:
    """On a CPU-only machine under DeepSpeed, tell DeepSpeed its shared-memory collective op
    (``deepspeed_shm_comm``) cannot be built, so that starting the process group does not compile
    it with g++ (about 4 minutes of CPU, once per extension cache). The op's one use is
    ``inference_all_reduce``, the all-reduce of DeepSpeed's tensor-parallel inference layers, which
    falls back to ``torch.distributed.all_reduce`` without it; ZeRO training never calls it (its
    collectives go through torch.distributed, gloo here). DeepSpeed 0.19.8 has no switch for this:
    the entry is in the compatibility table ``deepspeed.ops.__compatible_ops__`` that its
    ``build_shm_op`` reads (kept as one dict so that edits persist, its source says), the same
    path it takes on platforms other than Linux. On a GPU machine nothing changes: the CUDA
    accelerator has no such op to build. True when the op was marked unbuildable."""
    if torch.accelerator.is_available() or importlib.util.find_spec("deepspeed") is None:
        return False
    if not deepspeed_config and os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() != "true":
        return False  # no DeepSpeed in this run: do not import it
    import deepspeed.ops
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() != "cpu":
        return False
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    return True

_SCALE_TO_MODE = {"group": "grpo", "none": "dr_grpo", "batch": "batch_std"}


@dataclass
class GRPOConfig(trl.GRPOConfig):
    gradient_checkpointing: bool | None = field(default=None, metadata={
        "help": "Deprecated alias of activation_checkpointing (transformers 5). Unset, activation checkpointing is "
                "on, as TRL's default."})
    kl_estimator: str = field(
        default="k3",
        metadata={"help": "Per-token KL estimator between the policy and the reference: k1, k2, k3 (TRL's), "
                          "low_var_kl, abs, k1+, k3+ (kN's value with k2's gradient) or full (exact, over the "
                          "vocabulary). Used only when beta > 0. See the gradient table in docs/trainer.md."},
    )
    kl_placement: str = field(
        default="loss",
        metadata={"help": "'loss': beta * KL is added to the per-token loss (GRPO). 'reward': r_t = -beta * "
                          "kl_t joins the sequence reward (paid on the last token) and the advantage mode works "
                          "on the per-token returns (PPO / REINFORCE++ style). With std-scaled group modes (grpo) "
                          "a group whose task rewards are all equal is then trained on its z-scored KL returns "
                          "alone; use dynamic_sampling (see docs/study.md)."},
    )
    kl_correction: str | None = field(
        default=None,
        metadata={"help": "'importance_ratio': multiply the KL by pi/pi_old (DeepSeek-V3.2); 'none': do not. "
                          "Default: follow TRL's use_bias_correction_kl. With importance_sampling_level="
                          "'sequence' the sequence-level ratio is broadcast over the tokens."},
    )
    kl_target: float | None = field(
        default=None,
        metadata={"help": "Adaptive KL controller (Ziegler et al. 2019): the KL per token to aim for. beta is "
                          "multiplied by 1 + clip((KL - target) / target, -0.2, 0.2) / kl_horizon after "
                          "every optimizer step. None keeps beta fixed."},
    )
    kl_horizon: int = field(default=10000, metadata={"help": "Adaptive KL controller's horizon, in steps."})
    kl_chunk_size: int = field(
        default=256, metadata={"help": "kl_estimator='full': positions per chunk of logits (memory vs. speed)."}
    )
    advantage_mode: str | None = field(
        default=None,
        metadata={"help": "grpo, dr_grpo, batch_std, rloo, reinforce_pp, reinforce_pp_baseline, opo, passk "
                          "(gae is PPOTrainer's). Default: as TRL computes advantages, from scale_rewards "
                          "('group' -> grpo, 'none' -> dr_grpo, 'batch' -> batch_std), or normalize_then_sum "
                          "when multi_objective_aggregation='normalize_then_sum'."},
    )
    gamma: float = field(default=1.0, metadata={"help": "Discount of per-token returns (1.0: undiscounted)."})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda (advantage_mode='gae', PPO)."})
    passk_k: int = field(default=1, metadata={"help": "k of advantage_mode='passk' (1 <= k <= num_generations)."})
    advantage_eps: float = field(default=1e-4, metadata={"help": "Added to standard deviations before dividing."})
    dynamic_sampling: bool = field(
        default=False,
        metadata={"help": "DAPO's dynamic sampling: drop the groups dynamic_sampling_filter names (by default those "
                          "whose rewards are all equal, which train nothing) and generate more prompts until the "
                          "batch is full again. Off by default (TRL has none). See grpo_ext/dynamic.py."},
    )
    dynamic_sampling_filter: str = field(
        default="zero_variance",
        metadata={"help": "Which groups dynamic sampling drops: zero_variance (all rewards equal), "
                          "first_reward_constant (the first reward function is constant in the group, e.g. all "
                          "correct or all wrong), or a name registered with grpo_ext.dynamic.register."},
    )
    dynamic_sampling_max_rounds: int = field(
        default=3,
        metadata={"help": "Extra generation rounds per generation batch at most. When reached, the batch is filled "
                          "up with dropped groups (advantage 0 under group baselines) and the shortfall is logged "
                          "as dynamic_sampling/shortfall_share."},
    )
    reward_num_workers: int = field(default=2, metadata={"help": "Worker processes that evaluate named rewards."})
    reward_timeout: float = field(default=30.0, metadata={
        "help": "Seconds one call of a named reward may take: one completion's for item-wise rewards (the built-in "
                "math, format and length rewards), the whole batch's for the others (called on the batch, as TRL does)."})
    reward_timeout_value: float | None = field(
        default=None, metadata={"help": "Score of a completion whose reward timed out or crashed (None: unscored)."}
    )
    eval_metrics: list[str] | None = field(
        default=None,
        metadata={"help": "Task metrics scored on evaluation samples only, never trained on: registry rewards or "
                          "'module:function' names, e.g. math_accuracy while training on a shaped reward. When set, "
                          "evaluate() (and eval_strategy='steps') reports greedy, avg@k, pass@k and maj@k of each "
                          "under eval/ (see docs/evaluation.md) instead of TRL's eval loss and rewards."},
    )
    eval_num_samples: int = field(default=8, metadata={
        "help": "k: sampled completions per evaluation problem (pass@1, 2, 4, ... up to k; avg@k; maj@k)."})
    eval_temperature: float | None = field(default=None, metadata={
        "help": "Sampling temperature of the k evaluation samples (None: the training temperature)."})
    eval_prompts_per_call: int = field(default=16, metadata={
        "help": "Evaluation problems per generation call (each with its greedy and k sampled completions)."})
    reward_fail_stop: float = field(default=1.0, metadata={
        "help": "Stop the run when a named reward raises or crashes on at least this share of one batch's "
                "completions (1.0: on every one; above 1: never stop, score them reward_timeout_value). Failures are "
                "logged per reward as rewards/<name>/failed; time-outs are counted but never stop a run."})

    def __post_init__(self):
        if self.gradient_checkpointing is None and self.activation_checkpointing is None:
            self.activation_checkpointing = True  # TRL's default, under transformers 5's name (no FutureWarning)
        if not torch.accelerator.is_available():  # a CPU-only machine: the same code runs, in float32
            self.dataloader_pin_memory = False  # nothing to pin to (torch warns on every epoch otherwise)
            if self.bf16 is None and not self.fp16 and not self.use_cpu:
                self.bf16 = False  # TRL's default (bf16 on) is refused by transformers without a GPU unless use_cpu
            skip_cpu_shm_build(self.deepspeed)  # before the process group starts, in super().__post_init__
        super().__post_init__()
        self.check_extensions()

    def check_extensions(self) -> None:
        """Check (and complete) the fields grpo-ext adds; TRL's own were checked by its __post_init__."""
        kl.get(self.kl_estimator)  # raises with the valid names
        if self.kl_placement not in ("loss", "reward"):
            raise ValueError(f"kl_placement must be 'loss' or 'reward', got {self.kl_placement!r}")
        if self.kl_correction is None:
            self.kl_correction = "importance_ratio" if self.use_bias_correction_kl else "none"
        if self.kl_correction not in ("none", "importance_ratio"):
            raise ValueError(f"kl_correction must be 'none' or 'importance_ratio', got {self.kl_correction!r}")
        if self.kl_placement == "reward" and self.kl_correction != "none":
            self.kl_correction = "none"  # rollout-time KL has no gradient; pi == pi_old there
        if self.kl_placement == "reward" and self.beta == 0:
            raise ValueError("kl_placement='reward' needs beta > 0 (the KL coefficient); e.g. --beta 0.01")
        if self.kl_target is not None and self.kl_target <= 0:
            raise ValueError(f"kl_target must be positive, got {self.kl_target}")
        if self.kl_target is not None and self.beta == 0:
            raise ValueError("kl_target (adaptive KL) needs an initial beta > 0")
        if self.kl_horizon <= 0 or self.kl_chunk_size <= 0:
            raise ValueError(f"kl_horizon and kl_chunk_size must be positive; got {self.kl_horizon}, {self.kl_chunk_size}")
        self._check_advantage_mode()
        self._check_dynamic_sampling()
        self._check_evaluation()
        if self.reward_num_workers < 1 or self.reward_timeout <= 0:
            raise ValueError(f"reward_num_workers must be >= 1 and reward_timeout > 0; got "
                             f"{self.reward_num_workers}, {self.reward_timeout}")
        if not self.reward_fail_stop > 0:
            raise ValueError(f"reward_fail_stop must be > 0 (a share of a batch; 1.0 stops when a reward fails on "
                             f"every completion), got {self.reward_fail_stop}")

    def _check_advantage_mode(self) -> None:
        scale = {True: "group", False: "none"}.get(self.scale_rewards, self.scale_rewards)
        implied = _SCALE_TO_MODE.get(scale)
        if self.multi_objective_aggregation == "normalize_then_sum":
            # TRL's per-reward normalisation then batch scaling, whatever scale_rewards says
            if self.advantage_mode not in (None, "normalize_then_sum"):
                raise ValueError(f"multi_objective_aggregation='normalize_then_sum' is itself the advantage "
                                 f"(per-reward group z-scores, summed, then batch-normalised); it cannot be combined "
                                 f"with advantage_mode={self.advantage_mode!r}. Leave advantage_mode unset.")
            if self.kl_placement == "reward":
                raise ValueError("multi_objective_aggregation='normalize_then_sum' works on sequence rewards only; "
                                 "use kl_placement='loss' with it")
            self.advantage_mode = "normalize_then_sum"
        elif self.advantage_mode is None:
            self.advantage_mode = implied
        elif self.advantage_mode in _SCALE_TO_MODE.values() and scale != "group" and self.advantage_mode != implied:
            raise ValueError(f"advantage_mode={self.advantage_mode!r} contradicts scale_rewards={scale!r} (which "
                             f"means {implied!r}); set only one of them")
        mode = advantages.get(self.advantage_mode)
        if mode.needs_values and not self.has_critic:
            raise ValueError(f"advantage_mode={self.advantage_mode!r} needs a critic: use grpo_ext.PPOTrainer")
        if self.advantage_mode == "rloo" and (self.num_generations or 2) < 2:
            raise ValueError(f"advantage_mode='rloo' needs num_generations >= 2, got {self.num_generations}")
        if self.advantage_mode == "passk" and not 1 <= self.passk_k <= (self.num_generations or 1):
            raise ValueError(f"passk_k must be between 1 and num_generations ({self.num_generations}), got {self.passk_k}")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"gamma and lam must be in [0, 1]; got {self.gamma}, {self.lam}")
        if self.advantage_mode == "normalize_then_sum" and self.multi_objective_aggregation != "normalize_then_sum":
            raise ValueError("advantage_mode='normalize_then_sum' is set through "
                             "multi_objective_aggregation='normalize_then_sum', as in TRL")

    def _check_dynamic_sampling(self) -> None:
        from grpo_ext import dynamic

        dynamic.get(self.dynamic_sampling_filter)  # raises with the valid names
        if self.dynamic_sampling_max_rounds < 0:
            raise ValueError(f"dynamic_sampling_max_rounds must be >= 0, got {self.dynamic_sampling_max_rounds}")
        if self.dynamic_sampling and (self.num_generations or 1) < 2:
            raise ValueError(f"dynamic_sampling filters groups of completions of one prompt; it needs "
                             f"num_generations >= 2, got {self.num_generations}")

    def _check_evaluation(self) -> None:
        if isinstance(self.eval_metrics, str):
            self.eval_metrics = [n.strip() for n in self.eval_metrics.split(",") if n.strip()]
        if self.eval_num_samples < 1 or self.eval_prompts_per_call < 1:
            raise ValueError(f"eval_num_samples and eval_prompts_per_call must be >= 1; got {self.eval_num_samples}, "
                             f"{self.eval_prompts_per_call}")
        if self.eval_temperature is not None and self.eval_temperature <= 0:
            raise ValueError(f"eval_temperature must be > 0 (greedy accuracy is always reported), got "
                             f"{self.eval_temperature}")

    @property
    def has_critic(self) -> bool:
        return False
