"""Equivalence of two parsed answers, written against a policy that reads the reward as its
specification (docs/math.md, "The rules, written against the policy").

- Numbers and expressions: ``rewards.math.numeric`` (exact golds exactly, decimals by their
  digits, a tolerance only when set explicitly, expressions at fresh random points).
- A labelled answer is its value (``x = 3``, ``f(x) = x^2``, ``m + n = 17``, ``(p, q) = (3, 2)``,
  ``V_1:V_2 = 11:21``); an equation without a label side (``7 = 11a + c``, ``a + 3z = 0``) is an
  answer in itself and matches only a rearrangement of itself (``lhs - rhs`` differing by a
  non-zero constant factor); ``a = b = c = 1`` is the labelled tuple ``(a, b, c) = (1, 1, 1)``;
  every side of a chain must be the same value (``x = 5 = 6`` matches nothing).
- A ratio matches a ratio with proportional parts and (two parts) its quotient; a ratio written
  like a clock time (``10:30``) matches only the same parts. ``v \\approx a`` counts only if its
  parts agree, and then its exact part is graded.
- A percent means one thing, chosen from the problem or the gold (``_percent_equal``).
- ``(a, b)`` matches an ordered pair or an open interval; intervals compare endpoints and
  open/closed ends; matrices element-wise.
- A set is never a tuple; a bare list matches a tuple in order, a set or list in any order, each
  answer counted once; solution lists group by their labels (``p=5, q=2, p=7, q=2``);
  inequalities match up to rearrangement by a positive factor, and as the sets they describe
  (``rewards.math.sets``).
"""

from __future__ import annotations

import sympy as sp

from .objects import Approx, Equation, Matrix, Percent, Ratio, Relation, Seq
from .numeric import (  # noqa: F401  (re-exported: PROBES, _point, _probe are part of the tested surface)
    EVALF_MAXN, MIN_DECIMAL_DIGITS, PRECISION, PROBES, _decimal_places, _digits_agree, _point, _probe, _probe_close,
    _proportional, _settings, exact_equal, expr_equal,
)
from .sets import as_set, sets_equal


def _same_value(x, y) -> bool:
    """Two parts of one answer that say the same thing (exactly, no rounding)."""
    return isinstance(x, sp.Expr) and isinstance(y, sp.Expr) and not (x.free_symbols or y.free_symbols) \
        and exact_equal(x, y) or x == y


def _chain_holds(x: Equation) -> bool:
    """Every side of ``a = b = c`` after a label is the same value (``x = 5 + 5 + 1 = 11``); an
    equation of two constants is true (``2 + 3 = 5``, never ``5 = 6``)."""
    sides = list(x.sides) if x.sides else [x.lhs, x.rhs]
    if _is_label(sides[0]) and len(sides) > 2:
        sides = sides[1:]
    values = [s for s in sides if isinstance(s, sp.Expr)]
    if len(values) != len(sides) or len(values) < 2:
        return True
    if len(sides) == 2 and not all(_is_constant(v) for v in values):
        return True  # an equation in unknowns ("a + 3z = 0") is an answer in itself
    return all(expr_equal(values[0], v) for v in values[1:])


def _approximates(value, approx) -> bool:
    """``approx`` is ``value`` rounded or truncated to approx's places (an integer: to units)."""
    if isinstance(value, Equation) and _is_label(value.lhs):
        value = value.rhs
    if not (isinstance(value, sp.Expr) and isinstance(approx, sp.Expr)):
        return False
    if value.free_symbols or approx.free_symbols or not approx.is_Rational:
        return expr_equal(approx, value)
    k = 0 if approx.q == 1 else _decimal_places(approx)
    if k is None:
        return exact_equal(approx, value)
    if value.is_Rational and (value * 10**k).is_integer:
        return value == approx
    return _digits_agree(approx, value, k)


