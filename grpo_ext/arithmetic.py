"""The built-in task of the offline default recipe: adding two numbers below 20.

400 problems ``"a+b="`` with a, b in 0..19; a seeded split holds 50 out, which neither the warm-up
nor RL ever sees. The target completion is ``<think>a+b</think><answer>s</answer>`` (the format
tags are single tokens of the locally built tokenizer, see ``grpo_ext.tiny``).

The warm-up is a short supervised pass over the training problems (``steps`` batches, 200 by
default). It teaches the answer format and a little arithmetic, and is deliberately stopped early:
held-out accuracy after it is about 0.2. RL (GRPO with the math and format rewards) then has to
raise it; the recipe measures held-out accuracy before and after RL.
"""

from __future__ import annotations

import random

import torch
from datasets import Dataset
from tqdm.auto import tqdm

LIMIT = 20  # operands are 0 .. LIMIT - 1
HELD_OUT = 50


def problems(seed: int = 0) -> tuple[Dataset, Dataset]:
    """(train, held_out) datasets with columns ``prompt`` and ``answer``."""
    pairs = [(a, b) for a in range(LIMIT) for b in range(LIMIT)]
    random.Random(seed).shuffle(pairs)

    def build(ps):
        return Dataset.from_dict({"prompt": [f"{a}+{b}=" for a, b in ps], "answer": [str(a + b) for a, b in ps]})

    return build(pairs[HELD_OUT:]), build(pairs[:HELD_OUT])


def target(prompt: str, answer: str) -> str:
    return f"<think>{prompt.rstrip('=')}</think><answer>{answer}</answer>"


def warm_up(model, tokenizer, train: Dataset, steps: int = 200, lr: float = 3e-3, batch_size: int = 32,
            seed: int = 0) -> list[float]:
    """Supervised steps on (prompt, target) pairs, loss on the completion only; returns the losses."""
    rng = random.Random(seed)
    rows = list(zip(train["prompt"], train["answer"]))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in tqdm(range(steps), desc="warm-up (supervised)"):
        ids, labels = _batch(tokenizer, rng.sample(rows, min(batch_size, len(rows))), model.device)
        loss = model(input_ids=ids, attention_mask=(ids != tokenizer.pad_token_id).long(), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses


def _batch(tokenizer, rows, device):
    prompts = [tokenizer(p, add_special_tokens=False)["input_ids"] for p, _ in rows]
    full = [p + tokenizer(target(q, a), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            for p, (q, a) in zip(prompts, rows)]
    width = max(map(len, full))
    ids = torch.full((len(full), width), tokenizer.pad_token_id)
    labels = torch.full((len(full), width), -100)
    for i, (p, seq) in enumerate(zip(prompts, full)):
        ids[i, : len(seq)] = torch.tensor(seq)
        labels[i, len(p) : len(seq)] = torch.tensor(seq[len(p) :])
    return ids.to(device), labels.to(device)
