r"""Advantage modes: pure functions from rewards to per-token advantages ``[N, T]``.

All modes see the same :class:`Batch`: ``N`` completions in consecutive groups of ``group_size``
(the generations of one prompt), a sequence reward each (``NaN`` = unscorable: its advantage is 0
and it is left out of baselines), an optional per-token reward (KL placed in the reward:
``r_t = -beta * kl_t``), and the completion mask. The sequence reward is paid on the last token,
so the per-token return is ``G_t = sum_{s>=t} gamma^(s-t) r_s``; with no per-token reward and
``gamma = 1``, ``G_t`` is the sequence reward at every token. ``G_0`` is the sequence return.

The mask may have holes (multi-turn tool calling: a tool's output inside a completion is not the
policy's and is masked out). Holes are transparent: the sequence reward is paid on the last
unmasked token, and returns and GAE run over the unmasked tokens as if the masked ones were cut
out (no reward, no discount, no value there); a masked token's advantage is 0.

| mode | advantage | source |
|---|---|---|
| ``grpo`` | ``(G_t - mean_group G_0) / (std_group G_0 + eps)`` | Shao et al. 2024, arXiv:2402.03300 |
| ``dr_grpo`` | ``G_t - mean_group G_0`` | Liu et al. 2025, arXiv:2503.20783 |
| ``batch_std`` | ``(G_t - mean_group G_0) / (std_batch G_0 + eps)`` | Hu et al. 2025 (REINFORCE++ style scaling) |
| ``rloo`` | ``G_t - mean of the other group members' G_0`` | Ahmadian et al. 2024, arXiv:2402.14740 |
| ``reinforce_pp`` | ``G_t`` whitened over all valid tokens of the batch | Hu 2025, arXiv:2501.03262 |
| ``reinforce_pp_baseline`` | as ``reinforce_pp`` after subtracting the group mean reward | Hu 2025 |
| ``opo`` | ``G_t - sum_i len_i G_0,i / sum_i len_i`` (length-weighted group baseline) | Hao et al. 2025, arXiv:2505.23585 |
| ``passk`` | pass@k advantages for binary rewards (correct: reward > 0.5), plus the KL return | Chen et al. 2025, arXiv:2508.10751 |
| ``normalize_then_sum`` | each reward's group z-score, weighted sum, then z-scored over the batch (TRL's ``multi_objective_aggregation``) | GDPO, Liu et al. 2026 |
| ``gae`` | GAE(gamma, lambda) on a critic's values (PPO only) | Schulman et al. 2015, arXiv:1506.02438 |

Standard deviations are unbiased (n - 1), as TRL's; eps defaults to 1e-4, as TRL's. Outside the
mask advantages are 0.

**Zero variance, one rule.** A group is *constant* when its scorable sequence returns are equal
within ``ZERO_VARIANCE_TOL * max(1, |largest|)`` (or it has fewer than two): :func:`constant_groups`.
Weighted rewards summed in float32 differ in their last bits (``1.0 * 1 + 0.2 * 1`` twice can
give a group standard deviation of ~1e-7, not 0), so an exact test would miss them. The group
baselines (``grpo``, ``dr_grpo``, ``batch_std``, ``rloo``, ``opo``; ``reinforce_pp_baseline``
and ``normalize_then_sum`` per reward, before their batch whitening) use each member's own ``G_0``
as the baseline of a constant group, so its outcome advantage is exactly 0 (per-token KL returns,
if any, remain); the metrics
``advantages/zero_variance_groups`` and ``frac_reward_zero_std`` and the ``zero_variance``
dynamic-sampling filter use the same function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from grpo_ext._registry import Registry, first_line


@dataclass
class Batch:
    rewards: torch.Tensor  # [N] sequence rewards, NaN = unscorable
    mask: torch.Tensor  # [N, T] 1 for completion tokens
    group_size: int
    token_rewards: torch.Tensor | None = None  # [N, T] per-token rewards (KL in the reward)
    values: torch.Tensor | None = None  # [N, T] critic values (gae)
    gamma: float = 1.0
    lam: float = 1.0
    eps: float = 1e-4
    k: int = 1  # passk
    per_func: torch.Tensor | None = None  # [N, F] each reward function's score (normalize_then_sum)
    weights: torch.Tensor | None = None  # [F] reward weights (normalize_then_sum)

    def __post_init__(self):
        n = self.rewards.shape[0]
        if self.group_size < 1 or n % self.group_size:
            raise ValueError(f"{n} completions do not split into groups of {self.group_size}")


@dataclass(frozen=True)
class Mode:
    name: str
    fn: Callable[[Batch], torch.Tensor]
    needs_values: bool
    doc: str


_REGISTRY: Registry[Mode] = Registry("advantage_mode")
_MODES = _REGISTRY.items


def register(name: str, needs_values: bool = False):
    """Add a mode ``fn(batch: Batch) -> [N, T]``; a duplicate name raises."""

    def deco(fn):
        _REGISTRY.add(name, Mode(name, fn, needs_values, first_line(fn.__doc__)))
        return fn

    return deco


get = _REGISTRY.get
available = _REGISTRY.docs


# -- building blocks ------------------------------------------------------------------------------

def nanstd(x: torch.Tensor, dim: int | None = None, keepdim: bool = False) -> torch.Tensor:
    """Unbiased standard deviation ignoring NaN; 0 where fewer than two values."""
    count = (~torch.isnan(x)).sum(dim=dim, keepdim=True) if dim is not None else (~torch.isnan(x)).sum()
    mean = torch.nanmean(x, dim=dim, keepdim=True) if dim is not None else torch.nanmean(x)
    sq = torch.nansum((x - mean) ** 2, dim=dim, keepdim=True) if dim is not None else torch.nansum((x - mean) ** 2)
    std = torch.sqrt(sq / (count - 1).clamp(min=1))
    std = torch.where(count > 1, std, torch.zeros_like(std))
    return std if keepdim or dim is None else std.squeeze(dim)


ZERO_VARIANCE_TOL = 1e-6


def constant_groups(grouped: torch.Tensor) -> torch.Tensor:
    """``[n, G] -> bool [n]``: the groups whose scorable (non-NaN) values are all equal within
    ``ZERO_VARIANCE_TOL * max(1, |largest|)``, or that have fewer than two scorable values. The one
    "zero variance" rule of metrics, filters and advantage modes (see the module docstring)."""
    nan = torch.isnan(grouped)
    high = torch.where(nan, -torch.inf, grouped).amax(dim=1)
    low = torch.where(nan, torch.inf, grouped).amin(dim=1)
    scale = torch.where(nan, 0.0, grouped.abs()).amax(dim=1).clamp(min=1.0)
    return ((~nan).sum(dim=1) < 2) | (high - low <= ZERO_VARIANCE_TOL * scale)


def _group_baseline(g0: torch.Tensor, size: int) -> torch.Tensor:
    """``[N]``: the group mean of ``g0``, or for a constant group each member's own ``g0``."""
    constant = constant_groups(_grouped(g0, size)).repeat_interleave(size)
    return torch.where(constant, g0, _group_mean(g0, size))


