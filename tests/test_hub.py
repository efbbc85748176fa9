"""Model card and push, against a local server standing in for the Hub (HF_ENDPOINT)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grpo_ext import GRPOConfig
from grpo_ext.recipe_kit import hub
from tests.hub_server import FakeHub

ROOT = Path(__file__).resolve().parents[1]
# These tests are about the push, not the evaluation (tests/test_evaluation*.py): 4 held-out problems,
# not the default 50 with 8 samples each, which scores 900 completions of a barely warmed-up model
SMALL_EVAL = ["--eval_size", "4", "--eval_batch_size", "4"]


def test_model_card_has_what_users_need(tmp_path):
    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, hub_model_id="me/adder", kl_estimator="k3+",
                      beta=0.01, advantage_mode="rloo", num_generations=4, per_device_train_batch_size=4,
                      reward_weights=[1.0, 0.2])
    metrics = {"before": {"accuracy": 0.2, "format": 1.0, "n": 50}, "after": {"accuracy": 0.86, "format": 1.0, "n": 50},
               "steps": 1000, "seconds": 190}
    card = hub.model_card(args, "builtin:tiny", "builtin:arithmetic", metrics, ["math_accuracy", "answer_format"])
    for needle in ("base_model: builtin:tiny", "datasets: [builtin:arithmetic]", "`rloo`", "`k3+`", "beta = 0.01",
                   "`math_accuracy` (1)", "`answer_format` (0.2)", "| learning_rate |", "| accuracy | 0.200 | 0.860 |",
                   "![reward curve](reward_curve.png)", 'AutoModelForCausalLM.from_pretrained("me/adder")'):
        assert needle in card, needle


@pytest.mark.slow
def test_recipe_pushes_model_tokenizer_card_and_curve(tmp_path):
    with FakeHub() as fake:
        env = {"HF_ENDPOINT": fake.url, "HF_TOKEN": "hf_test_token", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
               "HF_HUB_DISABLE_TELEMETRY": "1", "HOME": str(tmp_path)}
        cmd = [sys.executable, str(ROOT / "recipes/grpo_math.py"), "--max_steps", "3", "--sft_warmup_steps", "5",
               *SMALL_EVAL, "--output_dir", str(tmp_path / "out"), "--push_to_hub", "true", "--hub_model_id", "me/adder"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-4000:]
        files = fake.repos["me/adder"]["files"]
        for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md",
                     "reward_curve.png", "metrics.json"):
            assert name in files, (name, sorted(files))
        assert not any(p.startswith(("checkpoint-", "warmed-up/", "initial-model/")) for p in files), sorted(files)
        assert files["model.safetensors"] == (tmp_path / "out" / "model.safetensors").read_bytes()
        assert files["reward_curve.png"].startswith(b"\x89PNG")
        assert "# adder" in files["README.md"].decode() or "me/adder" in files["README.md"].decode()
        assert json.loads(files["metrics.json"])["steps"] == 3


@pytest.mark.slow
def test_run_without_push_never_contacts_the_hub(tmp_path):
    with FakeHub() as fake:
        env = {"HF_ENDPOINT": fake.url, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        cmd = [sys.executable, str(ROOT / "recipes/grpo_math.py"), "--max_steps", "2", "--sft_warmup_steps", "5",
               *SMALL_EVAL, "--output_dir", str(tmp_path / "out")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert fake.requests == []


def test_the_cards_how_to_load_works_from_any_folder(tmp_path, monkeypatch):
    import re

    from transformers import AutoModelForCausalLM

    from tests.tiny_setup import tiny_model_path

    args = GRPOConfig(output_dir=tiny_model_path(), use_cpu=True, report_to="none")
    card = hub.model_card(args, "builtin:tiny", "builtin:arithmetic", {"after": {"n": 1}}, ["math_accuracy"])
    path = re.search(r'AutoModelForCausalLM.from_pretrained\("([^"]+)"\)', card).group(1)
    monkeypatch.chdir(tmp_path)  # not the run's parent folder
    assert AutoModelForCausalLM.from_pretrained(path).config.hidden_size == 32
