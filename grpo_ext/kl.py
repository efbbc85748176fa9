r"""KL estimators between the policy pi and the reference model ref, per token.

Each estimator is a pure function of per-token log-probabilities of the sampled tokens
(``logp``: policy, with gradient; ``ref_logp``: reference, no gradient), both ``[B, T]``, returning
``[B, T]``. With ``log_r = ref_logp - logp`` (Schulman, "Approximating KL Divergence", 2020):

| name | value | E over y ~ pi | expected gradient when used as a loss (samples not differentiated) |
|---|---|---|---|
| ``k1`` | ``-log_r`` | KL(pi‖ref) | zero |
| ``k2`` | ``log_r² / 2`` | biased | ∇ KL(pi‖ref) |
| ``k3`` | ``exp(log_r) - log_r - 1`` | KL(pi‖ref) | ∇ KL(ref‖pi) |
| ``low_var_kl`` | k3 with log_r clamped to [-20, 20] and the result to [-10, 10] | ≈ KL(pi‖ref) | ≈ ∇ KL(ref‖pi) |
| ``abs`` | ``|log_r|`` | biased | ∇ E\|log_r\| |
| ``k1+`` | k1's value, k2's gradient | KL(pi‖ref) | ∇ KL(pi‖ref) |
| ``k3+`` | k3's value, k2's gradient | KL(pi‖ref) | ∇ KL(pi‖ref) |
| ``full`` | Σ_v pi(v) (log pi(v) - log ref(v)) over the vocabulary | exact KL(pi‖ref) | exact ∇ KL(pi‖ref) |

``kl_correction="importance_ratio"`` multiplies the estimate by the importance ratio
pi / pi_old (DeepSeek-V3.2, arXiv:2512.02556): with k3 this makes the expected gradient that of
KL(pi‖ref). Under sequence-level importance sampling (``importance_sampling_level="sequence"``)
the ratio is the sequence's geometric-mean ratio ``[B, 1]``, broadcast over its tokens.

``full`` is not a function of the sampled tokens' log-probs: it needs both models' hidden states
and output heads and is computed by :func:`full_kl` in chunks of positions, so neither model's
``[B, T, V]`` logits exist at once (each chunk is recomputed in the backward pass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from grpo_ext._registry import Registry, first_line


@dataclass(frozen=True)
class Estimator:
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None  # None: needs the full vocabulary
    doc: str

    @property
    def full_vocab(self) -> bool:
        return self.fn is None


_REGISTRY: Registry[Estimator] = Registry("kl_estimator")
_ESTIMATORS = _REGISTRY.items


def register(name: str, full_vocab: bool = False):
    """Add an estimator ``fn(logp, ref_logp) -> [B, T]``; a duplicate name raises."""

    def deco(fn):
        _REGISTRY.add(name, Estimator(name, None if full_vocab else fn, first_line(fn.__doc__)))
        return fn

    return deco


get = _REGISTRY.get
available = _REGISTRY.docs


@register("k1")
def k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """log pi - log ref: unbiased, high variance, zero expected gradient."""
    return logp - ref_logp  # [B, T]


@register("k2")
def k2(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """(log pi - log ref)^2 / 2: biased, low variance, gradient of KL(pi||ref)."""
    return 0.5 * (logp - ref_logp) ** 2


@register("k3")
def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """ref/pi - log(ref/pi) - 1: unbiased, non-negative; gradient of KL(ref||pi) (GRPO's, TRL's)."""
    log_r = ref_logp - logp
    return torch.exp(log_r) - log_r - 1


@register("low_var_kl")
def low_var_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k3 with log(ref/pi) clamped to [-20, 20] and the value to [-10, 10] (as verl's low_var_kl)."""
    log_r = torch.clamp(ref_logp - logp, -20.0, 20.0)
    return torch.clamp(torch.exp(log_r) - log_r - 1, -10.0, 10.0)


@register("abs")
def abs_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """|log pi - log ref|: biased."""
    return (logp - ref_logp).abs()


def _straight_through(value: torch.Tensor, grad_source: torch.Tensor) -> torch.Tensor:
    """``value``'s value with ``grad_source``'s gradient."""
    return grad_source + (value - grad_source).detach()


@register("k1+")
def k1_plus(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k1's value with k2's gradient (straight-through): unbiased value, gradient of KL(pi||ref)."""
    return _straight_through(k1(logp, ref_logp), k2(logp, ref_logp))


@register("k3+")
def k3_plus(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k3's value with k2's gradient (straight-through): unbiased value, gradient of KL(pi||ref)."""
    return _straight_through(k3(logp, ref_logp), k2(logp, ref_logp))


@register("full", full_vocab=True)
def _full_doc():
    """Exact KL(pi||ref) over the whole vocabulary, in chunks of positions."""


def _logits(head: torch.nn.Module, h: torch.Tensor) -> torch.Tensor:
    """The head applied as a module (so DeepSpeed ZeRO-3 gathers its weight, and a head cast to
    float32 by TRL's ``cast_lm_head_to_fp32`` gets float32 input), in at least float32."""
    weight = getattr(head, "weight", None)
    out = head(h if weight is None else h.to(weight.dtype))
    return out.to(torch.promote_types(out.dtype, torch.float32))


def _chunk_kl(h: torch.Tensor, ref_h: torch.Tensor, head, ref_head, scale: float) -> torch.Tensor:
    logp = F.log_softmax(_logits(head, h) * scale, dim=-1)  # [N, V]
    with torch.no_grad():
        ref_logp = F.log_softmax(_logits(ref_head, ref_h) * scale, dim=-1)
    return (logp.exp() * (logp - ref_logp)).sum(-1)  # [N]


def full_kl(hidden: torch.Tensor, ref_hidden: torch.Tensor, head: torch.nn.Module, ref_head: torch.nn.Module,
            temperature: float = 1.0, chunk_size: int = 256) -> torch.Tensor:
    """Exact per-position KL(pi||ref) from both models' final hidden states ``[B, T, H]``.

    Logits are built ``chunk_size`` positions at a time and recomputed in backward, so memory
    holds at most ``chunk_size x V`` logits per model. Returns ``[B, T]``.
    """
    b, t, _ = hidden.shape
    flat, ref_flat = hidden.reshape(b * t, -1), ref_hidden.reshape(b * t, -1).detach()
    scale = 1.0 / temperature
    out = []
    for start in range(0, b * t, chunk_size):
        args = (flat[start : start + chunk_size], ref_flat[start : start + chunk_size], head, ref_head, scale)
        out.append(checkpoint(_chunk_kl, *args, use_reentrant=False) if torch.is_grad_enabled() else _chunk_kl(*args))
    return torch.cat(out).view(b, t)
