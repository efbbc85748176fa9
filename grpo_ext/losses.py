"""Loss aggregation and the value loss.

:func:`aggregate` reduces a per-token term ``[B, T]`` (or ``[B, 1]``) to a scalar exactly as TRL's
``GRPOTrainer`` reduces its per-token policy loss for each ``loss_type``, including the division
for gradient accumulation. Because that reduction is linear, a KL term aggregated here and added
to TRL's KL-free policy loss equals TRL's own ``policy + beta * kl`` aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Normalizer:
    """What the reduction needs besides the tensors."""

    loss_type: str
    accumulation_steps: float = 1.0  # current gradient accumulation steps (1 in eval)
    max_completion_length: int = 1
    num_items_in_batch: float | None = None  # dapo / cispo / vespo: tokens in the generation batch
    num_processes: int = 1
    steps_per_generation: int = 1


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, norm: Normalizer) -> torch.Tensor:
    """Scalar loss from a per-token term, with TRL's normalisation for ``norm.loss_type``."""
    per_token = per_token.expand_as(mask) if per_token.shape[1] == 1 else per_token
    masked = per_token * mask
    lt = norm.loss_type
    if lt in ("grpo", "sapo"):
        return (masked.sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / norm.accumulation_steps
    if lt == "bnpo":
        return masked.sum() / mask.sum().clamp(min=1.0) / norm.accumulation_steps
    if lt == "dr_grpo":
        return masked.sum() / (per_token.size(0) * norm.max_completion_length) / norm.accumulation_steps
    if lt in ("dapo", "cispo", "vespo"):
        items = torch.as_tensor(norm.num_items_in_batch, dtype=masked.dtype, device=masked.device)
        scale = items.clamp(min=1.0) / norm.num_processes
        scale = scale * norm.accumulation_steps / norm.steps_per_generation
        return masked.sum() / scale
    if lt == "luspo":
        return masked.sum(-1).mean() / norm.accumulation_steps
    raise ValueError(f"unknown loss_type {lt!r}")


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip: float | None = None) -> torch.Tensor:
    """``1/2 E[(V - R)^2]`` over valid tokens; with ``clip``, PPO's clipped form
    ``1/2 E[max((V - R)^2, (clip(V, V_old +- clip) - R)^2)]``."""
    loss = (values - returns) ** 2
    if clip is not None:
        clipped = old_values + torch.clamp(values - old_values, -clip, clip)
        loss = torch.max(loss, (clipped - returns) ** 2)
    return 0.5 * masked_mean(loss, mask)
