"""``--eval_strategy steps`` out of the box in every recipe (tiny, short runs): the held-out rows
are the eval dataset, the figures are logged during training and the before / after report
carries them with intervals and p-values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_DISABLE_TELEMETRY="1")
EVAL = ["--eval_strategy", "steps", "--eval_steps", "1", "--eval_num_samples", "2", "--max_steps", "2",
        "--logging_steps", "1", "--max_completion_length", "8"]


def _code_rows(tmp_path: Path) -> str:
    rows = [{"question": f"Print {i}.", "verification_info": {"language": "python", "test_cases": [
        {"input": "", "output": f"{i}\n"}]}} for i in range(6)]
    path = tmp_path / "code.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


RECIPES = {
    "grpo_math": lambda tmp: ["--sft_warmup_steps", "0", "--eval_size", "4", "--per_device_train_batch_size", "8",
                              "--num_generations", "4"],
    "ppo_math": lambda tmp: ["--sft_warmup_steps", "0", "--eval_size", "4", "--per_device_train_batch_size", "8"],
    "grpo_tools": lambda tmp: ["--sft_warmup_steps", "0", "--eval_size", "4", "--per_device_train_batch_size", "8",
                               "--num_generations", "4"],
    "grpo_code": lambda tmp: ["--model_name_or_path", "builtin:tiny", "--dtype", "float32", "--dataset_name",
                              _code_rows(tmp), "--dataset_test_split", "train", "--eval_size", "1",
                              "--reward_funcs", "code_execution", "--per_device_train_batch_size", "4",
                              "--num_generations", "2", "--gradient_accumulation_steps", "1", "--save_strategy", "no"],
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_eval_strategy_steps_in_every_recipe(recipe, tmp_path):
    if recipe == "grpo_code":
        from grpo_ext.rewards.code import sandbox

        if not sandbox.namespaces_available():
            pytest.skip("the code sandbox needs root and unshare")
    out = tmp_path / "out"
    cmd = [sys.executable, f"recipes/{recipe}.py", "--output_dir", str(out), *EVAL, *RECIPES[recipe](tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=ENV, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    printed = proc.stdout + proc.stderr  # the library notices the recipes silence (grpo_tools: environment_factory's)
    assert [n for n in ("experimental feature", "generation flags are not valid", "Writing model shards") if n in printed] == []
    report = json.loads((out / "metrics.json").read_text())["evaluation"]
    records = json.loads((out / "evaluation.json").read_text())
    assert [run["step"] for run in records["during_training"]] == [1, 2]  # once per step, not twice at the end
    metric = next(iter(report["after"]))
    figures = set(report["after"][metric])
    assert {"greedy", "avg@2", "pass@1", "pass@2", "maj@2"} <= figures
    for when in ("before", "after"):
        for fig in report[when][metric].values():
            assert 0.0 <= fig["low"] <= fig["value"] <= fig["high"] <= 1.0
    assert set(report["p_values"][metric]) == figures and all(0 < p <= 1 for p in report["p_values"][metric].values())
    # the after-figures are the last step's, reused, not measured twice
    assert records["after"]["reused_from_step"] == 2
    assert records["after"]["summary"] == records["during_training"][-1]["summary"]
    assert 0 < report["share_of_time"] < 1 and report["seconds"]["evaluations_during_training"] == 2
    assert f"| {metric} | before RL | after RL | p |" in proc.stdout
    assert f"| {metric} | before RL | after RL | p |" in (out / "README.md").read_text()  # the model card
    assert (out / "pass_at_k.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("argv", "k"), [
    ([], 1),  # the default run: greedy and one sample before / after, not eight
    (["--eval_num_samples", "8"], 8),
    (["--eval_num_samples=4"], 4),
    (["--eval_strategy", "steps", "--eval_steps", "5"], 8),  # compared with the evaluations during training: their k
])
def test_before_after_draws_k_samples_only_when_asked(argv, k):
    from trl import ModelConfig

    from grpo_ext import GRPOConfig
    from grpo_ext.recipe_kit import recipe

    default = ROOT / "recipes/configs/grpo_math_offline.yaml"
    _, args, _ = recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), default, ["--output_dir", "x", *argv])
    assert args.eval_num_samples == k


def test_a_config_naming_eval_num_samples_asks_for_them(tmp_path):
    from trl import ModelConfig

    from grpo_ext import GRPOConfig
    from grpo_ext.recipe_kit import recipe

    config = tmp_path / "c.yaml"
    config.write_text((ROOT / "recipes/configs/grpo_math_offline.yaml").read_text() + "eval_num_samples: 6\n")
    _, args, _ = recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), ROOT / "recipes/configs/grpo_math_offline.yaml",
                              ["--config", str(config)])
    assert args.eval_num_samples == 6
