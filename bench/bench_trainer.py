"""Training speed of grpo_ext.GRPOTrainer against trl.GRPOTrainer on the same tiny config, one run.

    python bench/bench_trainer.py [--steps 20] [--repeats 3] [--hidden 64] [--layers 2]

Both trainers get the same locally built model, dataset, reward and settings (beta > 0, so the
reference model and the KL term are in play). Each row trains ``--steps`` optimizer steps after
one warm-up step; the best of ``--repeats`` runs is kept, runs of the two trainers interleaved.
Rows: TRL; ours at the defaults (same estimator and correction as TRL); ours with each estimator;
the PPO trainer (8 prompts x 1 completion, critic and GAE) on the same model and batch size.
"""

from __future__ import annotations

import argparse
import logging
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
from grpo_ext.tiny import build_tiny_model  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=0, help="pad the vocabulary to this size (0: ~100 characters)")
    parser.add_argument("--estimators", default="all", help="comma-separated estimators to time, or 'all'")
    parser.add_argument("--no-ppo", dest="ppo", action="store_false", help="skip the PPO row")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    logging.disable(logging.WARNING)
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
