"""The parser's longer constructs: functions (``\\sin^2 x``, ``\\log_2 5``), definite integrals and
matrices. A mixin of :class:`rewards.math.parse.Parser`, which supplies the token helpers."""

from __future__ import annotations

import re

import sympy as sp

from .objects import Matrix, ParseError, arith, defined, scalar

_FUNCS = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "cot": sp.cot, "sec": sp.sec, "csc": sp.csc,
    "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
    "tanh": sp.tanh, "ln": sp.log, "log": sp.log, "exp": sp.exp, "lg": lambda x: sp.log(x, 10),
}
_INVERSE = {"sin": sp.asin, "cos": sp.acos, "tan": sp.atan}


class Forms:
    def function(self, name: str):
        self.in_func += 1
        fn, base, exp = _FUNCS[name], None, None
        if self.peek() == "_":
            self.take()
            base = self.arg()
        if self.peek() == "^":
            self.take()
            exp = self.exponent()
        if exp == -1 and name in _INVERSE:
            fn, exp = _INVERSE[name], None
        if self.peek() == "(":
            self.take()
            self.nest()
            arg = self.expr()
            self.expect(")")
            self.depth -= 1
        else:
            arg = self.power()[0]
        self.in_func -= 1
        if base is not None and base.is_number and (base.is_positive is False or base == 1 or base.is_real is False):
            raise ParseError(f"a logarithm of base {base}")
        value = defined(sp.log(arg, base) if base is not None else fn(arg))
        return value if exp is None else arith(value, exp, "^")

    def integral(self):
        """``\\int_a^b f(x) dx``, evaluated; an indefinite integral is not an answer value."""
        lo = hi = None
        for _ in range(2):
            if self.peek() in ("_", "^"):
                if self.take() == "_":
                    lo = self.arg()
                else:
                    hi = self.arg()
        if lo is None or hi is None:
            raise ParseError("an integral without both limits")
        self.in_integral += 1
        body = self.expr()
        self.in_integral -= 1
        self.expect("d")
        var = self.take()
        if not re.fullmatch(r"[A-Za-z]", var):
            raise ParseError(f"expected the variable after d, got {var!r}")
        value = sp.Integral(scalar(body), (sp.Symbol(var), scalar(lo), scalar(hi)))
        done = value.doit()
        return value if done.has(sp.Integral) else done

    def raw_group(self) -> str:
        self.expect("{")
        out = []
        while self.peek() not in ("}", None):
            out.append(self.take())
        self.expect("}")
        return "".join(out)

    def matrix(self):
        env = self.raw_group()
        rows, row = [], [self.expr()]
        while True:
            tok = self.take()
            if tok == "&":
                row.append(self.expr())
            elif tok == "\\\\":
                rows.append(tuple(row))
                if self.peek() == "\\end":
                    row = None
                    continue
                row = [self.expr()]
            elif tok == "\\end":
                self.raw_group()
                if row:
                    rows.append(tuple(row))
                if len({len(r) for r in rows}) != 1:
                    raise ParseError("ragged matrix")
                return Matrix(tuple(rows)) if env != "vmatrix" else sp.Matrix(rows).det()
            else:
                raise ParseError(f"unexpected {tok!r} in matrix")
