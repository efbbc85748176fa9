"""The parent's side of the code harness: assertions rewritten so that expected values stay out of
the sandbox, the signed report read back, and values compared (see ``rewards.code``).

Comparison rule (:func:`same`), applied to plain values decoded from the program's report and to
expected values from the dataset or the test code: tuples are lists; sets are sets; ``bool`` is
not a number (``True`` != ``1``); an ``int`` and a ``float`` compare as numbers, and two numbers
that are not both ints are equal within a relative or absolute tolerance of 1e-9; NaN equals
nothing; strings, None, lists and dicts (str keys) compare exactly, element by element.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import math
from dataclasses import dataclass

_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}
_NEGATE = {"!=": "==", "not in": "in"}


@dataclass(frozen=True)
class Check:
    """One assertion of the test code. ``expected`` is a literal when ``sealed`` (it never enters the
    sandbox and the child sends only the other side); otherwise the child sends every operand."""

    op: str  # "==", "!=", "<", ..., "in", "not in", "truthy", "falsy"
    sealed: bool
    expected: object = None
    line: int = 0


def _literal(node: ast.AST):
    """(True, value) when ``node`` is a literal (numbers, strings, tuples, lists, dicts, sets, None)."""
    try:
        return True, normalise(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _classify(test: ast.expr) -> tuple[Check, list[ast.expr]]:
    """The check for ``assert test`` and the expressions the child must evaluate and send."""
    line = getattr(test, "lineno", 0)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return Check("falsy", False, line=line), [test.operand]
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right, node_op = test.left, test.comparators[0], type(test.ops[0])
        if node_op in (ast.Is, ast.IsNot) and isinstance(right, ast.Constant) and right.value in (None, True, False):
            return Check("==" if node_op is ast.Is else "!=", True, right.value, line), [left]
        op = _COMPARE.get(node_op)
        if op is not None:
            right_lit, right_value = _literal(right)
            if right_lit and not _literal(left)[0]:
                return Check(op, True, right_value, line), [left]
            left_lit, left_value = _literal(left)
            if left_lit and op in ("==", "!=") and not right_lit:
                return Check(op, True, left_value, line), [right]
            return Check(op, False, line=line), [left, right]
    return Check("truthy", False, line=line), [test]


class _Rewriter(ast.NodeTransformer):
    def __init__(self):
        self.checks: list[Check] = []

    def visit_Assert(self, node: ast.Assert):
        check, operands = _classify(node.test)
        site = len(self.checks)
        self.checks.append(check)
        call = ast.Call(ast.Name("__grpo_check__", ast.Load()), [ast.Constant(site), *operands], [])
        return ast.copy_location(ast.Expr(call), node)


def rewrite_tests(test_code: str) -> tuple[str, tuple[Check, ...]]:
    """Test code with every ``assert`` turned into a report of its operands, and the checks."""
    tree = ast.parse(test_code)
    rewriter = _Rewriter()
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    return ast.unparse(tree), tuple(rewriter.checks)


def normalise(value):
    """Tuples to lists, sets to frozensets of hashable elements, recursively."""
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return frozenset(_hashable(normalise(v)) for v in value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def decode(text: str):
    """A value the harness encoded (JSON, sets as ``{"__set__": [...]}``)."""
    def hook(obj):
        if set(obj) == {"__set__"} and isinstance(obj["__set__"], list):
            return frozenset(_hashable(normalise(v)) for v in obj["__set__"])
        return obj

    return json.loads(text, object_hook=hook)


def same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def holds(op: str, left, right=None) -> bool:
    """Whether ``left OP right`` holds for plain values (``truthy``/``falsy`` take one)."""
    if op == "truthy":
        return bool(left)
    if op == "falsy":
        return not left
    if op in ("!=", "not in"):
        return not holds(_NEGATE[op], left, right)
    if op == "==":
        return same(left, right)
    if op == "in":
        if isinstance(right, str):
            return isinstance(left, str) and left in right
        if isinstance(right, dict):
            return isinstance(left, str) and left in right
        if isinstance(right, frozenset):
            return _hashable(left) in right
        return isinstance(right, list) and any(same(left, x) for x in right)
    same_kind = type(left) is type(right) and type(left) in (str, list)
    if not (same_kind or (_number(left) and _number(right))):
        return False
    try:
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    except TypeError:  # lists holding values of different kinds
        return False


def signed_lines(data: bytes, key: bytes) -> list[str] | None:
    """The payloads of the harness's report in order, or None if any line is not signed by ``key``,
    is out of sequence or is malformed (a forged line anywhere voids the whole report)."""
    payloads = []
    for number, line in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n") else [b"!"], start=1):
        mac, _, message = line.partition(b" ")
        expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
        seq, _, payload = message.partition(b" ")
        if not hmac.compare_digest(mac, expected) or seq != str(number).encode():
            return None
        payloads.append(payload.decode("utf-8", errors="replace"))
    return payloads
