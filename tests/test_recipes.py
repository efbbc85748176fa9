"""The recipes: shipped configs, dataset formats, the offline default that must learn, DeepSpeed
ZeRO-2/3 with two processes, and resuming a stopped run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import ModelConfig

from grpo_ext import rewards
from grpo_ext import GRPOConfig, PPOConfig
from grpo_ext.recipe_kit import data, recipe, tool_recipe

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "recipes/configs").glob("*.yaml"))
ACCELERATE = Path(sys.executable).with_name("accelerate")
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_DISABLE_TELEMETRY="1")


@pytest.mark.parametrize("config", CONFIGS, ids=[c.name for c in CONFIGS])
def test_every_shipped_config_loads(config, tmp_path):
    config_cls = PPOConfig if config.name.startswith("ppo") else GRPOConfig
    script_cls = tool_recipe.ToolRecipeArguments if config.name.startswith("grpo_tools") else recipe.RecipeArguments
    script, args, model_args = recipe.parse((script_cls, config_cls, ModelConfig), config,
                                            ["--config", str(config), "--output_dir", str(tmp_path)])
    assert model_args.model_name_or_path and script.dataset_name
    for spec in script.reward_funcs or []:
        assert callable(rewards.resolve(spec))
    if args.reward_weights:
        assert len(args.reward_weights) == len(script.reward_funcs)


def test_accelerate_configs():
    for stage in (1, 2, 3):
        cfg = yaml.safe_load((ROOT / f"recipes/accelerate/zero{stage}.yaml").read_text())
        assert cfg["distributed_type"] == "DEEPSPEED" and cfg["deepspeed_config"]["zero_stage"] == stage
    offload = yaml.safe_load((ROOT / "recipes/accelerate/zero3_offload.yaml").read_text())
    assert offload["deepspeed_config"]["offload_param_device"] == "cpu"
    assert yaml.safe_load((ROOT / "recipes/accelerate/multi_gpu.yaml").read_text())["distributed_type"] == "MULTI_GPU"
    for path in (ROOT / "recipes/accelerate").glob("*.yaml"):  # 0: accelerate takes a free port, so runs side by side
        assert yaml.safe_load(path.read_text())["main_process_port"] == 0, path.name  # (tests under xdist) never collide


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_dataset_layouts_from_local_files(tmp_path):
    gsm = _write_jsonl(tmp_path / "gsm.jsonl", [{"question": "Two plus two?", "answer": "2+2=<<2+2=4>>4\n#### 4"}])
    math = _write_jsonl(tmp_path / "math.jsonl", [{"problem": "Half of 1?", "solution": "It is $\\boxed{\\frac12}$."}])
    (tmp_path / "plain.csv").write_text("question,answer\nOne plus one?,2\n")
    convo = _write_jsonl(tmp_path / "convo.jsonl", [{"prompt": [{"role": "user", "content": "3?"}], "answer": "3"}])
    got = {name: data.normalise(data.load(path))[0] for name, path in
           (("gsm8k", gsm), ("math", math), ("plain", str(tmp_path / "plain.csv")), ("conversational", convo))}
    assert got["gsm8k"]["prompt"] == "Two plus two?" and got["gsm8k"]["answer"] == "4"
    assert got["math"]["answer"] == "\\frac12"
    assert got["plain"]["answer"] == "2"
    assert got["conversational"]["prompt"] == [{"role": "user", "content": "3?"}]
    with_system = data.normalise(data.load(gsm), system_prompt="Be brief.", instruction="Answer in <answer> tags.")[0]
    assert with_system["prompt"] == [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Two plus two?\nAnswer in <answer> tags."}]


def test_missing_columns_fail_before_training(tmp_path):
    with pytest.raises(data.DatasetFormatError, match=r"has columns \['text', 'label'\]"):
        data.normalise(Dataset.from_dict({"text": ["x"], "label": ["y"]}))
    with pytest.raises(data.DatasetFormatError, match="verification_info"):
        data.normalise_code(Dataset.from_dict({"question": ["x"]}))
    kept = data.normalise_code(Dataset.from_dict({"question": ["a", "b"], "verification_info": [
        {"language": "python", "test_code": "assert True"}, {"language": "python"}]}))
    assert kept["prompt"] == ["a"]  # the malformed row 1 is reported and left out (rewards/code/judge_datasets.py)
    with pytest.raises(data.DatasetFormatError, match="cannot read"):
        (tmp_path / "x.xml").write_text("<a/>")
        data.load(str(tmp_path / "x.xml"))


def _run(cmd, timeout=900, cwd=ROOT):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV, cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc


def _offline_default_learns(script: str, out: Path):
    """A recipe's offline default, as is (output folder aside), with no network at all when the
    machine allows a network namespace: held-out accuracy from <= 0.3 to >= 0.7 in the default
    config's steps (``recipes/configs/<recipe>_offline.yaml``)."""
    config = yaml.safe_load((ROOT / "recipes/configs" / f"{Path(script).stem}_offline.yaml").read_text())
    cmd = [str(ACCELERATE), "launch", script, "--output_dir", str(out)]
    if os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "--net", *cmd]
    proc = _run(cmd, timeout=1200)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["before"]["accuracy"] <= 0.3 and metrics["after"]["accuracy"] >= 0.7, metrics
    assert metrics["steps"] == config["max_steps"]
    assert len(metrics["reward_curve"]) == config["max_steps"] // config["logging_steps"]
    assert (out / "reward_curve.png").read_bytes().startswith(b"\x89PNG")
    assert "before RL" in proc.stdout and "| accuracy |" in proc.stdout
    return proc


