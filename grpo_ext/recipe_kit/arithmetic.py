"""The built-in task of the offline default recipe: adding two numbers below 20.

400 problems ``"a+b="`` with a, b in 0..19; a seeded split holds 50 out, which neither the warm-up
nor RL ever sees. The target completion is ``<think>a+b</think><answer>s</answer>`` (the format
tags are single tokens of the locally built tokenizer, see ``grpo_ext.recipe_kit.tiny``).

The warm-up is a short supervised pass over the training problems (``steps`` batches, 200 by
default). It teaches the answer format and a little arithmetic, and is deliberately stopped early:
held-out accuracy after it is about 0.2. RL (GRPO with the math and format rewards) then has to
raise it; the recipe measures held-out accuracy before and after RL.
"""

from __future__ import annotations

import random
from collections.abc import Callable

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
    return supervised_steps(model, tokenizer.pad_token_id, steps, lr, lambda: [
        _example(tokenizer, q, a) for q, a in rng.sample(rows, min(batch_size, len(rows)))])


def supervised_steps(model, pad_id: int, steps: int, lr: float,
                     sample: Callable[[], list[tuple[list[int], list[int]]]]) -> list[float]:
    """``steps`` AdamW steps of next-token loss on the rows ``sample()`` returns, each ``(ids, labels)``
    with label -100 where no loss is taken; rows are right-padded with ``pad_id``. Returns the losses."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in tqdm(range(steps), desc="warm-up (supervised)"):
        batch = sample()
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad_id)  # [B, T]
        labels = torch.full((len(batch), width), -100)  # [B, T]
        for i, (seq, lab) in enumerate(batch):
            ids[i, : len(seq)], labels[i, : len(lab)] = torch.tensor(seq), torch.tensor(lab)
        ids, labels = ids.to(model.device), labels.to(model.device)
        loss = model(input_ids=ids, attention_mask=(ids != pad_id).long(), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses


def _example(tokenizer, question: str, answer: str) -> tuple[list[int], list[int]]:
    """(ids, labels) of one prompt and its target: the loss is on the target and the end token."""
    prompt = tokenizer(question, add_special_tokens=False)["input_ids"]
    completion = tokenizer(target(question, answer), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return prompt + completion, [-100] * len(prompt) + completion
