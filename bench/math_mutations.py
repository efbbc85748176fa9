r"""The mutation oracle: golds of every kind, the syntactic slips an RL policy stumbles into, a slow
independent judge of true equivalence, and ``rewards.math.verify`` compared with it.

    python bench/math_mutations.py [--before DIR] [--out bench/results/math_mutations_after.jsonl]

Golds: integers, fractions, decimals, radicals, constants, polynomials, rational functions, trig
and log values, equations, intervals, tuples, sets, percents, units, words. Mutations (``kind``):
``digit`` (one digit changed), ``brace`` (a brace moved, a fraction's parts swapped), ``operator``
(+/-, */÷, ^), ``sign``, ``word`` (a word that changes the claim added), ``hedge`` (another value
joined), ``unit`` (the unit changed, or a unit added to a bare number), ``approx`` (an extra
``\approx``), ``percent`` (an extra ``\%``), ``not`` (an extra ``\not``), and ``same`` (the gold
rewritten without changing it: the control). Words around the box (blind rounds 4 and 5; the
mutant is then the whole completion): ``bound`` (a bound or estimate before or after it),
``revision`` (a sentence after it that changes it), ``modal`` (a hedge, a modal, a case),
``relation`` (a Unicode relation before it), and ``same_context`` (honest words around it: the
control).

Truth is decided without our code: both sides are parsed by latex2sympy2_extended (math-verify's
parser, a different implementation from ours), then compared exactly with sympy (``simplify`` of the
difference) and at 40 random points at 50 digits; no text comparison. Where that judge cannot
say (a side it cannot parse), the mutant's truth is the construction's: a hedge, a negation, a
changed unit is not the answer. Every disagreement with ``verify`` is written to ``--out`` with its
triage: a convention of docs/math.md (named) or a defect.

``--before DIR`` also runs the same mutants through another checkout (a worktree of the previous
version) for the before/after table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GOLDS = [  # (family, gold LaTeX)
    ("integer", "12"), ("integer", "-7"), ("integer", "2024"), ("integer", "105"),
    ("fraction", r"\frac{3}{4}"), ("fraction", r"\frac{11}{2}"), ("fraction", r"-\frac{5}{12}"), ("fraction", r"\frac{1}{10}"),
    ("decimal", "0.25"), ("decimal", "3.75"), ("decimal", "1.4142"),
    ("radical", r"\sqrt{12}"), ("radical", r"2\sqrt{5}"), ("radical", r"\frac{\sqrt{3}}{2}"), ("radical", r"3 + \sqrt{2}"),
    ("constant", r"2\pi"), ("constant", r"\frac{\pi}{6}"), ("constant", r"e^{2}"), ("constant", r"\pi^{2} - 1"),
    ("power", "2^{10}"), ("power", "3^{5} + 1"),
    ("polynomial", "x^{2} + 2x + 1"), ("polynomial", "3x - 4"), ("polynomial", "(x - 1)(x + 2)"),
    ("rational", r"\frac{x + 1}{x - 1}"), ("rational", r"\frac{1}{x^{2} + 1}"),
    ("function", r"\sin(x) + \cos(x)"), ("function", r"\log_{2} 8"), ("function", r"\ln(3)"),
    ("equation", "x = 3"), ("equation", "y = 2x + 1"),
    ("interval", "[2, 5)"), ("interval", r"(-\infty, 3]"),
    ("tuple", "(1, 2)"), ("tuple", "(3, -4, 5)"),
    ("set", r"\{1, 2, 3\}"),
    ("percent", r"40\%"), ("percent", r"12.5\%"),
    ("unit", r"5 \text{ cm}"), ("unit", r"30 \text{ minutes}"),
    ("word", r"\text{east}"), ("word", r"\text{yes}"),
]
NEGATING = [r"{} \text{{ is wrong}}", r"\text{{not }} {}", r"{} \text{{ (incorrect)}}", r"{} \text{{ at most}}",
            r"{} \text{{ or not}}", r"{} \text{{ approximately}}"]
OTHER_UNITS = {"cm": "km", "minutes": "hours"}
BOX = "The answer is $\\boxed{@}$."  # how every mutant is written, unless its kind writes the words around it
# blind rounds 4 and 5: words around the box that make it less than a claim of the gold (never the gold)
CONTEXT = {
    "bound": ["The answer is at least $\\boxed{@}$.", "The answer is approximately $\\boxed{@}$.",
              "A lower bound for the answer is $\\boxed{@}$.", "$\\boxed{@}$ at most.", "$\\boxed{@}$, roughly."],
    "revision": ["$\\boxed{@}$. Actually, the answer is one more than that.", "$\\boxed{@}$, then add one.",
                 "$\\boxed{@}$. Now negate it.", "$\\boxed{@}$, in thousands.", "$\\boxed{@}$. Make that half of it."],
    "modal": ["It might be $\\boxed{@}$.", "One possible answer is $\\boxed{@}$.", "$\\boxed{@}$, if I'm right.",
              "It seems the answer is $\\boxed{@}$.", "If n is even, $\\boxed{@}$."],
    "relation": ["$x \u2265 \\boxed{@}$.", "The answer is \u2248 $\\boxed{@}$.", "$\\boxed{\u2260 @}$."],
}
# honest words around the box: the same answer
CONTEXT_SAME = ["$\\boxed{@}$ is the answer.", "I think the answer is $\\boxed{@}$.",
                "So the answer is $\\boxed{@}$, as required.", "$\\boxed{@}$. That is the final answer."]


def _digit(g: str, rng: random.Random) -> list[str]:
    spots = [m.start() for m in re.finditer(r"\d", g)]
    out = []
    for i in spots:
        d = int(g[i])
        for new in {(d + 1) % 10, (d + rng.randint(2, 8)) % 10}:
            out.append(g[:i] + str(new) + g[i + 1 :])
    return out


def _brace(g: str) -> list[str]:
    out = []
    m = re.search(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", g)
    if m:
        out.append(g[: m.start()] + r"\frac{" + m.group(2) + "}{" + m.group(1) + "}" + g[m.end() :])
        a, b = m.group(1), m.group(2)
        if len(a) > 1:
            out.append(g[: m.start()] + r"\frac{" + a[:-1] + "}{" + a[-1] + b + "}" + g[m.end() :])
        if len(b) > 1:
            out.append(g[: m.start()] + r"\frac{" + a + b[0] + "}{" + b[1:] + "}" + g[m.end() :])
    for m in re.finditer(r"\^\{([^{}]+)\}", g):
        body = m.group(1)
        out.append(g[: m.start()] + "^{" + body[:1] + "}" + body[1:] + g[m.end() :])
    m = re.search(r"\\sqrt\{([^{}]+)\}", g)
    if m and len(m.group(1)) > 1:
        out.append(g[: m.start()] + r"\sqrt{" + m.group(1)[:-1] + "}" + m.group(1)[-1] + g[m.end() :])
    return out


def _operator(g: str) -> list[str]:
    swaps = {"+": "-", "-": "+", "^": "*", r"\cdot": "+"}
    out = []
    for m in re.finditer(r"(?<=[\w}\)])\s*([+\-^])\s*(?=[\w\\{(])", g):
        out.append(g[: m.start(1)] + swaps[m.group(1)] + g[m.end(1) :])
    return out


def _sign(g: str) -> list[str]:
    return [g[1:]] if g.startswith("-") else ["-" + g if not g.startswith("(") else "-" + g, "-(" + g + ")"]


def mutants(rng: random.Random):
    """(kind, family, gold, mutant, truth by construction or None: decide it by the judge)."""
    for family, g in GOLDS:
        for m in [g, " " + g.replace(" ", "") + " ", r"\displaystyle " + g]:
            yield "same", family, g, m, None
        for m in _digit(g, rng):
            yield "digit", family, g, m, None
        for m in _brace(g):
            yield "brace", family, g, m, None
        for m in _operator(g):
            yield "operator", family, g, m, None
        if family not in ("word", "unit", "interval", "set", "tuple"):
            for m in _sign(g):
                yield "sign", family, g, m, None
        for t in NEGATING:
            yield "word", family, g, t.format(g), False
        other = next((m for m in _digit(g, rng) if m != g), g + " + 1")  # another value
        for t in ("{} or {}", r"\boxed{{{}}} or \boxed{{{}}}", r"{} \text{{ or }} {}", "{}, {}"):
            yield "hedge", family, g, t.format(g, other), False if family not in ("set",) else None
        if family == "unit":
            for old, new in OTHER_UNITS.items():
                if old in g:
                    yield "unit", family, g, g.replace(old, new), False
        elif family not in ("word",):  # a unit beside a value the gold gives bare: the same answer
            yield "unit", family, g, g + r" \text{ cm}", True
        yield "approx", family, g, rf"{g} \approx {other}", False
        yield "approx", family, g, rf"{other} \approx {g}", False
        if family not in ("percent", "word", "unit"):
            yield "percent", family, g, g + r"\%", False  # p% is p/100: another value (no gold here is 0)
        yield "not", family, g, rf"x \not= {g}", False
        yield "not", family, g, rf"\not {g}", False
        for kind, wraps in CONTEXT.items():
            for w in wraps:
                yield kind, family, g, w.replace("@", g), False
        for w in CONTEXT_SAME:
            yield "same_context", family, g, w.replace("@", g), True


# ---- the independent judge --------------------------------------------------------------------

class _Slow(Exception):
    pass


def _alarm(*_):
    raise _Slow()


def _l2s(text: str):
    from latex2sympy2_extended import latex2sympy

    text = re.sub(r"\\text\{\s*([^{}]*)\}", r"\1", text).replace(r"\displaystyle", "").strip()
    return latex2sympy(text)


def _same_expr(a, b, rng: random.Random) -> bool:
    import sympy as sp

    if a == b:
        return True
    try:
        if sp.simplify(a - b) == 0:
            return True
    except Exception:  # noqa: BLE001 (the judge may fail; the points still decide)
        pass
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    for _ in range(40):
        point = {s: sp.Rational(rng.randint(-900, 900), rng.randint(7, 97)) for s in symbols}
        va, vb = sp.N(a.xreplace(point), 50), sp.N(b.xreplace(point), 50)
        if va.has(sp.zoo, sp.nan) or vb.has(sp.zoo, sp.nan):
            if va.has(sp.zoo, sp.nan) != vb.has(sp.zoo, sp.nan):
                return False
            continue
        if not (va.is_number and vb.is_number) or abs(va - vb) > sp.Float(10) ** -40 * max(1, abs(va), abs(vb)):
            return False
    return True


def _equal(a, b, rng) -> bool:
    import sympy as sp

    if isinstance(a, sp.Expr) and isinstance(b, sp.Expr):
        return _same_expr(a, b, rng)
    if isinstance(a, sp.Interval) and isinstance(b, sp.Interval):
        return (a.left_open, a.right_open) == (b.left_open, b.right_open) and _same_expr(a.start, b.start, rng) \
            and _same_expr(a.end, b.end, rng)
    if isinstance(a, sp.FiniteSet) and isinstance(b, sp.FiniteSet):
        return len(a) == len(b) and all(any(_equal(x, y, rng) for y in b.args) for x in a.args)
    if isinstance(a, (tuple, sp.Tuple)) and isinstance(b, (tuple, sp.Tuple)):
        return len(a) == len(b) and all(_equal(x, y, rng) for x, y in zip(a, b))
    if isinstance(a, sp.Eq) and isinstance(b, sp.Eq):
        return _equal(a.lhs, b.lhs, rng) and _equal(a.rhs, b.rhs, rng)
    return a == b


def _whole(gold: str) -> bool:
    """The gold is a whole number (by the judge's parser)."""
    try:
        import sympy as sp

        value = _l2s(gold)
        return bool(getattr(value, "is_number", False) and sp.simplify(value).is_integer)
    except Exception:  # noqa: BLE001
        return False


def truth(gold: str, mutant: str, given, rng: random.Random) -> tuple[bool, str]:
    """(equivalent, how decided)."""
    if given is not None:
        return given, "construction"
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        a, b = _l2s(mutant), _l2s(gold)
        return _equal(a, b, rng), "judge"
    except _Slow:
        return False, "judge timed out"
    except Exception as err:  # noqa: BLE001 (a side the judge cannot parse is not the gold)
        return False, f"judge cannot parse ({type(err).__name__})"
    finally:
        signal.alarm(0)


# ---- verdicts of a checkout --------------------------------------------------------------------

def verdicts(rows: list[dict], root: str) -> list[bool]:
    """verify() of every mutant, run by the checkout at ``root`` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=root)
    code = ("import json, sys\nfrom grpo_ext.rewards import math as rm\nrows = json.load(sys.stdin)\n"
            "print(json.dumps([rm.verify(r['completion'], r['gold']) for r in rows]))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(rows), capture_output=True, text=True,
                          env=env, cwd=root, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


CONVENTIONS = [  # (test, name): a disagreement that follows a rule of docs/math.md
    (lambda r: r["kind"] == "percent" and r["ours"] and r["gold_whole"],
     "percent: an answer p% against a whole-number gold (no problem text) is a percent count"),
    (lambda r: r["kind"] == "approx" and r["ours"] and r["mutant"].startswith(r["gold"] + r" \approx"),
     "approximations: the exact part is the gold and the approximation is its rounding; only the exact part is graded"),
    (lambda r: r["kind"] == "same" and not r["ours"] and r["family"] == "word",
     "words: compared as text"),
]


def triage(row: dict) -> str:
    for test, name in CONVENTIONS:
        if test(row):
            return "convention: " + name
    return "defect" if row["ours"] else "defect (right answer refused)"


def table(rows: list[dict], key: str, title: str) -> None:
    kinds = sorted({r["kind"] for r in rows})
    print(f"\n{title}\n")
    has_before = "before" in rows[0]
    head = "| kind | mutants | equivalent | " + ("disagreements before | " if has_before else "") + \
        "disagreements after | after: conventions | after: defects |"
    print(head)
    print("|" + "---|" * head.count("|")[:-1] if False else "|" + "---|" * (head.count("|") - 1))
    for k in kinds + ["**all**"]:
        sel = [r for r in rows if k == "**all**" or r["kind"] == k]
        after = [r for r in sel if r["ours"] != r["truth"]]
        conv = sum(triage(r).startswith("convention") for r in after)
        cells = [k, len(sel), sum(r["truth"] for r in sel)]
        if has_before:
            cells.append(sum(r["before"] != r["truth"] for r in sel))
        cells += [len(after), conv, len(after) - conv]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="a checkout of the previous version, for the before column")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "math_mutations_after.jsonl"))
    ap.add_argument("--seed", type=int, default=28)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rows = [dict(kind=k, family=f, gold=g, mutant=m) | dict(zip(("truth", "decided"), truth(g, m, t, rng)))
            for k, f, g, m, t in mutants(rng)]
    for r in rows:  # a context kind's mutant is the whole completion
        r["completion"] = r["mutant"] if r["kind"] in CONTEXT or r["kind"] == "same_context" else BOX.replace("@", r["mutant"])
    whole = {g: _whole(g) for g in {r["gold"] for r in rows}}
    for r in rows:
        r["gold_whole"] = whole[r["gold"]]
    for r, v in zip(rows, verdicts(rows, str(ROOT)), strict=True):
        r["ours"] = v
    if args.before:
        for r, v in zip(rows, verdicts(rows, args.before), strict=True):
            r["before"] = v
    wrong = [dict(r, triage=triage(r)) for r in rows if r["ours"] != r["truth"]]
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in wrong))
    print(f"{len(rows)} mutants of {len(GOLDS)} golds; {sum(r['truth'] for r in rows)} equivalent by the judge; "
          f"disagreements with verify written to {args.out}")
    table(rows, "kind", "disagreements of verify with the judge, by mutation kind")
    fams = Counter(r["family"] for r in wrong)
    print("\nafter: disagreements by gold family: " + (", ".join(f"{k} {v}" for k, v in sorted(fams.items())) or "none"))
    for r in wrong:
        print(f"  [{r['triage']}] {r['kind']}: gold {r['gold']!r} mutant {r['mutant']!r} judge {r['truth']} "
              f"({r['decided']}) ours {r['ours']}")


if __name__ == "__main__":
    main()
