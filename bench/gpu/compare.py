"""grpo_ext.GRPOTrainer against trl.GRPOTrainer at a real model shape, on the GPU (or the CPU):
step time, generated tokens per second and peak GPU memory, at the same settings, in one run.

    python bench/bench_trainer.py --shape qwen2.5-0.5b --vs-trl --lengths 256,1024 --out results/

One worker process per completion length runs every row of that length in turn: a short warm-up
run first (CUDA context, kernels, allocator), then TRL (``k3``, the only estimator it has), ours
at ``k3``, and ours at ``full`` for each ``kl_chunk_size``. Each row trains ``steps`` optimizer
steps after the previous row's memory was freed and the peak counter reset, so a row's peak GPU
memory (``torch.cuda.max_memory_allocated``) is its own. A step is the whole of one GRPO step:
generation (8 completions of one prompt with transformers' ``generate``), rewards, the reference
model's forward pass, the policy's forward and backward passes and the optimizer step; tokens per
second counts the completion tokens generated over the timed steps' wall time. The worker writes
its rows to JSON after each one, so a row that runs out of time leaves the earlier ones behind.
"""

from __future__ import annotations

import gc
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.gpu import bounded

BATCH = 8  # completions per step: one prompt's group of 8
BETA = 0.04  # > 0, so the reference model and the KL term are in play for both trainers


def digit_reward(completions, **kwargs):
    """Dense and cheap: the share of digits, unequal across a random model's completions."""
    return [sum(ch.isdigit() for ch in c) / max(len(c), 1) for c in completions]


def rows_for(length: int, chunks: list[str]) -> list[dict]:
    """TRL, ours at k3, ours at full for each chunk size ('all': one chunk of every position)."""
    positions = BATCH * length
    rows = [{"trainer": "trl", "estimator": "k3", "chunk": None}, {"trainer": "ours", "estimator": "k3", "chunk": None}]
    for chunk in chunks:
        size = positions if chunk == "all" else int(chunk)
        rows.append({"trainer": "ours", "estimator": "full", "chunk": size})
    return rows


def _settings(out: str, length: int, steps: int, cuda: bool) -> dict:
    return dict(output_dir=out, per_device_train_batch_size=BATCH, num_generations=BATCH, max_completion_length=length,
                max_steps=steps, learning_rate=1e-6, beta=BETA, temperature=1.0, logging_steps=1, save_strategy="no",
                report_to="none", disable_tqdm=True, seed=0, bf16=cuda, use_cpu=not cuda)


