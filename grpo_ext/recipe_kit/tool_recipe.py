"""What ``recipes/grpo_tools.py`` needs beyond :mod:`grpo_ext.recipe_kit.recipe`: its arguments, the model,
data and tools of a run, and a report whose evaluation is multi-turn (TRL's tool loop, greedy).

Offline (``builtin:tiny`` + ``builtin:lookup``): a tiny model with the tool format, warmed up on the
lookup task (:mod:`grpo_ext.recipe_kit.lookup`), the ``lookup`` tool over the seed's table, exact-answer reward.
Otherwise: any chat model whose template TRL can parse tool calls of, a dataset read as the math
recipe reads one, tools by name from :mod:`grpo_ext.tools` (e.g. ``python``), rewards by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import PartialState

from grpo_ext import tools
from grpo_ext.recipe_kit import lookup, recipe

BUILTIN_DATASET = "builtin:lookup"


@dataclass
class ToolRecipeArguments(recipe.RecipeArguments):
    dataset_name: str = field(default=BUILTIN_DATASET, metadata={
        "help": "'builtin:lookup' (codes only a tool knows), or a Hub dataset / local file, read as the math "
                "recipe reads one."})
    tools: list[str] = field(default_factory=list, metadata={
        "help": "Tools by name from the grpo_ext.tools registry, e.g. 'python' (builtin:lookup brings its own "
                "environment, whose tool is lookup())."})
    tool_share: float = field(default=0.5, metadata={
        "help": "builtin:lookup: share of warm-up demonstrations that call the tool (the rest guess)."})
    cpu_threads: int = field(default=1, metadata={
        "help": "Torch threads on a machine without CUDA; 1 is fastest for the tiny model (0: torch's default)."})


def prepare(script: ToolRecipeArguments, model_args, args):
    """(model path, train, test, the trainer's tool arguments, metrics), all checked before any training."""
    if not torch.cuda.is_available() and script.cpu_threads > 0:
        torch.set_num_threads(script.cpu_threads)
    if script.dataset_name != BUILTIN_DATASET:
        path, train, test = recipe.prepare(script, model_args, args)
        if model_args.model_name_or_path == recipe.BUILTIN_MODEL:  # a tiny model that can at least write calls
            path = _main_first(Path(args.output_dir) / "initial-tool-model", lambda out: lookup.build_model(
                out, script.tiny_hidden_size, script.tiny_layers, steps=0, seed=args.seed))
        from grpo_ext import rewards

        metrics = {"accuracy": rewards.get("math_accuracy")}
        return str(path), train, test, {"tools": tools.resolve(script.tools)}, metrics
    recipe.check_settings_and_hub(script, model_args, args)
    script.push, args.push_to_hub = args.push_to_hub, False  # pushed once, at the end (as recipe.prepare does)
    train, test = lookup.problems(args.seed)
    if script.eval_size and len(test) > script.eval_size:
        test = test.select(range(script.eval_size))
    path = model_args.model_name_or_path
    if path == recipe.BUILTIN_MODEL:
        path = _main_first(Path(args.output_dir) / "warmed-up", lambda out: lookup.build_model(
            out, script.tiny_hidden_size, script.tiny_layers, script.sft_warmup_steps, script.tool_share, args.seed,
            train))
    tool_kwargs = {"environment_factory": lookup.env_factory(args.seed), "tools": tools.resolve(script.tools)}
    return str(path), train, test, tool_kwargs, {"accuracy": lookup.exact_answer}


def _main_first(path: Path, build) -> Path:
    """``build(path)`` on the main process first; the others reuse the folder."""
    with PartialState().main_process_first():
        if not (path / "config.json").exists():
            build(path)
    return path


def train_and_report(trainer, script: ToolRecipeArguments, model_args, test, metrics: dict) -> dict:
    """Evaluate (multi-turn, greedy), train, evaluate again, save, and write the report files and the
    model card (see :func:`grpo_ext.recipe_kit.recipe.train_and_report`, whose files these are)."""
    from grpo_ext.recipe_kit import hub

    from grpo_ext.recipe_kit import evaluation_report as task_eval

    args = trainer.args
    before = tools.evaluate(trainer, test, metrics, script.eval_batch_size)
    before_k = task_eval.recipe_evaluation(trainer, test, metrics, script.eval_batch_size)  # greedy, avg@k, pass@k, maj@k
    with recipe.Timer() as clock:
        trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    after = tools.evaluate(trainer, test, metrics, script.eval_batch_size)
    after_k = task_eval.recipe_evaluation(trainer, test, metrics, script.eval_batch_size)
    trainer.save_model(args.output_dir)
    report = recipe.write_report(trainer, before, after, clock.seconds,
                                 extra={"evaluation": task_eval.finish(trainer, before_k, after_k, clock.seconds)})
    report["tool_curve"] = [{k: h[k] for k in ("step", "tools/call_frequency", "tools/failure_frequency") if k in h}
                            for h in trainer.state.log_history if "tools/call_frequency" in h]
    if trainer.accelerator.is_main_process:
        import json

        Path(args.output_dir, "metrics.json").write_text(json.dumps(report, indent=2, default=str))
        Path(args.output_dir, "eval_setup.json").write_text(json.dumps(eval_setup(script, args), indent=1))
        recipe.print_table(before, after, clock.seconds, trainer.state.global_step)
        card = hub.model_card(args, model_args.model_name_or_path, script.dataset_name, report, script.reward_funcs)
        Path(args.output_dir, "README.md").write_text(card)
        if script.push:
            print("pushed:", hub.push(args.output_dir, args.hub_model_id, args.hub_token, args.hub_private_repo))
    recipe.shut_down(trainer)
    return report


def eval_setup(script: ToolRecipeArguments, args) -> dict:
    """What ``grpo-ext eval OUTPUT_DIR`` needs to evaluate the saved model as the recipe did: its
    environment, tools, held-out data and task metric (see :mod:`grpo_ext.recipe_kit.eval_cli`)."""
    builtin = script.dataset_name == BUILTIN_DATASET
    setup = {"environment": BUILTIN_DATASET if builtin else None, "tools": list(script.tools),
             "metrics": ["grpo_ext.recipe_kit.lookup:exact_answer"] if builtin else ["math_accuracy"],
             "seed": args.seed, "eval_size": script.eval_size, "max_completion_length": args.max_completion_length,
             "max_tool_calling_iterations": args.max_tool_calling_iterations}
    if builtin:  # other data: the held-out rows may be a hold-out of one file; --dataset names them
        setup["dataset"] = BUILTIN_DATASET
    return setup


def reward_funcs(script: ToolRecipeArguments, metrics: dict) -> list:
    """The recipe's rewards: ``--reward_funcs`` by name, or the built-in task's exact answer."""
    if script.reward_funcs:
        return list(script.reward_funcs)
    if script.dataset_name == BUILTIN_DATASET:
        return [lookup.exact_answer]
    raise ValueError(f"--reward_funcs is needed for dataset {script.dataset_name!r} (e.g. math_accuracy)")

