"""Assert-style code tests run split from the program (rewards/code/split.py): every attack of
issue 16 against every row shape scores 0, as root and rootless; the right program scores 1 and a
partial one its share on every row shape; rows whose checks never run score None.

The task behind every row: ``value(k)`` returns ``k * S`` for a number ``S`` drawn per session,
so no program can know an expected value without reading it from the tests.
"""

import logging
import random

import pytest

from grpo_ext.rewards.code import sandbox
from sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(not sandbox.namespaces_available(), reason="user namespaces unavailable")

S = float(f"4.{random.SystemRandom().randrange(10**11, 10**12)}")  # 4.ddddddddddd1..: found only in the tests
V = {k: k * S for k in (1, 2, 3)}
RIGHT = f"def value(k):\n    return k * {S!r}\n"
PARTIAL = f"def value(k):\n    return k * {S!r} if k == 1 else -1.0\n"  # one of three checks on every shape
WRONG = "def value(k):\n    return -1.0\n"
MAIN = "\nif __name__ == '__main__':\n    print(value(int(input())))\n"


def _near(k):
    return f"{V[k] - 1e-6!r} < value({k}) < {V[k] + 1e-6!r}"


SHAPES = {  # each with three checks
    "single": {"test_code": "".join(f"assert value({k}) == {V[k]!r}\n" for k in V)},
    "and-joined": {"test_code": "".join(f"assert value({k}) == {V[k]!r} and value({k}) > 0\n" for k in V)},
    "chained": {"test_code": "".join(f"assert {_near(k)}\n" for k in V)},
    "abs": {"test_code": "".join(f"assert abs(value({k}) - {V[k]!r}) < 1e-6\n" for k in V)},
    "check(candidate)": {"entry_point": "value", "test_code": (
        "def check(candidate):\n" + "".join(f"    assert abs(candidate({k}) - {V[k]!r}) < 1e-9\n" for k in V))},
    "unittest": {"test_code": "import unittest\n\nclass TestValue(unittest.TestCase):\n" + "".join(
        f"    def test_{k}(self):\n        self.assertAlmostEqual(value({k}), {V[k]!r}, places=9)\n" for k in V)},
    "call-based": {"fn_name": "value", "inputs": [[k] for k in V], "outputs": list(V.values())},
    "stdin": {"test_cases": [{"input": f"{k}\n", "output": f"{V[k]!r}\n"} for k in V]},
}


def fenced(code: str, shape: str) -> str:
    return f"```python\n{code}{MAIN if shape == 'stdin' else ''}\n```"


@pytest.fixture(params=MODES)
def box(request, clean_host):  # noqa: F811
    return Runner(request.param)


def test_controls_on_every_row_shape(box):
    """Right: 1 on every shape; partial (value(1) only): one check of three; wrong: 0."""
    shapes = list(SHAPES)
    completions = [fenced(code, s) for code in (RIGHT, PARTIAL, WRONG) for s in shapes]
    scores = box.score(completions, [SHAPES[s] for s in shapes] * 3, wall_seconds=3)
    n = len(shapes)
    assert dict(zip(shapes, scores[:n])) == dict.fromkeys(shapes, 1.0)
    assert dict(zip(shapes, scores[n:2 * n])) == dict.fromkeys(shapes, pytest.approx(1 / 3))
    assert dict(zip(shapes, scores[2 * n:])) == dict.fromkeys(shapes, 0.0)


