r"""Dynamic sampling (DAPO, Yu et al. 2025, arXiv:2503.14476, section 3.2).

A group whose completions all get the same reward has zero advantage under every group baseline:
its generation is spent and it trains nothing. With ``dynamic_sampling=True`` each generation
batch is scored, the groups a *filter* names are dropped, and more prompts are generated, one
batch at a time, until every process holds as many kept groups as it started with, or until
``dynamic_sampling_max_rounds`` extra rounds were spent. Then the batch is filled up with dropped
groups (their advantage is 0 under group baselines; the KL term still applies), so every process
trains on a batch of the usual size, and the shortfall is logged.

How it departs from DAPO's description, by design:

- groups are filtered on each process (a group never spans two processes: the generation batch on
  each process must hold whole groups), and the rounds run in lockstep on all processes (every
  process generates in every round, as ZeRO-3's gathered generation requires), so each process
  keeps its share of kept groups and work stays equal;
- the extra prompts come from their own seeded, resumable stream over the training set (disjoint
  slices per process), not from the trainer's data loader, so the loader's epochs, and so resume
  and TRL's prompt order, are those of a run without dynamic sampling;
- advantages are computed once, on the final batch (batch-level statistics such as REINFORCE++'s
  whitening see the kept groups only).

Filters are small registered functions ``fn(rewards [n, G], per_func [n, G, F]) -> drop [n]``
(``rewards``: the weighted sum, NaN for unscorable completions; ``per_func``: each reward
function's score), resolved once from ``dynamic_sampling_filter``::

    from grpo_ext import dynamic

    @dynamic.register("accuracy_solved_or_failed")
    def solved_or_failed(rewards, per_func):
        \"\"\"Drop groups whose first reward is 1 for all completions or 0 for all.\"\"\"
        first = per_func[..., 0]
        return (first == 1).all(dim=1) | (first == 0).all(dim=1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from grpo_ext._registry import Registry, first_line
from grpo_ext.advantages import constant_groups

# rollout keys that exist only until the advantages are made
INTERNAL = ("_per_func", "_token_rewards", "_prompts", "_completions")


@dataclass(frozen=True)
class Filter:
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    doc: str


_REGISTRY: Registry[Filter] = Registry("dynamic_sampling_filter")


def register(name: str):
    """Add a filter ``fn(rewards [n, G], per_func [n, G, F]) -> bool [n]`` (True: drop the group)."""

    def deco(fn):
        _REGISTRY.add(name, Filter(name, fn, first_line(fn.__doc__)))
        return fn

    return deco


def get(name: str) -> Filter:
    return _REGISTRY.get(name)


def available() -> dict[str, str]:
    """Registered filters and their one-line docs."""
    return _REGISTRY.docs()


@register("zero_variance")
def zero_variance(rewards: torch.Tensor, per_func: torch.Tensor) -> torch.Tensor:
    """Drop groups whose scorable rewards are all equal (or that have fewer than two): zero advantage (DAPO).

    "Equal" is :func:`grpo_ext.advantages.constant_groups`: within 1e-6 of the largest, so weighted
    rewards whose float32 sums differ in the last bits count as equal."""
    return constant_groups(rewards)


@register("first_reward_constant")
def first_reward_constant(rewards: torch.Tensor, per_func: torch.Tensor) -> torch.Tensor:
    """Drop groups whose first reward is the same for every completion (all correct or all wrong).

    Shaping rewards after the first do not count: a group that is all wrong but differs in format
    is still dropped."""
    return zero_variance(per_func[..., 0], per_func)


class PromptStream:
    """Extra prompts: a seeded permutation of the training set per epoch, walked in order and split
    between processes; its position is all the state a resumed run needs."""

    def __init__(self, size: int, seed: int, process_index: int, num_processes: int):
        self.size, self.seed = size, seed
        self.process_index, self.num_processes = process_index, num_processes
        self.consumed = 0  # prompts drawn by all processes together

    def _index(self, position: int) -> int:
        epoch, offset = divmod(position, self.size)
        order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + 7919 * epoch))
        return int(order[offset])

    def take(self, per_process: int) -> list[int]:
        start = self.consumed + self.process_index * per_process
        self.consumed += per_process * self.num_processes
        return [self._index(p) for p in range(start, start + per_process)]


def _pad(x: torch.Tensor, length: int, value, left: bool) -> torch.Tensor:
    if x.shape[1] == length:
        return x
    pad = x.new_full((x.shape[0], length - x.shape[1], *x.shape[2:]), value)
    return torch.cat([pad, x] if left else [x, pad], dim=1)


def merge(parts: list[tuple[dict, torch.Tensor]], pad_token_id: int) -> dict:
    """Rows ``idx`` of each rollout, concatenated: prompt tensors left-padded, completion tensors
    right-padded (with the pad token for ids, 0 elsewhere)."""
    first = parts[0][0]
    merged: dict = {}
    for key, value in first.items():
        if isinstance(value, list):  # per-row Python objects (texts)
            merged[key] = [out[key][i] for out, idx in parts for i in idx.tolist()]
            continue
        if not isinstance(value, torch.Tensor) or value.ndim == 0:
            merged[key] = value
            continue
        pieces = [out[key][idx] for out, idx in parts]
        if value.ndim >= 2 and key not in ("_per_func",):
            left = key.startswith("prompt")
            length = max(p.shape[1] for p in pieces)
            fill = pad_token_id if key.endswith("_ids") else 0
            pieces = [_pad(p, length, fill, left) for p in pieces]
        merged[key] = torch.cat(pieces, dim=0)
    return merged


class DynamicSampler:
    """Fills one process's generation batch with kept groups (see the module docstring)."""

    def __init__(self, trainer):
        args = trainer.args
        self.trainer = trainer
        self.filter = get(args.dynamic_sampling_filter)
        self.max_rounds = args.dynamic_sampling_max_rounds
        self.group = trainer.num_generations
        acc = trainer.accelerator
        local = args.generation_batch_size // acc.num_processes
        if local % self.group:
            raise ValueError(f"dynamic_sampling filters whole groups on each process, but each of the "
                             f"{acc.num_processes} processes generates {local} completions, not a multiple of "
                             f"num_generations={self.group}; make per_device_train_batch_size x "
                             "steps_per_generation a multiple of num_generations")
        if not hasattr(trainer.train_dataset, "__len__"):
            raise ValueError("dynamic_sampling draws extra prompts by index and needs a map-style train_dataset; "
                             f"got {type(trainer.train_dataset).__name__} (load it without streaming=True)")
        self.prompts = PromptStream(len(trainer.train_dataset), args.seed + 1, acc.process_index, acc.num_processes)

    def _dropped(self, output: dict) -> torch.Tensor:
        per_func = output["_per_func"]  # [B, F]
        weights = self.trainer.reward_weights.to(per_func.device)
        rewards = (per_func * weights).nansum(dim=1)
        rewards[per_func.isnan().all(dim=1)] = torch.nan
        n = rewards.shape[0] // self.group
        return self.filter.fn(rewards.view(n, self.group), per_func.view(n, self.group, -1)).bool()

    def fill(self, output: dict, rollout: Callable[[list], dict]) -> dict:
        acc, group = self.trainer.accelerator, self.group
        need = output["completion_ids"].shape[0] // group  # groups on this process
        kept: list[tuple[dict, int]] = []
        dropped: list[tuple[dict, int]] = []
        generated, rounds = 0, 0
        while True:
            drop = self._dropped(output)
            generated += len(drop)
            kept += [(output, g) for g in (~drop).nonzero().flatten().tolist()]
            dropped += [(output, g) for g in drop.nonzero().flatten().tolist()]
            fewest = acc.gather(torch.tensor([float(len(kept))], device=acc.device)).min().item()
            if fewest >= need or rounds == self.max_rounds:
                break
            rounds += 1
            rows = [self.trainer.train_dataset[i] for i in self.prompts.take(need) for _ in range(group)]
            output = rollout(rows)
        chosen = kept[:need]
        if len(chosen) < need:  # the bound was reached: fill up with the latest dropped groups
            chosen += dropped[len(dropped) - (need - len(chosen)):]
        self._log(generated, len(kept), need, rounds)
        by_rollout: dict[int, tuple[dict, list[int]]] = {}
        for out, g in chosen:
            by_rollout.setdefault(id(out), (out, []))[1].extend(range(g * group, (g + 1) * group))
        parts = [(out, torch.tensor(rows)) for out, rows in by_rollout.values()]
        merged = merge(parts, self.trainer._tokenizer.pad_token_id)  # noqa: SLF001 - TRL keeps it there
        mask = merged["completion_mask"] * merged.get("tool_mask", 1)
        merged["num_items_in_batch"] = acc.gather(mask.sum()).sum()
        return merged

    def _log(self, generated: int, kept: int, need: int, rounds: int) -> None:
        acc = self.trainer.accelerator
        totals = acc.reduce(torch.tensor([generated, generated - kept, need, max(0, need - kept)],
                                         dtype=torch.float, device=acc.device), reduction="sum").tolist()
        metrics = self.trainer._metrics["train"]  # noqa: SLF001 - TRL's metric store
        metrics["dynamic_sampling/filtered_share"].append(totals[1] / max(totals[0], 1.0))
        metrics["dynamic_sampling/rounds"].append(float(rounds + 1))
        metrics["dynamic_sampling/prompts"].append(totals[0])
        metrics["dynamic_sampling/shortfall_share"].append(totals[3] / max(totals[2], 1.0))

    def state(self) -> dict:
        return {"consumed": self.prompts.consumed}

    def restore(self, state: dict) -> None:
        self.prompts.consumed = int(state["consumed"])
