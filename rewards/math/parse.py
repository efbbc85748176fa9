r"""A small recursive-descent parser from answer text (LaTeX or plain) to sympy objects.

Model output is never handed to ``sympify``/``eval``: this parser builds sympy objects itself from a
fixed grammar, and refuses work whose size could explode (huge powers and factorials, deep
nesting) by raising :class:`TooLarge` or :class:`ParseError`. Callers run it in a bounded worker
(``rewards._bounded``), so even an unforeseen slow path cannot hang training.

Results: a sympy expression; a sympy set (intervals, unions); or one of the small containers
of ``rewards.math.objects`` (sequences, equations, matrices, percentages).
"""

from __future__ import annotations

import re
import sys

import sympy as sp

from .objects import (  # noqa: F401 (ParseError, TooLarge and the containers are re-exported)
    Approx, Equation, Matrix, ParseError, Percent, Ratio, Relation, Seq, TooLarge, arith, as_set, binomial,
    factorial, number, power, scalar,
)
from .parse_forms import _FUNCS, Forms

MAX_NESTING = 200  # brackets deep; each level costs ~8 Python frames (parse() raises the recursion limit to fit)
_RECURSION = 8 * MAX_NESTING + 1000
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+(?![a-zA-Z]))?)|(?P<cmd>\\[a-zA-Z]+|\\[{}|%\\])"
    r"|(?P<word>arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|sqrt|ln|log|exp|pi|infinity|inf|oo)"
    r"(?![a-zA-Z])|(?P<ch>\S))"
)
_CONSTS = {"pi": sp.pi, "infty": sp.oo, "infinity": sp.oo, "inf": sp.oo, "oo": sp.oo, "emptyset": sp.S.EmptySet,
           "varnothing": sp.S.EmptySet, "imath": sp.I}
_RELATIONS = {"<": "<", ">": ">", "le": "<=", "leq": "<=", "leqslant": "<=", "ge": ">=", "geq": ">=",
              "geqslant": ">=", "lt": "<", "gt": ">", "ne": "!=", "neq": "!="}
_NAMED_SYMBOLS = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi omicron rho "
    "varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi "
    "Psi Omega ell hbar aleph ldots".split())
_EQUALS = ("=",)  # a chain of these is its first and last side
_MULS = {"*", "\\cdot", "\\times", "\\ast"}
_DIVS = {"/", "\\div"}
_ATOM_START = {"(", "[", "{", "\\{", "|", "°"}


def _is_number(tok: str | None) -> bool:
    return bool(tok) and (tok[0].isdigit() or tok[0] == "." and len(tok) > 1)


