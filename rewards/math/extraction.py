r"""Where a completion's answer is: the text it commits to, before any parsing.

``extract_answer(text)`` finds the answer a completion commits to, in priority order:
``<answer>`` tags, the last ``\boxed{}`` / ``\fbox{}``, ``####``, "answer is" / "answer:", the last
number. Text inside ``<think>`` never counts; an unclosed ``<think>`` means no answer yet.
``gold_answer(gold)`` cuts a gold solution to its answer (its ``\boxed{}`` or ``####`` part).
"""

from __future__ import annotations

import re

from rewards.math.normalise import match_brace

_ANSWER_IS = re.compile(r"answer\s*(?:is|:|=)\s*:?\s*((?:[^\n.]|\.(?=\S))+)", re.I)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_MATH_SPAN = re.compile(r"\$\$?([^$]{1,500})\$\$?|\\\((.{1,500}?)\\\)|\\\[(.{1,500}?)\\\]", re.S)
_SHORT_BOXED = re.compile(r"\\boxed\s+([^\s$]+)")


def _strip_think(text: str) -> str | None:
    close = text.rfind("</think>")
    if close >= 0:
        return text[close + len("</think>") :]
    if "<think>" in text:
        return None  # still thinking: nothing has been committed to
    return text


def _last_boxed(text: str) -> str | None:
    i = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if i < 0:
        return None
    brace = text.find("{", i)
    gap = text[i + 5 : brace] if brace >= 0 else ""
    if brace >= 0 and gap.strip() in ("", "d", "x"):  # \boxed{ and \fbox{ (the "d"/"x" of the names)
        end = match_brace(text, brace)
        return text[brace + 1 : end - 1] if end > 0 else None
    m = _SHORT_BOXED.match(text, i)
    return m.group(1) if m else None


def _answer_is(text: str) -> str | None:
    last = None
    for last in _ANSWER_IS.finditer(text):
        pass
    return last.group(1).strip() if last else None


def _after_hashes(text: str) -> str | None:
    """GSM8K style: the rest of the line after the last ``####``."""
    if "####" not in text:
        return None
    tail = text.rsplit("####", 1)[1].strip()
    return tail.splitlines()[0] if tail else None


def extract_answer(text: str) -> str | None:
    """The answer a completion commits to, as raw text, or None."""
    body = _strip_think(text)
    if body is None:
        return None
    close = body.rfind("</answer>")
    open_ = body.rfind("<answer>", 0, close if close >= 0 else len(body))
    if open_ >= 0:
        inner = body[open_ + len("<answer>") : close if close > open_ else len(body)]
        return (_last_boxed(inner) or _answer_is(inner) or inner).strip() or None
    for finder in (_last_boxed, _after_hashes, _answer_is):
        found = finder(body)
        if found:
            return found.strip()
    return _last_math_or_number(body)


def _last_math_or_number(text: str) -> str | None:
    """Whichever comes last: a ``$...$`` / ``\\(...\\)`` span or a plain number."""
    best, best_end = None, -1
    for m in _MATH_SPAN.finditer(text):
        best, best_end = next(g for g in m.groups() if g is not None), m.end()
    for m in _NUMBER.finditer(text):
        if m.end() > best_end:
            best, best_end = m.group(0).rstrip(","), m.end()
    return best.strip() if best else None


def gold_answer(gold: str) -> str:
    """The answer part of a gold solution: its ``\\boxed{}`` or ``####`` part, or all of it."""
    gold = str(gold)
    if "\\boxed" in gold or "\\fbox" in gold:
        return _last_boxed(gold) or gold
    if "####" in gold:
        return gold.rsplit("####", 1)[1].strip()
    return gold.strip()
