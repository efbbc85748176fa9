"""The reference scorer of bench/code_diff.py, run as ``python -c ORACLE spec.pickle`` in a throwaway
subprocess: the program and the row's tests in one plain interpreter, no adversary in mind. It
prints ``P i`` / ``F i`` for each check ``i`` as it is decided (so a run killed on a stall keeps what
it printed; the checks it never printed failed)."""

ORACLE = r'''
import ast, math, pickle, signal, subprocess, sys, time, types, unittest
sys.set_int_max_str_digits(0)
import builtins, re
spec = pickle.load(open(sys.argv[1], "rb"))
row, code, wall = spec["row"], spec["code"], spec["wall"]
WS = " \t\n\r\x0b\x0c"  # the only whitespace the specification knows


def extract(text):
    """The last block fenced at line starts (``` or longer) tagged python, else the last untagged one (blind
    round 5, F7), closed by a fence as long."""
    found, open_, body, tagged = {}, None, [], False
    for line in text.split("\n"):
        if open_ is None:
            m = re.match(r" {0,3}(`{3,})\s*([A-Za-z0-9_+-]*)\s*$", line)
            if m and m.group(2).lower() in ("", "python", "py", "python3"):
                open_, body, tagged = m.group(1), [], m.group(2) != ""
            elif m:
                open_, body = "skip" + m.group(1), []
        elif re.match(r" {0,3}`{%d,}[ \t]*$" % len(open_.replace("skip", "")), line):
            if not open_.startswith("skip"):
                found[tagged] = "\n".join(body) + "\n"
            open_ = None
        else:
            body.append(line)
    return found.get(True, found.get(False))


if spec.get("completion") is not None:
    code = extract(spec["completion"])
    if code is None:
        sys.exit(0)  # no program: every check fails
if spec.get("malformed"):
    print("NOCHECK", flush=True)
    sys.exit(0)


def say(i, ok):
    print(("P %s" if ok else "F %s") % (i,), flush=True)


def plain(v):
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in dict(v).items()}
    if isinstance(v, (set, frozenset)):
        return frozenset(v)
    return v


def same(g, e):
    if type(e) is bool:
        return type(g) is bool and g == e
    if type(e) is int:
        return type(g) in (int, float) and g == e
    if type(e) is float:
        if type(g) not in (int, float) or math.isnan(e) or (type(g) is float and math.isnan(g)):
            return False
        return g == e if math.isinf(e) else math.isclose(g, e, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(e, (list, tuple)):
        return type(g) is list and len(g) == len(e) and all(same(a, b) for a, b in zip(g, e))
    if isinstance(e, dict):
        return type(g) is dict and g.keys() == e.keys() and all(same(g[k], e[k]) for k in e)
    return type(g) is type(e) and g == e


def lines(t):
    out = [x.rstrip(WS) for x in t.split("\n")]
    while out and out[-1] == "":
        out.pop()
    return out


def token(g, e):
    if g == e:
        return True
    import re
    if re.fullmatch(r"[+-]?[0-9]+", e):
        return re.fullmatch(r"[+-]?[0-9]+", g) is not None and int(g) == int(e)
    number = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
    if not (re.fullmatch(number, g) and re.fullmatch(number, e)):
        return False
    a, b = float(g), float(e)
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-6 * max(1.0, abs(b))


def stdin_rows():
    open("prog.py", "w").write(code)
    for i, case in enumerate(row["test_cases"]):
        try:
            p = subprocess.run([sys.executable, "prog.py"], input=case.get("input", ""), capture_output=True,
                               text=True, timeout=wall)
        except subprocess.TimeoutExpired:
            say(i, False)
            continue
        checker = (row.get("checker") or {}).get("builtin")
        a, b = [t for t in re.split("[" + WS + "]+", p.stdout) if t], [t for t in re.split("[" + WS + "]+", case["output"]) if t]
        if checker == "tokens":
            ok = a == b
        elif row.get("compare") == "tokens" and not checker:
            ok = len(a) == len(b) and all(token(x, y) for x, y in zip(a, b))
        else:
            ok = lines(p.stdout) == lines(case["output"])
        say(i, p.returncode == 0 and ok)


def load():
    module = types.ModuleType("solution")
    sys.modules["solution"] = module  # import solution, in the test code or in the program itself
    ns = module.__dict__
    try:
        exec(compile(code, "solution.py", "exec"), ns)
    except BaseException:
        print("C", flush=True)
        sys.exit(0)
    PROGRAM.update(name for name, value in ns.items() if callable(value))
    return dict(ns)


PROGRAM, LEFT = set(), [wall]  # the program's functions; what is left of its one budget


class Gone(BaseException):
    """The program's budget is spent: every later call of it raises."""


def _alarm(*_):
    raise Gone()


signal.signal(signal.SIGALRM, _alarm)


def _stub(*args, **kwargs):
    raise Gone()


def timed(piece, env):
    """One statement of the test code on the program's one budget; once it is spent, the program's
    functions raise (so a statement after the last assert that calls the program stops the code)."""
    start = time.monotonic()
    if LEFT[0] > 0:
        signal.setitimer(signal.ITIMER_REAL, LEFT[0])
    try:
        exec(piece, env)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        LEFT[0] -= time.monotonic() - start
        if LEFT[0] <= 0:
            for scope in (env, sys.modules["solution"].__dict__):
                scope.update({name: _stub for name in PROGRAM | {"candidate"} if name in scope})


FIXED = set(dir(builtins)) | set(sys.stdlib_module_names)
DYNAMIC = {"eval", "exec", "globals", "vars", "locals", "__import__", "getattr", "sys", "importlib"}


def counts(stmt):
    """An assert is a check unless it reads only built-ins and standard-library modules, none of them
    a way to names by their text (eval, globals, __import__, sys.modules, importlib...)."""
    return any(isinstance(n, ast.Name) and (n.id not in FIXED or n.id in DYNAMIC) for n in ast.walk(stmt.test))


def idle(fn):
    """A method that does nothing a program could fail: only pass, a docstring, constants bound to names."""
    return not fn.decorator_list and all(
        isinstance(st, ast.Pass) or (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant))
        or (isinstance(st, ast.Assign) and isinstance(st.value, ast.Constant)) for st in fn.body)


def asserting(tree):
    """Class.method of the test methods that are checks (blind round 5): every test method but an idle
    one, and every one of a class whose setUp / tearDown is not idle."""
    out = set()
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        fns = [n for n in cls.body if isinstance(n, ast.FunctionDef)]
        busy_fixture = any(fn.name in ("setUp", "tearDown") and not idle(fn) for fn in fns)
        out |= {(cls.name, fn.name) for fn in fns if fn.name.startswith("test") and (busy_fixture or not idle(fn))}
    return out


def reaches_text(tree):
    """exec / eval / compile used other than by a direct call, or the builtins module: the row is one check."""
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return any((isinstance(n, ast.Name) and n.id in ("exec", "eval", "compile") and id(n) not in callees)
               or (isinstance(n, ast.Import) and any(a.name == "builtins" for a in n.names)) for n in ast.walk(tree))


def call_rows():
    ns = load()
    for i, (args, expected) in enumerate(zip(row["inputs"], row["outputs"])):
        try:
            say(i, same(plain(ns[row["fn_name"]](*args)), expected))
        except BaseException:
            say(i, False)


def statements(body, env, first=0):
    i = first
    for stmt in body:
        piece = compile(ast.Module([stmt], []), "tests.py", "exec")
        if isinstance(stmt, ast.Assert) and not counts(stmt):
            continue
        if isinstance(stmt, ast.Assert):
            try:
                timed(piece, env)
                say(i, True)
            except BaseException:
                say(i, False)
            i += 1
        elif any(isinstance(st, ast.Assert) and counts(st) for st in body[body.index(stmt):]):
            timed(piece, env)  # an exception stops here: the asserts left are never printed
        else:
            try:
                timed(piece, env)
            except BaseException:
                print("STOP", flush=True)  # a stop after the last assert: one more check, failed
                return


CURRENT = []  # the result of the case that is running


class Caught(AssertionError):
    """unittest's failureException here: a failure made while a case runs fails it, caught or not."""

    def __init__(self, *args):
        super().__init__(*args)
        if CURRENT:
            CURRENT[0].bad = True


unittest.TestCase.failureException = Caught


class Result(unittest.TestResult):
    def startTest(self, test):
        super().startTest(test)
        self.bad = False
        CURRENT[:] = [self]

    def addError(self, test, err):
        super().addError(test, err)
        self.bad = True

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.bad = True

    def addSubTest(self, test, sub, err):
        super().addSubTest(test, sub, err)
        self.bad = self.bad or err is not None

    def stopTest(self, test):
        super().stopTest(test)
        CURRENT.clear()
        if (type(test).__name__, test._testMethodName) in self.asserting:
            say(test.id(), not self.bad)


def assert_rows():
    ns = load()
    tree = ast.parse(row["test_code"])
    if row.get("entry_point"):
        exec(compile(tree, "tests.py", "exec"), ns)
        check = next(s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "check")
        env = dict(ns, candidate=ns[row["entry_point"]])
        statements(check.body, env)
        return
    if any(isinstance(n, ast.ClassDef) for n in ast.walk(tree)):
        module = types.ModuleType("tests")
        module.__dict__.update(ns)
        exec(compile(tree, "tests.py", "exec"), module.__dict__)
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
        cases = []
        todo = [suite]
        while todo:
            t = todo.pop(0)
            if isinstance(t, unittest.TestSuite):
                todo[:0] = list(t)
            else:
                cases.append(t)
        result = Result()
        result.asserting = asserting(tree)
        suite.run(result)
        return
    flat = all(isinstance(s, ast.Assert) or not any(isinstance(n, ast.Assert) for n in ast.walk(s)) for s in tree.body)
    flat = flat and not reaches_text(tree)
    if flat and not any(isinstance(st, ast.Assert) and counts(st) for st in tree.body):
        print("NOCHECK", flush=True)  # no assert any program could fail: the row's fault
    elif flat:
        statements(tree.body, ns)
    else:
        exec(compile(tree, "tests.py", "exec"), ns)
        say(0, True)


try:
    if "test_cases" in row:
        stdin_rows()
    elif "fn_name" in row:
        call_rows()
    else:
        assert_rows()
except BaseException:
    pass
'''
