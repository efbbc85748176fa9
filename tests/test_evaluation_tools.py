"""``grpo-ext eval`` on a saved tiny tools run: the environment, tools, held-out keys and task
metric come from the run's eval_setup.json, rollouts go through TRL's tool loop, and the JSON is
recomputed here from its own per-sample texts."""

import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from grpo_ext.recipe_kit import cli

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_DISABLE_TELEMETRY="1")
METRIC = "grpo_ext.recipe_kit.lookup:exact_answer"


@pytest.mark.slow
def test_grpo_ext_eval_on_a_saved_tools_run(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "recipes/grpo_tools.py", "--output_dir", str(run), "--max_steps", "1", "--sft_warmup_steps", "60",
           "--tool_share", "1.0",
           "--eval_size", "4", "--per_device_train_batch_size", "8", "--num_generations", "4", "--eval_num_samples", "4",
           "--logging_steps", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=ENV, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    setup = json.loads((run / "eval_setup.json").read_text())
    assert setup["environment"] == "builtin:lookup" and setup["metrics"] == [METRIC] and setup["eval_size"] == 4

    out = tmp_path / "eval"
    assert cli.main(["eval", str(run), "--k", "1,2,4", "--output", str(out)]) == 0  # everything else from the run
    report = json.loads((out / "eval.json").read_text())
    assert report["environment"] == "builtin:lookup" and report["metrics"] == [METRIC]
    problems = report["problems"]
    recipe_after = json.loads((run / "evaluation.json").read_text())["after"]["problems"]
    assert [p["gold"] for p in problems] == [p["gold"] for p in recipe_after] and len(problems) == 4
    for p in problems:
        # the verdict is "the last assistant message is the code": recomputed from the kept texts
        assert p["verdicts"][METRIC] == [int(text.strip() == p["gold"]) for text in p["finals"]]
        assert p["correct"][METRIC] == sum(p["verdicts"][METRIC]) and p["n"] == 4
        assert len(p["tool_calls"]) == 4 and all(c in (0, 1, 2) for c in p["tool_calls"])
    for k in (1, 2, 4):  # pass@k by enumerating the k-subsets of each problem's verdicts
        value = sum(sum(any(p["verdicts"][METRIC][i] for i in s) for s in combinations(range(4), k))
                    / len(list(combinations(range(4), k))) for p in problems) / 4
        assert report["summary"][METRIC][f"pass@{k}"]["value"] == pytest.approx(value, abs=1e-9)
    assert report["summary"][METRIC]["greedy"]["value"] == pytest.approx(sum(p["greedy"][METRIC] for p in problems) / 4)
    # the same weights, seed and batches as the recipe's after-RL evaluation: the same rollouts
    for mine, theirs in zip(problems, recipe_after, strict=True):
        assert mine["finals"] == theirs["finals"] and mine["greedy_answer"] == theirs["greedy_answer"]
    assert any(c > 0 for p in problems for c in p["tool_calls"])  # the rollouts went through the tool loop
    assert (out / "pass_at_k.png").read_bytes().startswith(b"\x89PNG")
