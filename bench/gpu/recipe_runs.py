"""The recipe stage of the GPU benchmark: ``accelerate launch recipes/grpo_math.py`` on a locally
built random-weights model, with no accelerate config (one process), then under
``recipes/accelerate/zero2.yaml`` and ``zero3.yaml`` with one process; each run checked.

A run passes when the launch exits 0, the training log (the last checkpoint's
``trainer_state.json``) has every step it was asked for with finite losses, the recipe wrote its
``metrics.json``, and the model it saved reloads with ``from_pretrained`` with finite weights that
differ from the initial ones. The reward is ``digit_share`` (bench/gpu/rewards.py) next to the
recipe's ``math_accuracy``: a random model's completions never solve a problem, and rewards that
are all equal give zero advantages and no update to check.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

from bench.gpu import bounded

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {"plain": None, "zero2": "recipes/accelerate/zero2.yaml", "zero3": "recipes/accelerate/zero3.yaml"}
CHECK_S = 20  # seconds of a run's limit kept for the checks after it (two model loads at real shapes)


def command(kind: str, model: str, out: Path, steps: int, length: int, eval_size: int, cuda: bool) -> list[str]:
    """The ``accelerate launch`` command line of one recipe run."""
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
                  "--dynamo_backend", "no"]
    if CONFIGS[kind]:
        accelerate += ["--config_file", str(ROOT / CONFIGS[kind])]
    else:
        accelerate += ["--mixed_precision", "bf16" if cuda else "no"]
    recipe = [str(ROOT / "recipes/grpo_math.py"), "--model_name_or_path", model, "--output_dir", str(out),
              "--max_steps", str(steps), "--per_device_train_batch_size", "8", "--num_generations", "8",
              "--max_completion_length", str(length), "--eval_size", str(eval_size), "--eval_batch_size", str(eval_size),
              "--beta", "0.04", "--learning_rate", "1e-4", "--logging_steps", "1",
              "--save_strategy", "steps", "--save_steps", str(steps), "--save_only_model", "true",
              "--reward_modules", str(ROOT / "bench/gpu/rewards.py"),
              "--reward_funcs", "digit_share", "math_accuracy", "--reward_weights", "1.0", "1.0"]
    if cuda:
        recipe += ["--bf16", "true"]
    return accelerate + recipe


def run(kind: str, model: str, work: Path, steps: int, length: int, eval_size: int, cuda: bool,
        timeout: float, env: dict, log) -> dict:
    """Launch one recipe run and check what it left behind, in ``timeout`` seconds together."""
    out = work / f"recipe-{kind}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = command(kind, model, out, steps, length, eval_size, cuda)
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    try:
        launch = max(10.0, timeout - CHECK_S)
        proc = bounded.run(cmd, launch, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        return {"run": kind, "ok": False, "error": f"stopped at its time limit ({launch:.0f} s)"}
    result = {"run": kind, "exit_code": code, **check(out, model, steps)}
    result["ok"] = code == 0 and not result.get("error")
    shutil.rmtree(out, ignore_errors=True)  # a model and a checkpoint per run: gigabytes at real shapes
    return result


def check(out: Path, initial: str, steps: int) -> dict:
    """Steps, losses, metrics.json and the saved model's reload, read from the run's output folder."""
    states = sorted(out.glob("checkpoint-*/trainer_state.json"))
    if not states:
        return {"error": f"no checkpoint-*/trainer_state.json under {out}: the run did not reach its last step"}
    state = json.loads(states[-1].read_text())
    losses = [h["loss"] for h in state["log_history"] if "loss" in h and "train_loss" not in h]
    result = {"steps": state["global_step"], "losses": losses,
              "losses_finite": bool(losses) and all(math.isfinite(x) for x in losses),
              "metrics_json": (out / "metrics.json").is_file()}
    result.update(reload(out, initial))
    problems = [f"{result['steps']} steps of {steps}" if result["steps"] != steps else "",
                "a loss is not finite" if not result["losses_finite"] else "",
                "no metrics.json" if not result["metrics_json"] else "", result.pop("reload_error", "")]
    if any(problems):
        result["error"] = "; ".join(p for p in problems if p)
    return result


def reload(out: Path, initial: str) -> dict:
    """Load the saved model again; its dtype, whether its weights are finite and how many changed."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        trained = AutoModelForCausalLM.from_pretrained(out)
    except Exception as err:  # the point of the check: any failure to load is the result
        return {"reloads": False, "reload_error": f"the saved model does not load: {err}"}
    start = AutoModelForCausalLM.from_pretrained(initial, dtype=trained.dtype)  # compared at the saved precision
    changed, finite, total = 0, True, 0
    for name, param in trained.named_parameters():
        total += 1
        finite = finite and bool(torch.isfinite(param).all())
        changed += bool((param != start.get_parameter(name)).any())
    result = {"reloads": True, "dtype": str(trained.dtype).removeprefix("torch."), "weights_finite": finite,
              "tensors_changed": f"{changed} of {total}"}
    if not finite or changed == 0:
        result["reload_error"] = "the reloaded weights are not finite" if not finite else \
            "the reloaded model equals the initial one: nothing trained was saved"
    return result


def table(results: list[dict]) -> str:
    lines = ["| run | launch | steps | losses (each step) | finite | metrics.json | reloads (dtype) "
             "| weight tensors changed | result |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        launch = f"--config_file {CONFIGS[r['run']]}" if CONFIGS[r["run"]] else "no config"
        losses = ", ".join(f"{x:.3g}" for x in r.get("losses", []))
        reloads = f"yes ({r['dtype']})" if r.get("reloads") else "no"
        lines.append(f"| {r['run']} | `{launch}`, 1 process | {r.get('steps', '-')} | {losses or '-'} | "
                     f"{'yes' if r.get('losses_finite') else 'no'} | {'yes' if r.get('metrics_json') else 'no'} | "
                     f"{reloads} | {r.get('tensors_changed', '-')} | {_verdict(r)} |")
    return "\n".join(lines) + "\n"


def _verdict(r: dict) -> str:
    if r["ok"]:
        return "ok"
    return "FAILED: " + (r.get("error") or f"exit code {r.get('exit_code')}")
