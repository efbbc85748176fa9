"""Format rewards: does the completion follow the ``<think>...</think>`` (``<answer>...</answer>``)
layout? Tag names are parameters, so ``<reasoning>`` / ``<solution>`` layouts work too."""

from __future__ import annotations

import re
from functools import lru_cache

from .registry import register
from .text import completion_text


@lru_cache(maxsize=64)
def _pattern(template: str, think: str, answer: str) -> re.Pattern:
    return re.compile(template.format(t=re.escape(think), a=re.escape(answer)), re.S)


def _one_each(text: str, *tags: str) -> bool:
    return all(text.count(f"<{t}>") == 1 and text.count(f"</{t}>") == 1 for t in tags)


@register("think_format")
def think_format(completions, think_tag: str = "think", prefilled: bool = False) -> list[float]:
    """1.0 for one <think>...</think> block followed by a non-empty answer, else 0.0.

    ``prefilled=True`` is for chat templates that put the opening tag in the prompt: the
    completion then starts inside the block and only ``...</think> answer`` is required.
    """
    template = r"\s*(?:<{t}>)?(?!\s*</{t}>).+?</{t}>\s*\S.*" if prefilled else r"\s*<{t}>(?!\s*</{t}>).+?</{t}>\s*\S.*"
    pattern = _pattern(template, think_tag, "")
    out = []
    for c in completions:
        text = completion_text(c)
        ok = pattern.fullmatch(text) and text.count(f"</{think_tag}>") == 1 and text.count(f"<{think_tag}>") <= 1
        out.append(1.0 if ok else 0.0)
    return out


@register("answer_format")
def answer_format(completions, think_tag: str = "think", answer_tag: str = "answer") -> list[float]:
    """1.0 for exactly <think>...</think><answer>...</answer> (whitespace between), else 0.0."""
    pattern = _pattern(r"\s*<{t}>(?!\s*</{t}>).+?</{t}>\s*<{a}>(?!\s*</{a}>).+?</{a}>\s*", think_tag, answer_tag)
    out = []
    for c in completions:
        text = completion_text(c)
        out.append(1.0 if pattern.fullmatch(text) and _one_each(text, think_tag, answer_tag) else 0.0)
    return out


@register("tag_count")
def tag_count(completions, tags: tuple[str, ...] | list[str] = ("think", "answer")) -> list[float]:
    """Partial credit in [0, 1]: for each tag, half its share for exactly one opening tag and half
    for exactly one closing tag after it."""
    if not tags:
        raise ValueError("tag_count needs at least one tag name")
    share = 1.0 / len(tags)
    out = []
    for c in completions:
        text, score = completion_text(c), 0.0
        for t in tags:
            opening, closing = f"<{t}>", f"</{t}>"
            if text.count(opening) == 1:
                score += share / 2
                if text.count(closing) == 1 and text.index(closing) > text.index(opening):
                    score += share / 2
        out.append(score)
    return out
