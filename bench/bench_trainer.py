"""Training speed of grpo_ext.GRPOTrainer against trl.GRPOTrainer on the same tiny config, one run.

    python bench/bench_trainer.py [--steps 20] [--repeats 3] [--hidden 64] [--layers 2]
    python bench/bench_trainer.py --shape qwen2.5-0.5b [--steps 2] [--completion-length 64] [--shape-layers 8]
    python bench/bench_trainer.py --kl-memory [--completion-length 64]
    python bench/bench_trainer.py --shape qwen2.5-0.5b --vs-trl [--lengths 256,1024] [--chunks 256,all] [--out DIR]

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
``--shape qwen2.5-1.5b`` (and ``tiny``, the same architecture at a toy size) work the same way.

``--vs-trl`` (with ``--shape``) compares ``grpo_ext.GRPOTrainer`` with ``trl.GRPOTrainer`` at the
same settings instead, on the GPU when there is one (bf16): step time, generated tokens per second
and peak GPU memory, for ``k3`` and ``full`` (each of ``--chunks``), at each of ``--lengths``; the
tables go to ``--out`` as markdown and JSON (see bench/gpu/compare.py; bench/gpu/run.sh runs it).
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

# trl, datasets and the trainers are imported where a row trains: the --vs-trl parent only starts
# its workers, and importing them there too cost it half a minute on the shared CPUs (they are lazy in grpo_ext)
import transformers  # noqa: E402

from grpo_ext.recipe_kit.tiny import build_shaped_model, build_tiny_model  # noqa: E402
from bench.gpu import compare, shapes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def digit_reward(completions, **kwargs):
    return [sum(ch.isdigit() for ch in c) / max(len(c), 1) for c in completions]


def step_timer():
    """A callback timing the optimizer steps after the first (which includes start-up work); built
    on call, as transformers' Trainer classes are imported only where a row trains."""

    class StepTimer(transformers.TrainerCallback):
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

    return StepTimer()


def run(kind: str, path: str, data: Dataset, steps: int, tmp: str, extra: dict) -> float:
    settings = dict(output_dir=tmp, per_device_train_batch_size=8, num_generations=8, max_completion_length=32,
                    max_steps=steps + 1, learning_rate=1e-4, report_to="none", save_strategy="no", use_cpu=True,
                    beta=0.04, logging_steps=10_000, disable_tqdm=True, seed=0)
    import trl

    from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer

    timer = step_timer()
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
    from datasets import Dataset

    from grpo_ext import GRPOConfig, GRPOTrainer

    cpu = not torch.cuda.is_available()
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    timer = step_timer()
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


def kl_memory_worker(args) -> None:
    """Peak memory of kl.full_kl alone (forward and backward) at Qwen2.5-0.5B's head size."""
    import torch

    from grpo_ext.kl import full_kl
    from grpo_ext.recipe_kit.tiny import QWEN25_05B

    torch.manual_seed(0)
    hidden, vocab = QWEN25_05B["hidden_size"], QWEN25_05B["vocab_size"]
    head = torch.nn.Linear(hidden, vocab, bias=False)
    policy = torch.randn(8, args.completion_length, hidden, requires_grad=True)
    ref = torch.randn(8, args.completion_length, hidden)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    full_kl(policy, ref, head, head, 1.0, args.chunk).sum().backward()
    seconds = time.perf_counter() - start
    extra = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 2**20
    Path(args.out, "kl.json").write_text(json.dumps({"seconds": seconds, "extra_gib": extra}))


def kl_memory(args) -> None:
    """The bound of ``full``: extra peak memory of the KL computation alone, by kl_chunk_size."""
    positions = 8 * args.completion_length
    print(f"\nkl.full_kl alone (forward + backward), 8 x {args.completion_length} positions, hidden 896, vocabulary "
          f"151,936, fp32; each row in a fresh process\n")
    print("| kl_chunk_size | logits per model at once | time (s) | extra peak memory (GiB) |\n|---|---|---|---|")
    for chunk in (64, 256, positions):
        out = tempfile.mkdtemp()
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--kl-memory-worker", "--out", out, "--chunk",
                        str(chunk), "--completion-length", str(args.completion_length)], check=True)
        r = json.loads(Path(out, "kl.json").read_text())
        label = f"{chunk}" + (" (all positions: unchunked)" if chunk == positions else "")
        print(f"| {label} | {chunk * 151936 / 1e6:.0f} M | {r['seconds']:.1f} | {r['extra_gib']:.2f} |", flush=True)