@pytest.mark.slow
def test_offline_default_learns(tmp_path):
    """The README's main command."""
    _offline_default_learns("recipes/grpo_math.py", tmp_path)
    assert AutoModelForCausalLM.from_pretrained(tmp_path).config.hidden_size == 64


@pytest.mark.slow
def test_ppo_offline_default_learns(tmp_path):
    """The PPO recipe's offline default, with the critic saved beside the policy."""
    _offline_default_learns("recipes/ppo_math.py", tmp_path)
    assert (tmp_path / "critic" / "value_head.safetensors").exists()
    assert "PPOTrainer" in (tmp_path / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_recipe_under_zero_with_two_processes(tmp_path, stage):
    cmd = [str(ACCELERATE), "launch", "--config_file", f"recipes/accelerate/zero{stage}.yaml", "--num_processes", "2",
           "recipes/grpo_math.py", "--output_dir", str(tmp_path), "--max_steps", "3", "--sft_warmup_steps", "20",
           "--per_device_train_batch_size", "16", "--logging_steps", "1", "--eval_size", "16"]
    proc = _run(cmd)
    assert "all_gather_into_tensor" not in proc.stdout + proc.stderr  # DeepSpeed's fallback notice, filtered
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 3 and len(metrics["reward_curve"]) == 3
    trained = AutoModelForCausalLM.from_pretrained(tmp_path)
    warmed = AutoModelForCausalLM.from_pretrained(tmp_path / "warmed-up")
    assert any(not (p == warmed.get_parameter(n)).all() for n, p in trained.named_parameters())


@pytest.mark.slow
def test_ppo_recipe_runs(tmp_path):
    _run([sys.executable, "recipes/ppo_math.py", "--output_dir", str(tmp_path), "--max_steps", "3",
          "--sft_warmup_steps", "20", "--eval_size", "16", "--logging_steps", "1"])
    assert (tmp_path / "critic" / "value_head.safetensors").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 3


@pytest.mark.slow
def test_code_recipe_runs_programs_in_the_sandbox(tmp_path):
    from grpo_ext.rewards.code import sandbox

    if not sandbox.namespaces_available():
        pytest.skip("the code sandbox needs root and unshare")
    rows = [{"question": f"Print {i}.", "verification_info": {"language": "python", "test_cases": [
        {"input": "", "output": f"{i}\n"}]}} for i in range(9)]  # one held out for evaluation, 8 to train
    path = _write_jsonl(tmp_path / "code.jsonl", rows)
    _run([sys.executable, "recipes/grpo_code.py", "--model_name_or_path", "builtin:tiny", "--dataset_name", path,
          "--dataset_test_split", "train", "--output_dir", str(tmp_path / "out"), "--max_steps", "2",
          "--per_device_train_batch_size", "8", "--num_generations", "4", "--max_completion_length", "16",
          "--learning_rate", "1e-4", "--reward_funcs", "code_execution", "--logging_steps", "1",
          "--dtype", "float32", "--eval_size", "4"])
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["steps"] == 2 and "pass rate" in metrics["after"]


def test_cpp_code_config_runs_on_a_code_contests_file(tmp_path):
    """The shipped C++ config, on the local CodeContests-layout example, with the tiny model: the
    layout is converted, the rows are C++, and the reward compiles what the model writes."""
    out = tmp_path / "out"
    _run([sys.executable, "recipes/grpo_code.py", "--config", "recipes/configs/grpo_qwen2.5-0.5b_code_cpp.yaml",
          "--model_name_or_path", "builtin:tiny", "--dtype", "float32", "--dataset_name",
          str(ROOT / "tests/data/code_contests_cpp.jsonl"), "--dataset_test_split", "train", "--output_dir", str(out),
          "--max_steps", "1", "--per_device_train_batch_size", "2", "--num_generations", "2",
          "--gradient_accumulation_steps", "1", "--max_completion_length", "8", "--eval_size", "2",
          "--logging_steps", "1", "--save_strategy", "no"])
    metrics = json.loads((out / "metrics.json").read_text())
    # one file, test split = train split: one of its two rows is held out of training and evaluated
    assert metrics["steps"] == 1 and metrics["after"]["n"] == 1 and len(metrics["evaluated"]["rows"]) == 1


@pytest.mark.slow
def test_resume_after_a_stop(tmp_path):
    """Stop a run (SIGKILL) once its step-2 checkpoint exists; resuming ends at the same step count
    as an uninterrupted run, with the same curve."""
    common = ["recipes/grpo_math.py", "--max_steps", "40", "--save_strategy", "steps", "--save_steps", "2",
              "--logging_steps", "1", "--sft_warmup_steps", "20", "--eval_size", "8", "--per_device_train_batch_size", "16"]
    _run([sys.executable, *common, "--output_dir", str(tmp_path / "whole")])
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    out = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, *common, "--output_dir", str(out)], env=ENV, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not (out / "checkpoint-2" / "trainer_state.json").exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for later in out.glob("checkpoint-*"):
        if later.name != "checkpoint-2":
            shutil.rmtree(later)  # the run may have got a little further: resume from step 2 all the same
    assert not (out / "metrics.json").exists(), "the run finished before it was stopped"
    _run([sys.executable, *common, "--output_dir", str(out), "--resume_from_checkpoint", str(out / "checkpoint-2")])
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["steps"] == whole["steps"] == 40
    assert [c["step"] for c in resumed["reward_curve"]] == list(range(1, 41))
    assert [c["reward"] for c in resumed["reward_curve"]] == pytest.approx([c["reward"] for c in whole["reward_curve"]])
