"""What an evaluation leaves behind: markdown tables with intervals (one evaluation, or before /
after RL with the paired test's p-values), the JSON of per-problem records and the pass@k curve.
Used by the recipes (:func:`grpo_ext.recipe_kit.recipe.train_and_report`) and ``grpo-ext eval``."""

from __future__ import annotations

import json
from pathlib import Path

from grpo_ext import evaluation


def _cell(fig: dict) -> str:
    return f"{fig['value']:.3f} [{fig['low']:.3f}, {fig['high']:.3f}]"


def _pct(level: float) -> str:
    return f"{level * 100:g}%"


def table(result: dict) -> str:
    """One evaluation: a row per figure, a column per metric."""
    names = list(result["summary"])
    figs = list(next(iter(result["summary"].values()))) if names else []
    n = len(result["problems"])
    lines = [f"{n} problems, k = {result['k']} samples at temperature {result['temperature']:g}; "
             f"mean [{_pct(result['level'])} Wilson interval over problems]", "",
             "| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for fig in figs:
        lines.append(f"| {fig} | " + " | ".join(_cell(result["summary"][nm][fig]) if fig in result["summary"][nm] else "-"
                                              for nm in names) + " |")
    return "\n".join(lines)


def before_after(before: dict, after: dict) -> dict:
    """The comparison the recipes report: both summaries, the paired test's p-values, the table."""
    p_values = evaluation.compare(before["problems"], after["problems"], after["ks"])
    lines = [f"{len(after['problems'])} held-out problems, k = {after['k']} samples at temperature "
             f"{after['temperature']:g}; mean [{_pct(after['level'])} Wilson interval over problems]; p: two-sided "
             "paired sign-flip test on the same problems (exact McNemar for 0/1 scores)", ""]
    for name, figs in after["summary"].items():
        lines += [f"| {name} | before RL | after RL | p |", "|---|---|---|---|"]
        lines += [f"| {fig} | {_cell(before['summary'][name][fig])} | {_cell(v)} | {p_values[name][fig]:.3g} |"
                  for fig, v in figs.items()]
        lines.append("")
    return {"k": after["k"], "temperature": after["temperature"], "level": after["level"],
            "before": before["summary"], "after": after["summary"], "p_values": p_values,
            "seconds": {"before": round(before["seconds"], 2), "after": round(after["seconds"], 2)},
            "table": "\n".join(lines).rstrip()}


def records_json(result: dict, **about) -> str:
    """The JSON anyone can recompute the figures from: per-problem counts, verdicts and answers."""
    keep = {k: v for k, v in result.items() if k != "problems"}
    return json.dumps({**about, **keep, "problems": result["problems"]}, indent=1, default=str)


def pass_curve(results: dict[str, dict], path: Path, metric: str | None = None) -> Path:
    """pass@k against k (log scale) with interval bands, one line per result (e.g. before / after)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for label, result in results.items():
        name = metric or next(iter(result["summary"]))
        figs = result["summary"][name]
        ks = result["ks"]
        value = [figs[f"pass@{k}"]["value"] for k in ks]
        ax.plot(ks, value, marker="o", label=f"{label} ({name})")
        ax.fill_between(ks, [figs[f"pass@{k}"]["low"] for k in ks], [figs[f"pass@{k}"]["high"] for k in ks], alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("pass@k")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# -- the recipes' before / after ------------------------------------------------------------------


def recipe_evaluation(trainer, test, metrics: dict, batch_size: int | None = None) -> dict:
    """One evaluation of the held-out rows for a recipe: the recipe's metrics (``metrics``, name ->
    reward) and the run's ``--eval_metrics``, k = ``--eval_num_samples`` samples at
    ``--eval_temperature``, ``--eval_prompts_per_call`` problems per call (``batch_size`` is not
    used: the figures of the last step are then those ``--eval_strategy steps`` logged, which are
    reused rather than measured again)."""
    args = trainer.args
    tasks = {**metrics, **(trainer.eval_metric_funcs or {})}
    if tasks.keys() != (trainer.eval_metric_funcs or {}).keys():
        trainer.set_eval_metrics(tasks)  # so eval_strategy='steps' logs the same metrics
    last = trainer.eval_history[-1] if trainer.eval_history else None
    if last is not None and last["step"] == trainer.state.global_step and last["problems_of"] is trainer.eval_dataset \
            and test is trainer.eval_dataset:
        reused = {k: v for k, v in last.items() if k not in ("logs", "problems_of", "step")}
        return {**reused, "seconds": 0.0, "reused_from_step": last["step"]}  # these weights were just evaluated
    return evaluation.evaluate(trainer, test, trainer.eval_metric_funcs, args.eval_num_samples,
                               args.eval_temperature or args.temperature, args.eval_prompts_per_call, args.seed)


def greedy_view(result: dict) -> dict:
    """The recipes' earlier before / after entry: each metric's greedy accuracy, n, sample completions."""
    out = {name: figs["greedy"]["value"] for name, figs in result["summary"].items()}
    return {**out, "n": len(result["problems"]), "samples": [p["sample"] for p in result["problems"][:5]]}


def finish(trainer, before: dict, after: dict, train_seconds: float) -> dict:
    """The comparison (with the cost of evaluation) for metrics.json; on the main process also
    ``evaluation.json`` (per-problem records before and after), ``pass_at_k.png`` and the table
    printed."""
    report = before_after(before, after)
    during = trainer.eval_seconds
    evaluating = before["seconds"] + after["seconds"] + during
    total = before["seconds"] + after["seconds"] + train_seconds
    report["seconds"].update(during_training=round(during, 2), evaluations_during_training=len(trainer.eval_history),
                             total=round(total, 2))
    report["share_of_time"] = round(evaluating / total, 4) if total else 0.0
    if trainer.accelerator.is_main_process:
        out = Path(trainer.args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"before": before, "after": after, "during_training": [
            {k: v for k, v in h.items() if k not in ("problems", "problems_of")} for h in trainer.eval_history]}
        (out / "evaluation.json").write_text(json.dumps(payload, indent=1, default=str))
        pass_curve({"before RL": before, "after RL": after}, out / "pass_at_k.png")
        print("\n" + report["table"])
        print(f"evaluation: {evaluating:.1f} s of {total:.1f} s wall time ({report['share_of_time']:.1%}; "
              f"{len(trainer.eval_history)} evaluations during training, {during:.1f} s)")
    return report
