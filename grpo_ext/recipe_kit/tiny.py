"""Build a small causal LM and tokenizer locally, with no download: for tests, offline runs and CI.

The tokenizer is character-level over printable ASCII (plus ``<pad>``, ``<bos>``, ``<eos>`` and
optional extra whole-word tokens such as ``<think>``), built with the ``tokenizers`` library and
wrapped as a ``PreTrainedTokenizerFast``. The model is a randomly initialised Llama-architecture
decoder. Both are saved to a folder, because TRL loads the reference model from the policy's path.

    path = build_tiny_model("/tmp/tiny", hidden_size=64, num_layers=2)
    model = AutoModelForCausalLM.from_pretrained(path)
"""

from __future__ import annotations

import string
from pathlib import Path

SPECIAL = ["<pad>", "<bos>", "<eos>"]
# the tags of the think / answer format, single tokens in the offline recipe's model
FORMAT_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")


def build_tokenizer(extra_tokens: list[str] | tuple[str, ...] = (), vocab_size: int = 0):
    """A character-level fast tokenizer; ``extra_tokens`` become single tokens. ``vocab_size``
    pads the vocabulary with filler words ``<v123>`` that text never encodes to (a model can still
    sample them): a real model's vocabulary size without its merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import PreTrainedTokenizerFast

    chars = sorted(set(string.printable) - set("\x0b\x0c\r"))
    vocab = {tok: i for i, tok in enumerate(SPECIAL + chars)}
    vocab.update({f"<v{i}>": i for i in range(len(vocab), vocab_size - len(extra_tokens))})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="?"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
                                   unk_token="?", padding_side="left")
    if extra_tokens:  # ordinary added tokens: kept when TRL decodes with skip_special_tokens=True
        fast.add_tokens(list(extra_tokens))
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    return fast


def build_tiny_model(path: str | Path, hidden_size: int = 32, num_layers: int = 2, num_heads: int = 2,
                     extra_tokens: list[str] | tuple[str, ...] = (), seed: int = 0) -> str:
    """Save a tiny randomly initialised Llama model and its tokenizer under ``path``; return the path."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(extra_tokens)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=num_heads, num_key_value_heads=num_heads,
        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False,
    )
    return _save(LlamaForCausalLM, config, tokenizer, path, seed)


def _save(model_class, config, tokenizer, path: str | Path, seed: int) -> str:
    """A randomly initialised ``model_class(config)`` and ``tokenizer`` saved under ``path``."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


# Qwen2.5-0.5B's architecture (its config.json): the real shapes, with random weights
QWEN25_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                  num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rope_theta=1000000.0,
                  rms_norm_eps=1e-6, tie_word_embeddings=True)


def build_shaped_model(path: str | Path, shape: dict = QWEN25_05B, seed: int = 0) -> str:
    """A randomly initialised Qwen2 model of the given shape (default: Qwen2.5-0.5B's) with a local
    tokenizer of the same vocabulary size, saved under ``path``: real sizes, no download."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tokenizer(vocab_size=shape["vocab_size"])
    config = Qwen2Config(**shape, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    return _save(Qwen2ForCausalLM, config, tokenizer, path, seed)
