"""What the checks of an assert-style row are, read from its test code before the program runs
(see docs/code.md, "Verdicts"). Shipped into the test code's sandbox with ``_testside.py``
(standard library only).

- A **flat scope** is the module, or a function of the test code's that is called once, either by
  the harness (HumanEval's ``check`` with the row's ``entry_point``) or by one top-level statement
  ``name(...)``, whose every ``assert`` is a statement of its own body (none in a loop, a branch, a
  ``with``, a ``try``, a nested function). Each such ``assert`` whose test reads any name is one
  check; it is rewritten to record whether it held (an exception fails it) and go on.
  An ``assert`` that reads only names no program can give (built-ins, standard-library modules:
  ``assert True``, ``assert len('ab') == 2``, ``assert math.sqrt(4) == 2``) is no check.
- Any other test code with an ``assert`` outside a class is **all or nothing**: one check, held
  when the code runs to its end, at least one ``assert`` ran and none failed.
- ``unittest`` cases are checks of their own, counted from the text (``_testcases.static_cases``: a
  program cannot change how many there are) and run as unittest loads and runs them; asserts in class bodies and in helpers called from
  them raise as usual, and unittest counts them.

:func:`plan` returns the rewritten tree and the static checks; :func:`free_names` the names the
test code reads and never binds (the only names the program, the row's prompt or the standard
library may provide).
"""

import ast
import builtins
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _testcases import case_methods, static_cases  # noqa: E402
from _testpure import counts, fixed_names  # noqa: E402

_COMPOUND = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try, ast.Match)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) - {"solution"}
if hasattr(ast, "TryStar"):
    _COMPOUND = _COMPOUND + (ast.TryStar,)


def free_names(tree):
    """Names read somewhere in ``tree`` and bound nowhere in it (built-ins left out)."""
    read, bound = _names(tree)
    return {name for name in read - bound if not hasattr(builtins, name)}


def bound_names(tree):
    """Names ``tree`` binds somewhere (assigned, defined, imported, caught...)."""
    return _names(tree)[1]


def _names(tree):
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ImportFrom) and node.module == "solution" and not node.level:
            read.update(a.name for a in node.names if a.name != "*")  # the program's names
        elif isinstance(node, ast.alias) and not _from_solution(tree, node):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return read, bound


def stdlib_modules(tree):
    """The free names the standard library provides: a standard-library module's name that the test
    code only uses as a module (``math.isclose``); one it calls or passes (``copy(xs)``, ``bisect(a,
    x)``: the program's function of that name) is the program's, like any other free name."""
    free = {name for name in free_names(tree) if name in _STDLIB}
    values = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    other = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in values}
    return free - other


def _from_solution(tree, alias):
    return any(isinstance(n, ast.ImportFrom) and n.module == "solution" and not n.level and alias in n.names
               for n in ast.walk(tree))


class _Solution(ast.NodeTransformer):
    """``from solution import f`` (the program's module) -> ``f = f`` from the names bound here;
    ``import solution`` (``as s``) -> ``solution = __grpo_solution__`` (the program's module, whose
    attributes are the program's names)."""

    def visit_Import(self, node):
        keep = [a for a in node.names if a.name != "solution"]
        binds = [ast.copy_location(ast.Assign([ast.Name(a.asname or a.name, ast.Store())],
                                              ast.Name("__grpo_solution__", ast.Load())), node)
                 for a in node.names if a.name == "solution"]
        if not binds:
            return node
        return ([ast.copy_location(ast.Import(keep), node)] if keep else []) + binds

    def visit_ImportFrom(self, node):
        if node.module != "solution" or node.level:
            return node
        keep = [ast.Assign([ast.Name(a.asname, ast.Store())], ast.Name(a.name, ast.Load()))
                for a in node.names if a.name != "*" and a.asname and a.asname != a.name]
        return [ast.copy_location(k, node) for k in keep] or ast.copy_location(ast.Pass(), node)


def _asserts(node, fixed, into_classes=False):
    """Every ``assert`` under ``node`` that can depend on the program (class bodies left out unless
    ``into_classes``): its test reads a name that is not ``fixed`` (:func:`counts`), or it sits in a
    loop, branch, ``with`` or ``try`` whose header (or ``try`` body) does, so that whether it runs can
    depend on the program (``try: f(-1)`` / ``except ValueError: assert True``)."""
    out = []

    def walk(parent, steered):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.ClassDef) and not into_classes:
                continue
            if isinstance(child, ast.Assert) and (steered or counts(child.test, fixed)):
                out.append(child)
            walk(child, steered or _steers(child, fixed))

    walk(node, False)
    return out


