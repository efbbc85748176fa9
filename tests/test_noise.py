"""A run prints what it is doing, not notices about the libraries: the warnings every run used to
print (transformers' gradient_checkpointing deprecations, torch's pin_memory, DeepSpeed's
accelerator notice, transformers' load report for the PPO critic, its per-file progress bars, the
invalid ``top_k`` flag of greedy evaluation, TRL's experimental-feature notice) are fixed or
narrowly filtered; a short run still draws its reward curve."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from grpo_ext import GRPOConfig, PPOConfig

ROOT = Path(__file__).resolve().parents[1]
NOISE = ("gradient_checkpointing", "pin_memory", "Setting accelerator to CPU", "LOAD REPORT", "FutureWarning",
         "Writing model shards", "Loading weights", "generation flags are not valid", "experimental feature",
         "all_gather_into_tensor")


@pytest.mark.skipif(torch.accelerator.is_available(), reason="the CPU-only defaults")
@pytest.mark.parametrize("config", [GRPOConfig, PPOConfig])
def test_config_on_a_cpu_only_machine_is_quiet_and_runs(config, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        args = config(output_dir=str(tmp_path), report_to="none")
    assert [str(w.message) for w in caught] == []
    assert args.bf16 is False and args.dataloader_pin_memory is False
    assert args.activation_checkpointing is True and args.gradient_checkpointing is True  # TRL's default, new name
    # an explicit use_cpu keeps TRL's bf16 default (autocast on the CPU), as trl.GRPOConfig does
    assert config(output_dir=str(tmp_path), report_to="none", use_cpu=True).bf16 is True


def test_a_recipe_run_prints_no_library_notices(tmp_path):
    """The PPO recipe (the GRPO trainer's path plus the critic's load), two steps."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "recipes/ppo_math.py", "--output_dir", str(tmp_path), "--max_steps", "2",
                           "--sft_warmup_steps", "2", "--eval_size", "4", "--logging_steps", "1"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = proc.stdout + proc.stderr
    assert [n for n in NOISE if n in printed] == [], printed[-3000:]
    assert "| accuracy |" in proc.stdout


def test_a_short_run_logs_every_step_and_draws_its_curve(tmp_path):
    from grpo_ext.recipe_kit import recipe_inputs
    from grpo_ext.recipe_kit.report import _plot

    args = GRPOConfig(output_dir=str(tmp_path), report_to="none", max_steps=3, logging_steps=10)
    recipe_inputs.check_training(args)
    assert args.logging_steps == 1  # three steps, three points on the curve
    args = GRPOConfig(output_dir=str(tmp_path), report_to="none", max_steps=30, logging_steps=10)
    recipe_inputs.check_training(args)
    assert args.logging_steps == 10  # the user's (or the config's) choice stands when it logs at all
    for curve in ([], [{"step": 1, "reward": 0.5}]):
        _plot(curve, tmp_path / "curve.png")
        assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")
