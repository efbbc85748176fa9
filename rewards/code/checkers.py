"""Verdicts of special judges: what a checker's or interactor's exit reads as, and a small library
of checkers for the common cases, run here on the program's (already bounded) output.

A verdict is a :class:`Verdict`: ``score`` in [0, 1] (``None`` when the *judge* failed: it is
never a pass, never a 0, and is counted as ``judge_error``) and an ``outcome``.

Checker programs follow one of two protocols (``protocol`` in the row's ``checker``):

``testlib`` (Codeforces, Polygon, most judges; the default)
    run as ``checker input.txt output.txt answer.txt result.txt`` (test input, the contestant's
    output, the jury's answer, a file for the message); the exit status is the verdict:

    ====== ================== =================================================
    status testlib name       score
    ====== ================== =================================================
    0      ``_ok``            1.0
    1      ``_wa``            0.0 (wrong answer)
    2      ``_pe``            0.0 (presentation error)
    3      ``_fail``          None (the judge failed: counted, never a pass)
    4      ``_dirt``          0.0
    7      ``_points``        the points: the first number of the result file, else of
                              stdout, else of stderr (an optional leading word ``points``
                              is skipped), divided by ``points_max`` (default 1); a value
                              outside [0, 1] after that is a judge failure
    8      ``_unexpected_eof`` 0.0
    other  (a signal, a time-out)              None, or 0 (see below)
    ====== ================== =================================================

    testlib's ``_pc(n)`` (partially correct) exits ``n`` itself unless testlib.h is built with
    ``TESTSYS`` (then ``50 + n``): ``n`` from 1 to 8 cannot be told from the codes above, so
    partial scores are read only through ``quitp`` (exit 7), the way Codeforces reads them.

``cms`` (CMS and IOI checkers, open-r1's generated checkers)
    run as ``checker input.txt answer.txt output.txt``; exit status 0 and the score as the first
    token of stdout (the message on stderr), divided by ``points_max`` (1 for CMS, 100 for
    checkers that print percentages); anything else is a judge failure.

A judge failure on the contestant's output is the contestant's 0, not ``None``, once the same
checker accepts the jury's own answer on that test (:mod:`rewards.code.judge` runs that check
once per test and keeps it); testlib's explicit ``_fail`` (exit 3) stays ``None``.

Built-in checkers (``{"builtin": name, ...options}``), pure functions of the output, the answer
and the input, each returning a score in [0, 1]. Lines and tokens are those of
:mod:`rewards.code.compare` (whitespace is ASCII only, numbers are ASCII digits), the rule of
every other path, so a judged row never reads an output differently from a plain one:

``lines``     the lines agree after trimming trailing blanks (a final newline is not a line);
``tokens``    the whitespace-separated tokens agree exactly;
``float``     tokens agree; where the answer's token is a finite number the output's must be a
              number within ``abs_tol`` *or* within ``rel_tol * |answer|`` (defaults 1e-6 both;
              NaN and infinities never pass); other tokens exactly;
``unordered`` the same tokens in any order (a multiset: "print the elements in any order",
              "any permutation of the answer");
``yes_no``    tokens agree, where the answer's token is yes or no case-insensitively
              (``YES``, ``Yes``, ``yes``), others exactly;
``codeforces`` the comparison open-r1 applies to Codeforces rows without a checker (and what
              Codeforces' usual ``wcmp``-style checkers do): whitespace-separated tokens (so
              ``\r`` and blank lines do not count), yes/no in any case, others exactly.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .compare import lines, number as _number, tokens  # the one rule: ASCII whitespace, ASCII digits

OK, WRONG, PRESENTATION, FAIL, DIRT, POINTS, UNEXPECTED_EOF = 0, 1, 2, 3, 4, 7, 8
_ZERO = {WRONG: "wrong answer", PRESENTATION: "presentation error", DIRT: "wrong answer (dirt)",
         UNEXPECTED_EOF: "unexpected end of output"}
PROTOCOLS = ("testlib", "cms")
_NUMBER = re.compile(r"\s*(?:points\s+)?([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\s|$)")


@dataclass(frozen=True)
class Verdict:
    score: float | None  # in [0, 1]; None: the judge failed
    outcome: str  # "passed", "partial", "wrong_answer" or "judge_error"
    detail: str = ""
    declared: bool = False  # a judge error the jury program declared itself (testlib's _fail)

    @property
    def judge_error(self) -> bool:
        return self.score is None


def _scored(value: float, detail: str = "") -> Verdict:
    if value >= 1.0:
        return Verdict(1.0, "passed", detail)
    return Verdict(value, "partial" if value > 0 else "wrong_answer", detail)


def _points(*texts: str) -> float | None:
    for text in texts:
        match = _NUMBER.match(text or "")
        if match:
            value = float(match.group(1))
            return value if math.isfinite(value) else None
    return None


def testlib_verdict(returncode: int | None, stdout: str, stderr: str, result: str = "",
                    points_max: float = 1.0) -> Verdict:
    """The verdict of a testlib checker or interactor from its exit status and messages."""
    message = (result or stderr or stdout).strip()[:300]
    if returncode == OK:
        return Verdict(1.0, "passed", message)
    if returncode in _ZERO:
        return Verdict(0.0, "wrong_answer", f"{_ZERO[returncode]}: {message}")
    if returncode == POINTS:
        value = _points(result, stdout, stderr)
        if value is None:
            return Verdict(None, "judge_error", f"exit 7 (points) without a number: {message!r}")
        share = value / points_max
        if not 0.0 <= share <= 1.0:
            return Verdict(None, "judge_error", f"points {value} outside [0, {points_max}]")
        return _scored(share, message)
    why = "timed out" if returncode is None else "failed (exit 3)" if returncode == FAIL else f"exit {returncode}"
    return Verdict(None, "judge_error", f"the judge {why}: {message}", declared=returncode == FAIL)


def cms_verdict(returncode: int | None, stdout: str, stderr: str, points_max: float = 1.0) -> Verdict:
    """The verdict of a CMS-style checker: exit 0 and the score in [0, points_max] first on stdout."""
    if returncode != 0:
        why = "timed out" if returncode is None else f"exit {returncode}"
        return Verdict(None, "judge_error", f"the checker {why}: {stderr.strip()[:300]}")
    value = _points(stdout)
    if value is None or not 0.0 <= value <= points_max:
        return Verdict(None, "judge_error",
                       f"the checker printed no score in [0, {points_max:g}]: {stdout.strip()[:100]!r}")
    return _scored(value / points_max, stderr.strip()[:300])


# -- built-in checkers ---------------------------------------------------------------------------
# Tokens and lines are compare's (ASCII whitespace only): a judged row splits its output by the same
# rule as a plain stdin/stdout row, so "1\u00a02" is one token on every path, never "1 2".
def check_lines(output: str, answer: str, input: str = "") -> float:
    return float(lines(output) == lines(answer))


def check_tokens(output: str, answer: str, input: str = "") -> float:
    return float(tokens(output) == tokens(answer))


def check_float(output: str, answer: str, input: str = "", abs_tol: float = 1e-6, rel_tol: float = 1e-6) -> float:
    got, want = tokens(output), tokens(answer)
    if len(got) != len(want):
        return 0.0
    for g, w in zip(got, want):
        expected = _number(w)
        if expected is None:
            if g != w:
                return 0.0
            continue
        value = _number(g)
        if value is None:
            return 0.0
        error = abs(value - expected)
        if error > abs_tol and error > rel_tol * abs(expected):
            return 0.0
    return 1.0


def check_unordered(output: str, answer: str, input: str = "") -> float:
    return float(Counter(tokens(output)) == Counter(tokens(answer)))


def check_yes_no(output: str, answer: str, input: str = "") -> float:
    got, want = tokens(output), tokens(answer)
    if len(got) != len(want):
        return 0.0
    for g, w in zip(got, want):
        if w.lower() in ("yes", "no"):
            if g.lower() != w.lower():
                return 0.0
        elif g != w:
            return 0.0
    return 1.0


BUILTIN: dict[str, Callable[..., float]] = {
    "lines": check_lines, "tokens": check_tokens, "float": check_float, "unordered": check_unordered,
    "yes_no": check_yes_no, "codeforces": check_yes_no,  # tokens, yes/no in any case: one rule, two names
}
OPTIONS = {"float": ("abs_tol", "rel_tol")}  # the options a built-in checker takes (numbers >= 0)


def builtin_verdict(name: str, options: dict, output: str, answer: str, input: str) -> Verdict:
    return _scored(BUILTIN[name](output, answer, input, **options))
