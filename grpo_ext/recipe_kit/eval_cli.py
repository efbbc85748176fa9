"""``grpo-ext eval``: evaluate a saved model (a recipe's output folder, any local model folder
or a Hub id) on a benchmark file or dataset, as the recipes evaluate before and after RL.

    grpo-ext eval outputs/grpo-math-offline --dataset test.jsonl --metrics math_accuracy --k 1,4,16

The dataset is read as the math recipe reads one (:mod:`grpo_ext.recipe_kit.data`): local JSONL,
JSON, CSV or Parquet files, or a Hub id with ``--split``, in the GSM8K (``question`` / ``answer``
with ``#### 72``), MATH (``problem`` / ``solution`` with ``\\boxed{}``), MATH-500 and AIME
(``problem`` / ``answer``) layouts. It writes ``eval.json`` (per-problem correct counts, verdicts
and answers, so anyone can recompute the figures), ``eval.md`` (the table) and ``pass_at_k.png``.

Tool models are evaluated through TRL's tool loop, as in training: ``--environment`` (an
``environment_factory``: ``builtin:lookup`` or ``module:callable``) and / or ``--tools`` (names
from :mod:`grpo_ext.tools`). A tools-recipe output folder needs neither: the recipe saves its
environment, tools, held-out data and task metric in ``eval_setup.json``, which is read when the
flags are not given::

    grpo-ext eval outputs/grpo-tools-offline --k 1,2,4,8
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import tempfile
from pathlib import Path


def add_parser(sub) -> None:
    """Register the ``eval`` subcommand on the ``grpo-ext`` parser's subparsers."""
    p = sub.add_parser("eval", help="greedy / avg@k / pass@k / maj@k with intervals of a saved model on a dataset")
    p.add_argument("model", help="model folder (e.g. a recipe's output_dir) or Hub id")
    p.add_argument("--dataset", default=None, help="local file (jsonl, json, csv, parquet), Hub dataset id or "
                   "builtin:lookup (default: the run's, from MODEL/eval_setup.json)")
    p.add_argument("--split", default="test", help="split of a Hub dataset (default: test)")
    p.add_argument("--config", default=None, help="configuration of a Hub dataset")
    p.add_argument("--metrics", default=None, help="registry rewards or module:function, comma-separated "
                   "(default: the run's task metric from eval_setup.json, else math_accuracy)")
    p.add_argument("--environment", default=None, help="tool environment factory: builtin:lookup or module:callable")
    p.add_argument("--tools", default=None, help="tools by name from grpo_ext.tools (e.g. python), comma-separated")
    p.add_argument("--max-tool-calling-iterations", type=int, default=None, help="tool calls per rollout")
    p.add_argument("--k", default="1,4,16", help="k values of pass@k, comma-separated; max(k) samples are drawn")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature of the k samples")
    p.add_argument("--max-completion-length", type=int, default=None, help="tokens per completion (default: the "
                   "run's, from eval_setup.json, else 256)")
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
    stem = Path(args.dataset).stem if os.path.exists(args.dataset) else args.dataset.replace("/", "_").replace(":", "_")
    base = Path(args.model) if os.path.isdir(args.model) else Path(".")
    return base / f"eval-{stem}"


def _trainer(args, dataset, metrics: dict, k: int, scratch: str):
    """A GRPOTrainer around the model (with the run's tools), used only for its generation (never trained)."""
    from grpo_ext import GRPOConfig, GRPOTrainer

    config = GRPOConfig(output_dir=scratch, report_to="none", beta=0.0,
                        max_completion_length=args.max_completion_length, temperature=args.temperature,
                        per_device_train_batch_size=2, num_generations=2, seed=args.seed,
                        eval_num_samples=k, use_cpu=not _has_gpu(), save_strategy="no",
                        max_tool_calling_iterations=args.max_tool_calling_iterations)
    return GRPOTrainer(args.model, reward_funcs=list(metrics.values()), args=config, train_dataset=dataset,
                       **_tool_kwargs(args))


SETUP_FILE = "eval_setup.json"


def read_setup(args) -> dict:
    """Fill the flags not given from ``MODEL/eval_setup.json`` (a recipe's output folder); returns the file's content."""
    path = Path(args.model) / SETUP_FILE
    setup = json.loads(path.read_text()) if os.path.isdir(args.model) and path.exists() else {}
    for flag, key, fallback in (("dataset", "dataset", None), ("metrics", "metrics", "math_accuracy"),
                                ("environment", "environment", None), ("tools", "tools", None),
                                ("max_completion_length", "max_completion_length", 256),
                                ("max_tool_calling_iterations", "max_tool_calling_iterations", None)):
        if getattr(args, flag) is None:
            value = setup.get(key, fallback)
            setattr(args, flag, ",".join(value) if isinstance(value, list) else value)
    args.task_seed = setup.get("seed", args.seed)  # the seed that made the run's task (builtin:lookup's table)
    if args.dataset is None:
        raise SystemExit(f"--dataset is needed: {args.model} has no {SETUP_FILE} naming the run's data")
    return setup


def _tool_kwargs(args) -> dict:
    """The trainer's ``environment_factory`` and ``tools`` from ``--environment`` / ``--tools``."""
    from grpo_ext import tools

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # environment_factory: tested against the pinned TRL
    out = {}
    if args.environment == "builtin:lookup":
        from grpo_ext.recipe_kit import lookup

        out["environment_factory"] = lookup.env_factory(getattr(args, "task_seed", args.seed))
    elif args.environment:
        module, sep, attr = args.environment.partition(":")
        if not sep:
            raise SystemExit(f"--environment {args.environment}: use builtin:lookup or module:callable")
        out["environment_factory"] = getattr(importlib.import_module(module), attr)
    if args.tools:
        out["tools"] = tools.resolve([t.strip() for t in args.tools.split(",") if t.strip()])
    return out


def _dataset(args, setup: dict):
    """The rows to evaluate: builtin:lookup's held-out keys (the run's seed and eval_size), or a file / Hub dataset."""
    from grpo_ext.recipe_kit import data

    if args.dataset == "builtin:lookup":
        from grpo_ext.recipe_kit import lookup

        test = lookup.problems(getattr(args, "task_seed", args.seed))[1]
        size = setup.get("eval_size") or len(test)
        return test.select(range(min(size, len(test))))
    try:
        return data.normalise(data.load(args.dataset, args.config, args.split), args.system_prompt, args.instruction)
    except (data.DatasetFormatError, FileNotFoundError, ValueError) as err:
        raise SystemExit(f"--dataset {args.dataset}: {err}") from None


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def run(args: argparse.Namespace) -> int:
    from grpo_ext import evaluation, rewards
    from grpo_ext.recipe_kit import evaluation_report as report

    ks = _ks(args.k)
    setup = read_setup(args)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    try:
        metrics = {name: rewards.resolve(name) for name in names}
    except rewards.RewardError as err:
        raise SystemExit(f"--metrics: {err}") from None
    dataset = _dataset(args, setup)
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
    about = {"model": args.model, "dataset": args.dataset, "metrics": names, "environment": args.environment,
             "tools": args.tools, "max_completion_length": args.max_completion_length, "seed": args.seed}
    (out / "eval.json").write_text(report.records_json(result, **about))
    text = f"# {args.model} on {args.dataset}\n\n" + report.table(result) + "\n"
    (out / "eval.md").write_text(text)
    report.pass_curve({Path(args.model).name: result}, out / "pass_at_k.png")
    print(text)
    print(f"{result['seconds']:.1f} s; wrote {out / 'eval.json'}, {out / 'eval.md'}, {out / 'pass_at_k.png'}")
    return 0
