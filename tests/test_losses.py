import pytest
import torch

from grpo_ext.losses import Normalizer, aggregate, value_loss

PER_TOKEN = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("loss_type, expected", [
    ("grpo", ((1 + 2 + 3) / 3 + 4 / 1) / 2 / 2),        # mean of sequence means, / 2 accumulation steps
    ("sapo", ((1 + 2 + 3) / 3 + 4 / 1) / 2 / 2),
    ("bnpo", (1 + 2 + 3 + 4) / 4 / 2),                  # token mean
    ("dr_grpo", (1 + 2 + 3 + 4) / (2 * 8) / 2),         # / (B * max_completion_length)
    ("dapo", (1 + 2 + 3 + 4) / (20 / 2 * 2 / 4)),       # / (items / processes * accumulation / steps_per_generation)
    ("luspo", ((1 + 2 + 3) + 4) / 2 / 2),               # sequence sums, mean over sequences
])
def test_aggregate_by_hand(loss_type, expected):
    norm = Normalizer(loss_type, accumulation_steps=2, max_completion_length=8, num_items_in_batch=20,
                      num_processes=2, steps_per_generation=4)
    assert aggregate(PER_TOKEN, MASK, norm).item() == pytest.approx(expected)


def test_sequence_level_terms_broadcast():
    per_seq = torch.tensor([[2.0], [3.0]])
    assert aggregate(per_seq, MASK, Normalizer("bnpo")).item() == pytest.approx((2 * 3 + 3 * 1) / 4)


def test_unknown_loss_type():
    with pytest.raises(ValueError, match="unknown loss_type"):
        aggregate(PER_TOKEN, MASK, Normalizer("nope"))


def test_value_loss_plain_and_clipped():
    values = torch.tensor([[1.0, 2.0]])
    old = torch.tensor([[0.0, 2.0]])
    returns = torch.tensor([[0.0, 0.0]])
    mask = torch.ones(1, 2)
    assert value_loss(values, old, returns, mask).item() == pytest.approx(0.5 * (1 + 4) / 2)
    # clip 0.5: first value clipped to 0.5 -> (0.5)^2 = 0.25 < 1, so max keeps 1; second unchanged
    assert value_loss(values, old, returns, mask, clip=0.5).item() == pytest.approx(0.5 * (1 + 4) / 2)
    values = torch.tensor([[-1.0, 2.0]])  # clipped to -0.5 -> 0.25 vs 1: max is 1 again; try the other side
    returns = torch.tensor([[-2.0, 0.0]])  # unclipped (1)^2 = 1; clipped (-0.5 + 2)^2 = 2.25 -> 2.25 counts
    assert value_loss(values, old, returns, mask, clip=0.5).item() == pytest.approx(0.5 * (2.25 + 4) / 2)
