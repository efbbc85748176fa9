"""Which asserts of an assert-style row can depend on the program (see docs/code.md, "Verdicts"), read
from the test code's text before anything runs. Shipped with ``_testplan.py`` (standard library only).

An assert is no check only when it provably cannot depend on the program: it reads nothing but pure
built-ins, names imported from a pure standard-library module and attributes of a pure module written
as ``module.attr`` (``assert len('ab') == 2``, ``assert math.sqrt(4) == 2``). Any dynamic access
(``eval``, ``globals()``, ``__import__``, ``sys.modules``, ``importlib``, an ``_attribute``, a module
used as a value or reached as an attribute, ``str.format``) could reach the program's names, so an
assert that uses one is a check of the program.
"""

import ast
import builtins
import sys

# Built-ins that reach names by their text or reach the interpreter: an assert that uses one can depend on the program.
_DYNAMIC = frozenset({"eval", "exec", "compile", "globals", "locals", "vars", "__import__", "getattr", "setattr",
                      "delattr", "hasattr", "dir", "open", "input", "breakpoint", "help", "__builtins__",
                      "__build_class__", "__loader__", "__spec__", "memoryview"})
# Standard-library modules whose attributes are plain values and functions of their arguments: an assert that
# reads only these (as ``mod.attr``) and pure built-ins provably cannot depend on the program.
_PURE = frozenset({"math", "cmath", "re", "string", "itertools", "functools", "collections", "fractions", "decimal",
                   "statistics", "heapq", "bisect", "json", "datetime", "textwrap", "unicodedata", "numbers", "copy",
                   "random", "array", "enum", "typing", "os.path"})
_PURE_BUILTINS = frozenset(dir(builtins)) - _DYNAMIC


def fixed_names(tree):
    """Names whose value no program can give and that reach nothing else: pure built-ins the test code
    never binds, and names bound only by importing from a pure standard-library module (``from math
    import sqrt``); the pure modules themselves are read through :func:`counts` (``math.sqrt``)."""
    imported, other = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            pure = not node.level and node.module in _PURE
            for a in node.names:
                (imported if pure and a.name != "*" else other).add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            other.update((a.asname or a.name).split(".")[0] for a in node.names if a.asname)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            other.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other.add(node.name)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            other.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            other.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            other.add(node.name)
    modules = {name for name in {n.split(".")[0] for n in _PURE} if name not in other}
    return (_PURE_BUILTINS | imported | {"module:" + m for m in modules}) - other


def counts(test, fixed=_PURE_BUILTINS):
    """Whether an assertion's test can depend on the program. It cannot only when it reads nothing but
    ``fixed`` names (pure built-ins: ``assert True``, ``assert len('ab') == 2``) and attributes of pure
    standard-library modules (``assert math.sqrt(4) == 2``, ``os.path.join``): no dynamic access
    (``eval``, ``globals()``, ``__import__``, ``sys.modules``, ``importlib``, an ``_attribute``, a
    module passed as a value, ``str.format``), which could reach the program's names."""
    roots, inner = set(), {id(n.value) for n in ast.walk(test) if isinstance(n, ast.Attribute)}
    for node in ast.walk(test):
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_") or node.attr in ("format", "format_map"):
                return True
            chain = None if id(node) in inner else _chain(node)
            if chain and "module:" + chain[0] in fixed:
                if not _pure_chain(chain):
                    return True
                roots.add(id(_root(node)))
    return any(isinstance(n, ast.Name) and id(n) not in roots and n.id not in fixed for n in ast.walk(test))


def _root(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def _chain(node):
    """``os.path.join`` -> ``["os", "path", "join"]``; None when the chain does not start at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    return [node.id] + parts if isinstance(node, ast.Name) else None


def _pure_chain(chain):
    """Whether ``chain`` starts at a pure module and steps through no other module (``re.enum.sys`` does)."""
    for cut in (2, 1):
        name = ".".join(chain[:cut])
        if name in _PURE and len(chain) > cut:
            try:
                value = __import__(name, fromlist=["_"])
                for attr in chain[cut:]:
                    value = getattr(value, attr)
                    if isinstance(value, type(sys)):
                        return False
            except Exception:  # noqa: BLE001 - an attribute the module does not have: not provably pure
                return False
            return True
    return False
