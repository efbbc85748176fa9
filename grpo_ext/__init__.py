"""grpo-ext: GRPO and PPO for TRL with configurable KL estimators, advantage modes and verifiable rewards."""

__version__ = "0.1.0"