def _step_clock(cuda: bool):
    import torch
    import transformers

    class StepClock(transformers.TrainerCallback):
        """Wall time of each optimizer step (the GPU's queue drained at both ends)."""

        def __init__(self):
            self.seconds, self.start = [], None

        def on_step_begin(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self.seconds.append(time.perf_counter() - self.start)

    return StepClock()


def train_row(model: str, row: dict, length: int, steps: int, out: str, data) -> dict:
    """Train one row's trainer for ``steps`` steps; its timings, tokens, memory and last loss / KL."""
    import torch
    import trl

    from grpo_ext import GRPOConfig, GRPOTrainer

    cuda = torch.cuda.is_available()
    clock = _step_clock(cuda)
    settings = _settings(out, length, steps, cuda)
    if row["trainer"] == "trl":
        trainer = trl.GRPOTrainer(model, reward_funcs=[digit_reward], args=trl.GRPOConfig(**settings),
                                  train_dataset=data, callbacks=[clock])
    else:
        extra = {"kl_estimator": row["estimator"], **({"kl_chunk_size": row["chunk"]} if row["chunk"] else {})}
        trainer = GRPOTrainer(model, reward_funcs=[digit_reward], args=GRPOConfig(**settings, **extra),
                              train_dataset=data, callbacks=[clock])
    try:
        return _measure(trainer, clock, row, length, cuda)
    finally:  # drop the trainer's models and optimizer before the next row is built
        if getattr(trainer, "reward_runner", None) is not None:
            trainer.reward_runner.close()
        trainer.accelerator.free_memory()
        del trainer
        _release()


def _measure(trainer, clock, row: dict, length: int, cuda: bool) -> dict:
    import torch

    trainer.train()
    logs = [h for h in trainer.state.log_history if "completions/mean_length" in h]
    tokens = sum(h["completions/mean_length"] * BATCH for h in logs)
    losses = [h["loss"] for h in logs if "loss" in h]
    kl = [h["kl"] for h in logs if "kl" in h]
    return {**row, "length": length, "steps": len(clock.seconds), "step_s": sum(clock.seconds) / len(clock.seconds),
            "tokens_per_s": tokens / sum(clock.seconds), "mean_completion": tokens / max(len(logs), 1) / BATCH,
            "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
            "losses_finite": all(math.isfinite(x) for x in losses), "loss": losses[-1] if losses else None,
            "kl": kl[-1] if kl else None}


def _release() -> None:
    """Collect what the last row left and reset the GPU's peak counter for the next row."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def worker(model: str, length: int, steps: int, chunks: list[str], out: str) -> None:
    """Every row of one completion length in this process; ``rows.json`` rewritten after each."""
    import torch
    from datasets import Dataset

    data = Dataset.from_dict({"prompt": [f"{i}+{i % 7}=" for i in range(64)]})
    warm = {"trainer": "ours", "estimator": "k3", "chunk": None}
    train_row(model, warm, min(length, 32), 1, out, data)  # first kernels and allocations, timed by no row
    done = []
    for row in rows_for(length, chunks):
        try:
            done.append(train_row(model, row, length, steps, out, data))
        except torch.cuda.OutOfMemoryError as err:
            done.append({**row, "length": length, "error": f"out of GPU memory: {str(err).splitlines()[0]}"})
        _release()  # again, now that a failed row's traceback is gone too
        Path(out, "rows.json").write_text(json.dumps(done, indent=1))


def run(model: str, shape: str, lengths: list[int], steps: int, chunks: list[str], out: Path,
        timeout: float | None = None) -> list[dict]:
    """Each length in its own worker process (bounded by ``timeout`` seconds); the table printed and
    written to ``out`` as ``trainer_vs_trl.md`` and ``trainer_vs_trl.json``."""
    out.mkdir(parents=True, exist_ok=True)
    rows, notes = [], []
    for length in lengths:
        folder = out / f"work-{length}"
        folder.mkdir(exist_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve().parents[1] / "bench_trainer.py"), "--vs-trl-worker",
               "--model", model, "--out", str(folder), "--completion-length", str(length), "--steps", str(steps),
               "--chunks", ",".join(chunks)]
        start = time.perf_counter()
        try:
            proc = bounded.run(cmd, timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                notes.append(f"length {length}: the worker failed: {_last_line(proc.stderr)}")
        except subprocess.TimeoutExpired:
            notes.append(f"length {length}: stopped at the time limit ({timeout:.0f} s); rows after the last shown did not run")
        seconds = time.perf_counter() - start
        got = json.loads((folder / "rows.json").read_text()) if (folder / "rows.json").exists() else []
        rows += [{**r, "worker_s": round(seconds, 1)} for r in got]
    text = table(rows, shape, steps, notes, device())
    print(text, flush=True)
    (out / "trainer_vs_trl.md").write_text(text)
    (out / "trainer_vs_trl.json").write_text(json.dumps({"shape": shape, "steps": steps, "rows": rows, "notes": notes},
                                                       indent=1))
    return rows


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def device() -> str:
    """Where the rows ran and at which precision, for the table's heading."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()}, bf16"
    return f"CPU ({os.cpu_count()} cores), fp32"


def table(rows: list[dict], shape: str, steps: int, notes: list[str], where: str) -> str:
    """Markdown: one line per row; each length's rows relative to TRL's row of that length."""
    lines = [f"{shape} (random weights), {BATCH} completions per step, beta {BETA}, {where}; "
             f"mean of {steps} step(s) after a warm-up run", "",
             "| completion length | trainer | kl_estimator | kl_chunk_size | step (s) | generated tokens/s "
             "| speed vs TRL | peak GPU memory (GiB) | losses finite | kl at the last step |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = "trl.GRPOTrainer" if r["trainer"] == "trl" else "grpo_ext.GRPOTrainer"
        chunk = "-" if not r.get("chunk") else f"{r['chunk']} (all)" if r["chunk"] == BATCH * r["length"] else r["chunk"]
        if "error" in r:
            lines.append(f"| {r['length']} | {name} | {r['estimator']} | {chunk} | {r['error']} | | | | | |")
            continue
        trl_row = next((t for t in rows if t["trainer"] == "trl" and t["length"] == r["length"] and "step_s" in t), None)
        ratio = f"{trl_row['step_s'] / r['step_s']:.2f}x" if trl_row else "-"
        peak = f"{r['peak_gib']:.1f}" if r.get("peak_gib") is not None else "-"
        kl = f"{r['kl']:.2e}" if r.get("kl") is not None else "-"
        lines.append(f"| {r['length']} | {name} | {r['estimator']} | {chunk} | {r['step_s']:.2f} | "
                     f"{r['tokens_per_s']:.0f} | {ratio} | {peak} | {'yes' if r['losses_finite'] else 'NO'} | {kl} |")
    lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
