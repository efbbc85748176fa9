"""Shared helpers for trainer tests: a tiny local model (built once per session) and small datasets."""

from __future__ import annotations

import functools
import tempfile

from datasets import Dataset

from grpo_ext.recipe_kit.tiny import build_tiny_model


@functools.cache
def tiny_model_path() -> str:
    return build_tiny_model(tempfile.mkdtemp(prefix="grpo-ext-tiny-"), hidden_size=32, num_layers=2)


def addition_dataset(n: int = 8) -> Dataset:
    return Dataset.from_dict({"prompt": [f"{i}+{i % 3}=" for i in range(n)], "answer": [str(i + i % 3) for i in range(n)]})


def digit_reward(completions, **kwargs):
    """A dense reward a tiny random model can move: the share of digits in the completion."""
    return [sum(ch.isdigit() for ch in c) / max(len(c), 1) for c in completions]


def common_args(output_dir: str, **overrides) -> dict:
    args = dict(output_dir=output_dir, per_device_train_batch_size=4, num_generations=4, max_completion_length=6,
                max_steps=2, learning_rate=5e-3, report_to="none", logging_steps=1, save_strategy="no",
                use_cpu=True, seed=0, data_seed=0, beta=0.04)
    args.update(overrides)
    return args


@functools.cache
def tiny_reward_model_path() -> str:
    """A tiny sequence-classification model (one score) with the tiny tokenizer, saved to a folder:
    what TRL loads when a reward function is given as a model id."""
    import torch
    from transformers import AutoConfig, LlamaForSequenceClassification

    from grpo_ext.recipe_kit.tiny import build_tokenizer

    path = tempfile.mkdtemp(prefix="grpo-ext-tiny-rm-")
    config = AutoConfig.from_pretrained(tiny_model_path())
    config.num_labels = 1
    torch.manual_seed(1)
    LlamaForSequenceClassification(config).save_pretrained(path)
    build_tokenizer().save_pretrained(path)
    return path
