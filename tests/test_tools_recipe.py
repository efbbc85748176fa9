"""recipes/grpo_tools.py: the offline default learns to read its tool's results, and the pieces it
is made of (the lookup task's demonstrations, episodes, reward and multi-turn evaluation)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grpo_ext import GRPOConfig, GRPOTrainer, tools
from grpo_ext.recipe_kit import lookup
from grpo_ext.recipe_kit.tiny import build_tokenizer
from tests.test_tools import tool_model_path
from tests.tiny_setup import common_args

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_DISABLE_TELEMETRY="1")


def test_demonstrations_are_trls_rollouts():
    """A warm-up demonstration is token for token what TRL builds for the same exchange, with labels
    only on the model's turns."""
    tok = tools.add_tiny_tool_format(build_tokenizer(tools.TOOL_FORMAT_TOKENS))
    ids, labels = lookup.demonstration(tok, [lookup.LookupEnv().lookup], "qx", "7", None)
    assert tok.decode(ids) == ("tools: lookup\n<user>code of qx?\n<assistant><tool_call>lookup</tool_call><eos>"
                               "\n<tool>7\n<assistant>7<eos>")
    assert tok.decode([i for i, lab in zip(ids, labels) if lab != -100]) == "<tool_call>lookup</tool_call><eos>7<eos>"
    ids, labels = lookup.demonstration(tok, [lookup.LookupEnv().lookup], "qx", "7", guess="3")
    assert tok.decode(ids).endswith("<assistant>3<eos>") and tok.decode([i for i, lab in zip(ids, labels) if lab != -100]) == "3<eos>"


def test_task_split_and_reward():
    train, held_out = lookup.problems(0)
    assert len(train) == 576 and len(held_out) == 100 and not set(train["key"]) & set(held_out["key"])
    table = lookup.codes(0)
    assert table == lookup.codes(0) and table != lookup.codes(1) and set(table.values()) <= set("0123456789")
    env = lookup.env_factory(0)()
    assert env.reset(**held_out[0]) is None and env.lookup() == table[held_out[0]["key"]] == held_out[0]["answer"]
    call = {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "lookup", "arguments": {}}}]}
    completions = [[call, {"role": "tool", "name": "lookup", "content": "7"}, {"role": "assistant", "content": "7"}],
                   [{"role": "assistant", "content": " 7 "}], [call, {"role": "tool", "content": "7"}, {"role": "assistant", "content": "77"}]]
    assert lookup.exact_answer(completions, answer=["7", "7", "7"]) == [1.0, 1.0, 0.0]


def test_tool_stats():
    call = {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {}}}]}
    assert tools.tool_stats([{"role": "assistant", "content": "4"}]) == (False, False)
    assert tools.tool_stats([call, {"role": "tool", "name": "f", "content": "1"}, {"role": "assistant", "content": "1"}]) == (True, False)
    assert tools.tool_stats([call, {"role": "tool", "name": "g", "content": "{'error': 'Tool g not found.'}"}]) == (True, True)
    assert tools.tool_stats([{"role": "assistant", "content": "<tool_call>lookup"}]) == (False, True)


class Episode(lookup.LookupEnv):
    """The task's environment with its tool also under a one-letter name the tests can steer to."""

    table = lookup.codes(0)

    def f(self) -> str:
        """Look up the code of the key the question asks about."""
        return self.lookup()


@pytest.mark.slow
def test_evaluation_runs_episodes_greedily(tmp_path):
    """evaluate() resets one environment per row and runs TRL's tool loop; with generation steered
    to call f() first, every episode calls it and reads its own key's code."""
    ids = build_tokenizer(tools.TOOL_FORMAT_TOKENS).convert_tokens_to_ids
    chain = ["<assistant>", "<tool_call>", "f", "</tool_call>", "<eos>"]
    steer = {"sequence_bias": [[[ids(a), ids(b)], 50.0] for a, b in zip(chain, chain[1:])]}
    _, held_out = lookup.problems(0)
    args = GRPOConfig(**common_args(str(tmp_path), max_completion_length=16, max_tool_calling_iterations=1,
                                    generation_kwargs=steer))
    trainer = GRPOTrainer(tool_model_path(), [lookup.exact_answer], args, train_dataset=held_out,
                          environment_factory=Episode)
    result = tools.evaluate(trainer, held_out.select(range(6)), {"accuracy": lookup.exact_answer}, batch_size=4)
    assert result["n"] == 6 and result["tool_call_rate"] == 1.0 and result["malformed_call_rate"] == 0.0
    for sample, row in zip(result["samples"], held_out.select(range(3))):
        assert sample[1] == {"role": "tool", "name": "f", "content": row["answer"]}


@pytest.mark.slow
def test_offline_default_learns(tmp_path):
    """The recipe as shipped (output folder aside), with no network when the machine allows a network
    namespace: held-out accuracy rises by at least 0.2 and ends above half."""
    cmd = [str(Path(sys.executable).with_name("accelerate")), "launch", "recipes/grpo_tools.py", "--output_dir", str(tmp_path)]
    if os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "--net", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=ENV, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    before, after = metrics["before"], metrics["after"]
    assert after["accuracy"] >= before["accuracy"] + 0.2 and after["accuracy"] >= 0.5, metrics
    assert after["tool_call_rate"] >= 0.9 and after["malformed_call_rate"] <= 0.1, metrics
    assert metrics["tool_curve"] and all("tools/call_frequency" in h for h in metrics["tool_curve"])
    assert "| tool_call_rate |" in proc.stdout and "| malformed_call_rate |" in proc.stdout