def _group_std(g0: torch.Tensor, size: int) -> torch.Tensor:
    """``[N]``: the group standard deviation of ``g0``, 0 for a constant group."""
    grouped = _grouped(g0, size)
    std = torch.where(constant_groups(grouped), 0.0, nanstd(grouped, dim=1))
    return std.repeat_interleave(size)


def _mask(batch: Batch) -> torch.Tensor:
    """The mask in the rewards' floating dtype (at least float32)."""
    return batch.mask.to(torch.promote_types(batch.rewards.dtype, torch.float32))


def last_token(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last unmasked token ``[N]`` (0 for an empty row)."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask > 0, positions, torch.zeros_like(positions)).amax(dim=1)


def token_rewards(batch: Batch, sequence_rewards: torch.Tensor | None = None) -> torch.Tensor:
    """Per-token rewards ``[N, T]``: the per-token part plus the sequence reward on the last unmasked token."""
    rewards = batch.rewards if sequence_rewards is None else sequence_rewards
    mask = _mask(batch)
    r = torch.zeros_like(mask) if batch.token_rewards is None else batch.token_rewards * mask
    return r.scatter_add(1, last_token(mask)[:, None], rewards[:, None].to(r.dtype))


def _carried_returns(r: torch.Tensor, mask: torch.Tensor, gamma: float) -> torch.Tensor:
    """``G_t = r_t + gamma * G_next`` over unmasked tokens; a masked token carries ``G_next`` unchanged."""
    out, running = torch.zeros_like(r), torch.zeros_like(r[:, 0])
    for t in range(r.shape[1] - 1, -1, -1):
        running = torch.where(mask[:, t] > 0, r[:, t] + gamma * running, running)
        out[:, t] = running
    return out


def discounted_returns(r: torch.Tensor, mask: torch.Tensor, gamma: float) -> torch.Tensor:
    """``G_t = r_t + gamma * G_next`` over the unmasked tokens (holes skipped), ``[N, T]``, 0 where masked."""
    return _carried_returns(r, mask, gamma) * mask


def _returns(batch: Batch, sequence_rewards: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-token returns ``[N, T]``, sequence returns ``[N]``); NaN rewards propagate."""
    mask = _mask(batch)
    rewards = batch.rewards if sequence_rewards is None else sequence_rewards
    if batch.token_rewards is None and batch.gamma == 1.0:  # outcome reward only: G_t is R at every token
        return rewards.to(mask.dtype)[:, None] * mask, rewards.to(mask.dtype)
    carried = _carried_returns(token_rewards(batch, sequence_rewards), mask, batch.gamma)
    g0 = torch.where(mask.sum(-1) > 0, carried[:, 0], rewards.to(carried.dtype))  # an empty completion: its reward
    return carried * mask, g0


def _grouped(x: torch.Tensor, size: int) -> torch.Tensor:
    return x.view(-1, size)


def _finish(adv: torch.Tensor, batch: Batch) -> torch.Tensor:
    return torch.nan_to_num(adv, nan=0.0) * _mask(batch)


def _group_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    return torch.nanmean(_grouped(x, size), dim=1).repeat_interleave(size)


# -- modes ----------------------------------------------------------------------------------------

@register("grpo")
def grpo(batch: Batch) -> torch.Tensor:
    """Group z-score: (G - group mean) / (group std + eps)."""
    g, g0 = _returns(batch)
    std = _group_std(g0, batch.group_size)
    return _finish((g - _group_baseline(g0, batch.group_size)[:, None]) / (std[:, None] + batch.eps), batch)


@register("dr_grpo")
def dr_grpo(batch: Batch) -> torch.Tensor:
    """Group mean baseline, no scaling (Dr. GRPO)."""
    g, g0 = _returns(batch)
    return _finish(g - _group_baseline(g0, batch.group_size)[:, None], batch)


@register("batch_std")
def batch_std(batch: Batch) -> torch.Tensor:
    """Group mean baseline, scaled by the batch's reward std."""
    g, g0 = _returns(batch)
    return _finish((g - _group_baseline(g0, batch.group_size)[:, None]) / (nanstd(g0) + batch.eps), batch)


@register("rloo")
def rloo(batch: Batch) -> torch.Tensor:
    """Leave-one-out baseline: the mean of the other completions of the same prompt."""
    if batch.group_size < 2:
        raise ValueError("advantage_mode 'rloo' needs num_generations >= 2")
    g, g0 = _returns(batch)
    grouped = _grouped(g0, batch.group_size)
    valid = ~torch.isnan(grouped)
    total = torch.nansum(grouped, dim=1, keepdim=True)
    others = (valid.sum(1, keepdim=True) - valid.long()).clamp(min=1)
    baseline = ((total - torch.nan_to_num(grouped)) / others).view(-1)
    baseline = torch.where(constant_groups(grouped).repeat_interleave(batch.group_size), g0, baseline)
    return _finish(g - baseline[:, None], batch)


def _whiten(x: torch.Tensor, mask: torch.Tensor, eps: float) -> torch.Tensor:
    valid = (mask > 0) & ~torch.isnan(x)
    values = x[valid]
    if values.numel() < 2:
        return torch.zeros_like(x)
    return (x - values.mean()) / (values.std() + eps)


@register("reinforce_pp")
def reinforce_pp(batch: Batch) -> torch.Tensor:
    """REINFORCE++: discounted token returns, whitened over the batch's valid tokens."""
    g, _ = _returns(batch)
    return _finish(_whiten(g, batch.mask, batch.eps), batch)


@register("reinforce_pp_baseline")
def reinforce_pp_baseline(batch: Batch) -> torch.Tensor:
    """REINFORCE++ with the group mean reward subtracted first."""
    centred = batch.rewards - _group_baseline(batch.rewards, batch.group_size)
    g, _ = _returns(batch, centred)
    return _finish(_whiten(g, batch.mask, batch.eps), batch)


@register("opo")
def opo(batch: Batch) -> torch.Tensor:
    """Length-weighted group baseline (OPO's optimal baseline for sequence-level rewards)."""
    g, g0 = _returns(batch)
    lengths = _grouped(_mask(batch).sum(-1), batch.group_size)
    grouped = _grouped(g0, batch.group_size)
    weights = torch.where(torch.isnan(grouped), torch.zeros_like(lengths), lengths)
    baseline = torch.nansum(grouped * weights, 1) / weights.sum(1).clamp(min=1e-8)
    baseline = torch.where(constant_groups(grouped).repeat_interleave(batch.group_size), g0,
                           baseline.repeat_interleave(batch.group_size))
    return _finish(g - baseline[:, None], batch)


@register("passk")
def passk(batch: Batch) -> torch.Tensor:
    """Pass@k advantages for binary rewards (k = passk_k); the KL return is added per token."""
    n, k = batch.group_size, batch.k
    if not 1 <= k <= n:
        raise ValueError(f"advantage_mode 'passk' needs 1 <= k <= num_generations; got k={k}, n={n}")
    correct = _grouped(batch.rewards > 0.5, n)
    adv = torch.zeros(correct.shape, dtype=_mask(batch).dtype, device=batch.rewards.device)
    for i, row in enumerate(correct.tolist()):
        n_neg = n - sum(row)
        mean = 1 - math.comb(n_neg, k) / math.comb(n, k)  # pass@k of the group
        std = math.sqrt(mean * (1 - mean))
        if std == 0:
            continue
        neg = (1 - mean - (math.comb(n_neg - 1, k - 1) / math.comb(n - 1, k - 1) if n_neg >= 1 and n > 1 else 0)) / std
        adv[i] = torch.tensor([(1 - mean) / std if c else neg for c in row], dtype=adv.dtype)
    adv = adv.view(-1)
    adv = torch.where(torch.isnan(batch.rewards), torch.full_like(adv, float("nan")), adv)
    kl_return = torch.zeros_like(_mask(batch))
    if batch.token_rewards is not None:
        kl_return = discounted_returns(batch.token_rewards * batch.mask, _mask(batch), batch.gamma)
    return _finish(adv[:, None] + kl_return, batch)


@register("gae", needs_values=True)
def gae(batch: Batch) -> torch.Tensor:
    """GAE(gamma, lambda) on critic values (PPO)."""
    if batch.values is None:
        raise ValueError("advantage_mode 'gae' needs values from a critic; use grpo_ext.PPOTrainer")
    mask = _mask(batch)
    r = torch.nan_to_num(token_rewards(batch))
    values = batch.values.to(mask.dtype) * mask
    adv, running, next_value = torch.zeros_like(r), torch.zeros_like(r[:, 0]), torch.zeros_like(r[:, 0])
    for t in range(r.shape[1] - 1, -1, -1):  # over unmasked tokens only: holes carry both forward
        valid = mask[:, t] > 0
        delta = r[:, t] + batch.gamma * next_value - values[:, t]
        running = torch.where(valid, delta + batch.gamma * batch.lam * running, running)
        next_value = torch.where(valid, values[:, t], next_value)
        adv[:, t] = running
    return adv * mask


@register("normalize_then_sum")
def normalize_then_sum(batch: Batch) -> torch.Tensor:
    """Each reward's group z-score, weighted and summed, then z-scored over the batch (TRL's)."""
    if batch.per_func is None or batch.weights is None:
        raise ValueError("advantage_mode 'normalize_then_sum' needs each reward function's scores")
    n, f = batch.per_func.shape
    grouped = batch.per_func.view(-1, batch.group_size, f)
    mean = torch.nanmean(grouped, dim=1, keepdim=True)
    std = nanstd(grouped, dim=1, keepdim=True) if batch.group_size > 1 else torch.zeros_like(mean)
    constant = constant_groups(grouped.transpose(1, 2).reshape(-1, batch.group_size)).view(-1, 1, f)  # [n/G, 1, F]
    centred = torch.where(constant, 0.0, grouped - mean)
    combined = ((centred / (std + batch.eps)).view(n, f) * batch.weights.to(grouped.dtype)).nansum(dim=1)
    combined = torch.where(torch.isnan(batch.rewards), torch.full_like(combined, float("nan")), combined)
    spread = nanstd(combined) if n > 1 else torch.zeros(())
    adv = (combined - torch.nanmean(combined)) / (spread + batch.eps)
    return _finish(adv.to(_mask(batch).dtype)[:, None] * torch.ones_like(_mask(batch)), batch)
