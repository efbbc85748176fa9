"""Equivalence of two parsed answers, the way a grader of MATH / GSM8K answers would judge it.

- Rationals compare exactly (except long decimals, below); other numbers with a *relative*
  tolerance (so 1/2004! and 1/2006!, both tiny, stay different).
- Expressions with free symbols compare by evaluation at fixed generic points (several points, all
  must agree): fast, and it never calls ``simplify`` on model output.
- A labelled answer is its value (``x = 3``, ``f(x) = x^2``, ``m + n = 17``, ``(p, q) = (3, 2)``,
  ``V_1:V_2 = 11:21``); an equation without a label side (``7 = 11a + c``, ``a + 3z = 0``) is an
  answer in itself and matches only a rearrangement of itself (``lhs - rhs`` differing by a
  non-zero constant factor); ``a = b = c = 1`` is the labelled tuple ``(a, b, c) = (1, 1, 1)``.
- A ratio matches a ratio with proportional parts and (two parts) its quotient; ``\\approx``
  separates an exact value from its approximations, and either may match.
- ``(a, b)`` matches an ordered pair or an open interval; intervals compare endpoints and
  open/closed ends; matrices element-wise.
- A percentage ``p%`` matches ``p`` and ``p/100``.
- A decimal of at least 4 significant digits matches a value it is the rounding or truncation of
  (``0.3333`` is 1/3, ``0.33`` is not); a value exact at the decimal's places must equal it, and so
  must a decimal value of fewer than 4 places (an amount: ``1000.9`` is not ``1000.99``).
- A set is never a tuple; a bare list matches a tuple in order, a set or list in any order, each
  answer counted once; solution lists group by their labels (``p=5, q=2, p=7, q=2``);
  inequalities match up to rearrangement by a positive factor, and as the sets they describe
  (``rewards.math.sets``).
"""

from __future__ import annotations

import sympy as sp

from .objects import Approx, Equation, Matrix, Percent, Ratio, Relation, Seq
from .sets import as_set, sets_equal

RTOL = 1e-6
PRECISION = 30  # digits for evalf
_POINTS = (  # values given to free symbols, one tuple per probe; generic rationals avoid special values
    (sp.Rational(7, 11), sp.Rational(13, 17), sp.Rational(-5, 19), sp.Rational(11, 7), sp.Rational(3, 23)),
    (sp.Rational(29, 13), sp.Rational(-17, 31), sp.Rational(23, 9), sp.Rational(-2, 37), sp.Rational(41, 43)),
    (sp.Rational(-53, 47), sp.Rational(37, 29), sp.Rational(7, 61), sp.Rational(67, 59), sp.Rational(-19, 13)),
)


MIN_DECIMAL_DIGITS = 4  # a decimal this precise may stand for a value it rounds or truncates


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


def _rounds_to(decimal, value) -> bool:
    """``decimal`` (at least MIN_DECIMAL_DIGITS significant digits) is ``value`` rounded or
    truncated to its places: 0.3333 and 0.0833333333 stand for 1/3 and 1/12, 0.33 and 0.08 do not."""
    k = _decimal_places(decimal)
    if k is None or not value.is_number or (value * 10**k).is_integer:  # value is exact at k places: no rounding
        return False
    places = _decimal_places(value) if value.is_Rational else None
    if places is not None and places < MIN_DECIMAL_DIGITS:  # 1000.99 is an exact amount: 1000.9 drops a cent
        return False
    digits = str(abs(int(decimal * 10**k))).lstrip("0")
    if len(digits) < MIN_DECIMAL_DIGITS:
        return False
    scaled = sp.N(value * 10**k, PRECISION + k)
    if not scaled.is_real:
        return False
    target = int(decimal * 10**k)
    truncated = int(sp.floor(abs(scaled))) * (1 if scaled >= 0 else -1)
    return target in (truncated, int(sp.floor(scaled + sp.Rational(1, 2))))


def _number_close(a, b) -> bool:
    if a == b:
        return True
    if _rounds_to(a, b) or _rounds_to(b, a):
        return True
    if a.is_Rational and b.is_Rational:
        return False
    if a.has(sp.oo, -sp.oo, sp.zoo, sp.nan) or b.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        return False
    va, vb = sp.N(a, PRECISION), sp.N(b, PRECISION)
    if not (va.is_number and vb.is_number) or va.has(sp.nan, sp.zoo) or vb.has(sp.nan, sp.zoo):
        return False
    diff = abs(sp.N(va - vb, PRECISION))
    scale = max(abs(va), abs(vb))
    if not (diff.is_real and scale.is_real):
        return False
    return bool(diff <= RTOL * scale) if scale != 0 else bool(diff == 0)


def _probe(expr, symbols, point):
    value = sp.N(expr.xreplace(dict(zip(symbols, point))), PRECISION)
    if not value.is_number or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    return value