# -- attacks (issue 16): each program returns -1.0 unless its trick wins -------------------------
# FORGE(frame) writes a forged "every check passed" on every descriptor the program holds: signed
# with the old harness's key when a frame above holds it (continuing its sequence), else a report
# in the split format; then it ends the process before anything else is sent.
FORGE = (
    "import os, hmac, hashlib\n"
    "def forge(frame):\n"
    "    key, seq = None, 0\n"
    "    while frame is not None:\n"
    "        space = frame.f_locals\n"
    "        if isinstance(space.get('key'), bytes) and len(space['key']) == 32:\n"
    "            key, seq = space['key'], space.get('sequence', [0])[0]\n"
    "        frame = frame.f_back\n"
    "    if key:\n"
    "        lines = []\n"
    "        for i, p in enumerate((b'fin', b'end'), start=seq + 1):\n"
    "            m = str(i).encode() + b' ' + p\n"
    "            lines.append(hmac.new(key, m, hashlib.sha256).hexdigest().encode() + b' ' + m)\n"
    "    else:\n"
    "        lines = [b'{\"checks\": 3, \"passed\": 3, \"program\": \"ok\", \"raised\": 0, \"aborted\": null, '\n"
    "                 b'\"unsupported\": null, \"failed_lines\": []}']\n"
    "        lines += [b'{\"id\": %d, \"r\": 0.0}' % i for i in range(1, 9)]\n"
    "    for fd in range(3, 256):\n"
    "        try:\n"
    "            os.write(fd, b''.join(line + b'\\n' for line in lines))\n"
    "        except OSError:\n"
    "            pass\n"
    "    os._exit(0)\n")


def _replace_functions(match: str, returning: str) -> str:
    """A program part: ``sabotage(frame)`` replaces every function whose name contains ``match`` in
    the globals of the frames from ``frame`` up with one that returns ``returning``."""
    return (
        "import sys, types\n"
        "def sabotage(frame):\n"
        "    while frame is not None:\n"
        "        for name, obj in list(frame.f_globals.items()):\n"
        f"            if isinstance(obj, types.FunctionType) and {match!r} in name and name != 'sabotage':\n"
        f"                frame.f_globals[name] = lambda *a, **k: {returning}\n"
        "        frame = frame.f_back\n")


