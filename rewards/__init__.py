"""Verifiable rewards for RL fine-tuning, usable with or without the grpo_ext trainers.

>>> import rewards
>>> fn = rewards.get("math_accuracy", gold_column="answer")
>>> fn(prompts=["1+1?"], completions=["<answer>2</answer>"], completion_ids=[[0]], answer=["2"])
[1.0]
"""

from rewards.registry import (
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
from rewards.text import completion_text

__all__ = [
    "DuplicateRewardError", "MissingColumnError", "Reward", "RewardError", "RewardSignatureError",
    "UnknownRewardError", "available", "completion_text", "get", "register", "resolve", "unregister",
]
