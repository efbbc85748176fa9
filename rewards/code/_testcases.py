"""The ``unittest`` cases of an assert-style row, on the test code's side of a split run (shipped
with ``_testside.py``; standard library only): loaded as unittest loads a module, run as unittest
runs them, one check per case (see docs/code.md, "Verdicts").

A ``test*`` case is a check unless it provably asserts nothing (:func:`case_methods`, read from
the text before anything runs, so no program can change which cases count): its body holds no call
at all (``pass``, a docstring, literal assignments), it has no decorator, and no fixture its class
runs for each case (``setUp``, ``tearDown``) does more than that either. Any call, through any name (an alias, a
``getattr``, ``map``, a ``partial``), makes it a counted case. A counted case passes when it ran
and no part of it failed (an assertion method or ``assert`` that
failed, even one the test code caught itself; a failing ``subTest``, ``setUp``,
its class's ``setUpClass``; a module or class fixture that failed fails every case); a skipped or an
``@expectedFailure`` case failed (a skip condition can read the program's answers). The number
of cases is the text's (:func:`static_cases`): a case that never loaded is a failed check.
"""

import ast
import sys
import types
import unittest


_CASE_BASES = ("TestCase", "IsolatedAsyncioTestCase")


_FIXTURES = ("setUp", "tearDown", "asyncSetUp", "asyncTearDown")  # run by each case (class fixtures fail every case)


