"""GRPOTrainer: ``trl.GRPOTrainer`` with a configurable KL estimator, KL placement and advantage mode.

Where it meets TRL (tested by tests/test_trl_contract.py against the pinned trl minor version):

- ``_calculate_rewards`` is wrapped to keep the gathered per-function rewards of the batch;
  ``_generate_and_score_completions`` runs TRL's, then replaces ``output["advantages"]`` with the
  advantage mode's per-token ``[B, T]`` advantages (TRL's loss accepts them).
- ``_compute_loss`` runs TRL's with its KL switched off (``beta = 0`` for the call), capturing the
  per-token log-probs TRL computes (through ``_get_per_token_logps_and_entropies``), and adds
  ``beta * KL`` aggregated exactly as TRL aggregates its loss. TRL's loss types, clipping, masks,
  entropy terms and vLLM corrections therefore all keep working, and no extra forward pass is made.

Departures from TRL, by design: KL metrics are logged for k1, k2 and k3 whatever the estimator
(``kl/k1``, ``kl/k2``, ``kl/k3``; ``kl`` is the chosen one, as in TRL); advantage statistics are
logged under ``advantages/``; the prompt sampler gives TRL's order but also after a resume
(:mod:`grpo_ext.sampling`); ``dynamic_sampling`` (off by default) refills the batch with groups
that train (:mod:`grpo_ext.dynamic`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os

import torch
import trl
from trl.trainer.utils import RepeatSampler

from grpo_ext import evaluation, rewards
from grpo_ext import advantages as adv_modes
from grpo_ext import kl as kl_estimators
from grpo_ext.config import GRPOConfig
from grpo_ext.dynamic import INTERNAL, DynamicSampler
from grpo_ext.full_vocab import FullVocabKL, multimodal_inputs, refuse_multimodal  # noqa: F401 - re-exported
from grpo_ext.losses import Normalizer, aggregate
from grpo_ext.sampling import EpochRepeatSampler
from grpo_ext.rewards.runner import RewardRunner


STATE_FILE = "grpo_ext_state.json"  # what a checkpoint needs beyond TRL's: adaptive beta, extra-prompt position


def _as_our_config(args, model) -> GRPOConfig:
    """A ``trl.GRPOConfig`` becomes ours as it is: TRL's ``__post_init__`` already derived its fields
    (``generation_batch_size`` from ``steps_per_generation``, ...), so it is not run again; only the
    fields grpo-ext adds are set to their defaults and checked."""
    if isinstance(args, GRPOConfig):
        return args
    if args is None:
        name = model if isinstance(model, str) else getattr(model.config, "_name_or_path", "model")
        return GRPOConfig(output_dir=f"{str(name).rstrip('/').split('/')[-1]}-GRPO")
    if not isinstance(args, trl.GRPOConfig):
        raise TypeError(f"args must be a trl.GRPOConfig or grpo_ext.GRPOConfig, got {type(args).__name__}")
    ours = copy.copy(args)
    ours.__class__ = GRPOConfig
    for f in dataclasses.fields(GRPOConfig):
        if not hasattr(ours, f.name):
            setattr(ours, f.name, f.default_factory() if f.default is dataclasses.MISSING else f.default)
    ours.check_extensions()
    return ours


class GRPOTrainer(FullVocabKL, trl.GRPOTrainer):
    """Drop-in for ``trl.GRPOTrainer``; see :class:`grpo_ext.GRPOConfig` for the new settings."""

    def __init__(self, model, reward_funcs=None, args=None, *rest, **kwargs):
        args = _as_our_config(args, model)
        self.reward_runner: RewardRunner | None = None
        super().__init__(model, self._resolve_rewards(reward_funcs, args), args, *rest, **kwargs)
        self.kl_estimator = kl_estimators.get(args.kl_estimator)
        self.advantage_mode = adv_modes.get(args.advantage_mode)
        self.kl_in_loss = args.kl_placement == "loss"
        self.kl_importance_corrected = args.kl_correction == "importance_ratio"
        self._rewards_per_func = None
        self._last_advantages: torch.Tensor | None = None  # [N_all, T], gathered: what the last batch trained on
        self._last_advantage_mask: torch.Tensor | None = None  # [N_all, T], its tokens that count
        self._head_verified = False
        self._captured_logps: list[torch.Tensor] | None = None
        self._kl_window = torch.zeros(2)  # (sum of KL over tokens, token count) since the last optimizer step
        self.dynamic_sampler = DynamicSampler(self) if args.dynamic_sampling else None
        self.eval_metric_funcs = evaluation.resolve_metrics(self, args.eval_metrics)  # never trained on
        self.eval_seconds, self.train_started, self.eval_history = 0.0, None, []
        if self.kl_estimator.full_vocab:
            self._check_full_vocab_support()

    def _get_train_sampler(self, dataset=None):
        """TRL's sampler, but resumable across epochs (see :mod:`grpo_ext.sampling`)."""
        sampler = super()._get_train_sampler(dataset)
        if type(sampler) is RepeatSampler:
            sampler.__class__ = EpochRepeatSampler  # the same fields; only set_epoch is added
        return sampler

    # -- rewards ---------------------------------------------------------------------------------
    def _resolve_rewards(self, specs, args: GRPOConfig):
        if specs is None:
            return None
        out = []
        for spec in specs if isinstance(specs, list) else [specs]:
            if isinstance(spec, str) and (model_id := rewards.registry.reward_model_id(spec)) is not None:
                out.append(model_id)  # 'model:ORG/NAME', a local folder or ORG/NAME: TRL loads the reward model
                continue
            if isinstance(spec, (dict, str)):  # a registry reward; an unknown name raises the registry's error
                reward = rewards.resolve(spec)
                if getattr(getattr(reward, "fn", reward), "bounds_itself", False):  # code execution: sandboxed, batch-wide
                    out.append(reward)
                    continue
                if self.reward_runner is None:
                    self.reward_runner = RewardRunner(args.reward_num_workers, args.reward_timeout,
                                                      args.reward_timeout_value,
                                                      stop_share=getattr(args, "reward_fail_stop", 1.0))
                out.append(self.reward_runner.wrap(reward))
            else:
                out.append(spec)  # a callable (or a model object) as TRL takes it
        return out

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self._rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._texts = (prompts, completions)  # this process's, for the logs of a dynamically sampled batch
        return self._rewards_per_func

    # -- advantages ------------------------------------------------------------------------------
    def _generate_and_score_completions(self, inputs):
        output = self._scored_rollout(inputs)
        if self.dynamic_sampler is not None and self.model.training:
            refuse_multimodal(output, "dynamic_sampling")
            output = self.dynamic_sampler.fill(output, self._scored_rollout)
            self._rewards_per_func = self.accelerator.gather(output["_per_func"])  # [N_all, F] of the final batch
            self._log_final_batch(output)
        mask = output["completion_mask"] * output.get("tool_mask", 1)
        output["advantages"] = self._advantages(mask, output["_token_rewards"], output.get("old_values"))
        return {k: v for k, v in output.items() if k not in INTERNAL}

    def _log_final_batch(self, output) -> None:
        """``log_completions`` shows the batch trained on, not the last round generated."""
        from accelerate.utils import gather_object

        logs = self._logs
        for name in ("prompt", "completion", "advantages", "images"):
            logs[name].clear()
        logs["rewards"].clear()
        logs["extra"].clear()
        logs["prompt"].extend(gather_object(output["_prompts"]))
        logs["completion"].extend(gather_object(output["_completions"]))
        for i, name in enumerate(self.reward_func_names):
            logs["rewards"][name].extend(self._rewards_per_func[:, i].tolist())

    def _scored_rollout(self, inputs) -> dict:
        """TRL's generation and scoring, plus what the advantages need: this process's rows of the
        per-function rewards, the per-token KL reward (reward placement) and the critic's values."""
        output = super()._generate_and_score_completions(inputs)
        self._relog_zero_std()
        mask = output["completion_mask"] * output.get("tool_mask", 1)
        local_b = mask.shape[0]
        start = self.accelerator.process_index * local_b
        output["_per_func"] = self._rewards_per_func[start : start + local_b]  # [B, F]
        output["_prompts"], output["_completions"] = self._texts
        output["_token_rewards"] = None
        if not self.kl_in_loss:
            kl = self._rollout_kl(output)  # [B, T], no gradient
            output["_token_rewards"] = -self.beta * kl
            mode = "train" if self.model.training else "eval"
            chosen = self._global_mean(kl, mask)
            self._metrics[mode]["kl"].append(chosen)
            if mode == "train":
                self._kl_window += torch.tensor([chosen, 1.0])
        self._rollout_values(output)
        return output

    def _relog_zero_std(self) -> None:
        """TRL's ``frac_reward_zero_std`` tests the float std with ``isclose(std, 0)``, which misses
        groups of equal weighted rewards (float32 std ~1e-7); log it by the one rule of
        :func:`grpo_ext.advantages.constant_groups` instead (share of groups, this round)."""
        mode = "train" if self.model.training else "eval"
        group = self.num_generations if mode == "train" else self.num_generations_eval
        logged = self._metrics[mode].get("frac_reward_zero_std")
        if logged and group > 1:
            logged[-1] = adv_modes.constant_groups(self._weighted_rewards().view(-1, group)).float().mean().item()

    def _weighted_rewards(self) -> torch.Tensor:
        """``[N_all]`` the weighted sum of the gathered per-function rewards; NaN where none scored."""
        per_func = self._rewards_per_func
        seq_rewards = (per_func * self.reward_weights.to(per_func.device)).nansum(dim=1)
        seq_rewards[torch.isnan(per_func).all(dim=1)] = torch.nan
        return seq_rewards

    def _rollout_values(self, output) -> None:
        """Critic values ``[B, T]`` of the sampled tokens into ``output["old_values"]`` (PPO); GRPO has none."""

    def _gathered(self, x: torch.Tensor) -> torch.Tensor:
        return self.accelerator.gather(self.accelerator.pad_across_processes(x, dim=1))

    def _advantages(self, mask: torch.Tensor, token_rewards: torch.Tensor | None,
                    values: torch.Tensor | None = None) -> torch.Tensor:
        mode = "train" if self.model.training else "eval"
        per_func = self._rewards_per_func  # [N_all, F], gathered
        unscorable = torch.isnan(per_func).all(dim=1)
        seq_rewards = (per_func * self.reward_weights.to(per_func.device)).nansum(dim=1)
        seq_rewards[unscorable] = torch.nan
        group = self.num_generations if mode == "train" else self.num_generations_eval
        local_b, local_t = mask.shape
        batch = adv_modes.Batch(
            rewards=seq_rewards, mask=self._gathered(mask.float()), group_size=group,
            token_rewards=None if token_rewards is None else self._gathered(token_rewards),
            values=None if values is None else self._gathered(values),
            gamma=self.args.gamma, lam=self.args.lam, eps=self.args.advantage_eps, k=self.args.passk_k,
            per_func=per_func, weights=self.reward_weights.to(per_func.device),
        )
        all_adv = self.advantage_mode.fn(batch)  # [N_all, T_max]
        self._last_advantages, self._last_advantage_mask = all_adv, batch.mask
        self._log_advantages(all_adv, batch, mode)
        self._replace_logged_advantages(all_adv, batch.mask)
        start = self.accelerator.process_index * local_b
        return all_adv[start : start + local_b, :local_t]

    def _replace_logged_advantages(self, adv: torch.Tensor, mask: torch.Tensor) -> None:
        """TRL logged its own advantages for ``log_completions``; log the ones the loss uses instead
        (per completion: the mean over its unmasked tokens; for outcome modes, its advantage)."""
        logged = self._logs["advantages"]
        per_completion = ((adv * mask).sum(1) / mask.sum(1).clamp(min=1)).tolist()
        for _ in range(min(len(per_completion), len(logged))):
            logged.pop()
        logged.extend(per_completion)

    def _log_advantages(self, adv: torch.Tensor, batch: adv_modes.Batch, mode: str) -> None:
        valid = adv[batch.mask > 0]
        metrics = self._metrics[mode]
        if valid.numel():
            metrics["advantages/mean"].append(valid.mean().item())
            metrics["advantages/std"].append(valid.std().item() if valid.numel() > 1 else 0.0)
            metrics["advantages/min"].append(valid.min().item())
            metrics["advantages/max"].append(valid.max().item())
        if batch.group_size > 1:  # one completion per prompt (classic PPO) has no groups
            constant = adv_modes.constant_groups(batch.rewards.view(-1, batch.group_size))
            metrics["advantages/zero_variance_groups"].append(constant.float().mean().item())

    # -- KL --------------------------------------------------------------------------------------
    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        out = super()._get_per_token_logps_and_entropies(model, *args, **kwargs)
        if self._captured_logps is not None:
            self._captured_logps.append(out[0])
        return out

    def _compute_loss(self, model, inputs):
        beta = self.beta
        self._captured_logps = []
        hidden: list[torch.Tensor] = []
        capture = self._capture_hidden(model, hidden) if beta and self.kl_estimator.full_vocab and self.kl_in_loss else contextlib.nullcontext()
        try:
            self.beta = 0.0  # TRL computes the policy loss only; the KL term is ours
            with capture:
                loss = super()._compute_loss(model, inputs)
        finally:
            self.beta = beta
            logps_parts, self._captured_logps = self._captured_logps, None
        if beta == 0.0 or "ref_per_token_logps" not in inputs:
            return loss
        logps = torch.cat(logps_parts, dim=0)  # [B, T], with gradient
        mask = inputs["completion_mask"] * inputs.get("tool_mask", 1)
        self._log_sampled_kl(logps.detach(), inputs["ref_per_token_logps"], mask)
        if not self.kl_in_loss:
            return loss  # the KL went into the rewards at sampling time
        per_token_kl = self._loss_kl(logps, inputs, mask, hidden)
        return loss + beta * aggregate(per_token_kl, mask, self._normalizer(inputs))

    def _log_sampled_kl(self, logps, ref, mask) -> None:
        """k1, k2 and k3 of the current batch, whatever the estimator, so users see them disagree."""
        mode = "train" if self.model.training else "eval"
        for name in ("k1", "k2", "k3"):
            self._metrics[mode][f"kl/{name}"].append(self._global_mean(kl_estimators.get(name).fn(logps, ref), mask))

    def _loss_kl(self, logps, inputs, mask, hidden) -> torch.Tensor:
        """The chosen estimator, with its gradient semantics and correction ``[B, T]``."""
        ref = inputs["ref_per_token_logps"]
        mode = "train" if self.model.training else "eval"
        if self.kl_estimator.full_vocab:
            t = logps.shape[1]
            policy_hidden = torch.cat(hidden, dim=0)[:, -t - 1 : -1] if hidden else None
            if not self._head_verified and policy_hidden is not None:
                self._verify_head(policy_hidden, logps.detach(), inputs["completion_ids"], mask)
            per_token = self._full_kl(policy_hidden, inputs)
        else:
            per_token = self.kl_estimator.fn(logps, ref)
        if self.kl_importance_corrected:
            per_token = per_token * self._importance_ratio(logps, inputs, mask)
        with torch.no_grad():
            chosen = self._global_mean(per_token.detach(), mask)
            self._metrics[mode]["kl"].append(chosen)
            if mode == "train":
                self._kl_window += torch.tensor([chosen, 1.0])
        return per_token

    def _importance_ratio(self, logps, inputs, mask) -> torch.Tensor:
        old = inputs.get("old_per_token_logps")
        log_ratio = logps - (logps.detach() if old is None else old)
        if self.importance_sampling_level == "sequence":
            log_ratio = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)  # [B, 1]
        return torch.exp(log_ratio)

    def _rollout_kl(self, output) -> torch.Tensor:
        """Per-token KL at sampling time (no gradient), for the reward placement."""
        ref = output["ref_per_token_logps"]
        ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
        attention = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        t = output["completion_ids"].shape[1]
        with torch.no_grad():
            if output.get("old_per_token_logps") is None:
                output["old_per_token_logps"] = self._get_per_token_logps_and_entropies(
                    self.model, ids, attention, t, **multimodal_inputs(output))[0]
            if self.kl_estimator.full_vocab:
                policy_hidden = self._backbone_hidden(self.model, ids, attention, t)
                return self._full_kl(policy_hidden, output)
            return self.kl_estimator.fn(output["old_per_token_logps"], ref)

    # -- helpers ---------------------------------------------------------------------------------
    def _normalizer(self, inputs) -> Normalizer:
        training = self.model.training
        return Normalizer(
            loss_type=self.loss_type,
            accumulation_steps=self.current_gradient_accumulation_steps if training else 1.0,
            max_completion_length=self.max_completion_length,
            num_items_in_batch=inputs.get("num_items_in_batch"),
            num_processes=self.accelerator.num_processes,
            steps_per_generation=self.args.steps_per_generation if training else 1,
        )

    def _global_mean(self, x: torch.Tensor, mask: torch.Tensor) -> float:
        x = x.expand_as(mask) if x.shape[1] == 1 else x
        totals = torch.stack([(x * mask).sum(), mask.sum().float()])
        totals = self.accelerator.reduce(totals, reduction="sum")
        return (totals[0] / totals[1].clamp(min=1.0)).item()

    # -- checkpoints -----------------------------------------------------------------------------
    def _extra_state(self) -> dict:
        """What a resumed run needs beyond TRL's checkpoint (subclasses add theirs)."""
        state = {"beta": self.beta, "kl_window": self._kl_window.tolist()}
        if self.dynamic_sampler is not None:
            state["dynamic_sampling"] = self.dynamic_sampler.state()
        return state

    def _restore_extra_state(self, state: dict) -> None:
        self.beta = float(state["beta"])
        self._kl_window = torch.tensor(state["kl_window"])
        if self.dynamic_sampler is not None and "dynamic_sampling" in state:
            self.dynamic_sampler.restore(state["dynamic_sampling"])

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}")
            with open(os.path.join(folder, STATE_FILE), "w") as f:
                json.dump(self._extra_state(), f)

    # -- evaluation ------------------------------------------------------------------------------
    def set_eval_metrics(self, metrics: dict) -> None:
        """Task metrics (name -> reward callable) for :meth:`evaluate`, as ``eval_metrics`` names them."""
        self.eval_metric_funcs = {name: evaluation.bounded(self, fn) for name, fn in metrics.items()}

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"):
        """With task metrics (``eval_metrics``): greedy / avg@k / pass@k / maj@k under ``eval/`` (see
        :mod:`grpo_ext.evaluation`); without: TRL's evaluation."""
        if not self.eval_metric_funcs:
            return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        dataset = self.eval_dataset if eval_dataset is None else eval_dataset
        if isinstance(dataset, str):
            dataset = self.eval_dataset[dataset]
        return evaluation.during_training(self, dataset)

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        import time

        self.train_started = time.perf_counter()
        folder = resume_from_checkpoint
        if folder is True:
            from transformers.trainer_utils import get_last_checkpoint

            folder = get_last_checkpoint(self.args.output_dir)
        if isinstance(folder, str) and os.path.exists(os.path.join(folder, STATE_FILE)):
            with open(os.path.join(folder, STATE_FILE)) as f:
                self._restore_extra_state(json.load(f))
        return super().train(resume_from_checkpoint, *args, **kwargs)

    def training_step(self, model, inputs, num_items_in_batch):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self._step % self.current_gradient_accumulation_steps == 0:
            self._end_of_optimizer_step()
        return loss

    def _end_of_optimizer_step(self) -> None:
        """The adaptive KL controller (Ziegler et al. 2019, arXiv:1909.08593, section 2.2)."""
        total, count = self._kl_window.tolist()
        self._kl_window.zero_()
        if self.args.kl_target is None or count == 0:
            return
        error = max(-0.2, min(0.2, (total / count - self.args.kl_target) / self.args.kl_target))
        self.beta *= 1.0 + error / self.args.kl_horizon  # one optimizer step per update
        self._metrics["train"]["kl/beta"].append(self.beta)
