"""Numeric equality for the math reward: exact comparison of numbers, the digits of a decimal
against the value it rounds, an explicit tolerance, and equality of expressions at random points.

- Exact golds compare exactly (``exact_equal``): the difference must be zero, decided
  symbolically or by sympy's adaptive precision; never a tolerance the answer could switch on.
- A decimal of at least 4 significant digits matches a value it is the rounding or truncation of
  (``0.3333`` is 1/3, ``0.33`` is not); a value exact at the decimal's places must equal it, and so
  must a decimal value of fewer than 4 places (an amount: ``1000.9`` is not ``1000.99``); a gold
  written as a decimal is a rounding its author made (``_matches_decimal_gold``).
- A relative tolerance only when set explicitly (``_settings["rtol"]``, from ``verify(..., rtol=)``).
- Expressions with free symbols agree at PROBES points drawn per comparison from a private
  generator; a point where only one side is undefined is a disagreement (``expr_equal``).

``_settings`` is set per check by ``rewards.math.reward`` (and read by ``rewards.math.compare``).
"""

from __future__ import annotations

import random

import sympy as sp

PRECISION = 40  # digits for evalf
EVALF_MAXN = 600  # digits sympy may use to find a non-zero difference (see exact_equal)
PROBES = 8  # random points per symbolic comparison; every one must agree
_RANDOM = random.SystemRandom()  # private: the policy cannot know the points in advance
MIN_DECIMAL_DIGITS = 4  # a decimal this precise may stand for a value it rounds or truncates
# per check, set by rewards.math.reward: an explicit relative tolerance, and whether the gold's text
# writes a decimal (a gold "3.1416" is a rounding; a gold "\\pi" or "1/3" is exact)
_settings = {"rtol": None, "gold_decimal": False, "percent_problem": None, "answer_places": 0, "clock": False}