def tokenize(s: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None:
            break  # only trailing whitespace is left
        tokens.append(m.group(m.lastgroup) if m.lastgroup != "cmd" else m.group("cmd"))
        pos = m.end()
    return tokens


class Parser(Forms):
    def __init__(self, text: str):
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.abs_open = 0
        self.in_func = 0
        self.in_integral = 0

    # -- token helpers ------------------------------------------------------------------------
    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> str:
        if self.i >= len(self.toks):
            raise ParseError("unexpected end")
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, tok: str) -> None:
        got = self.take()
        if got != tok:
            raise ParseError(f"expected {tok!r}, got {got!r}")

    def nest(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ParseError("nested too deeply")

    # -- grammar -------------------------------------------------------------------------------
    def parse(self):
        whole_percent = self.toks[-1:] == ["%"] and self.toks.count("%") == 1 and self._one_term()
        if whole_percent:
            self.toks.pop()  # "28%", "33\\frac13%" as the whole answer: a percent, see compare
        items = self.items(end=None)
        if self.peek() is not None:
            raise ParseError(f"unexpected {self.peek()!r}")
        value = items[0] if len(items) == 1 else Seq(tuple(items), "list")
        return Percent(value) if whole_percent and isinstance(value, sp.Expr) else value

    def _one_term(self) -> bool:
        """The tokens before the '%' form one term (``28``, ``-12.5``, ``\\frac{1}{4}``, ``(a+b)``):
        no + or - outside brackets, so ``5 + 0%`` is 5, not a percent."""
        depth = 0
        for j, tok in enumerate(self.toks[:-1]):
            depth += tok in ("(", "[", "{", "\\{") and 1 or tok in (")", "]", "}", "\\}") and -1 or 0
            if depth == 0 and tok in ("+", "-") and j > 0 or tok in ("=", ",", "<", ">", ":"):
                return False
        return True

    def items(self, end):
        out = [self.union()]
        while self.peek() == ",":
            self.take()
            if self.peek() == end:
                break
            out.append(self.union())
        return out

    def union(self):
        left = self.relation()
        while self.peek() in ("\\cup", "U"):
            self.take()
            right = self.relation()
            left = sp.Union(as_set(left), as_set(right))
        return left

    def relation(self):
        exprs, ops = [self.ratio()], []
        while True:
            tok = self.peek()
            if tok in _EQUALS or tok == "\\approx":
                if ops:
                    raise ParseError("mixed = and inequalities")
                return self.chain(exprs[0])
            op = _RELATIONS.get(tok.lstrip("\\")) if tok and (tok in "<>" or tok.startswith("\\")) else None
            if op is None:
                return exprs[0] if not ops else Relation(tuple(exprs), tuple(ops))
            self.take()
            if self.peek() == "=":  # "<=" written as two characters
                self.take()
                op += "=" if not op.endswith("=") else ""
            ops.append(op)
            exprs.append(self.ratio())

    def chain(self, first):
        """``a = b = c`` (its first and last side: ``x = 5 + 5 + 1 = 11``) and approximations after
        ``\\approx`` (``\\frac{\\sqrt3}{3} \\approx 0.577``, ``x = \\sqrt2 \\approx 1.414``)."""
        exact, approx = [first], []
        while self.peek() in _EQUALS or self.peek() == "\\approx":
            (approx if self.take() == "\\approx" or approx else exact).append(self.ratio())
        names = exact[:-1]
        if len(names) > 1 and all(isinstance(x, sp.Symbol) for x in names) and not isinstance(exact[-1], sp.Symbol):
            # "a = b = c = 1": every unknown named is 1, the labelled tuple (a, b, c) = (1, 1, 1)
            value = Equation(Seq(tuple(names), "tuple"), Seq((exact[-1],) * len(names), "tuple"))
        else:
            value = exact[0] if len(exact) == 1 else Equation(exact[0], exact[-1], tuple(exact) if len(exact) > 2 else ())
        if not approx:
            return value
        if isinstance(value, sp.Symbol):  # "x \\approx 1.41": a label and an approximate value
            return Approx(value, tuple(approx))  # no exact part: graded only against a decimal gold
        return Approx(value, tuple(approx))

    def ratio(self):
        parts = [self.expr()]
        while self.peek() == ":":
            self.take()
            parts.append(self.expr())
        return parts[0] if len(parts) == 1 else Ratio(tuple(parts))

    def expr(self):
        terms = [self.unary()]
        while self.peek() in ("+", "-"):
            sign = self.take()
            right = self.unary()
            terms.append(right if sign == "+" else arith(sp.Integer(0), right, "-"))
        if len(terms) > 1 and all(isinstance(t, sp.Expr) for t in terms):
            return sp.Add(*terms)  # one sum, not n nested ones: 2,000 terms stay fast
        left = terms[0]
        for right in terms[1:]:
            left = arith(left, right, "+")
        return left

    def unary(self):
        if self.peek() == "-":
            self.take()
            return arith(sp.Integer(0), self.unary(), "-")
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.term()

    def term(self):
        left, literal = self.power()
        while True:
            tok = self.peek()
            if tok in _MULS or tok in _DIVS:
                self.take()
                right, literal = self.power()
                left = arith(left, right, "/" if tok in _DIVS else "*")
            elif self.starts_atom(tok):
                if _is_number(self.toks[self.i - 1]) and _is_number(tok):
                    raise ParseError("two numbers side by side (a list or a typo, not a product)")
                right, lit = self.power()
                mixed = literal and tok == "\\frac" and isinstance(right, sp.Rational) and 0 < right < 1
                left = arith(left, right, "+" if mixed and left >= 0 else "-" if mixed else "*")
                literal = lit
            else:
                return left

    def starts_atom(self, tok) -> bool:
        if tok is None or tok in (",", "=", "\\cup", "U", "&", "\\\\", "\\end", "\\approx"):
            return False
        if tok == "d" and self.in_integral and re.fullmatch(r"[A-Za-z]", self.peek(1) or ""):
            return False  # the "dx" that ends an integrand
        if tok == "|":
            return self.abs_open == 0
        if tok in _ATOM_START:
            return tok != "°"
        if tok.startswith("\\"):
            return tok.lstrip("\\") not in _RELATIONS and tok not in _MULS and tok not in _DIVS and tok not in ("\\}", "\\pm", "\\mp")
        return tok[0].isalnum() or tok[0] == "."

    def power(self):
        """A postfix atom with an optional exponent; also says whether it was a bare integer."""
        start = self.i
        base = self.postfix()
        literal = self.i == start + 1 and isinstance(base, sp.Integer)
        if self.peek() == "^":
            self.take()
            base = arith(base, self.exponent(), "^")
            literal = False
            while self.peek() in ("!", "%", "°"):
                base = self.suffix(base)
        return base, literal

    def exponent(self):
        if self.peek() == "{":
            return self.group("{", "}")
        if self.peek() == "-":
            self.take()
            return -self.exponent()
        if self.peek() == "°":
            self.take()
            return sp.Integer(1)  # x^\circ was normalised to x°; this is the rare leftover
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            return arith(base, self.exponent(), "^")
        return base

    def postfix(self):
        value = self.atom()
        if self.peek() == "_" and isinstance(value, sp.Symbol):
            self.take()
            value = sp.Symbol(f"{value}_{self.raw_group() if self.peek() == '{' else self.take()}")
        while self.peek() in ("!", "%", "°"):
            value = self.suffix(value)
        return value

    def suffix(self, value):
        tok = self.take()
        if tok == "!":
            return factorial(value)
        if tok == "%":  # "12.5%": a percent only as the whole answer (see parse); inside a sum, p/100
            if self.starts_atom(self.peek()) or self.peek() in ("(", "{"):
                raise ParseError("'%' followed by more (a modulo, not a percent)")
            return arith(value, sp.Integer(100), "/")
        return value * sp.pi / 180 if self.in_func else value  # degrees

    def group(self, open_: str, close: str):
        self.expect(open_)
        self.nest()
        items = self.items(end=close)
        self.expect(close)
        self.depth -= 1
        return items[0] if len(items) == 1 else Seq(tuple(items), "list")

    def arg(self):
        """A command argument: ``{...}`` or a single character (``\\frac12``)."""
        tok = self.peek()
        if tok == "{":
            return self.group("{", "}")
        if tok is not None and re.fullmatch(r"\d+", tok) and len(tok) > 1:
            self.toks[self.i] = tok[1:]
            return sp.Integer(tok[0])
        return self.postfix()

    def atom(self):
        tok = self.take()
        if tok[0].isdigit() or tok[0] == ".":
            return number(tok)
        if tok in ("(", "["):
            return self.bracket(tok)
        if tok == "{":
            self.i -= 1
            return self.group("{", "}")
        if tok == "\\{":
            self.nest()
            items = [] if self.peek() == "\\}" else self.items(end="\\}")
            self.expect("\\}")
            self.depth -= 1
            return Seq(tuple(items), "set")
        if tok == "|":
            self.nest()
            self.abs_open += 1
            inner = self.expr()
            self.abs_open -= 1
            self.expect("|")
            self.depth -= 1
            return sp.Abs(inner)
        name = tok.lstrip("\\")
        if name in _CONSTS:
            return _CONSTS[name]
        if name in _FUNCS:
            return self.function(name)
        if name == "frac":
            return arith(self.arg(), self.arg(), "/")
        if name == "sqrt":
            index = self.group("[", "]") if self.peek() == "[" else sp.Integer(2)
            return arith(self.arg(), arith(sp.Integer(1), index, "/"), "^")
        if name == "binom":
            return binomial(self.arg(), self.arg())
        if name == "int":
            return self.integral()
        if name == "begin":
            return self.matrix()
        if tok.isalpha() and len(tok) == 1:
            return {"i": sp.I, "e": sp.E}.get(tok, sp.Symbol(tok))
        if tok.startswith("\\") and name in _NAMED_SYMBOLS:
            return sp.Symbol(name)  # Greek letters and a few named symbols; any other command is refused
        raise ParseError(f"unexpected {tok!r}")

    def bracket(self, open_: str):
        self.nest()
        items = self.items(end=")")
        close = self.take()
        self.depth -= 1
        if close not in (")", "]"):
            raise ParseError(f"unclosed {open_!r}")
        if len(items) == 1:
            if open_ + close != "()" and open_ + close != "[]":
                raise ParseError("half-open bracket around one item")
            return items[0]
        if len(items) == 2 and open_ + close == "()":
            return Seq(tuple(items), "pair")
        if len(items) == 2:
            lo, hi = (scalar(x) for x in items)
            return sp.Interval(lo, hi, left_open=open_ == "(", right_open=close == ")")
        return Seq(tuple(items), "tuple")


def parse(text: str):
    """Parse normalised answer text; raises ParseError (or TooLarge)."""
    if not text:
        raise ParseError("empty")
    if "\\pm" in text or "\\mp" in text:
        plus = parse(text.replace("\\pm", "+").replace("\\mp", "-"))
        minus = parse(text.replace("\\pm", "-").replace("\\mp", "+"))
        return Seq((plus, minus), "list")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION))
    try:
        return Parser(text).parse()
    finally:
        sys.setrecursionlimit(limit)
