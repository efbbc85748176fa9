"""Real DeepSpeed runs: 2 processes on CPU (gloo), launched with accelerate, saved and reloaded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

from grpo_ext.ppo import CRITIC_DIR, Critic
from tests.tiny_setup import tiny_model_path

ROOT = Path(__file__).resolve().parents[1]


def launch(stage: int, algo: str, out: Path) -> dict:
    """The run, in an extension cache of its own: DeepSpeed must not compile its shared-memory op
    (grpo_ext.config.skip_cpu_shm_build; if it did, each run would take minutes more and fail here)."""
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--config_file", str(ROOT / f"recipes/accelerate/zero{stage}.yaml"),
           "--num_processes", "2", str(ROOT / "tests/scripts/ppo_zero.py"), tiny_model_path(), str(out), algo]
    extensions = out.parent / f"{out.name}-torch-extensions"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TORCH_EXTENSIONS_DIR=str(extensions))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert not (extensions / "deepspeed_shm_comm").exists(), "DeepSpeed compiled its shm op for a CPU run"
    return json.loads((out / "run.json").read_text())


SKIP_PROBE = """
import json, os, sys
from grpo_ext.config import skip_cpu_shm_build
os.environ.pop("ACCELERATE_USE_DEEPSPEED", None)
without = skip_cpu_shm_build(None), "deepspeed" in sys.modules
os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
with_env = skip_cpu_shm_build(None)
from deepspeed.accelerator import get_accelerator
from deepspeed.comm.torch import build_shm_op
from deepspeed.accelerator.cuda_accelerator import CUDA_Accelerator
builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
cuda = [type(CUDA_Accelerator().create_op_builder(name)).__name__ for name in ("ShareMemCommBuilder", "CPUAdamBuilder")]
print(json.dumps({"without": without, "with": with_env, "op": builder.NAME, "built": build_shm_op() is not None,
                  "cuda": cuda}))
"""


@pytest.mark.slow
def test_a_cpu_deepspeed_run_does_not_build_the_shm_op(tmp_path):
    """The op that DeepSpeed's process group start compiles on CPU (minutes of g++) is the one
    marked unbuildable, build_shm_op then returns None without compiling, and a run without
    DeepSpeed does not even import it. On a GPU there is nothing to skip: DeepSpeed's CUDA
    accelerator has no such op (its table does have others, CPU Adam)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="", TORCH_EXTENSIONS_DIR=str(tmp_path / "ext"))
    proc = subprocess.run([sys.executable, "-c", SKIP_PROBE], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    assert probe == {"without": [False, False], "with": True, "op": "deepspeed_shm_comm", "built": False,
                     "cuda": ["NoneType", "CPUAdamBuilder"]}
    assert not (tmp_path / "ext").exists()


@pytest.mark.slow
@pytest.mark.parametrize("stage, algo", [(2, "grpo"), (3, "grpo"), (3, "ppo"), (3, "grpo-full")])
def test_two_process_zero_run_saves_a_loadable_model(tmp_path, stage, algo):
    run = launch(stage, algo, tmp_path)
    assert run["processes"] == 2 and run["steps"] == 3
    assert all(isinstance(h["loss"], float) for h in run["logs"])
    if algo == "grpo-full":  # the exact KL ran on the gathered head: finite, >= 0, and moving off 0
        assert len(run["kl"]) == 3 and all(k >= 0 for k in run["kl"]) and run["kl"][-1] > 0
    trained = AutoModelForCausalLM.from_pretrained(tmp_path)
    initial = AutoModelForCausalLM.from_pretrained(tiny_model_path())
    changed = [n for n, p in trained.named_parameters() if not (p == initial.get_parameter(n)).all()]
    assert changed, "the saved model equals the initial one: ZeRO saved nothing it trained"
    if algo == "ppo":
        critic = Critic.from_pretrained(str(tmp_path / CRITIC_DIR))
        assert critic.head.weight.shape == (1, trained.config.hidden_size) and critic.head.weight.abs().sum() > 0


@pytest.mark.slow
def test_dynamic_sampling_with_two_processes(tmp_path):
    """Groups are filtered on each process, the rounds run in lockstep, and each process trains on
    a full batch of kept groups."""
    run = launch(2, "grpo-dynamic", tmp_path)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [len(batches) for batches in ranks] == [3, 3]  # one generation batch per step on each
    for batches in ranks:
        for batch in batches:
            assert len(batch) == 4 and len(set(batch)) == 1 and int(batch[0][0]) % 2 == 1, batch
    logs = run["logs"]
    assert all(h["dynamic_sampling/shortfall_share"] == 0 for h in logs)
    assert any(h["dynamic_sampling/rounds"] > 1 for h in logs), "no group was ever filtered: the test tests nothing"
    assert all(h["dynamic_sampling/prompts"] == 2 * h["dynamic_sampling/rounds"] for h in logs)  # 1 a process a round