def expr_equal(a, b) -> bool:
    if a == b:
        return True
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    if not symbols:
        return _number_close(a, b)
    if len(symbols) > len(_POINTS[0]):
        return sp.expand(a - b) == 0
    agreed = 0
    for point in _POINTS:
        va, vb = _probe(a, symbols, point), _probe(b, symbols, point)
        if va is None or vb is None:
            continue
        if not _number_close(va, vb):
            return False
        agreed += 1
    return agreed >= 2


def _proportional(d1, d2, positive: bool = False) -> bool:
    """d1 = c * d2 for a non-zero (``positive``: positive) constant c (the same equation or
    inequality up to rearrangement)."""
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols or len(symbols) > len(_POINTS[0]):
        return expr_equal(d1, d2)
    ratios = []
    for point in _POINTS:
        v1, v2 = _probe(d1, symbols, point), _probe(d2, symbols, point)
        if v1 is None or v2 is None or v2 == 0:
            continue
        ratios.append(sp.N(v1 / v2, PRECISION))
    return (len(ratios) >= 2 and ratios[0] != 0 and (not positive or bool(ratios[0] > 0))
            and all(_number_close(r, ratios[0]) for r in ratios))


def _is_label(x) -> bool:
    """What names a quantity rather than states a value: ``x``, ``f(x)`` (parsed ``f x``), ``AB``,
    ``m + n``, ``(p, q)``, ``V_1 : V_2``. ``11a + c`` and ``a + 3z`` are not (a coefficient)."""
    def named(t):
        return isinstance(t, sp.Symbol) or (isinstance(t, sp.Mul) and all(isinstance(a, sp.Symbol) for a in t.args))

    if isinstance(x, Seq) and x.kind in ("pair", "tuple"):
        return all(_is_label(i) for i in x.items)
    if isinstance(x, Ratio):
        return all(named(p) for p in x.parts)
    return named(x) or (isinstance(x, sp.Add) and all(named(a) for a in x.args))


def _is_chain(x: Equation) -> bool:
    """``a = b = c = 1`` as the parser gives it: (a, b, c) = (1, 1, 1)."""
    return (isinstance(x.lhs, Seq) and isinstance(x.rhs, Seq) and len(set(x.rhs.items)) == 1
            and all(isinstance(i, sp.Symbol) for i in x.lhs.items))


def _is_constant(x) -> bool:
    return isinstance(x, sp.Expr) and not x.free_symbols


def _solution_value(x):
    """``x = 3`` -> 3, ``(p, q) = (3, 2)`` -> (3, 2), ``m + n = 17`` and ``17 = m + n`` -> 17: a
    labelled answer's value is its other side. An equation with no label side (``7 = 11a + c``,
    ``a + 3z = 0``) is an answer in itself: its sides are not its value."""
    if isinstance(x, Equation):
        if _is_label(x.lhs) or _is_constant(x.lhs) and _is_constant(x.rhs):  # "2 + 3 = 5": a worked value
            return x.rhs
        if _is_label(x.rhs):
            return x.lhs
    return x


def _group_solutions(s: Seq) -> Seq:
    """``p=5, q=2, p=7, q=2`` (labels repeating in the same order) -> ``(5, 2), (7, 2)``."""
    items = s.items
    if s.kind != "list" or len(items) < 4 or not all(isinstance(i, Equation) and isinstance(i.lhs, sp.Symbol)
                                                     for i in items):
        return s
    labels = [i.lhs for i in items]
    k = labels.index(labels[0], 1) if labels[0] in labels[1:] else 0
    if k < 2 or len(items) % k or any(labels[j] != labels[j % k] for j in range(len(items))):
        return s
    return Seq(tuple(Seq(tuple(e.rhs for e in items[j : j + k]), "tuple") for j in range(0, len(items), k)), "list")


def _ratio_equal(a, b) -> bool:
    """Ratios with proportional parts (``2:4`` is ``1:2``); a two-part ratio is also its quotient."""
    pa = a.parts if isinstance(a, Ratio) else (a, sp.Integer(1)) if isinstance(a, sp.Expr) else None
    pb = b.parts if isinstance(b, Ratio) else (b, sp.Integer(1)) if isinstance(b, sp.Expr) else None
    if pa is None or pb is None or len(pa) != len(pb) or not all(isinstance(x, sp.Expr) for x in pa + pb):
        return False
    if all(x == 0 for x in pa) or all(x == 0 for x in pb):
        return False
    return all(expr_equal(pa[i] * pb[0], pb[i] * pa[0]) for i in range(len(pa)))


def _relation_key(r: Relation):
    """A one-operator relation as (positive side, strict): ``a < b`` and ``b > a`` both give b - a."""
    if len(r.ops) != 1 or not all(isinstance(e, sp.Expr) for e in r.exprs):
        return None
    (a, b), op = r.exprs, r.ops[0]
    if op == "!=":
        return a - b, "!="
    return (b - a if op in ("<", "<=") else a - b), op in ("<", ">")


