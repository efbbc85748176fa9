"""Training speed of grpo_ext.GRPOTrainer against trl.GRPOTrainer on the same tiny config, one run.

    python bench/bench_trainer.py [--steps 20] [--repeats 3] [--hidden 64] [--layers 2]
    python bench/bench_trainer.py --shape qwen2.5-0.5b [--steps 2] [--completion-length 32]

Both trainers get the same locally built model, dataset, reward and settings (beta > 0, so the
reference model and the KL term are in play). Each row trains ``--steps`` optimizer steps after
one warm-up step; the best of ``--repeats`` runs is kept, runs of the two trainers interleaved.
Rows: TRL; ours at the defaults (same estimator and correction as TRL); ours with each estimator;
the PPO trainer (8 prompts x 1 completion, critic and GAE) on the same model and batch size.

``--shape qwen2.5-0.5b`` measures real shapes instead: a model with Qwen2.5-0.5B's configuration
(random weights, 24 layers, hidden 896, vocabulary 151,936) and a local tokenizer of that size,
GRPO with ``k3`` and with ``full`` (several ``kl_chunk_size``), in one process and in two
processes under DeepSpeed ZeRO-3 (CPU, gloo). Each row runs in its own process(es), so the peak
resident memory it reports (per process, the larger of the two under ZeRO-3) is that row's own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import transformers  # noqa: E402
import trl  # noqa: E402
from datasets import Dataset  # noqa: E402

from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer  # noqa: E402
from grpo_ext import kl as kl_estimators  # noqa: E402
from grpo_ext.tiny import build_shaped_model, build_tiny_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def digit_reward(completions, **kwargs):
    return [sum(ch.isdigit() for ch in c) / max(len(c), 1) for c in completions]


class StepTimer(transformers.TrainerCallback):
    """Wall time of optimizer steps after the first (which includes start-up work)."""

    def __init__(self):
        self.start = None
        self.steps = 0

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            self.start = time.perf_counter()
        elif self.start is not None:
            self.steps += 1
        return control

    def rate(self) -> float:
        return self.steps / (time.perf_counter() - self.start)


def run(kind: str, path: str, data: Dataset, steps: int, tmp: str, extra: dict) -> float:
    settings = dict(output_dir=tmp, per_device_train_batch_size=8, num_generations=8, max_completion_length=32,
                    max_steps=steps + 1, learning_rate=1e-4, report_to="none", save_strategy="no", use_cpu=True,
                    beta=0.04, logging_steps=10_000, disable_tqdm=True, seed=0)
    timer = StepTimer()
    if kind == "trl":
        trainer = trl.GRPOTrainer(path, reward_funcs=[digit_reward], args=trl.GRPOConfig(**settings),
                                  train_dataset=data, callbacks=[timer])
    elif kind == "ppo":  # one completion for each of 8 prompts, critic, GAE
        settings.update(num_generations=1)
        trainer = PPOTrainer(path, reward_funcs=[digit_reward], args=PPOConfig(**settings, **extra),
                             train_dataset=data, callbacks=[timer])
    else:
        trainer = GRPOTrainer(path, reward_funcs=[digit_reward], args=GRPOConfig(**settings, **extra),
                              train_dataset=data, callbacks=[timer])
    trainer.train()
    return timer.rate()


def shaped_worker(args) -> None:
    """One real-shape row, in this process (or this rank): step time and peak memory to a JSON file."""
    import torch

    cpu = not torch.cuda.is_available()
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    timer = StepTimer()
    settings = dict(output_dir=args.out, per_device_train_batch_size=8 // processes, num_generations=8,
                    max_completion_length=args.completion_length, max_steps=args.steps + 1, learning_rate=1e-6,
                    report_to="none", save_strategy="no", beta=0.04, logging_steps=1, disable_tqdm=True, seed=0,
                    kl_estimator=args.estimator, kl_chunk_size=args.chunk, bf16=False, use_cpu=cpu and processes == 1,
                    ddp_backend="gloo" if cpu and processes > 1 else None)
    data = Dataset.from_dict({"prompt": [f"{i}+{i % 7}=" for i in range(64)]})
    trainer = GRPOTrainer(args.model, reward_funcs=[digit_reward], args=GRPOConfig(**settings), train_dataset=data,
                          callbacks=[timer])
    trainer.train()
    rank = trainer.accelerator.process_index
    kl = [h["kl"] for h in trainer.state.log_history if "kl" in h]
    Path(args.out, f"rank{rank}.json").write_text(json.dumps({
        "step_s": 1.0 / timer.rate(), "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "kl": kl[-1] if kl else None}))
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()


def shaped(args) -> None:
    """The real-shape table: each row in fresh processes."""
    model = args.model or build_shaped_model(Path(tempfile.mkdtemp(), "qwen2.5-0.5b-shaped"))
    positions = 8 * args.completion_length  # completion tokens per step: kl_chunk_size = positions is unbounded
    rows = [("k3", 64, 1), ("full", 64, 1), ("full", positions, 1), ("k3", 64, 2), ("full", 64, 2)]
    print(f"\nQwen2.5-0.5B shapes (random weights, vocabulary 151,936), 8 completions x {args.completion_length} "
          f"tokens per step, beta 0.04, CPU ({os.cpu_count()} cores); mean of {args.steps} steps after one warm-up\n")
    print("| kl_estimator | kl_chunk_size | processes | step (s) | peak resident memory per process (GiB) | kl at the last step |")
    print("|---|---|---|---|---|---|")
    for estimator, chunk, processes in rows:
        out = tempfile.mkdtemp()
        worker = [str(Path(__file__).resolve()), "--worker", "--model", model, "--out", out, "--estimator", estimator,
                  "--chunk", str(chunk), "--steps", str(args.steps), "--completion-length", str(args.completion_length)]
        if processes == 1:
            cmd = [sys.executable, *worker]
        else:
            cmd = [str(Path(sys.executable).with_name("accelerate")), "launch", "--config_file",
                   str(ROOT / "recipes/accelerate/zero3.yaml"), "--num_processes", str(processes), *worker]
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // processes)))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(f"| {estimator} | {chunk} | {processes} | failed: {proc.stderr.strip().splitlines()[-1]} | | |")
            continue
        ranks = [json.loads(Path(out, f"rank{r}.json").read_text()) for r in range(processes)]
        step = max(r["step_s"] for r in ranks)
        peak = max(r["peak_gib"] for r in ranks)
        shown_chunk = chunk if estimator == "full" else "-"
        print(f"| {estimator} | {shown_chunk} | {processes}{' (ZeRO-3)' if processes > 1 else ''} | {step:.1f} | "
              f"{peak:.2f} | {ranks[0]['kl']:.2e} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=0, help="pad the vocabulary to this size (0: ~100 characters)")
    parser.add_argument("--estimators", default="all", help="comma-separated estimators to time, or 'all'")
    parser.add_argument("--no-ppo", dest="ppo", action="store_false", help="skip the PPO row")
    parser.add_argument("--shape", choices=["qwen2.5-0.5b"], help="measure real shapes instead (see above)")
    parser.add_argument("--completion-length", type=int, default=64, help="--shape: tokens per completion")
    parser.add_argument("--model", help="--shape: a model folder built before (default: build one)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--estimator", default="k3", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=256, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    logging.disable(logging.WARNING)
    if args.worker:
        return shaped_worker(args)
    if args.shape:
        if "--steps" not in sys.argv:
            args.steps = 2
        return shaped(args)
    tmp = tempfile.mkdtemp()
    extra = [f"<w{i}>" for i in range(max(0, args.vocab - 100))]  # unused tokens: only the head's size grows
    path = build_tiny_model(Path(tmp, "model"), hidden_size=args.hidden, num_layers=args.layers, extra_tokens=extra)
    data = Dataset.from_dict({"prompt": [f"{i}+{i % 7}=" for i in range(512)]})
    rows = [("trl.GRPOTrainer (k3, defaults)", "trl", {}), ("grpo_ext defaults (k3)", "ours", {})]
    chosen = kl_estimators.available() if args.estimators == "all" else args.estimators.split(",")
    rows += [(f"grpo_ext kl_estimator={e}", "ours", {"kl_estimator": e}) for e in chosen if e != "k3"]
    best = {name: 0.0 for name, _, _ in rows}
    for _ in range(args.repeats):
        for name, kind, extra in rows:
            best[name] = max(best[name], run(kind, path, data, args.steps, tmp, extra))
    if args.ppo:
        rows.append(("grpo_ext PPOTrainer (critic + GAE, k1 in reward)", "ppo", {}))
        best[rows[-1][0]] = 0.0
        for _ in range(args.repeats):
            best[rows[-1][0]] = max(best[rows[-1][0]], run("ppo", path, data, args.steps, tmp, {}))
    base = best[rows[0][0]]
    from transformers import AutoConfig

    vocab = AutoConfig.from_pretrained(path).vocab_size
    print(f"\ntiny Llama (hidden {args.hidden}, {args.layers} layers, vocabulary {vocab}), batch 8 x 32 tokens, "
          f"beta 0.04, CPU; "
          f"best of {args.repeats} runs of {args.steps} steps\n")
    print("| trainer | steps/s | relative to TRL |\n|---|---|---|")
    for name, _, _ in rows:
        print(f"| {name} | {best[name]:.2f} | {best[name] / base:.1%} |")


if __name__ == "__main__":
    main()