def shaped(args) -> None:
    """The real-shape table: each row in fresh processes."""
    model = args.model or shaped_model(args)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model)
    layers = config.num_hidden_layers
    positions = 8 * args.completion_length  # completion tokens per step: kl_chunk_size = positions is unbounded
    rows = [("k3", 64, 1), ("full", 64, 1), ("full", positions, 1), ("k3", 64, 2), ("full", 64, 2)]
    print(f"\n{args.shape} shapes with {layers} layers (random weights, hidden {config.hidden_size}, vocabulary "
          f"{config.vocab_size:,}), 8 "
          f"completions x {args.completion_length} "
          f"tokens per step, beta 0.04, CPU ({os.cpu_count()} cores); mean of {args.steps} steps after one warm-up\n")
    print("| kl_estimator | kl_chunk_size | processes | step (s) | peak resident memory per process (GiB) | kl at the last step |")
    print("|---|---|---|---|---|---|")
    for estimator, chunk, processes in rows:
        if processes not in args.processes:
            continue
        out = tempfile.mkdtemp()
        worker = [str(Path(__file__).resolve()), "--worker", "--model", model, "--out", out, "--estimator", estimator,
                  "--chunk", str(chunk), "--steps", str(args.steps), "--completion-length", str(args.completion_length)]
        if processes == 1:
            cmd = [sys.executable, *worker]
        else:
            zero3 = Path(out, "zero3.yaml")  # the project's ZeRO-3 config, partitioning while loading
            zero3.write_text((ROOT / "recipes/accelerate/zero3.yaml").read_text().replace(
                "zero3_init_flag: false", "zero3_init_flag: true"))
            cmd = [str(Path(sys.executable).with_name("accelerate")), "launch", "--config_file", str(zero3),
                   "--num_processes", str(processes), *worker]
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // processes)))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            killed = "SIGKILL" in proc.stderr or proc.returncode == -9
            why = "killed (out of memory)" if killed else proc.stderr.strip().splitlines()[-1]
            print(f"| {estimator} | {chunk} | {processes} | failed: {why} | | |", flush=True)
            continue
        ranks = [json.loads(Path(out, f"rank{r}.json").read_text()) for r in range(processes)]
        step = max(r["step_s"] for r in ranks)
        peak = max(r["peak_gib"] for r in ranks)
        shown_chunk = chunk if estimator == "full" else "-"
        print(f"| {estimator} | {shown_chunk} | {processes}{' (ZeRO-3)' if processes > 1 else ''} | {step:.1f} | "
              f"{peak:.2f} | {ranks[0]['kl']:.2e} |", flush=True)


def shaped_model(args) -> str:
    """A random-weights model of ``--shape`` (``--shape-layers``: that many layers), built in a temporary folder."""
    shape = dict(shapes.SHAPES[args.shape])
    if args.shape_layers:
        shape["num_hidden_layers"] = args.shape_layers
    return build_shaped_model(Path(tempfile.mkdtemp(), f"{args.shape}-shaped"), shape)


def vs_trl(args) -> None:
    """The ours-against-TRL table at ``--shape`` (see bench/gpu/compare.py)."""
    model = args.model or shaped_model(args)
    out = Path(args.out or tempfile.mkdtemp(prefix="trainer-vs-trl-"))
    lengths = [int(n) for n in args.lengths.split(",")]
    compare.run(model, args.shape, lengths, args.steps, args.chunks.split(","), out, args.timeout)
    print(f"tables written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=0, help="pad the vocabulary to this size (0: ~100 characters)")
    parser.add_argument("--estimators", default="all", help="comma-separated estimators to time, or 'all'")
    parser.add_argument("--no-ppo", dest="ppo", action="store_false", help="skip the PPO row")
    parser.add_argument("--shape", choices=list(shapes.SHAPES), help="measure real shapes instead (see above)")
    parser.add_argument("--vs-trl", action="store_true", help="--shape: ours against trl.GRPOTrainer (see above)")
    parser.add_argument("--lengths", default="256,1024", help="--vs-trl: completion lengths, comma-separated")
    parser.add_argument("--chunks", default="256,all", help="--vs-trl: kl_chunk_size values of the full rows "
                                                            "('all': every position in one chunk)")
    parser.add_argument("--timeout", type=float, help="--vs-trl: seconds allowed to each length's worker")
    parser.add_argument("--completion-length", type=int, default=64, help="--shape: tokens per completion")
    parser.add_argument("--model", help="--shape: a model folder built before (default: build one)")
    parser.add_argument("--shape-layers", type=int, default=0, help="--shape: fewer layers (same width, vocabulary)")
    parser.add_argument("--processes", default="1,2", help="--shape: the process counts to run (1, 2 = ZeRO-3)")
    parser.add_argument("--kl-memory", action="store_true", help="measure kl.full_kl's memory alone, by chunk size")
    parser.add_argument("--kl-memory-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--vs-trl-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="--vs-trl: folder for the tables (default: a temporary folder)")
    parser.add_argument("--estimator", default="k3", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=256, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    logging.disable(logging.WARNING)
    if args.worker:
        return shaped_worker(args)
    if args.vs_trl_worker:
        return compare.worker(args.model, args.completion_length, args.steps, args.chunks.split(","), args.out)
    if args.kl_memory_worker:
        return kl_memory_worker(args)
    if args.kl_memory:
        return kl_memory(args)
    if args.vs_trl and not args.shape:
        parser.error("--vs-trl compares at a model shape: add --shape (tiny, qwen2.5-0.5b or qwen2.5-1.5b)")
    args.processes = [int(p) for p in str(args.processes).split(",")]
    if args.shape:
        if "--steps" not in sys.argv:
            args.steps = 2
        return vs_trl(args) if args.vs_trl else shaped(args)
    from datasets import Dataset

    from grpo_ext import kl as kl_estimators

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
