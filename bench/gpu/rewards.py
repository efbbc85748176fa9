"""A reward that a random-weights model's completions score unequally, so the GPU benchmark's
recipe runs have non-zero advantages and really update the model. Loaded into the recipe with
``--reward_modules bench/gpu/rewards.py --reward_funcs digit_share``."""

from grpo_ext import rewards


@rewards.register("digit_share")
def digit_share(completions):
    """The share of characters in the completion that are digits, in [0, 1]."""
    return [sum(ch.isdigit() for ch in text) / max(len(text), 1) for text in completions]
