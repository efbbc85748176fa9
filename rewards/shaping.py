"""Shaping rewards: length and repetition penalties, and length-scaled correctness.

- ``soft_overlong``: DAPO's soft overlong punishment (Yu et al., 2025, arXiv:2503.14476, eq. 13).
- ``repetition_penalty``: share of repeated token n-grams, scaled to ``[max_penalty, 0]``
  (computed on token ids, so it works for any language and any tokenizer).
- ``cosine_scaled``: correctness scaled by a cosine of the length (Yeo et al., 2025, "Demystifying
  Long Chain-of-Thought Reasoning in LLMs", arXiv:2502.03373): short correct answers earn most,
  short wrong answers lose most.
"""

from __future__ import annotations

import math

from . import math as math_reward
from .registry import register
from .text import completion_text


def _lengths(completions, completion_ids) -> list[int]:
    """Token counts; without token ids (e.g. the CLI), characters are counted."""
    if completion_ids is not None:  # a missing row of ids falls back to the characters of its text
        return [len(ids) if ids is not None else len(completion_text(c)) for ids, c in zip(completion_ids, completions)]
    return [len(completion_text(c)) for c in completions]


@register("soft_overlong")
def soft_overlong(completions, completion_ids=None, max_length: int = 4096, cache_length: int = 512,
                  penalty: float = 1.0) -> list[float]:
    """DAPO's length penalty: 0 up to max_length - cache_length, then linearly down to -penalty at
    max_length, and -penalty beyond."""
    if not 0 < cache_length <= max_length:
        raise ValueError(f"soft_overlong needs 0 < cache_length <= max_length; got {cache_length} and {max_length}")
    safe = max_length - cache_length
    out = []
    for n in _lengths(completions, completion_ids):
        if n <= safe:
            out.append(0.0)
        elif n <= max_length:
            out.append(penalty * (safe - n) / cache_length)
        else:
            out.append(-penalty)
    return out


@register("repetition_penalty")
def repetition_penalty(completions, completion_ids=None, ngram_size: int = 3, max_penalty: float = -1.0) -> list[float]:
    """max_penalty * (1 - distinct n-grams / all n-grams) over token ids; 0 for texts shorter than n."""
    if max_penalty > 0:
        raise ValueError(f"repetition_penalty's max_penalty must be <= 0, got {max_penalty}")
    if ngram_size < 1:
        raise ValueError(f"repetition_penalty's ngram_size must be >= 1, got {ngram_size}")
    if completion_ids is None:
        completion_ids = [None] * len(completions)
    sequences = [ids if ids is not None else list(completion_text(c)) for ids, c in zip(completion_ids, completions)]
    out = []
    for seq in sequences:
        seq = list(seq)
        grams = [tuple(seq[i : i + ngram_size]) for i in range(len(seq) - ngram_size + 1)]
        out.append(0.0 if not grams else max_penalty * (1.0 - len(set(grams)) / len(grams)))
    return out


@register("cosine_scaled")
class CosineScaled:
    """Correctness scaled by length: correct answers from max_value_correct (empty) down to
    min_value_correct (max_length tokens); wrong ones from min_value_wrong up to max_value_wrong."""

    def __init__(self, gold_column: str = "answer", max_length: int = 1024, min_value_wrong: float = -1.0,
                 max_value_wrong: float = -0.5, min_value_correct: float = 0.5, max_value_correct: float = 1.0,
                 timeout: float = math_reward.DEFAULT_TIMEOUT, timeout_score: float | None = None):
        """``timeout_score``: the score of a check that a busy machine timed out (None: left out of
        TRL's sum); a check that the input itself ran out of time is a wrong answer, scaled as one."""
        if max_length <= 0:
            raise ValueError(f"cosine_scaled needs max_length > 0, got {max_length}")
        self.gold_column, self.max_length, self.timeout = gold_column, max_length, timeout
        self.timeout_score = timeout_score
        self.wrong = (max_value_wrong, min_value_wrong)  # (value at max length, value at length 0)
        self.correct = (min_value_correct, max_value_correct)
        self.required_columns = (gold_column,)

    def __call__(self, completions, completion_ids=None, prompts=None, **columns) -> list[float | None]:
        out = []
        problems = prompts if prompts is not None else [None] * len(completions)
        rows = zip(completions, _lengths(completions, completion_ids), columns[self.gold_column], problems, strict=True)
        for c, n, gold, problem in rows:
            check = math_reward.explain(c, gold, self.timeout, math_reward.reward.prompt_text(problem))
            if check.timeout == "machine":
                out.append(self.timeout_score)
                continue
            if check.correct is None and not check.timeout:
                out.append(None)  # the gold cannot be parsed: a fault of the row
                continue
            ok = bool(check.correct)
            at_max, at_zero = self.correct if ok else self.wrong
            progress = min(n, self.max_length) / self.max_length
            out.append(at_max + 0.5 * (at_zero - at_max) * (1.0 + math.cos(math.pi * progress)))
        return out
