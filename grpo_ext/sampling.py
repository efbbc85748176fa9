"""Prompt sampling that a resumed run can reproduce.

TRL's ``RepeatSampler`` shuffles each epoch with the next permutation of one seeded generator, and
has no ``set_epoch``: a run resumed in epoch ``e > 0`` starts that generator afresh and so replays
epoch 0's order, and its prompts differ from the run that never stopped. ``EpochRepeatSampler``
gives the same order as TRL's in an uninterrupted run (epoch ``e`` uses the ``e``-th permutation of
the seeded generator) and, because transformers' Trainer calls ``set_epoch`` at the start of every
epoch (also of the epoch it resumes in), the right one after a resume.
"""

from __future__ import annotations

import torch
from trl.trainer.utils import RepeatSampler


class EpochRepeatSampler(RepeatSampler):
    """``trl``'s RepeatSampler, positioned by ``set_epoch``."""

    def set_epoch(self, epoch: int) -> None:
        if not self.shuffle or self.seed is None:
            return
        self.generator = torch.Generator().manual_seed(self.seed)
        for _ in range(epoch):  # the permutations of the epochs before this one
            torch.randperm(self.num_samples, generator=self.generator)
