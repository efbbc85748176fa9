"""bench/gpu: the GPU benchmark's CPU smoke run (every stage, tiny shapes) and its parts."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gpu import compare, driver, recipe_runs, shapes

ROOT = Path(__file__).resolve().parents[1]


def test_shapes_have_the_published_parameter_counts():
    """Qwen2.5-0.5B has 494,032,768 parameters and Qwen2.5-1.5B 1,543,714,304 (embeddings tied):
    the counts their model cards give as 0.49B and 1.54B, from the shapes written here."""
    assert shapes.parameters("qwen2.5-0.5b") == 494_032_768
    assert shapes.parameters("qwen2.5-1.5b") == 1_543_714_304
    for name in ("qwen2.5-0.5b", "qwen2.5-1.5b"):
        shape = shapes.SHAPES[name]
        assert shape["vocab_size"] == 151936 and shape["tie_word_embeddings"] and shape["rope_theta"] == 1e6


def test_the_tiny_shape_builds_the_model_it_describes(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = shapes.build("tiny", tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(path)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert sum(p.numel() for p in model.parameters()) == shapes.parameters("tiny")
    assert len(AutoTokenizer.from_pretrained(path)) == shapes.TINY["vocab_size"]
    with pytest.raises(ValueError, match="choose one of tiny, qwen2.5-0.5b, qwen2.5-1.5b"):
        shapes.build("qwen3", tmp_path / "x")


def test_rows_compare_trl_with_ours_at_k3_and_each_chunk_size():
    rows = compare.rows_for(256, ["256", "all"])
    assert rows == [{"trainer": "trl", "estimator": "k3", "chunk": None},
                    {"trainer": "ours", "estimator": "k3", "chunk": None},
                    {"trainer": "ours", "estimator": "full", "chunk": 256},
                    {"trainer": "ours", "estimator": "full", "chunk": 8 * 256}]


def test_table_gives_each_row_its_speed_relative_to_trl_of_the_same_length():
    def row(trainer, length, step, chunk=None):
        return {"trainer": trainer, "estimator": "full" if chunk else "k3", "chunk": chunk, "length": length,
                "step_s": step, "tokens_per_s": 8 * length / step, "peak_gib": None, "losses_finite": True, "kl": 0.0}

    rows = [row("trl", 256, 2.0), row("ours", 256, 4.0, chunk=2048), row("trl", 1024, 8.0), row("ours", 1024, 5.0),
            {"trainer": "ours", "estimator": "full", "chunk": 256, "length": 1024, "error": "out of GPU memory: x"}]
    lines = compare.table(rows, "qwen2.5-0.5b", 2, ["a note"], "NVIDIA H200, bf16").splitlines()
    assert lines[0].startswith("qwen2.5-0.5b (random weights), 8 completions per step, beta 0.04, NVIDIA H200, bf16;")
    body = [line for line in lines if line.startswith("| 256") or line.startswith("| 1024")]
    assert "| 2048 (all) | 4.00 | 512 | 0.50x |" in body[1]
    assert "| 5.00 | 1638 | 1.60x |" in body[3]
    assert "out of GPU memory" in body[4]
    assert lines[-1] == "- a note"


def test_recipe_command_launches_the_recipe_with_the_projects_accelerate_configs(tmp_path):
    plain = recipe_runs.command("plain", "/m", tmp_path, 3, 64, 8, cuda=True)
    zero3 = recipe_runs.command("zero3", "/m", tmp_path, 3, 64, 8, cuda=False)
    assert plain[1:3] == ["-m", "accelerate.commands.launch"] and "--config_file" not in plain
    assert plain[plain.index("--mixed_precision") + 1] == "bf16" and plain[-2:] == ["--bf16", "true"]
    assert zero3[zero3.index("--config_file") + 1] == str(ROOT / "recipes/accelerate/zero3.yaml")
    assert "--bf16" not in zero3 and zero3[zero3.index("--num_processes") + 1] == "1"
    assert str(ROOT / "recipes/grpo_math.py") in zero3 and zero3[zero3.index("--max_steps") + 1] == "3"


def _fake_run(out: Path, model: str, losses: list[float]) -> None:
    """A run's output folder as the recipe leaves it: the model, metrics.json, the last checkpoint's log."""
    shutil.copytree(model, out)
    (out / "metrics.json").write_text("{}")
    log = [{"step": i + 1, "loss": x} for i, x in enumerate(losses)] + [{"train_loss": 0.0}]
    (out / f"checkpoint-{len(losses)}").mkdir()
    (out / f"checkpoint-{len(losses)}/trainer_state.json").write_text(
        json.dumps({"global_step": len(losses), "log_history": log}))


def test_the_check_fails_a_run_that_saved_the_initial_model(tmp_path):
    """A run whose save wrote the untrained weights must not pass as trained."""
    model = shapes.build("tiny", tmp_path / "initial")
    _fake_run(tmp_path / "run", model, [0.1, 0.2])
    result = recipe_runs.check(tmp_path / "run", model, 2)
    assert result["reloads"] and result["losses_finite"] and result["tensors_changed"].startswith("0 of")
    assert "equals the initial one" in result["error"]


def test_the_check_fails_a_non_finite_loss_and_missing_steps(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    model = shapes.build("tiny", tmp_path / "initial")
    trained = AutoModelForCausalLM.from_pretrained(model)
    with torch.no_grad():
        trained.model.norm.weight.add_(0.5)
    _fake_run(tmp_path / "run", model, [0.1, math.nan])
    trained.save_pretrained(tmp_path / "run")
    result = recipe_runs.check(tmp_path / "run", model, 3)
    assert result["tensors_changed"].startswith("1 of") and result["weights_finite"]
    assert result["error"] == "2 steps of 3; a loss is not finite"


def test_a_stage_that_does_not_fit_the_budget_is_skipped_and_said_so(tmp_path):
    report = driver.Report(tmp_path, driver.Budget(100), "cpu")
    assert report.stage("first", 60, lambda limit: limit) == 60
    report.budget.total = report.budget.used() + driver.MIN_START - 1
    assert report.stage("second", 60, lambda limit: 1 / 0 if limit else 0) is None
    report.budget.total = report.budget.used() + 50

    def fails(limit):
        raise subprocess.CalledProcessError(3, ["x"])

    assert report.stage("third", 60, fails) is None
    stages = json.loads((tmp_path / "gpu_run.json").read_text())["stages"]
    assert [s["result"].split(":")[0] for s in stages] == ["done", "skipped", "failed"]
    assert stages[0]["limit_s"] == 60 and stages[2]["limit_s"] <= 50
    assert "| second | " in (tmp_path / "gpu_run.md").read_text()


def test_missing_packages_without_wheels_stop_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(driver.NEEDED, "grpo_ext_no_such_module", "grpo-ext-no-such-dist")
    with pytest.raises(SystemExit, match="missing packages grpo-ext-no-such-dist and no wheel folder .*wheels.sh"):
        driver.install(tmp_path / "none", 10, open(os.devnull, "w"))


@pytest.mark.slow
def test_the_cpu_smoke_run_goes_through_every_stage(tmp_path):
    """bench/gpu/run.sh --cpu: the recipe plain, under ZeRO-2 and under ZeRO-3, then ours against
    TRL, on a tiny Qwen2-architecture model; each recipe run's saved model reloads, trained."""
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHON=sys.executable, OMP_NUM_THREADS="1")
    proc = subprocess.run(["bash", str(ROOT / "bench/gpu/run.sh"), "--cpu", "--out", str(out), "--work",
                           str(tmp_path / "work"), "--budget", "1500"], capture_output=True, text=True, env=env,
                          timeout=1600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + (out / "gpu_run.log").read_text()[-4000:]
    run = json.loads((out / "gpu_run.json").read_text())
    assert [s["stage"] for s in run["stages"]] == ["install", "build tiny", "recipe plain", "recipe zero2",
                                                  "recipe zero3", "bench tiny 8"]
    assert all(s["result"] == "done" for s in run["stages"])
    for recipe in run["recipes"]:
        assert recipe["ok"] and recipe["steps"] == 2 and len(recipe["losses"]) == 2 and recipe["losses_finite"]
        changed, total = recipe["tensors_changed"].split(" of ")
        assert recipe["reloads"] and recipe["weights_finite"] and int(changed) > 0 and total == "26"
    rows = json.loads((tmp_path / "work/bench-tiny-8/trainer_vs_trl.json").read_text())["rows"]
    assert [(r["trainer"], r["estimator"], r["chunk"]) for r in rows] == [
        ("trl", "k3", None), ("ours", "k3", None), ("ours", "full", 16), ("ours", "full", 64)]
    for r in rows:
        assert r["steps"] == 1 and r["step_s"] > 0 and r["losses_finite"] and r["peak_gib"] is None
        assert 0 < r["mean_completion"] <= 8 and r["tokens_per_s"] == pytest.approx(8 * r["mean_completion"] / r["step_s"])
    text = (out / "gpu_run.md").read_text()
    assert "## recipes/grpo_math.py" in text and "| zero3 |" in text and "| 8 | trl.GRPOTrainer | k3 |" in text