def _relations_equal(x: Relation, y: Relation) -> bool:
    """The same inequality up to rearrangement: positive sides proportional by a positive factor."""
    kx, ky = _relation_key(x), _relation_key(y)
    if kx is None or ky is None or kx[1] != ky[1]:
        return False
    if kx[1] == "!=":
        return _proportional(kx[0], ky[0])
    return _proportional(kx[0], ky[0], positive=True)


def _unordered_equal(xs, ys) -> bool:
    if len(xs) != len(ys):
        return False
    remaining = list(ys)
    for x in xs:
        for j, y in enumerate(remaining):
            if equivalent(x, y):
                del remaining[j]
                break
        else:
            return False
    return True


def _distinct(items: list) -> list:
    out = []
    for x in items:
        if not any(equivalent(x, y) for y in out):
            out.append(x)
    return out


def _seq_equal(a: Seq, b: Seq) -> bool:
    """Tuples are ordered; a set is never a tuple; a bare list matches a tuple in order and a set
    or another list in any order, each answer counted once."""
    ordered = {"tuple", "pair"}
    if "set" in (a.kind, b.kind) and (a.kind in ordered or b.kind in ordered):
        return False
    a, b = _group_solutions(a), _group_solutions(b)
    items_a = [_solution_value(x) for x in a.items]
    items_b = [_solution_value(x) for x in b.items]
    if a.kind in ordered or b.kind in ordered:
        return len(items_a) == len(items_b) and all(equivalent(x, y) for x, y in zip(items_a, items_b))
    return _unordered_equal(_distinct(items_a), _distinct(items_b))


def _set_equal(answer, gold) -> bool:
    a, g = as_set(answer), as_set(gold)
    return a is not None and g is not None and sets_equal(a, g, expr_equal, _unordered_equal)


def equivalent(answer, gold) -> bool:
    """True when the parsed ``answer`` means the same as the parsed ``gold``."""
    if isinstance(answer, Approx):  # its exact value, or its approximation of it (pi \approx 3.14 for 3.14)
        return equivalent(answer.value, gold) or any(equivalent(a, gold) for a in answer.approx)
    if isinstance(gold, Approx):  # the exact value, or an approximation the gold itself gives
        return equivalent(answer, gold.value) or any(equivalent(answer, a) for a in gold.approx)
    if isinstance(gold, Percent) or isinstance(answer, Percent):
        a = answer.value if isinstance(answer, Percent) else answer
        g = gold.value if isinstance(gold, Percent) else gold
        if equivalent(a, g):
            return True
        if isinstance(gold, Percent) and isinstance(a, sp.Expr):
            return expr_equal(a, g / 100)
        return isinstance(answer, Percent) and isinstance(g, sp.Expr) and expr_equal(a / 100, g)
    if isinstance(answer, Equation) and isinstance(gold, sp.Expr) and _is_chain(answer):
        return equivalent(answer.rhs.items[0], gold)  # "x = y = 3" against 3
    if isinstance(answer, Equation) and isinstance(gold, Equation):
        if _is_label(answer.lhs) and answer.lhs == gold.lhs:
            return equivalent(answer.rhs, gold.rhs)
        if all(isinstance(x, sp.Expr) for x in (answer.lhs, answer.rhs, gold.lhs, gold.rhs)):
            return _proportional(answer.lhs - answer.rhs, gold.lhs - gold.rhs)
        return False
    if isinstance(answer, Equation) or isinstance(gold, Equation):
        a, g = _solution_value(answer), _solution_value(gold)
        return not (a is answer and g is gold) and equivalent(a, g)
    if isinstance(answer, Ratio) or isinstance(gold, Ratio):
        return _ratio_equal(answer, gold)
    if isinstance(answer, Seq) and isinstance(gold, Seq):
        relations = any(x.kind == "list" and all(isinstance(i, Relation) for i in x.items) for x in (answer, gold))
        return _seq_equal(answer, gold) or relations and _set_equal(answer, gold)
    if isinstance(answer, Seq) and len(answer.items) == 1:
        return equivalent(answer.items[0], gold)
    if isinstance(gold, Seq) and len(gold.items) == 1:
        return equivalent(answer, gold.items[0])
    if isinstance(answer, Relation) and isinstance(gold, Relation) and _relations_equal(answer, gold):
        return True
    if isinstance(answer, (sp.Set, Seq, Relation)) or isinstance(gold, (sp.Set, Seq, Relation)):
        return _set_equal(answer, gold)
    if isinstance(answer, Matrix) or isinstance(gold, Matrix):
        return (
            isinstance(answer, Matrix) and isinstance(gold, Matrix)
            and [len(r) for r in answer.rows] == [len(r) for r in gold.rows]
            and all(equivalent(x, y) for ra, rg in zip(answer.rows, gold.rows) for x, y in zip(ra, rg))
        )
    if isinstance(answer, sp.Expr) and isinstance(gold, sp.Expr):
        return expr_equal(answer, gold)
    return False
