"""What the math parser produces and the arithmetic it builds with, refusing oversized work.

Results are sympy expressions, sympy sets (intervals, unions) or the small containers here. The
guards raise :class:`TooLarge` before sympy would compute an astronomically large number (huge
powers, factorials, binomials, number literals); callers then compare answers as text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

MAX_DIGITS = 2000  # longest number literal accepted
MAX_BITS = 200_000  # largest integer a power may produce
MAX_FACTORIAL = 5000


class ParseError(ValueError):
    pass


class TooLarge(ParseError):
    pass


@dataclass(frozen=True)
class Seq:
    """Comma-separated items. kind: "tuple" (ordered), "set" / "list" (unordered),
    "pair" (``(a, b)``: an ordered pair or an open interval)."""

    items: tuple
    kind: str


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs``; ``sides`` holds every side of a chain ``a = b = c`` (empty for two sides)."""

    lhs: object
    rhs: object
    sides: tuple = ()


@dataclass(frozen=True)
class Relation:
    """A chain of inequalities: ``exprs[0] ops[0] exprs[1] ...``, ops in < <= > >=."""

    exprs: tuple
    ops: tuple


@dataclass(frozen=True)
class Ratio:
    """``a : b (: c ...)``; equal to another ratio with proportional parts, and (two parts) to a / b."""

    parts: tuple


@dataclass(frozen=True)
class Approx:
    """``value \\approx a1 \\approx ...``: an exact value followed by approximations of it."""

    value: object
    approx: tuple


@dataclass(frozen=True)
class Matrix:
    rows: tuple


@dataclass(frozen=True)
class Percent:
    value: object



def _bits(x) -> float:
    """An upper bound of log2 |x| for a non-zero sympy Number."""
    if isinstance(x, sp.Rational):
        return float(max(int(x.p).bit_length(), int(x.q).bit_length()))
    return abs(math.log2(abs(float(x)))) + 1.0


def power(base, exp):
    if isinstance(base, sp.Number) and isinstance(exp, sp.Number) and base not in (0, 1, -1):
        if isinstance(exp, sp.Integer) and int(exp.p).bit_length() > 64:
            raise TooLarge("exponent too large")
        if abs(float(exp)) * _bits(base) > MAX_BITS:
            raise TooLarge("power too large")
    return sp.Pow(base, exp)


def factorial(n):
    if isinstance(n, sp.Integer) and n > MAX_FACTORIAL:
        raise TooLarge(f"{n}! is too large")
    return sp.factorial(n)


def binomial(n, k):
    if isinstance(n, sp.Integer) and isinstance(k, sp.Integer) and min(k, n - k) > MAX_FACTORIAL:
        raise TooLarge("binomial too large")
    return sp.binomial(n, k)


def number(tok: str):
    if len(tok) > MAX_DIGITS:
        raise TooLarge("number literal too long")
    if "e" in tok or "E" in tok:
        mant, _, exp = tok.lower().partition("e")
        if abs(int(exp)) > 400:
            raise TooLarge("exponent too large")
        return sp.Rational(mant) * sp.Integer(10) ** int(exp)
    return sp.Rational(tok) if "." in tok else sp.Integer(tok)


def scalar(x):
    if not isinstance(x, sp.Expr):
        raise ParseError(f"expected a number or expression, got {type(x).__name__}")
    return x


def as_set(x):
    if isinstance(x, sp.Set):
        return x
    if isinstance(x, Seq) and x.kind == "pair":
        return sp.Interval.open(*map(scalar, x.items))
    if isinstance(x, Seq) and x.kind == "set":
        return sp.FiniteSet(*map(scalar, x.items))
    raise ParseError("union of something that is not a set")


MAX_MATRIX_CELLS = 100  # matrix arithmetic in answers: small matrices only


def _matrix_arith(a, b, op: str):
    """Sums, differences, products (with scalars or matrices) and quotients by a scalar."""
    def grid(x):
        return sp.Matrix(x.rows) if isinstance(x, Matrix) else scalar(x)

    x, y = grid(a), grid(b)
    for m in (x, y):
        if isinstance(m, sp.MatrixBase) and m.rows * m.cols > MAX_MATRIX_CELLS:
            raise TooLarge("matrix too large for arithmetic")
    both = isinstance(x, sp.MatrixBase) and isinstance(y, sp.MatrixBase)
    if op in ("+", "-"):
        if not both and x == 0 and op == "-":  # unary minus
            out = -y
        elif not both or x.shape != y.shape:
            raise ParseError("a matrix plus a scalar, or matrices of different shapes")
        else:
            out = x + y if op == "+" else x - y
    elif op == "*":
        if both and x.cols != y.rows:
            raise ParseError("matrix product of mismatched shapes")
        out = x * y
    elif op == "/" and not isinstance(y, sp.MatrixBase):
        out = x / y
    else:
        raise ParseError(f"matrix {op!r} is not supported")
    return Matrix(tuple(tuple(out.row(i)) for i in range(out.rows)))


def defined(x):
    """``x`` unless it is undefined (a division by zero, log 0, 0^-1): then a ParseError, so that
    ``11/0`` or ``7 / log 0`` is never read as a value (zoo, or 0 after 7/zoo)."""
    if isinstance(x, sp.Expr) and x.has(sp.zoo, sp.nan):
        raise ParseError("undefined value (division by zero or a pole)")
    return x


def arith(a, b, op: str):
    if isinstance(a, Matrix) or isinstance(b, Matrix):
        return _matrix_arith(a, b, op)
    a, b = scalar(a), scalar(b)
    if op == "+":
        return defined(a + b)
    if op == "-":
        return defined(a - b)
    if op == "*":
        return defined(a * b)
    if op == "/":
        if b == 0:
            raise ParseError("division by zero")
        return defined(a / b)
    if a == 0 and b == 0:
        raise ParseError("0^0 is undefined")  # a convention some texts take as 1: one answer, one claim
    return defined(power(a, b))
