"""Which settings learn: KL estimators x placements, advantage modes, with and without dynamic
sampling, on the offline arithmetic task (recipes/configs/grpo_math_offline.yaml), several seeds.

    python bench/bench_learning.py                                   # the study: every setting, 2 seeds
    python bench/bench_learning.py --steps 1000 --settings default,default+ds --stop-at-target --eval-every 25 --name reach
    python bench/bench_learning.py --steps 400 --settings default,default+ds --set learning_rate=1e-3 --target 0.8 --name speed

Each run starts from the recipe's warmed-up model for its seed (built once per seed), trains
``--steps`` GRPO steps with the recipe's settings plus the row's, and measures greedy accuracy on
the 50 held-out problems every ``--eval-every`` steps. Runs go ``--jobs`` at a time, one thread
each. It prints a table (mean over seeds, and each seed) and writes a figure of held-out accuracy
against steps, one line per setting (mean over seeds), and the raw results as JSON. ``--set KEY=VALUE``
(repeatable) overrides a config field in every row, e.g. a learning rate for a shorter default.

What it shows and what it does not: one tiny model (64 wide, 2 layers), one easy task, short
runs, two seeds. It shows how each setting moves this model on this task in this budget; it does
not rank the settings for large models, hard tasks or long runs, and differences of a few points
are within seed noise (compare the seeds' columns).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ESTIMATORS = ["k1", "k2", "k3", "low_var_kl", "abs", "k1+", "k3+", "full"]
MODES = ["grpo", "dr_grpo", "batch_std", "rloo", "reinforce_pp", "reinforce_pp_baseline", "opo", "passk",
         "normalize_then_sum"]
BETA = 0.04  # the KL coefficient of the estimator rows (the recipe's default trains without a KL term)


def settings() -> dict[str, dict]:
    """Row name -> overrides of the offline recipe's config."""
    rows: dict[str, dict] = {"default": {}}
    for placement in ("loss", "reward"):
        for estimator in ESTIMATORS:
            rows[f"{estimator} in {placement}"] = {"beta": BETA, "kl_estimator": estimator, "kl_placement": placement}
    for mode in MODES:
        if mode == "normalize_then_sum":
            rows[mode] = {"multi_objective_aggregation": "normalize_then_sum"}
        elif mode == "passk":
            rows["passk (k=4)"] = {"advantage_mode": "passk", "passk_k": 4}
        elif mode != "grpo":  # grpo is the default row
            rows[mode] = {"advantage_mode": mode}
    rows.update({f"{name}+ds": {**over, "dynamic_sampling": True} for name, over in list(rows.items())})
    return rows


def overrides(pairs: list[str] | None) -> dict:
    """``--set KEY=VALUE`` pairs (VALUE read as YAML: 1e-3, true, 300) as config overrides."""
    import yaml

    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {pair!r}: write KEY=VALUE, e.g. --set learning_rate=1e-3")
        out[key] = yaml.safe_load(value)
        if isinstance(out[key], str):  # YAML reads 2e-3 (no dot) as text
            try:
                out[key] = float(value)
            except ValueError:
                pass
    return out