ATTACKS = {
    "replaced exec and compile": (
        "import builtins\nbuiltins.exec = lambda *a, **k: None\n"
        "builtins.compile = lambda *a, **k: builtins.__dict__['__build_class__'] and None\n" + WRONG),
    # the function that runs the tests does nothing: no check reports
    "frame walk from the top level": _replace_functions("test", "None") + "sabotage(sys._getframe(1))\n" + WRONG,
    # the function that serialises a checked value always answers "true"
    "frame walk from the tested function": _replace_functions("encode", "'true'") + (
        "def value(k):\n    sabotage(sys._getframe(1))\n    return -1.0\n"),
    # every checking function of the frames above gets the callables it closes over swapped for no-ops
    "closure-cell edits": (
        "import sys, types\n"
        "def empty_cells(frame):\n"
        "    while frame is not None:\n"
        "        for obj in list(frame.f_globals.values()) + list(frame.f_locals.values()):\n"
        "            if isinstance(obj, types.FunctionType) and obj.__closure__ and 'check' in obj.__name__:\n"
        "                for cell in obj.__closure__:\n"
        "                    try:\n"
        "                        if callable(cell.cell_contents):\n"
        "                            cell.cell_contents = lambda *a, **k: None\n"
        "                    except ValueError:\n"
        "                        pass\n"
        "        frame = frame.f_back\n"
        "def value(k):\n    empty_cells(sys._getframe(1))\n    return -1.0\n"),
    # the main thread raises KeyboardInterrupt; the hook sees its frames (and any key) and forges
    "excepthook after interrupt_main": FORGE + (
        "import _thread, sys, time\n"
        "def hook(kind, err, tb):\n"
        "    while tb.tb_next is not None:\n"
        "        tb = tb.tb_next\n"
        "    forge(tb.tb_frame)\n"
        "sys.excepthook = hook\n"
        "def value(k):\n    _thread.interrupt_main()\n    time.sleep(0.2)\n    return -1.0\n"),
    # a finaliser runs on whichever thread collects, with that thread's frames above it
    "gc finaliser": FORGE + (
        "import gc, sys\n"
        "class Leak:\n"
        "    def __init__(self):\n        self.me = self\n"
        "    def __del__(self):\n"
        "        frame = sys._getframe(1)\n"
        "        names = []\n"
        "        while frame is not None:\n"
        "            names += list(frame.f_locals)\n"
        "            frame = frame.f_back\n"
        "        if 'key' in names or 'checks' in names or 'report_fd' in names:\n"
        "            forge(sys._getframe(1))\n"
        "def value(k):\n"
        "    gc.set_threshold(1)\n"
        "    for _ in range(200):\n        Leak()\n"
        "    return -1.0\n"),
    # the process's own writable memory, read for the expected values (and for a key to forge with)
    "/proc/self/mem scan": FORGE + (
        "import re, sys\n"
        "def scan():\n"
        "    found = []\n"
        "    try:\n"
        "        with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb', 0) as mem:\n"
        "            for line in maps:\n"
        "                span, perms = line.split()[:2]\n"
        "                start, end = (int(x, 16) for x in span.split('-'))\n"
        "                if 'rw' not in perms or end - start > 256 << 20:\n"
        "                    continue\n"
        "                try:\n"
        "                    mem.seek(start)\n"
        "                    data = mem.read(end - start)\n"
        "                except (OSError, ValueError, OverflowError):\n"
        "                    continue\n"
        "                found += re.findall(rb'4\\.\\d{11,13}', data)\n"
        "    except OSError:\n"
        "        pass\n"
        "    return [float(x) for x in found]\n"
        "def value(k):\n"
        "    seen = scan()\n"
        "    return k * seen[0] if seen else -1.0\n"),
    # the caller's code objects hold the expected literals when the assertion runs in-process
    "literal peeking from bytecode": (
        "import sys\n"
        "def value(k):\n"
        "    frame, consts = sys._getframe(1), []\n"
        "    while frame is not None:\n"
        "        consts += [c for c in frame.f_code.co_consts if type(c) is float and 4 < c < 5]\n"
        "        frame = frame.f_back\n"
        "    return k * (sum(set(consts)) / len(set(consts))) if consts else -1.0\n"),
    "always-equal object": (
        "class Equal(float):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    __hash__ = float.__hash__\n"
        "def value(k):\n    return Equal(-1.0)\n"),
    "always-comparable object": (
        "class Comparable(float):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    __lt__ = __le__ = __gt__ = __ge__ = __eq__\n"
        "    __hash__ = float.__hash__\n"
        "def value(k):\n    return Comparable(-1.0)\n"),
    "zero-difference object": (
        "class Zero(float):\n"
        "    def __sub__(self, other):\n        return 0.0\n"
        "    __rsub__ = __sub__\n"
        "    def __abs__(self):\n        return 0.0\n"
        "    def __eq__(self, other):\n        return True\n"
        "    __lt__ = __gt__ = __eq__\n"
        "    __hash__ = float.__hash__\n"
        "def value(k):\n    return Zero(-1.0)\n"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_scores_zero_on_every_row_shape(box, attack):
    """Each attack against all eight row shapes at once: every score must be 0.0 (a score above 0
    means the trick won; None would mean it dodged its zero)."""
    shapes = list(SHAPES)
    completions = [fenced(ATTACKS[attack], s) for s in shapes]
    scores = box.score(completions, [SHAPES[s] for s in shapes], wall_seconds=3)
    assert dict(zip(shapes, scores)) == dict.fromkeys(shapes, 0.0)


def test_humaneval_row_without_the_call_is_a_dataset_error(box):
    """check(candidate) defined, never called and no entry_point: no check runs, so every program
    (an empty one included) gets None, never 1.0; with the entry point named, the same row scores."""
    row = {"test_code": SHAPES["check(candidate)"]["test_code"]}
    completions = [fenced(code, "") for code in ("", "pass", WRONG, RIGHT)]
    assert box.score(completions, [row] * 4, wall_seconds=3) == [None] * 4
    named = SHAPES["check(candidate)"]
    assert box.score(completions, [named] * 4, wall_seconds=3) == [0.0, 0.0, 0.0, 1.0]


def test_integer_tokens_stay_exact(box):
    """compare="tokens": a float near an exact integer answer is not paid; the exact one is."""
    row = {"test_cases": [{"input": "", "output": "120000000000000001\n"}], "compare": "tokens"}
    programs = ["print(1.2e17)", "print(float(120000000000000001))", "print(120000000000000000)",
                "print(120000000000000001)"]
    assert box.score([f"```python\n{p}\n```" for p in programs], [row] * 4) == [0.0, 0.0, 0.0, 1.0]


# -- what the split runs and what it refuses -------------------------------------------------------

def _score(code, row, caplog=None, **params):
    from grpo_ext.rewards.code import CodeExecution

    reward = CodeExecution(wall_seconds=3, **params)
    out = reward(completions=[f"```python\n{code}\n```"], verification_info=[row])
    return out[0], reward.last_outcomes[0]


@pytest.mark.parametrize("test_code", [
    "x = 1\n",                                                    # no assert at all
    "y = value(3)\nassert True\n",                                # only a constant assert: no check
    "def check(candidate):\n    assert candidate(1) == 2\n",     # check() never called, no entry_point
])
def test_zero_checks_is_a_dataset_error_named_in_the_log(clean_host, caplog, test_code):  # noqa: F811
    with caplog.at_level(logging.WARNING, logger="grpo_ext.rewards.code.reward"):
        assert _score("def value(k):\n    return []", {"test_code": test_code}) == (None, "dataset_error")
    assert "row 0 cannot be scored (None): the test code has no check" in caplog.text


def test_a_loop_the_program_empties_is_a_failed_check_not_none(clean_host):  # noqa: F811
    row = {"test_code": "for v in value(3):\n    assert v > 0\n"}  # all or nothing: no assert ran
    assert _score("def value(k):\n    return []", row) == (0.0, "wrong_answer")
    assert _score("def value(k):\n    return [1, 2]", row) == (1.0, "passed")


def test_passing_a_function_to_the_program_fails_its_checks_never_none(clean_host, caplog):  # noqa: F811
    """A row that cannot run split is a 0 for every program: a wrong one could steer the test code
    to the unsupported call, so None would let it escape."""
    program = "def apply(f, x):\n    return f(x)"
    with caplog.at_level(logging.WARNING, logger="grpo_ext.rewards.code.reward"):
        assert _score(program, {"test_code": "assert apply(abs, -2) == 2"}) == (0.0, "runtime_error")
    assert "row 0: cannot run split: the test code passes a builtin_function_or_method" in caplog.text


@pytest.mark.parametrize("program, test_code, expected", [
    # in-place functions: lists, dicts and sets passed in come back refilled with their new contents
    ("def rev(xs, seen, index):\n    xs.reverse()\n    xs[0].append(9)\n    seen.add(len(xs))\n    index['n'] = 2",
     "a, s, d = [[1], [2]], set(), {}\nrev(a, s, d)\nassert a == [[2, 9], [1]]\nassert s == {2} and d == {'n': 2}\n", 1.0),
    # classes: instances stay in the program's interpreter; methods and attributes are requests
    ("class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n"
     "        self.items.append(x)\n        return self\n    def size(self):\n        return len(self.items)",
     "s = Stack()\nassert s.push(1).push(2) is s\nassert s.size() == 2\nassert s.items == [1, 2]\n"
     "s.items = [7]\nassert s.size() == 1\n", 1.0),
    # LeetCode style, and the program's own objects passed back as arguments
    ("class Node:\n    def __init__(self, v, nxt=None):\n        self.v, self.nxt = v, nxt\n"
     "class Solution:\n    def total(self, node):\n        return 0 if node is None else node.v + self.total(node.nxt)",
     "assert Solution().total(Node(1, Node(2, Node(3)))) == 6\n", 1.0),
    # exceptions: built-in types keep their type; a program's own type arrives as ProgramError
    ("def half(x):\n    if x % 2:\n        raise ValueError('odd')\n    return x // 2",
     "import unittest\nclass T(unittest.TestCase):\n    def test_odd(self):\n        with self.assertRaises(ValueError):\n"
     "            half(3)\n    def test_even(self):\n        self.assertEqual(half(4), 2)\n", 1.0),
    # the program's imports of standard modules are the test code's too (MBPP relies on it)
    ("import math\ndef area(r):\n    return math.pi * r * r", "assert math.isclose(area(1), 3.14159, rel_tol=1e-3)\n", 1.0),
    # Python's own comparisons on the test side: a tuple is not a list, True == 1
    ("def pair():\n    return (1, 2)", "assert pair() == (1, 2)\nassert pair() != [1, 2]\nassert True == 1\n", 1.0),
    # a program's object has no operators and compares by identity: these checks fail for it
    ("class Box:\n    pass\ndef make():\n    return Box()", "assert make() != make()\nassert make() == make()\n"
     "assert list(make()) == []\n", 1 / 3),
    # a program that defines built-in names does not change the test code's built-ins
    ("sorted = lambda xs: 'same'\nlen = lambda xs: 3\ndef my_sort(xs):\n    return 'same'",
     "assert my_sort([2, 1]) == sorted([2, 1])\nassert len(my_sort([1])) == 1\n", 0.0),
    # the test code's own try/except around a failing call: the check inside it still counts
    ("def f(x):\n    raise KeyError(x)", "try:\n    f(1)\nexcept KeyError:\n    assert True\n", 1.0),
    # the test code stops on the program's error outside an assert: one failed check, then the rest
    ("def f(x):\n    raise KeyError(x)", "y = f(1)\nassert y == 1\nassert f(2) == 2\n", 0.0),
])
def test_split_semantics(clean_host, program, test_code, expected):  # noqa: F811
    assert _score(program, {"test_code": test_code})[0] == pytest.approx(expected)


def test_outcomes_of_split_runs(clean_host):  # noqa: F811
    row = {"test_code": "assert value(1) == 1\nassert value(2) == 2\n"}
    assert _score("def value(k):\n    return k", row) == (1.0, "passed")
    assert _score("def value(k):\n    return 1", row) == (0.5, "wrong_answer")
    assert _score("def value(k):\n    if k == 2:\n        raise ValueError\n    return k", row) == (0.5, "runtime_error")
    assert _score("def value(k):\n    while k == 2:\n        pass\n    return k", row) == (0.5, "timeout")
    assert _score("def value(k)\n    return k", row) == (0.0, "compile_error")  # does not compile
    assert _score("def value(k):\n    return k\nraise SystemExit(0)", row) == (0.0, "runtime_error")  # does not load
    assert _score("import os\nos._exit(0)", row) == (0.0, "runtime_error")


def test_a_check_the_program_defines_is_never_called(clean_host):  # noqa: F811
    """With entry_point named but no check() in the test code, the program's own check() is not run
    (calling it would hand the program the row's verdict, or turn a wrong answer into None)."""
    row = {"test_code": SHAPES["single"]["test_code"], "entry_point": "value"}
    program = "def check(candidate):\n    return True\n" + WRONG
    assert _score(program, row) == (0.0, "wrong_answer")


def test_wire_keeps_exact_types_and_refuses_anything_else():
    from grpo_ext.rewards.code import _wire

    refs = []
    value = [None, True, 1, -0.0, float("inf"), "s", (1, [2]), {3}, frozenset({4}), {(1, 2): {"k": b"\x00"}}, 2j]
    form = _wire.to_wire(value, refs.append)
    back = _wire.from_wire(_wire.loads(_wire.dumps(form)), None)
    assert back == value and [type(v) for v in back] == [type(v) for v in value] and refs == []
    assert type(back[6][1]) is list and type(back[9]) is dict and next(iter(back[9])) == (1, 2)

    class Text(str):
        pass

    numbers = []
    assert _wire.to_wire([Text("a"), 1], lambda obj: numbers.append(obj) or 7) == ["a", 1]
    assert numbers == []  # a subclass of a built-in type crosses as its base value
    for bad in ({"x": 1}, {"t": 1}, {"s": [[1]]}, {"d": [[1]]}, {"b": "zz"}, {"c": ["1", 2]}, {"h": "0"},
                {"t": [], "s": []}):
        with pytest.raises(_wire.WireError):
            _wire.from_wire(bad, lambda n: n)
    deep = [[]]
    for _ in range(200):
        deep = [deep]
    with pytest.raises(_wire.WireError):
        _wire.to_wire(deep, None)
    with pytest.raises(_wire.WireError):
        _wire.dumps(["x" * (_wire.MAX_BYTES + 1)])