def _decimal_places(x) -> int | None:
    """k when ``x`` is a decimal with k places (a rational whose denominator is 10**k), else None."""
    if not x.is_Rational or x.q == 1:
        return None
    q, k = int(x.q), 0
    while q % 10 == 0:
        q, k = q // 10, k + 1
    while q % 2 == 0 or q % 5 == 0:  # 1/4 = 0.25: denominators 2^a 5^b are decimals too
        q, k = (q // 2 if q % 2 == 0 else q // 5), k + 1
    return k if q == 1 else None


def _digits_agree(decimal, value, k: int) -> bool:
    """``decimal`` (k places) is ``value`` rounded or truncated to k places."""
    scaled = sp.N(value * 10**k, PRECISION + k)
    if not scaled.is_real:
        return False
    target = int(decimal * 10**k)
    truncated = int(sp.floor(abs(scaled))) * (1 if scaled >= 0 else -1)
    return target in (truncated, int(sp.floor(scaled + sp.Rational(1, 2))))


def _rounds_to(decimal, value) -> bool:
    """An answer ``decimal`` of at least MIN_DECIMAL_DIGITS significant digits is an irrational or
    non-terminating ``value`` rounded or truncated to its places: 0.3333 stands for 1/3, 0.33 does
    not; a value that is exact at the decimal's places must equal it."""
    k = _decimal_places(decimal)
    if k is not None and _settings["answer_places"] > k:  # 0.33330000: wrong at its written 5th place
        return _digits_agree(decimal, value, _settings["answer_places"]) if value.is_number else False
    if k is None or not value.is_number or (value * 10**k).is_integer:
        return False
    places = _decimal_places(value) if value.is_Rational else None
    if places is not None and places < MIN_DECIMAL_DIGITS:  # 1000.99 is an exact amount: 1000.9 drops a cent
        return False
    if len(str(abs(int(decimal * 10**k))).lstrip("0")) < MIN_DECIMAL_DIGITS:
        return False
    return _digits_agree(decimal, value, k)


def _matches_decimal_gold(answer, gold, places: int) -> bool:
    """A gold written as a decimal of ``places`` places and at least MIN_DECIMAL_DIGITS significant
    digits is a rounding. An exact answer (not a terminating decimal) matches when it rounds or
    truncates to the gold; a shorter decimal answer (at least MIN_DECIMAL_DIGITS digits) when it
    is the gold rounded (``0.6667`` for ``0.6666667``), never truncated (``3.1415`` for ``3.14159``)."""
    if len(str(abs(int(gold * 10**places))).lstrip("0")) < MIN_DECIMAL_DIGITS:
        return False
    own = _decimal_places(answer) if answer.is_Rational else None
    if own is not None and _settings["answer_places"] > own:
        own = _settings["answer_places"]  # trailing zeros are written digits: 1.41420 is wrong at its 5th place
        if own >= places:
            return _digits_agree(gold, answer, places) and _digits_agree(answer, gold, min(own, places))
    if own is not None and own < places:
        if len(str(abs(int(answer * 10**own))).lstrip("0")) < MIN_DECIMAL_DIGITS:
            return False
        return int(answer * 10**own) == int(sp.floor(gold * 10**own + sp.Rational(1, 2)))
    return _digits_agree(gold, answer, places)  # an exact answer, or a longer decimal (3.14159 for 3.1416)


def exact_equal(a, b) -> bool:
    """Exact equality of two numbers: the difference is zero, decided symbolically where sympy can
    and otherwise by evaluating the difference to 15 digits of its own size (sympy's adaptive
    precision), never by a tolerance: e^{pi sqrt 163} is not an integer, 2^100 + e^{-1000} not 2^100.
    A difference that sympy can only find by cancelling more than EVALF_MAXN digits is decided by
    its minimal polynomial when it is a small radical expression (``sqrt(25 + 10^{-2000}) - 5`` is
    not zero); limit: a larger one, or one with transcendental parts, reads as zero."""
    if a == b:
        return True
    d = a - b
    if d == 0:
        return True
    if d.is_Rational or d.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        return False
    try:
        value = sp.N(d, 15, strict=True, maxn=EVALF_MAXN)
    except (sp.core.evalf.PrecisionExhausted, ValueError, TypeError):
        value = None
    if value is not None and value.is_number and value != 0:
        return False
    if value is None and sp.expand(d) == 0:  # (\\sqrt2 + 1)^2 - 3 - 2\\sqrt2: zero once expanded
        return True
    check = sp.N(d, 120, maxn=EVALF_MAXN)  # no digit found: zero up to 120 digits, a true identity
    if not (check.is_number and abs(check) < sp.Float(10) ** -100):
        return False
    return _algebraic_zero(d) if _is_algebraic(d) else True


MAX_ALGEBRAIC_OPS = 40  # a radical expression this small is decided exactly by its minimal polynomial


def _is_algebraic(d) -> bool:
    """Rationals and radicals only (no function, constant or symbol), small enough to decide exactly."""
    return (not d.atoms(sp.Function, sp.Symbol, sp.NumberSymbol) and all(p.exp.is_Rational for p in d.atoms(sp.Pow))
            and sp.count_ops(d) <= MAX_ALGEBRAIC_OPS)


def _algebraic_zero(d) -> bool:
    """An algebraic number is zero exactly when its minimal polynomial is x: ``sqrt(25 + 10^{-2000}) - 5``
    agrees with 0 to 2,000 digits and is not zero."""
    x = sp.Dummy("x")
    try:
        return sp.minimal_polynomial(d, x) == x
    except (NotImplementedError, ValueError, TypeError):
        return True  # sympy cannot decide it: the 120 digits above stand


def _number_close(answer, gold) -> bool:
    """Numbers: exactly, unless the gold is a decimal (a rounding the gold itself made), an answer
    decimal of at least 4 digits rounds an irrational gold, or an explicit tolerance is set."""
    if answer == gold:
        return True
    if any(x.has(sp.oo, -sp.oo, sp.zoo, sp.nan) for x in (answer, gold)):
        return False
    places = _decimal_places(gold)
    if places is not None and _settings["gold_decimal"] and _matches_decimal_gold(answer, gold, places):
        return True
    if not _settings["gold_decimal"] and _rounds_to(answer, gold):
        return True
    if _settings["rtol"] is not None:
        va, vb = sp.N(answer, PRECISION), sp.N(gold, PRECISION)
        if va.is_number and vb.is_number:
            diff, scale = abs(sp.N(va - vb, PRECISION)), max(abs(va), abs(vb))
            if diff.is_real and scale.is_real and diff <= _settings["rtol"] * scale:
                return True
    return exact_equal(answer, gold)


def _point(symbols) -> dict:
    """A fresh random point: a generic rational for each symbol, from a private generator; its
    denominator has a random factor between 10^8 and 10^9, so that no expression the parser's size
    limits allow (``\\sin(\\pi \\cdot 5000! x)``) vanishes at every point drawn."""
    return {s: sp.Rational(_RANDOM.randint(-400, 400), _RANDOM.choice((7, 11, 13, 17, 19, 23, 29, 31, 37, 41)))
            + sp.Rational(1, _RANDOM.randint(10**8, 10**9)) for s in symbols}  # no product a parser allows covers it


def _probe(expr, point):
    """The value at ``point``, or None where it is undefined (a pole, log 0)."""
    value = expr.xreplace(point)
    if not value.is_number:
        value = sp.N(value, PRECISION)
    if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    return value


def _probe_close(va, vb) -> bool:
    """The two sides' values at one point are the same number: exactly (``exact_equal``), so that
    ``x + \\pi 10^{-40}`` is not ``x`` at any digit count."""
    if va.is_Rational and vb.is_Rational:
        return va == vb
    return exact_equal(va, vb)


def expr_equal(a, b) -> bool:
    """Numbers exactly (see ``_number_close``); expressions at PROBES fresh random points, all of
    which must agree; a point where only one side is undefined is a disagreement."""
    if a == b:
        return True
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    if not symbols:
        return _number_close(a, b)
    agreed = 0
    for _ in range(3 * PROBES):
        point = _point(symbols)
        va, vb = _probe(a, point), _probe(b, point)
        if va is None and vb is None:
            continue
        if va is None or vb is None or not _probe_close(va, vb):
            return False
        agreed += 1
        if agreed == PROBES:
            return True
    return False


def _proportional(d1, d2, positive: bool = False) -> bool:
    """d1 = c * d2 for a non-zero (``positive``: positive) constant c (the same equation or
    inequality up to rearrangement), at PROBES fresh random points."""
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols:
        return expr_equal(d1, d2)
    ratios = []
    for _ in range(3 * PROBES):
        point = _point(symbols)
        v1, v2 = _probe(d1, point), _probe(d2, point)
        if v1 is None and v2 is None:
            continue
        if v1 is None or v2 is None or (v1 == 0) != (v2 == 0):
            return False
        if v2 != 0:
            ratios.append(v1 / v2)
        if len(ratios) == PROBES:
            break
    return (len(ratios) == PROBES and ratios[0] != 0 and (not positive or bool(sp.N(ratios[0]) > 0))
            and all(_probe_close(r, ratios[0]) for r in ratios))
