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

import _testcases  # noqa: E402
import _testexec  # noqa: E402
import _testplan  # noqa: E402
import _wire  # noqa: E402

_RAISABLE = {name: cls for name, cls in vars(builtins).items() if isinstance(cls, type)
             and issubclass(cls, Exception) and cls not in (StopIteration, StopAsyncIteration)}
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))
_EXIT = os._exit


class ProgramError(Exception):
    """The program raised an exception that is not a built-in one (its type name is the message)."""


class ProgramGone(Exception):
    """The program timed out, exited or sent something malformed; no further call reaches it. Made, it fails
    the unittest case or the all-or-nothing code that needed the program, even if the test code catches it."""

    def __init__(self, state):
        super().__init__(state)
        if CHECKS is not None:
            CHECKS.gone()


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

    def __bool__(self):
        raise TypeError("a program's object has no truth value here")

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
            raise _exception(answer["e"], answer.get("msg"), answer.get("b"))
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
                        _wire.refill(arg, _wire.from_wire(form, self.remote))
                    except _wire.WireError:
                        self.fail("protocol")
        return result


class ProgramModule:
    """The program's module as the test code sees it after ``import solution`` (``as s``): its
    attributes are the program's top-level names, crossing as the names the test code reads do."""

    __slots__ = ("_grpo_names", "_grpo_seen")

    def __init__(self, names):
        object.__setattr__(self, "_grpo_names", names)
        object.__setattr__(self, "_grpo_seen", {})

    def __getattr__(self, name):
        seen, names = self._grpo_seen, self._grpo_names
        if name in seen:
            return seen[name]
        if names is None:
            raise ProgramGone(LINK.state)
        form = names.get(name)
        if form is None and name not in names or name.startswith("__"):
            raise AttributeError("module 'solution' has no attribute %r" % name)
        if type(form) is dict and set(form) == {"m"}:  # a module the program imported: the standard one, here
            if type(form["m"]) is not str or form["m"].split(".")[0] not in _STDLIB:
                raise AttributeError("module 'solution' has no attribute %r" % name)
            value = __import__(form["m"], fromlist=["_"])
        else:
            try:
                value = _wire.from_wire(form, LINK.remote)
            except _wire.WireError:
                LINK.fail("protocol")
        seen[name] = value
        return value

    def __setattr__(self, name, value):
        raise TypeError("the tests cannot set attributes of the program's module (solution.%s)" % name)

    def __repr__(self):
        return "<module 'solution' (the program)>"


def _exception(name, message, bases=None):
    """The exception to raise here: the program's built-in type, or the first built-in class its
    own type derives from (``class BadInput(ValueError)`` arrives as a ValueError), else ProgramError."""
    cls = _RAISABLE.get(name) if type(name) is str else None
    if cls is None and type(bases) is list:
        cls = next((_RAISABLE[b] for b in bases if type(b) is str and b in _RAISABLE), None)
    text = message if type(message) is str else ""
    try:
        return cls(text) if cls is not None else ProgramError("%s: %s" % (str(name)[:80], text))
    except TypeError:  # a built-in exception with other required arguments
        return ProgramError("%s: %s" % (name, text))


class Checks:
    """The checks of the row (see ``_testplan``): numbered asserts of flat scopes, all-or-nothing
    units, unittest cases. A check that never ran is a failed one."""

    def __init__(self, plan):
        self.asserts = [None] * len(plan.checks)  # None: never ran; else whether it held every time
        self.lines = plan.checks
        self.units = dict.fromkeys(plan.units, False)
        self.ran, self.failures, self.opened = 0, 0, {}
        self.cases, self.cases_passed, self.failed_lines = 0, 0, []
        self.in_case = None  # while a unittest case runs: marks it failed

    def record(self, number, line, held):
        try:
            held = bool(held)
        except Exception:  # noqa: BLE001 - a value without a truth value fails the check
            held = False
        self.asserts[number] = held and self.asserts[number] is not False
        if not held and len(self.failed_lines) < 5:
            self.failed_lines.append(line)

    def hold(self, value):
        """An assert outside a flat scope ran: whether it held (a failure is kept even if the test code catches
        it); while a unittest case runs (``in_case``, set by ``_testcases``), the failure is that case's."""
        try:
            held = bool(value)
        except Exception:  # noqa: BLE001 - no truth value: the assert fails
            held = False
        if self.in_case is not None:
            return held or self.in_case() or False
        self.ran += 1
        self.failures += not held
        return held

    def gone(self):
        if self.in_case is not None:
            self.in_case()
        else:
            self.failures += 1

    def begin(self, unit):
        self.opened[unit] = (self.ran, self.failures)

    def end(self, unit):
        ran, failures = self.opened.get(unit, (self.ran, self.failures))
        self.units[unit] = unit in self.opened and self.ran > ran and self.failures == failures

    @property
    def count(self):
        return len(self.asserts) + len(self.units) + self.cases

    @property
    def passed(self):
        return sum(a is True for a in self.asserts) + sum(self.units.values()) + self.cases_passed