def _approx_equal(answer: Approx, gold) -> bool:
    """``v \\approx a`` counts only if every approximation is v rounded or truncated (the parts agree)
    and then the exact value matches the gold; the approximation is graded only against a gold
    written as a decimal, and must equal it."""
    if isinstance(answer.value, sp.Symbol):  # "x \\approx 6": a label and an approximation, no exact part
        return _settings["gold_decimal"] and any(isinstance(a, sp.Expr) and a == gold for a in answer.approx)
    if not all(_approximates(answer.value, a) for a in answer.approx):
        return False
    if equivalent(answer.value, gold):
        return True
    if _terminates(answer.value):  # "0.54 \\approx 0.5" claims 0.54: an exact decimal must be the gold itself
        return False
    return _settings["gold_decimal"] and any(isinstance(a, sp.Expr) and a == gold for a in answer.approx)


def _terminates(value) -> bool:
    """A value a decimal writes exactly (0.54, 27/50, 6): an approximation of it is not a second claim."""
    if isinstance(value, Equation) and _is_label(value.lhs):
        value = value.rhs
    return isinstance(value, sp.Expr) and value.is_Rational and (value.q == 1 or _decimal_places(value) is not None)


def _percent_equal(answer, gold) -> bool:
    """A gold ``p%`` is one quantity: an answer ``p%``, ``p`` (the sign dropped) or ``p/100``.
    An answer ``p%`` against a plain gold means one thing, chosen from the problem (it asks for a
    percent: p) or, without the problem, from the gold (a whole number: p; any other: p/100);
    never both."""
    if isinstance(gold, Percent):
        g = gold.value
        if isinstance(answer, Percent):
            return equivalent(answer.value, g)
        return equivalent(answer, g) or isinstance(answer, sp.Expr) and isinstance(g, sp.Expr) \
            and expr_equal(answer, g / 100)
    if not isinstance(gold, sp.Expr):
        return False
    p = answer.value
    if not isinstance(p, sp.Expr):
        return False
    asks = _settings.get("percent_problem")
    if asks is None:
        asks = bool(gold.is_integer)
    return expr_equal(p, gold) if asks else expr_equal(p / 100, gold)


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
    """Ratios with proportional parts (``2:4`` is ``1:2``); a two-part ratio is also its quotient; a
    gold clock time only the same time."""
    pa = a.parts if isinstance(a, Ratio) else (a, sp.Integer(1)) if isinstance(a, sp.Expr) else None
    pb = b.parts if isinstance(b, Ratio) else (b, sp.Integer(1)) if isinstance(b, sp.Expr) else None
    if pa is None or pb is None or len(pa) != len(pb) or not all(isinstance(x, sp.Expr) for x in pa + pb):
        return False
    if _settings["clock"]:  # a gold clock time (10:30) is matched by the same time only, never by 1:3
        return isinstance(a, Ratio) and isinstance(b, Ratio) and all(x == y for x, y in zip(pa, pb))
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
    if isinstance(answer, Equation) and not _chain_holds(answer):
        return False  # "x = 5 = 6": a chain whose sides disagree states nothing true
    if answer == gold and not isinstance(answer, (Approx, Percent)):
        return True  # the same parsed object (a set-builder both sides write alike)
    if isinstance(answer, Approx):
        return _approx_equal(answer, gold)
    if isinstance(gold, Approx):  # the exact value, or the very approximation the gold gives
        return equivalent(answer, gold.value) or any(answer == a for a in gold.approx)
    if isinstance(gold, Percent) or isinstance(answer, Percent):
        return _percent_equal(answer, gold)
    if isinstance(answer, Seq) and answer.kind == "list" and isinstance(gold, sp.Expr) and len(answer.items) > 1 \
            and all(isinstance(x, sp.Expr) for x in answer.items):
        first = answer.items[0]  # "\boxed{1/2} or \boxed{0.5}": one value said twice is not a hedge
        return all(_same_value(first, x) for x in answer.items[1:]) and equivalent(first, gold)
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
