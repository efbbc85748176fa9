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


def _map_source_rewards() -> None:
    """Make `grpo_ext.rewards` importable from a source checkout.

    The rewards live in the top-level rewards/ folder; an installed wheel places them at
    grpo_ext/rewards (pyproject's package-dir), and there is nothing to do. Run from a checkout
    (tests, recipes, PYTHONPATH=.), the folder is loaded under its package name here, so one
    registry exists whichever way the code was reached.
    """
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    source = here.parent / "rewards"
    if "grpo_ext.rewards" in sys.modules or (here / "rewards").is_dir() or not (source / "__init__.py").is_file():
        return
    spec = importlib.util.spec_from_file_location(
        "grpo_ext.rewards", source / "__init__.py", submodule_search_locations=[str(source)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["grpo_ext.rewards"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["grpo_ext.rewards"]
        raise


_map_source_rewards()
