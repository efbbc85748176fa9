"""The files a recipe run leaves behind and what it prints at the end: ``metrics.json`` (before
and after metrics, the reward curve, which rows were evaluated), ``reward_curve.png`` and the
before/after table. Used by :func:`grpo_ext.recipe_kit.recipe.train_and_report`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from accelerate import PartialState


def reward_curve(trainer) -> list[dict]:
    return [{"step": h["step"], "reward": h["reward"]} for h in trainer.state.log_history if "reward" in h]


def write_report(trainer, before: dict, after: dict, seconds: float, extra: dict | None = None) -> dict:
    """``metrics.json`` and ``reward_curve.png`` in the output folder (with ``extra`` entries);
    returns the metrics."""
    out = Path(trainer.args.output_dir)
    curve = reward_curve(trainer)
    metrics = {
        "before": {k: v for k, v in before.items() if k != "samples"},
        "after": {k: v for k, v in after.items() if k != "samples"},
        "steps": trainer.state.global_step, "seconds": round(seconds, 1), "reward_curve": curve,
        "samples_after": after.get("samples", []), **(extra or {}),
    }
    if trainer.accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        _plot(curve, out / "reward_curve.png")
    return metrics


def _plot(curve: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, rewards = [c["step"] for c in curve], [c["reward"] for c in curve]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, rewards, lw=0.8, alpha=0.5, marker="o" if len(rewards) < 10 else None, label="reward per logged step")
    if not rewards:  # nothing was logged: say why rather than leave an empty frame
        ax.text(0.5, 0.5, "no reward logged:\nthe run ended before its first logging step (logging_steps)",
                ha="center", va="center", transform=ax.transAxes)
    if len(rewards) >= 10:
        k = max(len(rewards) // 20, 2)
        smooth = [sum(rewards[max(0, i - k):i + 1]) / len(rewards[max(0, i - k):i + 1]) for i in range(len(rewards))]
        ax.plot(steps, smooth, lw=2, label=f"moving mean ({k + 1} steps)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("mean reward")
    if rewards:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_table(before: dict, after: dict, seconds: float, steps: int) -> None:
    if not PartialState().is_main_process:
        return
    print(f"\n| test problems (n={after['n']}), greedy | before RL | after RL |\n|---|---|---|")
    for name in (k for k in after if k not in ("n", "samples")):
        print(f"| {name} | {before[name]:.2f} | {after[name]:.2f} |")
    print(f"\n{steps} RL steps in {seconds / 60:.1f} min; sample completions after RL: {after['samples'][:3]}")


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
