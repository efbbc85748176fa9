r"""The math reward: extract (``rewards.math.extraction``), normalise, parse, compare, bounded.

``verify(completion, gold)`` extracts, normalises and parses both sides with the parser in
``rewards.math.parse`` (never ``sympify``/``eval`` on model text) and compares them as described
in ``rewards.math.compare``. Every check runs in a worker process under a hard limit
(``timeout`` seconds of the worker's own time, see ``rewards._bounded``), so it cannot hang a
training step. The worker imports sympy and the parser before the clock starts.

A time-out is not a wrong answer: ``explain`` reports it (``Check.timeout``: ``"input"`` or
``"machine"``), ``score`` and ``math_accuracy`` give it ``timeout_score`` (``None`` by default:
TRL leaves it out of the sum), ``math_accuracy`` counts it and logs the share of the batch as the
metric ``math/timeout`` through TRL's ``log_metric``; ``verify`` (a plain bool) says False.

Registered as ``math_accuracy``: 1.0 / 0.0, or ``None`` when the gold answer cannot be parsed or
the check timed out.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from .._bounded import BoundedCrash, BoundedTimeout, run_bounded
from .extraction import extract, gold_answer, retracted
from .normalise import REFUSAL_WORDS, normalize, normalize_with_units
from ..registry import register
from ..text import completion_text

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds per check, of the worker's own time (waits for a CPU excluded)
PRELOAD = ("sympy", f"{__package__}.parse", f"{__package__}.compare")  # imported by the worker before its clock starts
MAX_ANSWER_CHARS = 10_000  # an extracted answer longer than this is compared as text only
_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")  # never thousands (three digits follow those)
# a letter alone, or bracketed / followed by ")", "." or ":" and then its option's text ("C) 12")
_CHOICE = re.compile(r"\(?([A-E])\)?|\(([A-E])\)\s*(.*)|([A-E])[.):,;]\s*(.*)", re.S)
_LISTED_LETTERS = re.compile(r"(?<![A-Za-z])\(?([A-E])\)?(?![A-Za-z])")
_LETTER_LIST = re.compile(r"\(?[A-E]\)?(?:\s*(?:,|/|\bor\b|\band\b)\s*(?:or\s+|and\s+)?\(?[A-E]\)?)+\.?")

def _choice(text: str, strict: bool) -> str | None:
    """The letter a multiple-choice answer names; None when it names none, or several (a hedge:
    "A, B, C or D")."""
    raw, text = text, normalize(text)
    denied = re.fullmatch(r"\(?([A-E])\)?\s*,?\s*(?:and\s+|but\s+)?not\s+\(?([A-E])\)?\.?", raw.strip())
    if not strict and denied and denied.group(1) != denied.group(2):
        return denied.group(1)  # "C, not D": the other option denied, not offered
    if strict:
        m = re.fullmatch(r"\(?([A-E])\)?", text)
        return m.group(1) if m else None
    if len(set(_LISTED_LETTERS.findall(text))) > 1 and _LETTER_LIST.fullmatch(text):
        return None
    m = _CHOICE.fullmatch(text)
    if not m:
        return None
    rest = (m.group(3) or m.group(5) or "") + " " + raw[1:]
    if any(w in REFUSAL_WORDS for w in re.findall(r"[a-z']+", rest.lower()) if len(w) > 1):
        return None  # "(C) is wrong", "C. or maybe D": the letter is not what it commits to
    letter = m.group(1) or m.group(2) or m.group(4)
    after = raw[raw.find(letter) + 1:] if letter in raw else rest  # the option text as written (units kept)
    if re.search(r"(?<![A-Za-z\\])\(?[A-E](?:[).:,]|\s*$)", after) or len(set(re.findall(r"\(([A-E])\)", raw))) > 1:
        return None  # "C. D.", "C) D)": another option named in the same breath
    return letter


@dataclass
class Check:
    """What a check saw: the extracted answer, both normalised and parsed forms, the verdict."""

    answer: str | None
    gold: str
    answer_parsed: str = ""
    gold_parsed: str = ""
    correct: bool | None = None  # None: the gold could not be parsed, or the check timed out
    reason: str = ""
    timeout: str = ""  # "input" / "machine" when the check timed out (see rewards._bounded), else ""


def _parse(text: str):
    from .parse import ParseError, parse  # sympy is imported in the worker only

    try:
        return parse(normalize(text)), ""
    except (ParseError, RecursionError, ValueError, TypeError, ZeroDivisionError, OverflowError) as err:
        return None, f"{type(err).__name__}: {err}"


_PERCENT_PROBLEM = re.compile(r"percent|%|\\%", re.I)
_TEXT_GOLD = re.compile(r"[A-Za-z]{2,}(?:[ '-]+[A-Za-z]+)*")  # a word answer: "east", "Tuesday", "yes"


def _check(completion: str, gold: str, problem: str | None = None, rtol: float | None = None) -> Check:
    """Runs in the worker: extract, normalise, parse and compare. When the gold is a list (a
    multi-part problem, several boxes) and the last group of boxes does not match it, every
    distinct box of the completion is tried as the list, unless the completion retracts one."""
    from . import compare

    gold_text = gold_answer(gold)
    compare._settings.update(rtol=rtol, gold_decimal=bool(re.search(r"\d\.\d|(?<!\d)\.\d", gold_text)),
                             percent_problem=None if problem is None else bool(_PERCENT_PROBLEM.search(problem)),
                             clock=_clock_gold(gold_text, problem))
    try:
        return _check_parts(completion, gold_text)
    finally:
        compare._settings.update(rtol=None, gold_decimal=False, percent_problem=None, answer_places=0, clock=False)


def _check_parts(completion: str, gold_text: str) -> Check:
    from .objects import Seq

    found = extract(completion)
    answer = found.answer
    letter = _choice(gold_text, strict=True)
    if letter is not None:
        result = Check(answer, gold_text)
        got = _choice(answer, strict=False) if answer else None
        other = [v for v in found.after if _choice(v, strict=False) not in (None, got)]
        result.correct, result.reason = got == letter and not other, f"multiple choice: gold {letter}, answer {got}"
        if other:
            result.reason += f"; another option stated after it: {other[0]!r}"
        return result
    gold_obj, gold_err = _parse(gold_text)
    result = _compare(answer, gold_text, gold_obj, gold_err, found.after)
    if result.correct is False and isinstance(gold_obj, Seq) and len(gold_obj.items) > 1:
        every = extract(completion, all_boxes=True)
        if every.answer != answer and not retracted(completion):
            retry = _compare(every.answer, gold_text, gold_obj, gold_err, every.after)
            result = retry if retry.correct else result
    return result


def _other_value(after: tuple[str, ...], answer_obj) -> str | None:
    """The first value stated after the answer that is not the answer's own value (a derivation
    ending in it is: ``2 + 3 = 5`` after ``\\boxed{5}``), or None."""
    from .compare import equivalent

    from .compare import _is_label
    from .objects import Equation

    for text in after:
        obj, _ = _parse(text)
        if _rounding_of(obj, answer_obj):
            continue  # "\\boxed{\\frac16}, i.e. about 16.7%": the answer's own value, rounded
        if isinstance(obj, Equation) and _is_label(obj.lhs) and not (
                isinstance(answer_obj, Equation) and answer_obj.lhs == obj.lhs):
            continue  # "attained at $a = b = c = 1$": a value named for another quantity
        if obj is None or answer_obj is None or not equivalent(obj, answer_obj):
            return text
    return None


def _rounding_of(obj, answer_obj) -> bool:
    """``obj`` is a decimal (or a decimal percent) that rounds or truncates the answer's value, which
    a decimal does not write exactly: ``16.7\\%`` or ``0.167`` after ``\\frac{1}{6}``, never ``5.4``
    after ``5``."""
    from sympy import Expr, Rational

    from .compare import _approximates, _terminates
    from .objects import Percent

    if isinstance(obj, Percent):
        obj = obj.value / 100 if isinstance(obj.value, Expr) else None
    if not (isinstance(obj, Rational) and isinstance(answer_obj, Expr)) or answer_obj.free_symbols:
        return False
    return not _terminates(answer_obj) and _approximates(answer_obj, obj)


def _compare(answer: str | None, gold_text: str, gold_obj, gold_err: str, after: tuple[str, ...] = ()) -> Check:
    from sympy import Expr

    from .compare import equivalent

    result = Check(answer, gold_text)
    result.gold_parsed = _short(gold_obj) if gold_obj is not None else gold_err
    if answer is None:
        result.correct, result.reason = (False, "no answer found") if gold_text else (None, "empty gold")
        return result
    if len(answer) > MAX_ANSWER_CHARS:
        result.correct, result.reason = False, "answer too long to parse"
        return result
    answer_text, answer_units = normalize_with_units(answer)
    gold_norm, gold_units = normalize_with_units(gold_text)
    if _is_word_gold(gold_text, gold_norm) or gold_obj is None:
        result = _text_verdict(result, answer_text, gold_norm, gold_obj is None, gold_err)
        if result.correct and after:
            result.correct, result.reason = False, f"another value stated after the answer: {after[0]!r}"
        return result
    if answer_units and gold_units and answer_units != gold_units:
        result.correct, result.reason = False, f"units differ: {' '.join(answer_units)} vs {' '.join(gold_units)}"
        return result
    answer_obj, answer_err = _parse(answer)
    result.answer_parsed = _short(answer_obj) if answer_obj is not None else answer_err
    from . import compare

    written = re.fullmatch(r"-?\d*\.(\d*?0+)", answer_text)  # a decimal with trailing zeros: its written places
    compare._settings["answer_places"] = len(written.group(1)) if written else 0
    if answer_obj is None:
        result.correct, result.reason = False, "cannot parse the answer"
        return result
    plain = normalize(answer)
    if isinstance(gold_obj, Expr) and gold_obj.is_number and (_DECIMAL_COMMA.fullmatch(plain) or _LAKH.fullmatch(plain)):
        # "2,74" against a number: a decimal comma; "12,34,567": Indian digit grouping
        answer_obj, _ = _parse(plain.replace(",", ".") if _DECIMAL_COMMA.fullmatch(plain) else plain.replace(",", ""))
    other = _other_value(after, answer_obj)
    if other is not None:
        result.correct, result.reason = False, f"another value stated after the answer: {other!r}"
        return result
    result.correct = bool(equivalent(answer_obj, gold_obj))
    result.reason = "equivalent" if result.correct else "not equivalent"
    return result


_LAKH = re.compile(r"-?\d{1,2}(?:,\d{2})+,\d{3}")  # 12,34,567: lakh / crore grouping
_CLOCK = re.compile(r"(?:.*=)?\s*([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?\s*(?:[ap]\.?m\.?)?", re.I)
_TIME_PROBLEM = re.compile(r"\b(?:time|clock|o'clock|[ap]\.m\.|am|pm|noon|midnight)\b", re.I)
_RATIO_PROBLEM = re.compile(r"\b(?:ratio|proportion|odds)\b", re.I)


def _clock_gold(gold_text: str, problem: str | None) -> bool:
    """A gold ``h:mm`` is a clock time when the problem asks about time, or (no problem given, or
    one that names neither) when its parts are not in lowest terms (``10:30``: a ratio gold is
    written reduced, ``11:21``); then an answer matches only the same time, never ``1:3``."""
    m = _CLOCK.fullmatch(normalize(gold_text))
    if not m:
        return False
    if problem is not None and _RATIO_PROBLEM.search(problem):
        return False
    if problem is not None and _TIME_PROBLEM.search(problem):
        return True
    from math import gcd

    return gcd(int(m.group(1)), int(m.group(2))) != 1


_MATH_NAMES = frozenset("pi inf infty infinity oo".split())


def _is_word_gold(raw: str, norm: str) -> bool:
    """A gold that is words, compared as text: written in ``\\text{}`` (``\\text{no}``), or letters
    with a vowel, three or more (``east``, ``Tuesday``); ``ba`` or ``xyz`` stay products of symbols."""
    if not _TEXT_GOLD.fullmatch(norm) or norm.lower() in _MATH_NAMES:
        return False
    return bool(re.search(r"\\(?:text|mathrm|textbf|mbox|textit|textrm)\{", raw)) or (
        len(norm) >= 3 and bool(re.search(r"[aeiou]", norm, re.I))) or norm.lower() == "no"  # yes / no


def _text_verdict(result: Check, answer: str, gold: str, unparsed: bool, gold_err: str) -> Check:
    """A gold that is words is compared as text: the same words, case aside, and nothing more. A
    gold that does not parse is matched by the same text, spacing aside (LaTeX spacing carries no
    meaning; case and braces do), else it cannot be judged (None)."""
    words = re.fullmatch(r"[A-Za-z][A-Za-z .'-]*", gold)
    if words:  # "\\text{Yes!}" for yes: the sentence's closing mark is not part of the word
        answer = re.sub(r"(?<=[A-Za-z])[.!]$", "", answer.strip())
    if gold and answer.strip().lower() == gold.strip().lower():
        result.correct, result.reason = True, "same text"
    elif unparsed and not words and gold and re.sub(r"\s", "", answer) == re.sub(r"\s", "", gold):
        result.correct, result.reason = True, "same text, spacing aside (the gold does not parse)"
    elif words:
        result.correct, result.reason = False, "gold is text; texts differ"
    else:
        result.correct, result.reason = None, f"cannot parse the gold ({gold_err})"
    return result


def _short(obj, limit: int = 200) -> str:
    try:
        text = str(obj)
    except ValueError:  # Python refuses to print integers of more than 4300 digits
        return f"<{type(obj).__name__} too large to print>"
    return text if len(text) <= limit else text[:limit] + "..."


def explain(completion, gold: str, timeout: float = DEFAULT_TIMEOUT, problem: str | None = None,
            rtol: float | None = None) -> Check:
    """The full record of one check (used by ``grpo-ext rewards check``). ``problem``: the prompt's
    text, which decides what an answer's ``%`` means; ``rtol``: an explicit relative tolerance for
    numbers (none by default: exact golds compare exactly)."""
    text = completion_text(completion)
    if gold is None:
        return Check(None, "", correct=None, reason="the row has no gold answer")
    try:
        return run_bounded(_check, text, str(gold), problem, rtol, timeout=timeout, preload=PRELOAD)
    except BoundedTimeout as err:
        logger.warning("math check timed out (%s): %s", err.cause, err)
        return Check(None, str(gold), correct=None, reason=f"timed out: {err}", timeout=err.cause)
    except BoundedCrash as err:
        logger.warning("math check crashed: %s", err)
        return Check(None, str(gold), correct=False, reason=f"check failed: {err}")


def _value(check: Check, timeout_score: float | None) -> float | None:
    """A time-out the input caused (the check used its own budget) is a failed answer: 0.0. Only a
    time-out of a busy machine (the wall-clock ceiling) gets ``timeout_score``."""
    if check.timeout == "input":
        return 0.0
    if check.timeout:
        return timeout_score
    return None if check.correct is None else float(check.correct)


def score(completion, gold: str, timeout: float = DEFAULT_TIMEOUT, timeout_score: float | None = None,
          problem: str | None = None, rtol: float | None = None) -> float | None:
    """1.0 if the completion's answer equals ``gold``, 0.0 if not (or the input ran the check out
    of time), None if the gold is unparseable; ``timeout_score`` (None unless given) if a busy
    machine timed the check out."""
    return _value(explain(completion, gold, timeout, problem, rtol), timeout_score)


def verify(completion, gold: str, timeout: float = DEFAULT_TIMEOUT, problem: str | None = None,
           rtol: float | None = None) -> bool:
    """True when the completion's answer is equivalent to ``gold`` (bounded by ``timeout`` seconds).
    False for a wrong answer and for a time-out alike: use ``explain`` to tell them apart."""
    return bool(explain(completion, gold, timeout, problem, rtol).correct)


def prompt_text(prompt) -> str | None:
    """The problem's text: a string, or the user messages of a conversation."""
    if prompt is None or isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (list, tuple)):
        return " ".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict) and m.get("role") != "system")
    return str(prompt)


