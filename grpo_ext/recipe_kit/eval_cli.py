"""``grpo-ext eval``: evaluate a saved model (a recipe's output folder, any local model folder
or a Hub id) on a benchmark file or dataset, as the recipes evaluate before and after RL.

    grpo-ext eval outputs/grpo-math-offline --dataset test.jsonl --metrics math_accuracy --k 1,4,16

The dataset is read as the math recipe reads one (:mod:`grpo_ext.recipe_kit.data`): local JSONL,
JSON, CSV or Parquet files, or a Hub id with ``--split``, in the GSM8K (``question`` / ``answer``
with ``#### 72``), MATH (``problem`` / ``solution`` with ``\\boxed{}``), MATH-500 and AIME
(``problem`` / ``answer``) layouts. It writes ``eval.json`` (per-problem correct counts, verdicts
and answers, so anyone can recompute the figures), ``eval.md`` (the table) and ``pass_at_k.png``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def add_parser(sub) -> None:
    """Register the ``eval`` subcommand on the ``grpo-ext`` parser's subparsers."""
    p = sub.add_parser("eval", help="greedy / avg@k / pass@k / maj@k with intervals of a saved model on a dataset")
    p.add_argument("model", help="model folder (e.g. a recipe's output_dir) or Hub id")
    p.add_argument("--dataset", required=True, help="local file (jsonl, json, csv, parquet) or Hub dataset id")
    p.add_argument("--split", default="test", help="split of a Hub dataset (default: test)")
    p.add_argument("--config", default=None, help="configuration of a Hub dataset")
    p.add_argument("--metrics", default="math_accuracy", help="registry rewards or module:function, comma-separated")
    p.add_argument("--k", default="1,4,16", help="k values of pass@k, comma-separated; max(k) samples are drawn")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the k samples")
    p.add_argument("--max-completion-length", type=int, default=256, help="tokens per completion")
    p.add_argument("--limit", type=int, default=0, help="first N problems only (0: all)")
    p.add_argument("--batch", type=int, default=16, help="problems per generation call")
    p.add_argument("--system-prompt", default=None, help="system prompt (makes prompts conversational)")
    p.add_argument("--instruction", default=None, help="text appended to every problem")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="output folder (default: MODEL/eval-DATASET for a local model)")
    p.set_defaults(func=run)


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise SystemExit(f"--k takes comma-separated positive integers, got {text!r}") from None
    if not ks or ks[0] < 1:
        raise SystemExit(f"--k takes comma-separated positive integers, got {text!r}")
    return ks


def _output(args) -> Path:
    if args.output:
        return Path(args.output)
    stem = Path(args.dataset).stem if os.path.exists(args.dataset) else args.dataset.replace("/", "_")
    base = Path(args.model) if os.path.isdir(args.model) else Path(".")
    return base / f"eval-{stem}"


def _trainer(args, dataset, metrics: dict, k: int, scratch: str):
    """A GRPOTrainer around the model, used only for its generation (never trained)."""
    from grpo_ext import GRPOConfig, GRPOTrainer

    config = GRPOConfig(output_dir=scratch, report_to="none", beta=0.0,
                        max_completion_length=args.max_completion_length, temperature=args.temperature,
                        per_device_train_batch_size=2, num_generations=2, seed=args.seed,
                        eval_num_samples=k, use_cpu=not _has_gpu(), save_strategy="no")
    return GRPOTrainer(args.model, reward_funcs=list(metrics.values()), args=config, train_dataset=dataset)


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def run(args: argparse.Namespace) -> int:
    from grpo_ext import evaluation, rewards
    from grpo_ext.recipe_kit import data
    from grpo_ext.recipe_kit import evaluation_report as report

    ks = _ks(args.k)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    try:
        metrics = {name: rewards.resolve(name) for name in names}
    except rewards.RewardError as err:
        raise SystemExit(f"--metrics: {err}") from None
    try:
        dataset = data.normalise(data.load(args.dataset, args.config, args.split), args.system_prompt, args.instruction)
    except (data.DatasetFormatError, FileNotFoundError, ValueError) as err:
        raise SystemExit(f"--dataset {args.dataset}: {err}") from None
    if args.limit:
        dataset = dataset.select(range(min(args.limit, len(dataset))))
    with tempfile.TemporaryDirectory(prefix="grpo-ext-eval-") as scratch:
        trainer = _trainer(args, dataset, metrics, max(ks), scratch)
        try:
            result = evaluation.evaluate(trainer, dataset, metrics, max(ks), args.temperature, args.batch, args.seed,
                                         ks=ks)
        finally:
            if trainer.reward_runner is not None:
                trainer.reward_runner.close()
    out = _output(args)
    out.mkdir(parents=True, exist_ok=True)
    about = {"model": args.model, "dataset": args.dataset, "metrics": names,
             "max_completion_length": args.max_completion_length, "seed": args.seed}
    (out / "eval.json").write_text(report.records_json(result, **about))
    text = f"# {args.model} on {args.dataset}\n\n" + report.table(result) + "\n"
    (out / "eval.md").write_text(text)
    report.pass_curve({Path(args.model).name: result}, out / "pass_at_k.png")
    print(text)
    print(f"{result['seconds']:.1f} s; wrote {out / 'eval.json'}, {out / 'eval.md'}, {out / 'pass_at_k.png'}")
    return 0
