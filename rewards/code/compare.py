"""The one comparison rule of the code rewards: a program's output or return value against the
expected one. Every path uses it (stdin/stdout rows, call-based rows, the judged rows' built-in
checkers), so a row's verdict never depends on which path, or which batch, scores it.

Outputs (text), :func:`outputs_match`:

- ``lines`` (default): line by line after trimming each line's trailing whitespace; blank lines at
  the end of the output (nothing but whitespace; a final newline) are not lines; any other extra
  or missing line fails (a blank line in the middle is a line).
- ``tokens``: the tokens separated by ASCII whitespace (space, tab, newline, carriage return,
  vertical tab, form feed) agree one by one (:func:`token_equal`): an expected
  integer (``[+-]?[0-9]+``) only as an integer token of the same value, compared as digits, so
  any length is exact (``007`` is 7, ``-0`` is 0; ``7.0``, ``7e0`` and ``1.2e17`` are not
  integers); an expected finite decimal within ``1e-6 * max(1, |expected|)`` of a finite number
  written in ASCII digits (``[+-]?digits[.digits][e[+-]digits]``; no ``_``, no other scripts' digits);
  any other token exactly.

Whitespace is ASCII only, as judges read it: a no-break space (``\u00a0``), an ideographic space or
any other Unicode space is part of a token or a line, never a separator or trimmed.

Values (plain data decoded from a program's report), :func:`values_equal`: ``bool`` only equals
``bool`` (``True`` is not ``1``); an expected ``int`` an ``int`` or a ``float`` of exactly that value
(Python's exact ``==``: ``5.0`` is 5, but ``float(n)`` for an ``n`` past 2**53 is rounded and is not
``n``; no tolerance); an expected ``float`` an ``int`` or ``float``
within ``1e-9`` (relative or absolute), infinities only themselves, NaN nothing; ``str``,
``bytes``, ``None`` exactly; lists (tuples are lists) element by element; dicts with the same keys,
value by value; sets as sets. Subclasses of these types never reach this function: the harness
reports a ``Counter`` as the ``dict`` it holds, a ``namedtuple`` as its tuple, an ``IntEnum`` as
its ``int`` (read with the base type's own methods, so a subclass cannot change what it reports).
"""

from __future__ import annotations

import math
import re

TOKEN_TOLERANCE = 1e-6  # stdin/stdout ``tokens``: relative to max(1, |expected|)
VALUE_TOLERANCE = 1e-9  # call-based floats: relative or absolute
COMPARISONS = ("lines", "tokens")
_INTEGER = re.compile(r"([+-]?)0*([0-9]+)")
_SPACE = " \t\n\r\x0b\x0c"  # ASCII whitespace: the only separators (judges split on these)
_SEPARATORS = re.compile(r"[ \t\n\r\x0b\x0c]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # ASCII digits only, no "_"


# -- text ---------------------------------------------------------------------------------------
def lines(text: str) -> list[str]:
    """The lines of ``text`` as ``lines`` compares them: ASCII trailing whitespace trimmed, blank lines at the end dropped."""
    lines = [line.rstrip(_SPACE) for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def tokens(text: str) -> list[str]:
    """The tokens of ``text``, separated by ASCII whitespace only (``\u00a0`` is part of a token)."""
    return [t for t in _SEPARATORS.split(text) if t]


def number(token: str) -> float | None:
    """A token's value as a finite float (ASCII digits: ``\u0667`` and ``1_0`` are no numbers), or None."""
    if not _DECIMAL.fullmatch(token):
        return None
    try:
        value = float(token)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _digits(token: str) -> tuple[bool, str] | None:
    """(negative, digits without leading zeros) of an integer token, or None; ``-0`` is ``0``."""
    match = _INTEGER.fullmatch(token)
    if match is None:
        return None
    sign, digits = match.groups()
    digits = digits.lstrip("0") or "0"
    return sign == "-" and digits != "0", digits


def token_equal(got: str, expected: str) -> bool:
    """Whether one output token matches the expected one (the ``tokens`` rule above)."""
    if got == expected:
        return True
    want = _digits(expected)
    if want is not None:  # exact, at any length: a float near a large integer is not that integer
        return _digits(got) == want
    a, b = number(got), number(expected)
    return a is not None and b is not None and abs(a - b) <= TOKEN_TOLERANCE * max(1.0, abs(b))


def outputs_match(got: str, expected: str, compare: str = "lines") -> bool:
    """Whether a program's output passes under ``compare`` (``lines`` or ``tokens``)."""
    if compare == "tokens":
        a, b = tokens(got), tokens(expected)
        return len(a) == len(b) and all(token_equal(x, y) for x, y in zip(a, b))
    if compare != "lines":
        raise ValueError(f"compare must be one of {COMPARISONS}, got {compare!r}")
    return lines(got) == lines(expected)


# -- values -------------------------------------------------------------------------------------
def normalise(value):
    """Tuples to lists, sets to frozensets of hashable elements, recursively (expected values)."""
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return frozenset(hashable(normalise(v)) for v in value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def hashable(value):
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((k, hashable(v)) for k, v in value.items()), key=repr))
    return value


def _float_equal(got, expected: float) -> bool:
    if type(got) not in (int, float):
        return False
    if math.isnan(expected) or (type(got) is float and math.isnan(got)):
        return False
    if math.isinf(expected):
        return got == expected
    try:
        return math.isclose(float(got), expected, rel_tol=VALUE_TOLERANCE, abs_tol=VALUE_TOLERANCE)
    except OverflowError:  # an int too large for a float is far from any finite float
        return False


def values_equal(got, expected) -> bool:
    """Whether a returned value (decoded plain data) equals the expected one (the rule above)."""
    kind = type(expected)
    if kind is float:
        return _float_equal(got, expected)
    if kind is int and type(got) is float:
        return got == expected  # exact: an int and a float compare by their mathematical values
    if kind is not type(got):
        return False
    if kind is list:
        return len(got) == len(expected) and all(values_equal(a, b) for a, b in zip(got, expected))
    if kind is dict:
        return got.keys() == expected.keys() and all(values_equal(got[k], expected[k]) for k in expected)
    return got == expected
