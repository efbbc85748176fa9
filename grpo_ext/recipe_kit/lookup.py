"""The built-in task of the offline tool recipe: answering with a code only a tool knows.

Every two-letter key (``aa`` .. ``zz``) has a random one-digit code, drawn from the seed. A prompt
asks ``code of qx?``; the episode's environment (TRL's ``environment_factory``: one
:class:`LookupEnv` per rollout, reset with the row) offers the tool ``lookup()``, which returns the
code of the episode's key; the answer is the code alone. A seeded split holds out 100 keys that
neither the warm-up nor RL ever sees, so the model cannot have memorised their codes: on them it is
right by chance (1 in 10) or by calling the tool and copying its result.

A rollout, as TRL builds it (the tiny tool format of :mod:`grpo_ext.tools`)::

    tools: lookup\n<user>code of qx?\n<assistant>       prompt
    <tool_call>lookup</tool_call><eos>                   model (tool_mask 1)
    \n<tool>7\n<assistant>                               tool result (tool_mask 0)
    7<eos>                                               model (tool_mask 1)

The warm-up is a short supervised pass on demonstrations: a share ``tool_share`` of them call the
tool and copy its result; the others answer ``0`` at once (a guess, right one time in ten). With
``tool_share`` below one half the warmed-up model, decoding greedily, answers ``0`` without calling
the tool; sampling, it calls the tool now and then. RL, rewarded for the right code only, has to
make the tool call its first choice.
"""

from __future__ import annotations

import random
import string

import torch
from datasets import Dataset

from grpo_ext.recipe_kit.arithmetic import supervised_steps

HELD_OUT = 100


SYMBOLS = string.digits  # a code is one of these (one token of the tiny tokenizer)
GUESS = "0"  # what the warm-up's demonstrations that do not call the tool answer


def codes(seed: int = 0) -> dict[str, str]:
    """The table: every two-letter key to a random one-digit code."""
    rng = random.Random(seed)
    return {a + b: rng.choice(SYMBOLS) for a in string.ascii_lowercase for b in string.ascii_lowercase}


def problems(seed: int = 0) -> tuple[Dataset, Dataset]:
    """(train, held_out): conversational ``prompt``, ``answer`` and ``key`` columns."""
    table = codes(seed)
    keys = sorted(table)
    random.Random(seed + 1).shuffle(keys)

    def build(ks):
        return Dataset.from_dict({"prompt": [[{"role": "user", "content": f"code of {k}?"}] for k in ks],
                                  "answer": [table[k] for k in ks], "key": ks})

    return build(keys[HELD_OUT:]), build(keys[:HELD_OUT])


class LookupEnv:
    """One episode of the task (TRL's environment contract): ``reset`` with the dataset row, public
    methods are the tools. ``table`` is the seed's (see :func:`env_factory`)."""

    table: dict[str, str] = {}

    def reset(self, key: str, **row) -> None:
        self.key = key
        return None  # the prompt already asks the question

    def lookup(self) -> str:
        """Look up the code of the key the question asks about."""
        return self.table[self.key]


def env_factory(seed: int = 0) -> type[LookupEnv]:
    """The environment class over the seed's table (TRL calls it with no arguments)."""
    return type("LookupEnv", (LookupEnv,), {"table": codes(seed)})


def exact_answer(completions, answer, **kwargs) -> list[float]:
    """1.0 when the last assistant message is exactly the answer (conversational completions)."""
    finals = [next((m.get("content") or "" for m in reversed(c) if m.get("role") == "assistant"), "")
              for c in completions]
    return [float(str(text).strip() == str(gold)) for text, gold in zip(finals, answer)]


# -- warm-up -----------------------------------------------------------------------------------------


def tool_suffix(tokenizer, name: str, content: str) -> list[int]:
    """The tokens TRL inserts after a call (the tool's result and the next assistant header), computed
    as TRL computes them: the rendering with the tool message minus the rendering without it."""
    calls = [{"type": "function", "function": {"name": name, "arguments": {}}}]
    head = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "", "tool_calls": calls}]
    prefix = tokenizer.apply_chat_template(head, tokenize=True, return_dict=False)
    prefix = prefix[: max(i for i, t in enumerate(prefix) if t == tokenizer.eos_token_id) + 1]
    full = tokenizer.apply_chat_template(head + [{"role": "tool", "name": name, "content": content}],
                                         add_generation_prompt=True, tokenize=True, return_dict=False)
    return full[len(prefix):]


def demonstration(tokenizer, tools, key: str, code: str, guess: str | None) -> tuple[list[int], list[int]]:
    """(ids, labels) of one rollout: a tool call then the code, or (``guess`` given) a direct guess.
    Labels are -100 on the prompt and on the tool's result, as the RL loss masks them."""
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": f"code of {key}?"}], tools=tools,
                                           add_generation_prompt=True, tokenize=True, return_dict=False)
    enc = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]  # noqa: E731
    if guess is not None:
        model_parts = [enc(guess)]
        tool_parts = []
    else:
        model_parts = [enc("<tool_call>lookup</tool_call>"), enc(code)]
        tool_parts = [tool_suffix(tokenizer, "lookup", code)]
    ids, labels = list(prompt), [-100] * len(prompt)
    for i, part in enumerate(model_parts):
        ids += part
        labels += part
        if i < len(tool_parts):
            ids += tool_parts[i]
            labels += [-100] * len(tool_parts[i])
    return ids, labels


def warm_up(model, tokenizer, train: Dataset, steps: int = 150, tool_share: float = 0.5, lr: float = 3e-3,
            batch_size: int = 32, seed: int = 0) -> list[float]:
    """Supervised steps on demonstrations (see the module docstring); returns the losses."""
    if not 0.0 <= tool_share <= 1.0:
        raise ValueError(f"tool_share must be in [0, 1], got {tool_share}")
    rng = random.Random(seed)
    tools = [LookupEnv().lookup]  # only its schema is rendered into the prompt
    rows = list(zip(train["key"], train["answer"]))
    return supervised_steps(model, tokenizer.pad_token_id, steps, lr, lambda: [
        demonstration(tokenizer, tools, k, c, None if rng.random() < tool_share else GUESS)
        for k, c in rng.sample(rows, min(batch_size, len(rows)))])


def build_model(path, hidden_size: int = 64, num_layers: int = 2, steps: int = 150, tool_share: float = 0.5,
                seed: int = 0, train: Dataset | None = None) -> str:
    """A tiny model with the tool format, warmed up on the task's training keys, saved under ``path``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from grpo_ext.recipe_kit.tiny import build_tiny_model
    from grpo_ext.tools import TOOL_FORMAT_TOKENS, add_tiny_tool_format

    initial = build_tiny_model(path, hidden_size=hidden_size, num_layers=num_layers, num_heads=4,
                               extra_tokens=TOOL_FORMAT_TOKENS, seed=seed)
    tokenizer = add_tiny_tool_format(AutoTokenizer.from_pretrained(initial))
    model = AutoModelForCausalLM.from_pretrained(initial)
    if steps:
        torch.manual_seed(seed)
        warm_up(model, tokenizer, train if train is not None else problems(seed)[0], steps, tool_share, seed=seed)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)
