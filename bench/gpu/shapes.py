"""Model shapes for the GPU benchmark: the public configurations of Qwen2.5-0.5B and Qwen2.5-1.5B
(their ``config.json``), and a tiny one of the same architecture for the CPU smoke run. Each is
built locally with random weights and a character-level tokenizer padded to the same vocabulary
size (``grpo_ext.recipe_kit.tiny.build_shaped_model``): real sizes, no download.
"""

from __future__ import annotations

from pathlib import Path

from grpo_ext.recipe_kit.tiny import QWEN25_05B, build_shaped_model

# Qwen2.5-1.5B's config.json: 28 layers, hidden 1536, 12 query heads sharing 2 key/value heads
QWEN25_15B = dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                  num_key_value_heads=2, vocab_size=151936, max_position_embeddings=131072, rope_theta=1000000.0,
                  rms_norm_eps=1e-6, tie_word_embeddings=True)

# the same architecture (Qwen2, grouped key/value heads, tied embeddings) at a size a CPU trains in seconds
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            vocab_size=512, max_position_embeddings=2048, rope_theta=1000000.0, rms_norm_eps=1e-6,
            tie_word_embeddings=True)

SHAPES = {"tiny": TINY, "qwen2.5-0.5b": QWEN25_05B, "qwen2.5-1.5b": QWEN25_15B}


def build(name: str, path: str | Path, seed: int = 0) -> str:
    """Save a random-weights model of shape ``name`` (a key of SHAPES) and its tokenizer under ``path``."""
    if name not in SHAPES:
        raise ValueError(f"unknown shape {name!r}: choose one of {', '.join(SHAPES)}")
    return build_shaped_model(path, SHAPES[name], seed=seed)


def parameters(name: str) -> int:
    """The parameter count of shape ``name`` (embeddings counted once when tied)."""
    s = SHAPES[name]
    h, inter, layers, heads, kv = (s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"],
                                   s["num_attention_heads"], s["num_key_value_heads"])
    kv_width = h // heads * kv
    attention = h * h + 2 * h * kv_width + h * h + h + 2 * kv_width  # q, k, v, o projections; q, k, v biases
    layer = attention + 3 * h * inter + 2 * h  # gate, up, down; two RMSNorm weights
    embeddings = s["vocab_size"] * h * (1 if s["tie_word_embeddings"] else 2)
    return layers * layer + embeddings + h