# -- one run (a worker process) ------------------------------------------------------------------
def worker(args) -> None:
    import warnings

    import torch
    import transformers
    import yaml

    from grpo_ext import GRPOConfig, GRPOTrainer
    from grpo_ext.recipe_kit import arithmetic, recipe
    from grpo_ext import rewards

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    base = yaml.safe_load((ROOT / "recipes/configs/grpo_math_offline.yaml").read_text())
    reward_names = base.pop("reward_funcs")
    for key in ("model_name_or_path", "dataset_name", "sft_warmup_steps"):
        base.pop(key)
    over = {**settings()[args.setting], **overrides(args.set)}
    config = GRPOConfig(**{**base, **over, "output_dir": args.out, "max_steps": args.steps, "seed": args.seed,
                           "disable_tqdm": True, "use_cpu": True, "logging_steps": 10})
    train, test = arithmetic.problems(args.seed)
    metrics = {"accuracy": rewards.get("math_accuracy")}
    curve: list[tuple[int, float]] = []
    eval_seconds = [0.0]
    reached: list[float] = []  # training seconds (evaluation excluded) when accuracy first reached --target

    class HeldOut(transformers.TrainerCallback):
        def on_step_end(self, a, state, control, **kwargs):
            if state.global_step % args.eval_every == 0:
                tick = time.perf_counter()
                accuracy = recipe.evaluate(trainer, test, metrics, 64, "eval")["accuracy"]
                elapsed = time.perf_counter() - tick
                eval_seconds[0] += elapsed
                curve.append((state.global_step, accuracy))
                if accuracy >= args.target and not reached:  # training time so far, evaluations excluded
                    reached.append(tick - start - (eval_seconds[0] - elapsed))
                    control.should_training_stop = args.stop_at_target
            return control

    trainer = GRPOTrainer(args.model, reward_funcs=reward_names, args=config, train_dataset=train, callbacks=[HeldOut()])
    curve.append((0, recipe.evaluate(trainer, test, metrics, 64, "eval")["accuracy"]))
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start - eval_seconds[0]
    logs = [h for h in trainer.state.log_history if "reward" in h]
    tail = logs[-max(1, len(logs) // 10):]
    result = {
        "setting": args.setting, "overrides": overrides(args.set), "seed": args.seed, "steps": args.steps, "seconds": seconds, "curve": curve,
        "accuracy": curve[-1][1], "reward": statistics.mean(h["reward"] for h in tail),
        "kl_k1": statistics.mean(h.get("kl/k1", 0.0) for h in tail),
        "kl_k3": statistics.mean(h.get("kl/k3", 0.0) for h in tail),
        "steps_to_target": next((s for s, acc in curve if acc >= args.target), None),
        "seconds_to_target": reached[0] if reached else None,
    }
    Path(args.out, "result.json").write_text(json.dumps(result))
    recipe.shut_down(trainer)


# -- the study -----------------------------------------------------------------------------------
def warmed_model(seed: int, cache: Path) -> str:
    """The recipe's warmed-up model for this seed (built once)."""
    from trl import ModelConfig

    from grpo_ext import GRPOConfig
    from grpo_ext.recipe_kit import recipe

    import yaml

    out = cache / f"seed{seed}"
    config = yaml.safe_load((ROOT / "recipes/configs/grpo_math_offline.yaml").read_text())
    script = recipe.RecipeArguments(sft_warmup_steps=config["sft_warmup_steps"], reward_funcs=config["reward_funcs"])
    model_args = ModelConfig(model_name_or_path=recipe.BUILTIN_MODEL)
    args = GRPOConfig(output_dir=str(out), seed=seed, use_cpu=True, report_to="none",
                      reward_weights=config["reward_weights"])
    path, _, _ = recipe.prepare(script, model_args, args)
    return path


def run_one(name: str, seed: int, model: str, args) -> dict:
    out = Path(tempfile.mkdtemp(prefix="learn-"))
    cmd = [sys.executable, __file__, "--worker", "--setting", name, "--seed", str(seed), "--model", model,
           "--out", str(out), "--steps", str(args.steps), "--eval-every", str(args.eval_every),
           "--target", str(args.target)] + (["--stop-at-target"] if args.stop_at_target else [])
    cmd += [f"--set={pair}" for pair in args.set or []]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"setting": name, "seed": seed, "error": proc.stderr.strip().splitlines()[-1]}
    result = json.loads((out / "result.json").read_text())
    print(f"  {name:28s} seed {seed}: accuracy {result['accuracy']:.2f} ({result['seconds']:.0f} s)", flush=True)
    return result


def table(results: list[dict], names: list[str], target: float) -> str:
    head = ("| setting | held-out accuracy (mean) | per seed | final reward | kl/k1 | kl/k3 | steps (training time) "
            f"to accuracy {target}, per seed | training time per run (s) |")
    lines = [head, "|---" * 8 + "|"]
    for name in names:
        rs = [r for r in results if r["setting"] == name and "error" not in r]
        if not rs:
            err = next((r["error"] for r in results if r["setting"] == name), "not run")
            lines.append(f"| {name} | failed: {err} | | | | | | |")
            continue
        mean = lambda key: statistics.mean(r[key] for r in rs)  # noqa: E731
        reach_text = ", ".join("-" if r["steps_to_target"] is None else
                               f"{r['steps_to_target']} ({r['seconds_to_target']:.0f} s)" for r in rs)
        per_seed = ", ".join(f"{r['accuracy']:.2f}" for r in rs)
        kl = [f"{mean(key):.2e}" if mean(key) else "-" for key in ("kl_k1", "kl_k3")]  # "-": no KL term (beta 0)
        lines.append(f"| {name} | {mean('accuracy'):.2f} | {per_seed} | "
                     f"{mean('reward'):.3f} | {kl[0]} | {kl[1]} | {reach_text} | "
                     f"{mean('seconds'):.0f} |")
    return "\n".join(lines)


def figure(results: list[dict], names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 6), sharey=True)
    bases = list(dict.fromkeys(n.removesuffix("+ds") for n in names))
    colours = {b: plt.cm.tab20(i % 20) for i, b in enumerate(bases)}  # one colour per setting, both panels
    for ax, with_ds in zip(axes, (False, True)):
        for name in [n for n in names if n.endswith("+ds") == with_ds]:
            rs = [r for r in results if r["setting"] == name and "error" not in r]
            if not rs:
                continue
            by_step: dict[int, list[float]] = {}
            for r in rs:  # runs stopped at the target have shorter curves: average what each step has
                for step, accuracy in r["curve"]:
                    by_step.setdefault(step, []).append(accuracy)
            steps = sorted(by_step)
            acc = [statistics.mean(by_step[step]) for step in steps]
            style = "--" if "reward" in name else ("-." if name.split("+")[0] in MODES or "passk" in name else "-")
            ax.plot(steps, acc, style, label=name.removesuffix("+ds"), color=colours[name.removesuffix("+ds")],
                    linewidth=2.5 if "default" in name else 1)
        ax.set_title("with dynamic sampling" if with_ds else "without dynamic sampling")
        ax.set_xlabel("RL step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out accuracy (greedy, 50 problems; mean of seeds)")
    axes[1].legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--settings", default="all", help="comma-separated row names, or 'all'")
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument("--target", type=float, default=0.7, help="held-out accuracy whose first reach is reported")
    parser.add_argument("--stop-at-target", action="store_true", help="end each run when it reaches --target")
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for the figure and the JSON")
    parser.add_argument("--name", default="learning", help="file name stem of the figure and the JSON")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="a config override applied to every row (repeatable): --set learning_rate=1e-3")
    parser.add_argument("--models", help="folder of the warmed-up models, one per seed (reused when their settings "
                        "match; default: a fresh temporary folder)")
    parser.add_argument("--replot", help="print the table and draw the figure from a saved results JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--setting", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.replot:  # table and figure again from a saved JSON, without training
        results = json.loads(Path(args.replot).read_text())
        names = list(dict.fromkeys(r["setting"] for r in results))
        return report(results, names, args, Path(args.out))
    rows = settings()
    names = list(rows) if args.settings == "all" else args.settings.split(",")
    unknown = [n for n in names if n not in rows]
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; choose from: {', '.join(rows)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    # one thread for the warm-ups too, as in the runs (set before torch loads: torch.set_num_threads(1)
    # afterwards left a warm-up step 20 times slower on a busy machine)
    os.environ["OMP_NUM_THREADS"] = "1"
    cache = Path(args.models) if args.models else Path(tempfile.mkdtemp(prefix="learn-models-"))
    models = {seed: warmed_model(seed, cache) for seed in seeds}
    jobs = [(name, seed) for name in names for seed in seeds]
    print(f"{len(jobs)} runs of {args.steps} steps, {args.jobs} at a time", flush=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run_one(job[0], job[1], models[job[1]], args), jobs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(results, indent=1))
    print(f"\n{len(jobs)} runs in {(time.perf_counter() - start) / 60:.0f} min")
    report(results, names, args, out)


def report(results: list[dict], names: list[str], args, out: Path) -> None:
    seeds = sorted({r["seed"] for r in results})
    steps = max((r.get("steps", 0) for r in results), default=0)
    print(f"offline arithmetic task, tiny model, up to {steps} steps from the warm-up, beta {BETA} in the estimator "
          f"rows, seeds {', '.join(map(str, seeds))}\n")
    print(table(results, names, args.target))
    figure(results, names, out / f"{args.name}.png")
    print(f"\nfigure: {out / f'{args.name}.png'}")


if __name__ == "__main__":
    main()