@register("math_accuracy")
class MathAccuracy:
    """1.0 when the extracted answer equals the gold answer (sympy equivalence), else 0.0."""

    preload = PRELOAD  # for RewardRunner: what its workers import before their clocks start

    def __init__(self, gold_column: str = "answer", timeout: float = DEFAULT_TIMEOUT,
                 timeout_score: float | None = None, rtol: float | None = None):
        """``timeout``: seconds of the worker's own time per check. ``timeout_score``: the score of a
        check that a busy machine timed out; None (the default) leaves it out of TRL's sum. A check
        the input itself ran out of time scores 0.0. ``rtol``: an explicit relative tolerance for
        numbers (None: exact golds compare exactly)."""
        self.gold_column = gold_column
        self.timeout, self.timeout_score, self.rtol = timeout, timeout_score, rtol
        self.required_columns = (gold_column,)
        self.totals: Counter[str] = Counter()  # "checked", "timeout_input", "timeout_machine" since construction

    def __call__(self, completions, log_metric=None, prompts=None, **columns) -> list[float | None]:
        golds = columns[self.gold_column]
        problems = [prompt_text(p) for p in prompts] if prompts is not None else [None] * len(golds)
        checks = [explain(c, g, self.timeout, p, self.rtol) for c, g, p in zip(completions, golds, problems, strict=True)]
        timeouts = Counter(c.timeout for c in checks if c.timeout)
        self.totals.update(checked=len(checks), **{f"timeout_{k}": v for k, v in timeouts.items()})
        if timeouts:
            logger.warning("math_accuracy: %d of %d checks timed out (%s); input time-outs scored 0.0, machine "
                           "time-outs %r", sum(timeouts.values()), len(checks), dict(timeouts), self.timeout_score)
        if log_metric is not None and checks:
            log_metric("math/timeout", sum(timeouts.values()) / len(checks))
        return [_value(c, self.timeout_score) for c in checks]
