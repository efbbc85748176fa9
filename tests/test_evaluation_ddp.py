"""Evaluation under DDP is not duplicated: two gloo processes (accelerate's multi-GPU config on
CPU) each evaluate their share of the problems, every problem is scored exactly once across them,
both processes end with the same gathered records, and those equal a one-process run's.

Run as a script, this file is the worker: ``python tests/test_evaluation_ddp.py MODEL OUT N PER_CALL``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = Path(sys.executable).with_name("accelerate")
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_OFFLINE="1")
K = 4


def _worker(model: str, out: Path, n: int, per_call: int) -> None:
    import torch
    from accelerate import PartialState
    from datasets import Dataset

    from grpo_ext import GRPOConfig, GRPOTrainer, evaluation

    torch.set_num_threads(1)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        PartialState(cpu=True, backend="gloo")
    rank = int(os.environ.get("RANK", "0"))
    calls = out / f"calls-{world}-{rank}.jsonl"

    def digit_metric(completions, idx, **kwargs):
        """1.0 when the completion holds a digit; notes which problems this process scored."""
        with calls.open("a") as f:
            f.write(json.dumps(list(idx)) + "\n")
        return [float(any(ch.isdigit() for ch in c)) for c in completions]

    data = Dataset.from_dict({"prompt": [f"{i}+{i % 3}=" for i in range(n)], "answer": [str(i + i % 3) for i in range(n)],
                              "idx": list(range(n))})
    args = GRPOConfig(output_dir=str(out / f"scratch-{world}-{rank}"), per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=6, report_to="none", save_strategy="no", use_cpu=True, seed=0, beta=0.0,
                      ddp_backend="gloo" if world > 1 else None)
    trainer = GRPOTrainer(model, reward_funcs=[digit_metric], args=args, train_dataset=data)
    result = evaluation.evaluate(trainer, data, {"digit": digit_metric}, K, 1.0, per_call, seed=0)
    (out / f"result-{world}-{rank}.json").write_text(json.dumps(
        {"world": trainer.accelerator.num_processes, "summary": result["summary"], "problems": result["problems"]}))


def _run(launcher: list[str], model: str, out: Path, n: int, per_call: int) -> None:
    cmd = [*launcher, str(Path(__file__)), model, str(out), str(n), str(per_call)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=ENV, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]


def _scored(out: Path, world: int, rank: int) -> list[int]:
    return [i for line in (out / f"calls-{world}-{rank}.jsonl").read_text().splitlines() for i in json.loads(line)]


@pytest.mark.slow
def test_two_processes_evaluate_each_problem_once_and_agree_with_one(tmp_path):
    from tiny_setup import tiny_model_path

    model, n, per_call = tiny_model_path(), 7, 2  # batches 0-1, 2-3, 4-5 and 6 (padded to two rows)
    _run([sys.executable], model, tmp_path, n, per_call)
    _run([str(ACCELERATE), "launch", "--config_file", str(ROOT / "recipes/accelerate/multi_gpu.yaml"),
          "--num_processes", "2"], model, tmp_path, n, per_call)
    one = json.loads((tmp_path / "result-1-0.json").read_text())
    two = [json.loads((tmp_path / f"result-2-{r}.json").read_text()) for r in (0, 1)]
    assert one["world"] == 1 and [t["world"] for t in two] == [2, 2]
    # process 0 scored batches 0 and 2 (problems 0, 1, 4, 5), process 1 batches 1 and 3 (2, 3, 6): each
    # problem once greedy and K times sampled, the padding row of the last batch never
    by_rank = [sorted(_scored(tmp_path, 2, r)) for r in (0, 1)]
    assert by_rank[0] == sorted([0, 1, 4, 5] * (K + 1)) and by_rank[1] == sorted([2, 3, 6] * (K + 1))
    assert sorted(_scored(tmp_path, 1, 0)) == sorted(list(range(n)) * (K + 1))
    # both processes hold all records, in order, and the same figures
    assert two[0]["problems"] == two[1]["problems"] and two[0]["summary"] == two[1]["summary"]
    assert [p["index"] for p in two[0]["problems"]] == list(range(n))
    # a batch is the same rows with the same seed whatever the number of processes: the same samples
    # (problem 6's batch is padded with two processes, so only its greedy answer must agree)
    keys = ("greedy", "greedy_answer", "correct", "verdicts", "answers", "finals")
    for a, b in zip(one["problems"][:6], two[0]["problems"][:6], strict=True):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}, a["index"]
    assert one["problems"][6]["greedy_answer"] == two[0]["problems"][6]["greedy_answer"]
    assert any(0 < p["correct"]["digit"] < K for p in one["problems"])  # the verdicts are not all alike


if __name__ == "__main__":
    _worker(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    from grpo_ext.recipe_kit import recipe

    recipe.exit_process()
