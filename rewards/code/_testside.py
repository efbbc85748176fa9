"""The test code's side of a split run (see ``rewards.code.split``): a sandboxed interpreter of its own
that runs the row's test code, calls the program's functions across the pipe to the program's
interpreter, evaluates every assertion here and reports the count of checks that ran and held.

    python -I _testside.py ANSWERS_FD REQUESTS_FD < spec.json     (files: _testside.py, _wire.py, tests.py)

The spec is ``{"entry_point": name or null, "budget": seconds}``; the report, one line of JSON on
``$SANDBOX_CHANNEL_FD``: ``{"checks", "passed", "program", "raised", "aborted", "unsupported",
"failed_lines"}``. The program's names appear here as :class:`Remote` references: calling one, or
reading or setting an attribute, is a request; arguments go over as plain data (a test-side object
that is not plain data makes the row unsupported), values come back as plain data or as further
references, and lists, dicts and sets passed as arguments are refilled with what the call left in
them. A reference is an opaque object here: it compares by identity and has no operators, so
nothing the program defines takes part in an assertion. The program's time is one budget for the
whole run; once it is spent, or the program exits or sends something malformed, every further
call raises :class:`ProgramGone`.
"""

import ast
import builtins
import json
import os
import select
import sys
import time
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _wire  # noqa: E402

_RAISABLE = {name: cls for name, cls in vars(builtins).items() if isinstance(cls, type)
             and issubclass(cls, Exception) and cls not in (StopIteration, StopAsyncIteration)}
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


class ProgramError(Exception):
    """The program raised an exception that is not a built-in one (its type name is the message)."""


class ProgramGone(Exception):
    """The program timed out, exited or sent something malformed; no further call reaches it."""


class Unsupported(BaseException):
    """The test code passed something that is not plain data: the row cannot run split."""


class Remote:
    """An object of the program's; calls and attributes go over the pipe."""

    __slots__ = ("_grpo_target",)

    def __init__(self, target):
        object.__setattr__(self, "_grpo_target", target)

    def __call__(self, *args, **kwargs):
        return LINK.call(self._grpo_target, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return LINK.request({"op": "get", "t": self._grpo_target, "n": name})[0]

    def __setattr__(self, name, value):
        LINK.request({"op": "set", "t": self._grpo_target, "n": name, "v": LINK.send_form(value)})

    def __repr__(self):
        return "<program object>"


class Link:
    def __init__(self, read_fd, write_fd, budget):
        self.read_fd, self.write_fd, self.left = read_fd, write_fd, budget
        self.pending, self.number, self.remotes = b"", 0, {}
        self.state, self.raised, self.unsupported = "ok", 0, None

    def remote(self, number):
        if number not in self.remotes:
            self.remotes[number] = Remote(["h", number])
        return self.remotes[number]

    def _handle_of(self, obj):
        if type(obj) is Remote:
            return obj._grpo_target[1] if obj._grpo_target[0] == "h" else self._unsupported(obj)
        return self._unsupported(obj)

    def _unsupported(self, obj):
        self.unsupported = self.unsupported or ("the test code passes a %s to the program; only plain data "
                                                "and the program's own objects can cross" % type(obj).__name__)
        raise Unsupported(self.unsupported)

    def send_form(self, value):
        return _wire.to_wire(value, self._handle_of)

    def fail(self, state):
        if self.state == "ok":
            self.state = state
        raise ProgramGone(self.state)

    def receive(self):
        """The next message of the program's, within its time budget."""
        while b"\n" not in self.pending:
            start = time.monotonic()
            ready, _, _ = select.select([self.read_fd], [], [], max(0.0, self.left))
            self.left -= time.monotonic() - start
            if not ready:
                self.fail("timeout")
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                self.fail("gone")
            self.pending += chunk
            if len(self.pending) > _wire.MAX_BYTES:
                self.fail("protocol")
        line, self.pending = self.pending.split(b"\n", 1)
        try:
            return _wire.loads(line)
        except _wire.WireError:
            self.fail("protocol")

    def request(self, message):
        if self.state != "ok":
            raise ProgramGone(self.state)
        self.number += 1
        message["id"] = self.number
        data = _wire.dumps(message)
        try:
            while data:
                data = data[os.write(self.write_fd, data):]
        except OSError:
            self.fail("gone")
        answer = self.receive()
        if type(answer) is not dict or answer.get("id") != self.number:
            self.fail("protocol")
        if "e" in answer:
            self.raised += 1
            raise _exception(answer["e"], answer.get("msg"))
        try:
            return _wire.from_wire(answer.get("r"), self.remote), answer.get("m")
        except _wire.WireError:
            self.fail("protocol")

    def call(self, target, args, kwargs):
        forms = [self.send_form(a) for a in args]
        named = [[name, self.send_form(v)] for name, v in kwargs.items()]
        result, after = self.request({"op": "call", "t": target, "a": forms, "k": named})
        if type(after) is list and len(after) == len(args):
            for arg, form in zip(args, after):
                if form is not None and type(arg) in (list, dict, set):
                    try:
                        _refill(arg, _wire.from_wire(form, self.remote))
                    except _wire.WireError:
                        self.fail("protocol")
        return result


def _exception(name, message):
    cls = _RAISABLE.get(name) if type(name) is str else None
    text = message if type(message) is str else ""
    try:
        return cls(text) if cls is not None else ProgramError("%s: %s" % (str(name)[:80], text))
    except TypeError:  # a built-in exception with other required arguments
        return ProgramError("%s: %s" % (name, text))


def _refill(old, new):
    """Give ``old`` (a list, dict or set of the test code's) the contents ``new`` came back with."""
    if type(old) is not type(new):
        return
    if type(old) is list and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            if type(a) is type(b) and type(a) in (list, dict, set):
                _refill(a, b)
            else:
                old[i] = b
    elif type(old) is list:
        old[:] = new
    else:
        old.clear()
        old.update(new)


class Checks:
    """Every check that ran: an assertion outside a TestCase, a TestCase case, an aborted run."""

    def __init__(self):
        self.count, self.passed, self.failed_lines = 0, 0, []

    def record(self, line, held, error=None):
        try:
            held = error is None and bool(held)
        except Exception:  # noqa: BLE001 - a value without a truth value fails the check
            held = False
        self.count += 1
        self.passed += held
        if not held and len(self.failed_lines) < 5:
            self.failed_lines.append(line)


def _is_test_case(node):
    return any((isinstance(b, ast.Name) and b.id == "TestCase") or (isinstance(b, ast.Attribute) and b.attr == "TestCase")
               for b in node.bases)


class _Rewriter(ast.NodeTransformer):
    """``assert TEST`` becomes: evaluate TEST, record whether it held (an exception fails it), go on."""

    def visit_ClassDef(self, node):
        return node if _is_test_case(node) else self.generic_visit(node)

    def visit_Assert(self, node):
        line = ast.Constant(node.lineno)
        ok, err = ast.Name("__grpo_ok__", ast.Store()), "__grpo_err__"
        record = lambda *args: ast.Expr(ast.Call(ast.Name("__grpo_check__", ast.Load()), [line, *args], []))  # noqa: E731
        new = ast.Try(body=[ast.Assign([ok], node.test)],
                      handlers=[ast.ExceptHandler(ast.Name("Exception", ast.Load()), err,
                                                  [record(ast.Constant(False), ast.Name(err, ast.Load()))])],
                      orelse=[record(ast.Name("__grpo_ok__", ast.Load()))], finalbody=[])
        return ast.copy_location(new, node)


def _calls_check(tree):
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "check" for n in ast.walk(tree))


