"""The exact KL over the vocabulary (``kl_estimator="full"``) inside the trainer: the backbones'
hidden states of policy and reference (or of the policy with its adapter off, for PEFT), their
heads, and the checks that the head really produces the model's log-probs. The heads are applied
as modules, so ZeRO-3 gathers their partitioned weights. A mixin of
:class:`grpo_ext.trainer.GRPOTrainer`; the maths is :func:`grpo_ext.kl.full_kl`. Batches with
vision-language inputs are refused here, where the backbone runs without them.
"""

from __future__ import annotations

import contextlib

import torch
from accelerate.utils import is_peft_model

from grpo_ext import kl as kl_estimators

MULTIMODAL_KEYS = ("pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask", "spatial_shapes",
                   "num_tiles", "image_sizes", "token_type_ids", "mm_token_type_ids", "image_position_ids")


def multimodal_inputs(batch) -> dict:
    """The vision-language inputs of a batch, as TRL's log-prob function takes them."""
    return {k: batch[k] for k in MULTIMODAL_KEYS if batch.get(k) is not None}


def refuse_multimodal(batch, what: str) -> None:
    """Forward passes that run the backbone directly do not feed images; refuse rather than ignore them."""
    if multimodal_inputs(batch):
        raise NotImplementedError(f"{what} does not support vision-language inputs yet (the batch has "
                                  f"{sorted(multimodal_inputs(batch))}); use a sampled KL estimator such as k3 "
                                  "and GRPOTrainer for vision-language models")


class FullVocabKL:
    """What ``kl_estimator="full"`` needs from the trainer (``self`` is a ``trl.GRPOTrainer``)."""

    def _check_full_vocab_support(self) -> None:
        cfg = self.accelerator.unwrap_model(self.model).config.get_text_config()
        for attr in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier",
                     "lm_head_multiplier", "output_logits_scale"):
            if getattr(cfg, attr, None) not in (None, 1, 1.0):
                raise ValueError(f"kl_estimator='full' does not support models with {attr}={getattr(cfg, attr)}; "
                                 "choose a sampled estimator such as k3")

    def _verify_head(self, hidden, logps, ids, mask) -> None:
        """Once: the head applied to the backbone's hidden states must give the log-probs TRL computed
        from the model's logits; a model that scales or caps its logits elsewhere (a multiplier, soft
        capping, ...) would make ``full`` compute the KL of other distributions."""
        with torch.no_grad():
            h, token, valid = hidden[:, :8], ids[:, :8], mask[:, :8].bool()
            ours = torch.log_softmax(kl_estimators._logits(self._base(self.model).get_output_embeddings(), h)  # noqa: SLF001
                                     / self.temperature, dim=-1).gather(-1, token.unsqueeze(-1)).squeeze(-1)
            gap = (ours - logps[:, :8].float()).abs()[valid]
        if gap.numel() and gap.max().item() > 0.05:
            raise ValueError(f"kl_estimator='full' needs the model's logits to be lm_head(hidden states); this model "
                             f"changes them after the head (log-probs differ by up to {gap.max().item():.3f}), e.g. a "
                             "logit multiplier or soft capping. Choose a sampled estimator such as k3.")
        self._head_verified = True

    def _base(self, model):
        model = self.accelerator.unwrap_model(model)
        return model.get_base_model() if is_peft_model(model) else model

    @contextlib.contextmanager
    def _capture_hidden(self, model, store: list):
        handle = self._base(model).base_model.register_forward_hook(
            lambda module, args, out: store.append(out[0] if isinstance(out, tuple) else out.last_hidden_state))
        try:
            yield
        finally:
            handle.remove()

    def _backbone_hidden(self, model, ids, attention, t) -> torch.Tensor:
        out = self._base(model).base_model(input_ids=ids, attention_mask=attention, use_cache=False)
        return out.last_hidden_state[:, -t - 1 : -1]

    @contextlib.contextmanager
    def _reference(self):
        """The reference model, or the policy with its adapter switched off (PEFT)."""
        if self.ref_model is not None:
            yield self.ref_model
            return
        from trl.trainer.utils import use_adapter

        model = self.accelerator.unwrap_model(self.model)
        with use_adapter(model, adapter_name="ref" if "ref" in model.peft_config else None):
            yield self.model

    def _full_kl(self, policy_hidden, batch) -> torch.Tensor:
        refuse_multimodal(batch, "kl_estimator='full'")
        ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
        attention = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
        t = batch["completion_ids"].shape[1]
        with torch.no_grad(), self._reference() as ref_model:
            ref_hidden = self._backbone_hidden(ref_model, ids, attention, t)
            ref_head = self._base(ref_model).get_output_embeddings()
        if policy_hidden is None:  # the policy forward did not run through the hook (should not happen)
            policy_hidden = self._backbone_hidden(self.model, ids, attention, t)
        head = self._base(self.model).get_output_embeddings()
        return kl_estimators.full_kl(policy_hidden, ref_hidden, head, ref_head, self.temperature, self.args.kl_chunk_size)
