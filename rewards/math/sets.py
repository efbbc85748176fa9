"""Sets of real numbers an answer may describe, and when two of them are the same set.

An answer names a set as an interval or union (``[-2, 7]``, ``(-\\infty, 2) \\cup (3, \\infty)``),
an open pair ``(0, 1)``, or as inequalities on one unknown:

- ``-2 \\le x \\le 7``, ``x > 3``: the unknown is a lone symbol, or a named quantity (``f(x)``,
  read as the product ``f x``, in ``0 < f(x) < 1``);
- ``0 < 2x + 1 < 5``: a linear expression in one symbol is solved for it (``(-1/2, 2)``);
- ``1 \\le |z| \\le 3/2``: an absolute value of a symbol gives two intervals;
- ``x < 2 \\text{ or } x > 3``: a list of such inequalities is their union.

Only the set is compared, not the unknown's name. ``expr_equal`` (compare's) judges the endpoints.
"""

from __future__ import annotations

import sympy as sp

from .objects import Relation, Seq


def _is_name(x) -> bool:
    """A symbol, or a product of symbols (``f(x)`` parses as ``f x``)."""
    return isinstance(x, sp.Symbol) or (isinstance(x, sp.Mul) and all(isinstance(a, sp.Symbol) for a in x.args))


def _bounds(exprs: list, ops: list, k: int):
    """The interval of ``exprs[k]`` that the chain states, or None."""
    lo, hi, lo_open, hi_open = -sp.oo, sp.oo, True, True
    for i, op in enumerate(ops):
        if k not in (i, i + 1):
            return None
        bound = exprs[i + 1] if k == i else exprs[i]
        if (op in ("<", "<=")) == (k == i):
            hi, hi_open = bound, op in ("<", ">")
        else:
            lo, lo_open = bound, op in ("<", ">")
    return sp.Interval(lo, hi, lo_open, hi_open)


def _mirror(s):
    """{-x : x in s} for an interval."""
    return sp.Interval(-s.end, -s.start, s.right_open, s.left_open)


def relation_set(r: Relation):
    """The set of the unknown that an inequality chain describes, or None (see the module docstring)."""
    if "!=" in r.ops or not all(isinstance(e, sp.Expr) for e in r.exprs):
        return None
    unknown = [i for i, e in enumerate(r.exprs) if e.free_symbols]
    if len(unknown) != 1:
        return None
    k = unknown[0]
    interval, v = _bounds(list(r.exprs), list(r.ops), k), r.exprs[k]
    if interval is None or not isinstance(interval, sp.Interval):
        return interval
    if _is_name(v):
        return interval
    if isinstance(v, sp.Abs) and isinstance(v.args[0], sp.Symbol):
        half = interval.intersect(sp.Interval(0, sp.oo))
        return sp.Union(half, _mirror(half)) if isinstance(half, sp.Interval) else None
    symbols = list(v.free_symbols)
    if len(symbols) == 1:
        poly = sp.Poly(v, symbols[0]) if v.is_polynomial(symbols[0]) else None
        if poly is not None and poly.degree() == 1:
            a, b = poly.all_coeffs()
            if a.is_number and a != 0:
                moved = sp.Interval(interval.start - b, interval.end - b, interval.left_open, interval.right_open)
                scaled = sp.Interval(moved.start / abs(a), moved.end / abs(a), moved.left_open, moved.right_open)
                return scaled if a > 0 else _mirror(scaled)
    return None


def as_set(x):
    """The set an answer describes: a set, an open pair, an inequality chain, or a list of
    inequality chains (their union); None if it describes none."""
    if isinstance(x, Seq) and x.kind == "pair":  # (5, 2) is a point, never an empty interval
        lo, hi = x.items
        ok = isinstance(lo, sp.Expr) and isinstance(hi, sp.Expr) and (lo - hi).is_extended_negative is not False
        return sp.Interval.open(lo, hi) if ok else None
    if isinstance(x, Relation):
        return relation_set(x)
    if isinstance(x, Seq) and x.kind == "list" and all(isinstance(i, Relation) for i in x.items):
        parts = [relation_set(i) for i in x.items]
        return None if any(p is None for p in parts) else sp.Union(*parts)
    return x if isinstance(x, sp.Set) else None


def sets_equal(a, b, expr_equal, unordered_equal) -> bool:
    """Intervals by endpoints and open/closed ends, unions part by part, finite sets in any order."""
    if a == b:
        return True
    if isinstance(a, sp.Interval) and isinstance(b, sp.Interval):
        return (a.left_open, a.right_open) == (b.left_open, b.right_open) and all(
            expr_equal(x, y) for x, y in ((a.start, b.start), (a.end, b.end))
        )
    if isinstance(a, sp.Union) and isinstance(b, sp.Union) and len(a.args) == len(b.args):
        return all(sets_equal(x, y, expr_equal, unordered_equal) for x, y in zip(a.args, b.args))
    if isinstance(a, sp.FiniteSet) and isinstance(b, sp.FiniteSet):
        return unordered_equal(list(a.args), list(b.args))
    return False
