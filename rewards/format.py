r"""Format rewards: does the completion follow the ``<think>...</think>`` (``<answer>...</answer>``)
layout? Tag names are parameters, so ``<reasoning>`` / ``<solution>`` layouts work too.

"Empty" means nothing visible: whitespace, zero-width and other invisible characters (format
characters such as U+200B, U+200D, U+2060, U+FEFF, control characters, combining marks alone,
blank look-alikes such as U+3164 and U+2800) make no content, and neither do tags, ``$``, HTML
comments, ``\phantom{...}``, spacing commands, empty groups (``{}``, ``\boxed{}``, an empty ``\text{}``)
or row breaks (``\\``); HTML entities (``&nbsp;``, ``&#8203;``) are decoded first. The checks are
plain scans of the text.
"""

from __future__ import annotations

import html
import re
import unicodedata

from .registry import register
from .math.commitment import strip_hidden
from .text import completion_text

_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"}
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# what shows nothing: tags, "$", HTML comments, \phantom{...}, spacing commands, an empty \text{}
_TAGS = re.compile(r"<!--.*?-->|</?[A-Za-z_][\w-]*>|\$|\\[hv]?phantom\{[^{}]*\}|\\[,;:! ]|\\q?quad\b|"
                   r"\\(?:text|mathrm|mbox)\{\s*\}", re.S)


_EMPTY_GROUPS = re.compile(r"\\[A-Za-z]+\*?(?:\[[^\]]*\])?\s*\{\s*\}|\{\s*\}|\\\\|\\(?:newline|hfill|noindent|relax)\b")


def content(text: str) -> str:
    """What a block shows: HTML entities decoded (``&nbsp;``, ``&#8203;``), struck-out and hidden
    content dropped (as the math rewards read it: docs/math.md), then tags, ``$``,
    comments, phantoms, spacing, empty groups (``{}``, ``\\boxed{}``, ``\\text{}``) and row
    breaks (``\\\\``) removed until nothing more goes."""
    text = strip_hidden(html.unescape(text))  # struck out or hidden (``~~x~~``, ``<del>``): nothing shown
    for _ in range(20):
        shorter = _EMPTY_GROUPS.sub("", _TAGS.sub("", text))
        if shorter == text:
            break
        text = shorter
    return text


def visible(text: str) -> bool:
    """True when ``text`` has at least one character a reader would see."""
    return any(not c.isspace() and c not in _BLANK_LOOKALIKES
               and unicodedata.category(c) not in _INVISIBLE_CATEGORIES for c in text)


def _block(text: str, tag: str, prefilled: bool = False) -> tuple[str, str] | None:
    """(the block's inside, what follows it) for a text that is one ``<tag>...</tag>`` block (the
    opening tag may be missing when ``prefilled``) and then anything, or None: leading text,
    a second opening or closing tag anywhere, an empty block."""
    opening, closing = f"<{tag}>", f"</{tag}>"
    folded = text.lower()  # <THINK> is the tag too
    body = text.lstrip()
    if prefilled:
        if opening.lower() in folded:
            return None  # the prompt opened the block: any <think> in the completion is a second one
    elif body.startswith(opening):
        body = body[len(opening):]
    else:
        return None
    if folded.count(opening.lower()) > (0 if prefilled else 1) or folded.count(closing.lower()) != 1 \
            or closing not in body:
        return None
    inside, _, after = body.partition(closing)
    return (inside, after) if visible(content(inside)) else None


@register("think_format")
def think_format(completions, think_tag: str = "think", prefilled: bool = False) -> list[float]:
    """1.0 for one non-empty <think>...</think> block followed by a non-empty answer, else 0.0.

    ``prefilled=True`` is for chat templates that put the opening tag in the prompt: the
    completion then starts inside the block and only ``...</think> answer`` is required; the
    block must still hold something visible, and the completion may not write ``<think>`` at all
    (the prompt's is the one). Tags are matched case aside (``<THINK>``); an answer made only of
    tags or ``$`` (``<answer></answer>``) is empty.
    """
    out = []
    for c in completions:
        block = _block(completion_text(c), think_tag, prefilled)
        out.append(1.0 if block is not None and visible(content(block[1])) else 0.0)
    return out


@register("answer_format")
def answer_format(completions, think_tag: str = "think", answer_tag: str = "answer") -> list[float]:
    """1.0 for exactly <think>...</think><answer>...</answer> (whitespace between), both blocks
    with visible content, else 0.0."""
    out = []
    for c in completions:
        text = completion_text(c)
        think = _block(text, think_tag)
        answer = _block(think[1], answer_tag) if think is not None else None
        ok = answer is not None and not answer[1].strip() and text.count(f"<{answer_tag}>") == 1
        out.append(1.0 if ok else 0.0)
    return out


@register("tag_count")
def tag_count(completions, tags: tuple[str, ...] | list[str] = ("think", "answer")) -> list[float]:
    """Partial credit in [0, 1]: for each tag, half its share for exactly one opening tag and half
    for exactly one closing tag after it.

    What it is for: a dense signal early in training, while a model is still learning to write
    the tags at all (before ``think_format`` / ``answer_format`` ever pay). What it cannot tell:
    whether the blocks hold anything, or in which order the tags come — ``<think></think>
    <answer></answer>`` and ``<answer></answer><think></think>`` earn 1.0. Pair it with a
    correctness reward and a strict format reward, and weight it low (or drop it once the strict
    format rewards are paid); alone, it is paid for four empty tags.
    """
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