def _literal(node):
    """A literal whose evaluation runs no code: a constant, a tuple / list of literals, a set or dict of
    constants, a signed number."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return all(isinstance(e, ast.Constant) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(isinstance(k, ast.Constant) for k in node.keys) and all(_literal(v) for v in node.values)
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float, complex))


def inert(fn):
    """Whether a method provably asserts nothing: a ``def`` / ``lambda`` without decorators whose
    defaults are literals and whose body is only ``pass``, constant expressions (a docstring),
    ``return`` of a literal and literal assignments to plain names. Anything else (a class attribute
    bound to another value, any call) may assert."""
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return False
    args = fn.args
    if not all(_literal(d) for d in args.defaults + [d for d in args.kw_defaults if d is not None]):
        return False
    if isinstance(fn, ast.Lambda):
        return _literal(fn.body)
    if fn.decorator_list:
        return False
    for stmt in fn.body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if isinstance(stmt, ast.Return) and (stmt.value is None or _literal(stmt.value)):
            continue
        if (isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets)
                and _literal(stmt.value)):
            continue
        return False
    return True


def case_methods(tree):
    """``{class name: {method name: whether it counts}}`` for the test code's classes: a method counts
    unless it is :func:`inert`; every ``test*`` method a class has (own or inherited from the test
    code's classes) counts when a fixture each case runs (``setUp``, ``tearDown``, their async forms) of
    the class or of its bases is not inert."""
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    by_name, own = {}, {}
    for cls in classes:
        by_name.setdefault(cls.name, []).append(cls)
        methods = own.setdefault(cls.name, {})
        for name, fn in _class_functions(cls):
            methods[name] = methods.get(name, False) or not inert(fn)

    def bases(name, seen):
        return [b.id for c in by_name.get(name, ()) for b in c.bases if isinstance(b, ast.Name) and b.id not in seen]

    def fixture(name, seen=()):
        return (any(own.get(name, {}).get(f, False) for f in _FIXTURES)
                or any(fixture(b, seen + (name,)) for b in bases(name, seen + (name,))))

    def tests(name, seen=()):
        found = {m for m in own.get(name, {}) if m.startswith("test")}
        for b in bases(name, seen + (name,)):
            found |= tests(b, seen + (name,))
        return found

    out = {name: dict(methods) for name, methods in own.items()}
    for name in own:
        if fixture(name):
            out[name].update(dict.fromkeys(tests(name), True))
    return out


def _class_functions(cls):
    """``(name, value)`` for the names a class statement's body binds to a value, also under its ``if``,
    ``try``... (not nested ones): ``def`` / ``async def`` (the function), ``name = value`` (the value:
    ``test_a = lambda self: ...``, ``check = staticmethod(helper)``; not data, :func:`_data`)."""
    todo = list(cls.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.Assign) and not _data(node.value):
            yield from ((t.id, node.value) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and not _data(node.value):
            yield node.target.id, node.value
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try, ast.Match)) \
                or type(node).__name__ == "TryStar":
            todo += [n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)]
            todo += [s for h in getattr(node, "handlers", ()) for s in h.body]
            todo += [s for c in getattr(node, "cases", ()) for s in c.body]


def _data(value):
    """A class attribute that is data, never a method (``test_data = [1, 2]``, ``maxDiff = None``)."""
    return value is None or _literal(value) or isinstance(value, (
        ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
        ast.JoinedStr, ast.BinOp))


def static_cases(tree, methods):
    """The unittest cases the test code's text defines, as ``"Class.method"``: every ``test*`` method
    that counts (``methods``, :func:`case_methods`), own or inherited from the test code's
    classes, of every class statement (wherever it stands: under an ``if``, in a loop) that derives
    from ``unittest.TestCase``, read from the text (``unittest.TestCase``, ``TestCase``, an alias
    ``from unittest import TestCase as Case`` or ``Base = unittest.TestCase``, through classes of the
    test code in between). The denominator of the cases: fixed before the program runs, whatever
    the test code does with its classes once it runs."""
    aliases = set(_CASE_BASES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "unittest":
            aliases.update(a.asname or a.name for a in node.names if a.name in _CASE_BASES)
    classes = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            classes.setdefault(node.name, []).append(node)
    for node in ast.walk(tree):  # Base = unittest.TestCase (or an alias of it)
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id not in classes and _base_name(node.value) in aliases):
            aliases.add(node.targets[0].id)

    def is_case(name, seen=()):
        if name in aliases:
            return True
        return name not in seen and any(is_case(_base_name(b), seen + (name,)) for c in classes.get(name, ()) for b in c.bases)

    def own(name, seen=()):
        tests = {m for m, asserts in methods.get(name, {}).items() if asserts and m.startswith("test")}
        for c in classes.get(name, ()) if name not in seen else ():
            for b in c.bases:
                tests |= own(_base_name(b), seen + (name,))
        return tests

    return {f"{name}.{m}" for name in classes if any(is_case(_base_name(b)) for c in classes[name] for b in c.bases)
            for m in own(name)}


def _base_name(node):
    if isinstance(node, ast.Attribute):
        return node.attr if node.attr in _CASE_BASES else None
    return node.id if isinstance(node, ast.Name) else None


class CaseResult(unittest.TestResult):
    """Which cases ran and which failed in any part (a subTest, setUp, a fixture of its class)."""

    def __init__(self, checks):
        super().__init__()
        self.started, self.bad, self.fixture_failed, self.checks = set(), set(), False, checks

    def startTest(self, test):
        super().startTest(test)
        self.started.add(id(test))
        self.checks.in_case = lambda: self.bad.add(id(test))  # a failure as it happens, caught or not

    def stopTest(self, test):
        super().stopTest(test)
        self.checks.in_case = None

    def addError(self, test, err):
        super().addError(test, err)
        self.bad.add(id(test))
        if not isinstance(test, unittest.TestCase):  # a module or class fixture (setUpModule, tearDownClass...)
            self.fixture_failed = True

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.bad.add(id(test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.bad.add(id(test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.bad.add(id(test))  # skipped while running: not a check that held

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.bad.add(id(test))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.bad.add(id(test))


def _failure(checks):
    """The exception every assertion method raises (``self.failureException``): made while a case runs,
    it fails that case, even if the test code catches it (``try: self.assertEqual(...)`` /
    ``except AssertionError: pass``)."""

    class Failure(AssertionError):
        def __init__(self, *args):
            super().__init__(*args)
            if checks.in_case is not None:
                checks.in_case()

    return Failure


def _flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flatten(test)
        else:
            yield test


def counted(case, methods):
    """Whether a loaded case is a check: its method, looked up along its class's MRO among the test
    code's classes (``methods``: class name -> {method name: counts}, :func:`case_methods`), counts. A case
    whose method the test code does not define (``load_tests`` building its own) counts."""
    name = getattr(case, "_testMethodName", None)
    for cls in type(case).__mro__:
        found = methods.get(getattr(cls, "__name__", None), {}).get(name)
        if found is not None:
            return found
    return True


def run_cases(namespace, checks, methods, defined=frozenset()):
    """Load the cases as unittest loads a module (every TestCase subclass in it, aliases and bases
    included; ``load_tests``), run them as unittest runs them. The checks are the cases the text
    defines (``defined``, ``"Class.method"``, fixed before the program ran): each passes when it was
    loaded and every instance of it passed; one the test code did not load (a class under an ``if``
    on the program's answer, a name rebound) failed. A loaded case the text does not define (built
    by ``type()``, ``setattr``) is a check of its own that fails: whether it exists can depend on the
    program, so it may not add a pass."""
    module = types.ModuleType("__main__")
    module.__dict__.update(namespace)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    cases = [c for c in _flatten(suite) if counted(c, methods)]  # skipped ones too: a skip may read the program
    keys = {}
    for case in cases:
        keys.setdefault("%s.%s" % (type(case).__name__, getattr(case, "_testMethodName", "")), []).append(case)
    checks.cases += len(set(defined) | set(keys))
    if not cases:
        return
    result = CaseResult(checks)
    unittest.TestCase.failureException = _failure(checks)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = module  # unittest finds setUpModule / tearDownModule through it
    try:
        suite.run(result)
    finally:
        sys.modules["__main__"] = saved
    if not result.fixture_failed:  # a failing module or class fixture fails every case
        checks.cases_passed += sum(key in defined and all(id(c) in result.started and id(c) not in result.bad
                                                          for c in keys[key]) for key in keys)
