"""Verifiable rewards for RL fine-tuning, usable with or without the grpo_ext trainers.

>>> from grpo_ext import rewards
>>> fn = rewards.get("math_accuracy", gold_column="answer")
>>> fn(prompts=["1+1?"], completions=["<answer>2</answer>"], completion_ids=[[0]], answer=["2"])
[1.0]
"""

if __name__ != "grpo_ext.rewards":  # e.g. `import rewards` from the root of a source checkout
    raise ImportError(
        f"the rewards package was imported as {__name__!r}; import it as `from grpo_ext import rewards` "
        "(one name, one registry: the trainers and recipes use grpo_ext.rewards)"
    )

from .registry import (
    DuplicateRewardError,
    MissingColumnError,
    Reward,
    RewardError,
    RewardSignatureError,
    UnknownRewardError,
    available,
    get,
    register,
    resolve,
    unregister,
)
from .text import completion_text

__all__ = [
    "DuplicateRewardError", "MissingColumnError", "Reward", "RewardError", "RewardSignatureError",
    "UnknownRewardError", "available", "completion_text", "get", "register", "resolve", "unregister",
]
