r"""The math reward: extract (``rewards.math.extraction``), normalise, parse, compare, bounded.

``verify(completion, gold)`` extracts, normalises and parses both sides with the parser in
``rewards.math.parse`` (never ``sympify``/``eval`` on model text) and compares them as described
in ``rewards.math.compare``. Every check runs in a worker process with a hard wall-clock limit
(``timeout``), so it cannot hang a training step; a check over its limit counts as wrong.

Registered as ``math_accuracy``: 1.0 / 0.0, or ``None`` when the gold answer cannot be parsed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .._bounded import BoundedCrash, BoundedTimeout, run_bounded
from .extraction import extract_answer, gold_answer, squash
from .normalise import normalize
from ..registry import register
from ..text import completion_text

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds per check, wall clock
MAX_ANSWER_CHARS = 1000  # an extracted answer longer than this is compared as text only
_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")  # never thousands (three digits follow those)
_CHOICE = re.compile(r"\(?([A-E])\)?(?:[.:,;]|\s|$).*", re.S)
_LISTED_LETTERS = re.compile(r"(?<![A-Za-z])\(?([A-E])\)?(?![A-Za-z])")
_LETTER_LIST = re.compile(r"\(?[A-E]\)?(?:\s*(?:,|/|\bor\b|\band\b)\s*(?:or\s+|and\s+)?\(?[A-E]\)?)+\.?")

def _choice(text: str, strict: bool) -> str | None:
    """The letter a multiple-choice answer names; None when it names none, or several (a hedge:
    "A, B, C or D")."""
    text = normalize(text)
    if strict:
        m = re.fullmatch(r"\(?([A-E])\)?", text)
        return m.group(1) if m else None
    if len(set(_LISTED_LETTERS.findall(text))) > 1 and _LETTER_LIST.fullmatch(text):
        return None
    m = _CHOICE.fullmatch(text)
    return m.group(1) if m else None


@dataclass
class Check:
    """What a check saw: the extracted answer, both normalised and parsed forms, the verdict."""

    answer: str | None
    gold: str
    answer_parsed: str = ""
    gold_parsed: str = ""
    correct: bool | None = None  # None: the gold could not be parsed
    reason: str = ""


def _parse(text: str):
    from .parse import ParseError, parse  # sympy is imported in the worker only

    try:
        return parse(normalize(text)), ""
    except (ParseError, RecursionError, ValueError, TypeError, ZeroDivisionError, OverflowError) as err:
        return None, f"{type(err).__name__}: {err}"


def _check(completion: str, gold: str) -> Check:
    """Runs in the worker: extract, normalise, parse and compare."""
    from sympy import Expr

    from .compare import equivalent

    gold_text = gold_answer(gold)
    answer = extract_answer(completion)
    result = Check(answer, gold_text)
    letter = _choice(gold_text, strict=True)
    if letter is not None:
        got = _choice(answer, strict=False) if answer else None
        result.correct, result.reason = got == letter, f"multiple choice: gold {letter}, answer {got}"
        return result
    gold_obj, gold_err = _parse(gold_text)
    result.gold_parsed = _short(gold_obj) if gold_obj is not None else gold_err
    if answer is None:
        result.correct, result.reason = (False, "no answer found") if gold_text else (None, "empty gold")
        return result
    if normalize(answer) == normalize(gold_text) or squash(normalize(answer)) == squash(normalize(gold_text)):
        result.correct, result.reason = True, "same text after normalisation"
        return result
    if len(answer) > MAX_ANSWER_CHARS:
        result.correct, result.reason = False, "answer too long to parse; texts differ"
        return result
    answer_obj, answer_err = _parse(answer)
    result.answer_parsed = _short(answer_obj) if answer_obj is not None else answer_err
    if gold_obj is None:
        plain = re.fullmatch(r"[A-Za-z][A-Za-z .'-]*", normalize(gold_text))
        result.correct = False if plain else None
        result.reason = "gold is text; texts differ" if plain else f"cannot parse the gold ({gold_err})"
        return result
    if answer_obj is None:
        result.correct, result.reason = False, "cannot parse the answer"
        return result
    if _DECIMAL_COMMA.fullmatch(normalize(answer)) and isinstance(gold_obj, Expr) and gold_obj.is_number:
        answer_obj, _ = _parse(normalize(answer).replace(",", "."))  # "2,74" against a number: a decimal comma
    result.correct = bool(equivalent(answer_obj, gold_obj))
    result.reason = "equivalent" if result.correct else "not equivalent"
    return result


def _short(obj, limit: int = 200) -> str:
    try:
        text = str(obj)
    except ValueError:  # Python refuses to print integers of more than 4300 digits
        return f"<{type(obj).__name__} too large to print>"
    return text if len(text) <= limit else text[:limit] + "..."


def explain(completion, gold: str, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """The full record of one check (used by ``grpo-ext rewards check``)."""
    text = completion_text(completion)
    try:
        return run_bounded(_check, text, str(gold), timeout=timeout)
    except BoundedTimeout:
        return Check(None, str(gold), correct=False, reason=f"timed out after {timeout} s")
    except BoundedCrash as err:
        logger.warning("math check crashed: %s", err)
        return Check(None, str(gold), correct=False, reason=f"check failed: {err}")


def score(completion, gold: str, timeout: float = DEFAULT_TIMEOUT) -> float | None:
    """1.0 if the completion's answer equals ``gold``, 0.0 if not, None if the gold is unparseable."""
    correct = explain(completion, gold, timeout).correct
    return None if correct is None else float(correct)


def verify(completion, gold: str, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """True when the completion's answer is equivalent to ``gold`` (bounded by ``timeout`` seconds)."""
    return bool(explain(completion, gold, timeout).correct)


@register("math_accuracy")
class MathAccuracy:
    """1.0 when the extracted answer equals the gold answer (sympy equivalence), else 0.0."""

    def __init__(self, gold_column: str = "answer", timeout: float = DEFAULT_TIMEOUT):
        self.gold_column = gold_column
        self.timeout = timeout
        self.required_columns = (gold_column,)

    def __call__(self, completions, **columns) -> list[float | None]:
        golds = columns[self.gold_column]
        return [score(c, g, self.timeout) for c, g in zip(completions, golds, strict=True)]