def _program_names(names):
    """The test code's view of the program's top-level names (never a built-in's name)."""
    out = {}
    for name, form in names.items():
        if type(name) is not str or not name.isidentifier() or name.startswith("__") or name in vars(builtins):
            continue
        if type(form) is dict and set(form) == {"m"}:  # a module the program imported under its own name
            if form["m"] == name and name in _STDLIB:
                try:
                    out[name] = __import__(name)
                except ImportError:
                    pass
            continue
        out[name] = _wire.from_wire(form, LINK.remote)
    return out


def _run_cases(namespace, checks):
    """Run the test code's own unittest.TestCase classes: one check per case that ran (skips do not count)."""
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, unittest.TestCase) and value.__module__ == "__main__":
            result = unittest.TestResult()
            unittest.defaultTestLoader.loadTestsFromTestCase(value).run(result)
            bad = {id(t) for t, _ in result.failures + result.errors} | {id(t) for t in result.unexpectedSuccesses}
            for _ in range(result.testsRun - len(result.skipped) - len(bad)):
                checks.record(0, True)
            for _ in bad:
                checks.record(0, False)


def run(source, spec, checks):
    """Run the test code against the program; returns the name of an exception that stopped it, or None."""
    tree = ast.fix_missing_locations(_Rewriter().visit(ast.parse(source)))
    try:
        first = LINK.receive()
    except ProgramGone:
        first = None
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__grpo_check__": checks.record}
    program = {}
    if type(first) is dict and type(first.get("names")) is dict:
        try:
            program = _program_names(first["names"])
        except _wire.WireError:
            LINK.state = "protocol"
    elif LINK.state == "ok":
        error = first.get("load_error") if type(first) is dict else None
        LINK.state = "load_error " + error if type(error) is str and error.isidentifier() else "protocol"
    namespace.update(program)
    unittest.main = lambda *args, **kwargs: None  # the harness runs the cases itself
    stopped = None
    try:
        exec(compile(tree, "tests.py", "exec"), namespace)
        entry = spec.get("entry_point")
        if entry and type(namespace.get("check")) is types.FunctionType and not _calls_check(tree):
            candidate = program.get(entry)  # called with the program's function, by the test code's own check()
            namespace["check"](candidate if type(candidate) is Remote else Remote(["n", entry]))
    except Unsupported:
        raise
    except SystemExit as err:
        stopped = None if err.code in (None, 0) else "SystemExit"
    except BaseException as err:  # noqa: BLE001 - the test code stopped: one failed check
        stopped = type(err).__name__
    if stopped:
        checks.record(0, False)
    _run_cases(namespace, checks)
    return stopped


def main():
    global LINK
    answers_fd, requests_fd = int(sys.argv[1]), int(sys.argv[2])
    spec = json.loads(sys.stdin.read())
    report_fd = int(os.environ.pop("SANDBOX_CHANNEL_FD"))
    with open("tests.py") as f:
        source = f.read()
    LINK = Link(answers_fd, requests_fd, float(spec["budget"]))
    checks, stopped = Checks(), None
    try:
        stopped = run(source, spec, checks)
    except Unsupported:
        pass
    report = {"checks": checks.count, "passed": checks.passed, "program": LINK.state, "raised": LINK.raised,
              "aborted": stopped, "unsupported": LINK.unsupported, "failed_lines": checks.failed_lines}
    os.write(report_fd, (json.dumps(report) + "\n").encode())
    os._exit(0)


LINK = None

if __name__ == "__main__":
    main()