def _bind(namespace, plan, spec, first, free, modules, bound=frozenset()):
    """Fill the test code's namespace (the row's prompt, the standard library, the program's names): a row fault or None."""
    prompt, entry = spec.get("prompt"), spec.get("entry_point")
    if prompt:
        try:
            exec(compile(prompt, "prompt.py", "exec"), namespace)
        except BaseException as err:  # noqa: BLE001 - the row's own code
            return "the row's prompt does not run: %s: %s" % (type(err).__name__, str(err)[:200])
    from_row = set(namespace) - {entry}
    for name in sorted(free - from_row):
        if name in modules:  # used only as a module (math.isclose): never the program's
            try:
                namespace[name] = __import__(name)
            except ImportError:
                pass
    wanted = {entry} if entry else set()
    others = free - from_row - modules - wanted
    if entry and others:
        return ("the test code uses %s, which neither the test code nor the row's 'prompt' defines; with an "
                "'entry_point' the program provides only %r: give the row its 'prompt'" % (sorted(others), entry))
    wanted |= others
    names = first.get("names") if type(first) is dict else None
    namespace["__grpo_solution__"] = sys.modules["solution"] = ProgramModule(names if type(names) is dict else None)
    if type(names) is dict:
        if not entry:  # and the names the text reads only dynamically (eval('f(1)'), globals()['f'])
            wanted |= {n for n in names if n.isidentifier() and not n.startswith("__") and n not in bound | from_row
                       and n not in _STDLIB and not hasattr(builtins, n)}
        for name in wanted:
            form = names.get(name)
            if form is None or (type(form) is dict and set(form) == {"m"}):
                continue  # a module the program imported: never taken from the program
            try:
                namespace[name] = _wire.from_wire(form, LINK.remote)
            except _wire.WireError:
                LINK.state = "protocol"
    elif LINK.state == "ok":
        error = first.get("load_error") if type(first) is dict else None
        LINK.state = "load_error " + error if type(error) is str and error.isidentifier() else "protocol"
    return None


def run(source, spec, checks, plan):
    """Run the test code against the program; returns (the name of an exception that stopped it
    or None, a row fault or None)."""
    try:
        first = LINK.receive()
    except ProgramGone:
        first = None
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__grpo_check__": checks.record,
                 "__grpo_hold__": checks.hold, "__grpo_begin__": checks.begin, "__grpo_end__": checks.end}
    tree = ast.parse(source)
    fault = _bind(namespace, plan, spec, first, _testplan.free_names(tree), _testplan.stdlib_modules(tree),
                  _testplan.bound_names(tree))
    namespace.update(_testexec.entries(checks.hold))  # exec / eval / compile of text
    os._exit = _testexec.exit_  # the test code's own exit ends it as sys.exit does (main keeps the real one)
    if fault:
        return None, fault
    unittest.main = lambda *args, **kwargs: None  # the harness runs the cases itself
    stopped = None
    try:
        checks.begin("module")
        exec(compile(plan.tree, "tests.py", "exec"), namespace)
    except SystemExit as err:
        stopped = None if err.code in (None, 0) else "SystemExit"
    except BaseException as err:  # noqa: BLE001 - the test code stopped: the checks left fail
        stopped = type(err).__name__
    if stopped:
        return stopped, None
    if "module" in checks.units and not plan.whole:  # a whole row's one check ends after check() below
        checks.end("module")
    entry = spec.get("entry_point")
    if plan.harness_call and type(namespace.get("check")) is types.FunctionType:
        candidate = namespace.get(entry)
        checks.begin("check")
        try:
            namespace["check"](candidate if type(candidate) is Remote else Remote(["n", entry]))
            if "check" in checks.units:
                checks.end("check")
        except BaseException as err:  # noqa: BLE001 - check() stopped: its checks left fail
            stopped = type(err).__name__
    if plan.whole and not stopped:
        checks.end("module")
    try:
        _testcases.run_cases(namespace, checks, plan.case_methods,
                              _testcases.static_cases(plan.tree, plan.case_methods))
    except BaseException as err:  # noqa: BLE001 - loading or running the cases failed
        checks.cases += 1
        stopped = stopped or type(err).__name__
    return stopped, None


def main():
    global LINK, CHECKS
    answers_fd, requests_fd = int(sys.argv[1]), int(sys.argv[2])
    spec = json.loads(sys.stdin.read())
    report_fd = int(os.environ.pop("SANDBOX_CHANNEL_FD"))
    with open("tests.py") as f:
        source = f.read()
    LINK = Link(answers_fd, requests_fd, float(spec["budget"]))
    plan = _testplan.plan(source, spec.get("entry_point"))
    checks = CHECKS = Checks(plan)
    stopped, fault = run(source, spec, checks, plan)
    count, passed = checks.count, checks.passed
    if stopped and plan.classes:  # its cases are unknown: every check fails
        count, passed = count + 1, 0
    elif stopped and None not in checks.asserts and all(checks.units.values()):
        count += 1  # it stopped after its last check ran (raise, sys.exit(1)): the stop is a failed check
    report = {"checks": count, "passed": passed, "program": LINK.state, "raised": LINK.raised,
              "aborted": stopped, "unsupported": LINK.unsupported, "failed_lines": checks.failed_lines,
              "row_error": fault}
    os.write(report_fd, (json.dumps(report) + "\n").encode())
    _EXIT(0)


LINK = CHECKS = None

if __name__ == "__main__":
    main()