def _steers(node, fixed):
    """Whether a compound statement's header (a ``try``: its body) reads a name no ``fixed`` one."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        parts = [node.iter]
    elif isinstance(node, (ast.While, ast.If)):
        parts = [node.test]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        parts = [item.context_expr for item in node.items]
    elif isinstance(node, ast.Match):
        parts = [node.subject]
    elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
        parts = node.body
    else:
        return False
    return any(counts(part, fixed) for part in parts)


def _is_flat(body_owner, fixed):
    direct = {id(s) for s in body_owner.body if isinstance(s, ast.Assert)}
    return all(id(a) in direct for a in _asserts(body_owner, fixed))


def _top_calls(tree):
    """Top-level statements ``name(...)`` by the name they call."""
    calls = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name):
            calls.setdefault(stmt.value.func.id, []).append(stmt)
    return calls


def _call_count(tree, name):
    return sum(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(tree))


class _Record(ast.NodeTransformer):
    """In a flat scope: ``assert TEST`` -> record whether TEST held (an exception fails it), go on."""

    def __init__(self, ids, blank):
        self.ids, self.blank = ids, blank  # id(assert node) -> check number; constant asserts of flat scopes

    def visit_Assert(self, node):
        if id(node) in self.blank:
            return ast.copy_location(ast.Pass(), node)  # no check: it cannot depend on the program
        if id(node) not in self.ids:
            return node
        number = ast.Constant(self.ids[id(node)])
        line = ast.Constant(node.lineno)
        ok, err = ast.Name("__grpo_ok__", ast.Store()), "__grpo_err__"
        record = lambda held: ast.Expr(ast.Call(ast.Name("__grpo_check__", ast.Load()), [number, line, held], []))  # noqa: E731
        new = ast.Try(body=[ast.Assign([ok], node.test)],
                      handlers=[ast.ExceptHandler(ast.Name("Exception", ast.Load()), err, [record(ast.Constant(False))])],
                      orelse=[record(ast.Name("__grpo_ok__", ast.Load()))], finalbody=[])
        return ast.copy_location(new, node)


class _Count(ast.NodeTransformer):
    """Outside flat scopes (and in classes, ``into_classes``): ``assert T, M`` -> ``assert __grpo_hold__(T), M``
    (records that it ran and whether it held, so a failure the test code catches itself still fails its
    unit, or the unittest case running it).
    An assert that cannot depend on the program stays as it is: it does not count as one that ran."""

    def __init__(self, counting, into_classes=False):
        self.counting = counting  # ids of the asserts that can depend on the program (_asserts)
        self.into_classes = into_classes

    def visit_ClassDef(self, node):
        return self.generic_visit(node) if self.into_classes else node

    def visit_Assert(self, node):
        if id(node) not in self.counting:
            return node
        node.test = ast.copy_location(ast.Call(ast.Name("__grpo_hold__", ast.Load()), [node.test], []), node.test)
        return node


class _Units(ast.NodeTransformer):
    """Top-level ``name(...)`` statements of all-or-nothing functions get ``__grpo_begin__(name)``
    before and ``__grpo_end__(name)`` after (the end is reached only if the call returned)."""

    def __init__(self, names):
        self.names = names

    def visit_Module(self, node):
        body = []
        for stmt in node.body:
            name = _called(stmt)
            if name in self.names:
                mark = lambda what: ast.copy_location(ast.Expr(ast.Call(  # noqa: E731
                    ast.Name(what, ast.Load()), [ast.Constant(name)], [])), stmt)
                body += [mark("__grpo_begin__"), stmt, mark("__grpo_end__")]
            else:
                body.append(stmt)
        node.body = body
        return node


def _called(stmt):
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name):
        return stmt.value.func.id
    return None


class Plan:
    """The rewritten test code and its static checks: ``checks`` (the line of each numbered assert
    of a flat scope), ``units`` (all-or-nothing scopes: ``"module"`` or a function's name),
    ``harness_call`` (the function the harness calls with the entry point, or None), ``classes``
    (whether the test code defines a class: its unittest cases are known only once it ran), ``whole``
    (the row is one check, :func:`_reached_indirectly`)."""

    def __init__(self, tree, checks, units, harness_call, classes, case_methods=None, whole=False):
        self.tree, self.checks, self.units, self.harness_call, self.classes = tree, checks, units, harness_call, classes
        self.case_methods = case_methods or {}  # class name -> {method: counts}: which unittest cases are checks
        self.whole = whole  # the module unit ends after the harness's call of check, not before it

    @property
    def static(self):
        return len(self.checks) + len(self.units)


def plan(source, entry_point):
    """The :class:`Plan` of ``source`` (the test code); ``entry_point``: the program's function the
    harness calls ``check`` with, when the test code does not call ``check`` itself."""
    tree = _Solution().visit(ast.parse(source))
    fixed = fixed_names(tree)
    functions = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    calls = {name: [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                    and n.func.id == name] for name in functions}
    top = {}
    for stmt in tree.body:
        if _called(stmt) in functions:
            top.setdefault(_called(stmt), []).append(stmt.value)
    harness_call = "check" if entry_point and "check" in functions and not calls["check"] else None
    flat, units, loose = [], [], False
    for name, fn in functions.items():
        if not _asserts(fn, fixed):
            continue
        once = name == harness_call or (len(calls[name]) == 1 and top.get(name) == calls[name])
        if once:
            (flat if _is_flat(fn, fixed) else units).append(fn if _is_flat(fn, fixed) else name)
        elif calls[name] and not all(_inside_class(tree, c) for c in calls[name]):
            loose = True  # a helper with asserts called from the test code's own flow
    defs = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
    in_functions = {id(a) for fn in defs for a in _asserts(fn, fixed)}  # every definition's (the last is in force)
    module_asserts = [a for a in _asserts(tree, fixed) if id(a) not in in_functions]
    direct = {id(s) for s in tree.body if isinstance(s, ast.Assert)}
    methods = case_methods(tree)
    whole = not static_cases(tree, methods) and _reached_indirectly(tree, defs, functions, calls, fixed)
    if whole:  # one check for the whole run, the harness's call of check included
        flat, units = [], ["module"]
    elif loose or _runs_text(tree) or not all(id(a) in direct for a in module_asserts):
        units.insert(0, "module")
    else:
        flat.insert(0, tree)
    checks, ids, blank = [], {}, set()
    for scope in flat:
        for stmt in scope.body:
            if isinstance(stmt, ast.Assert) and counts(stmt.test, fixed):
                ids[id(stmt)] = len(checks)
                checks.append(stmt.lineno)
            elif isinstance(stmt, ast.Assert):
                blank.add(id(stmt))
    classes = any(isinstance(n, ast.ClassDef) for n in ast.walk(tree))
    counting = {id(a) for a in _asserts(tree, fixed)}
    counting |= {id(a) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for a in ast.walk(c) if isinstance(a, ast.Assert)}
    tree = _Record(ids, blank).visit(tree)
    tree = _Units({u for u in units if u != "module" and u != harness_call}).visit(_Count(counting, True).visit(tree))
    return Plan(ast.fix_missing_locations(tree), checks, units, harness_call, classes, methods, whole)


_TEXT = frozenset({"exec", "eval", "compile"})
_TEXT_WORDS = _TEXT | {"builtins", "__builtins__"}
_TEXT_ATTRS = _TEXT_WORDS - {"compile"}  # re.compile is a regular expression's


def _outside_classes(tree):
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo += [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.ClassDef)]


def _reaches_text(tree):
    """Whether code outside classes may run text other than by a direct call of ``exec`` / ``eval`` /
    ``compile``: those names used otherwise (``run = exec``), as attributes (``builtins.exec``), as
    strings (``getattr(m, 'exec')``), or the ``builtins`` module (``import builtins``, ``__builtins__``)."""
    calls = {id(n.func) for n in _outside_classes(tree) if isinstance(n, ast.Call)}
    for node in _outside_classes(tree):
        if isinstance(node, ast.Name) and (node.id == "__builtins__" or (node.id in _TEXT and id(node) not in calls)):
            return True
        if isinstance(node, ast.Attribute) and node.attr in _TEXT_ATTRS:
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in _TEXT_WORDS:
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "builtins" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "builtins":
            return True
    return False


def _reached_indirectly(tree, defs, functions, calls, fixed):
    """Whether the checks of the test code (outside classes) may run other than through calls read here:
    text run other than by ``exec(...)`` (:func:`_reaches_text`), a function of the test code's that
    asserts or runs text (or names one that does, transitively) used other than by a direct call of its
    own name (bound to another name, passed, decorated or a decorator, in a container, ``.__call__``),
    or defined twice and called by the test code. Such test code is one check (all or nothing)."""
    if _reaches_text(tree):
        return True
    reaching = {fn.name for fn in defs if _asserts(fn, fixed) or _runs_text(fn)}
    reads = {fn.name: {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} for fn in defs}
    grew = True
    while grew:
        grew = {name for name, names in reads.items() if name not in reaching and names & reaching}
        reaching |= grew
    called = {id(n.func) for n in _outside_classes(tree) if isinstance(n, ast.Call)}
    if any(isinstance(n, ast.Name) and n.id in reaching and id(n) not in called for n in _outside_classes(tree)):
        return True
    if any(fn.decorator_list for fn in defs if fn.name in reaching):
        return True
    twice = {fn.name for fn in defs if sum(d.name == fn.name for d in defs) > 1}
    return any(calls.get(name) for name in twice & reaching) or bool(reaching & _rebound(tree, functions))


def _rebound(tree, functions):
    """Names of the test code's functions that its statements also bind otherwise (``check = other``)."""
    stores = {n.id for n in _outside_classes(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    stores |= {(a.asname or a.name).split(".")[0] for n in _outside_classes(tree)
               if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return stores & set(functions)


def _runs_text(tree):
    """Whether the test code runs code from text (``exec``, ``compile``): its asserts are not in the text read
    here, so the module is one check (all or nothing), held when an assert of that text ran and none failed."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("exec", "compile")
               for n in ast.walk(tree))


def held_text(tree):
    """Code the test code runs from text (``exec('assert f(1) == 2')``): every assert records that it ran and
    whether it held (``__grpo_hold__``), as the asserts of all-or-nothing code do."""
    return ast.fix_missing_locations(_Count({id(n) for n in ast.walk(tree) if isinstance(n, ast.Assert)},
                                            into_classes=True).visit(tree))


def _inside_class(tree, node):
    return any(isinstance(c, ast.ClassDef) and any(n is node for n in ast.walk(c)) for c in ast.walk(tree))
