"""grpo-ext: GRPO and PPO for TRL with configurable KL estimators, advantage modes and verifiable rewards."""

__version__ = "0.1.0"

__all__ = ["GRPOConfig", "GRPOTrainer", "PPOConfig", "PPOTrainer"]


def __getattr__(name):  # the trainers import torch and trl; keep `import grpo_ext` light for the CLI
    if name == "GRPOConfig":
        from grpo_ext.config import GRPOConfig

        return GRPOConfig
    if name == "GRPOTrainer":
        from grpo_ext.trainer import GRPOTrainer

        return GRPOTrainer
    if name in ("PPOConfig", "PPOTrainer"):
        from grpo_ext import ppo

        return getattr(ppo, name)
    raise AttributeError(f"module 'grpo_ext' has no attribute {name!r}")
