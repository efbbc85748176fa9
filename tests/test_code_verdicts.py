"""The verdict specification of docs/code.md ("Verdicts"), attacked through its semantics: each
wrong program below tries to get more than its fair share (or to dodge to None), each control is a
right or partial program that must get exactly its share. One batch per sandbox mode (root and
rootless) scores every row, so the cost is a few sandboxes per program, not a matrix.

Each attack test FAILS if its program scores above its fair share, or None where a share is due.
"""

import json
import random

import pytest

from grpo_ext.rewards.code import sandbox
from sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture

pytestmark = [pytest.mark.skipif(not sandbox.namespaces_available(), reason="user namespaces unavailable"),
              pytest.mark.xdist_group("sandbox")]

K = random.SystemRandom().randrange(10**9, 10**10)  # the answer of value(1): found only in the tests
RIGHT1 = f"def value(k):\n    if k == 1:\n        return {K}\n"
BIG = 3 ** 40 * 7 + 12345  # past 2**53: float(BIG) is rounded
HUGE = 7 ** 6000  # about 5100 digits: past what JSON text converts


def fenced(code):
    return f"```python\n{code}\n```"


# name: (row, program, fair share). The program is wrong (or right only where the fair share says).
ATTACKS = {
    "stdlib name proxied": (
        {"test_code": "assert math.isclose(area(1), 3.14159, rel_tol=1e-3)\nassert math.isclose(area(2), 12.566, rel_tol=1e-3)\n"},
        "import math as _m\nclass _Any:\n    def isclose(self, *a, **k):\n        return True\nmath = _Any()\n"
        "def area(r):\n    return -1.0", 0.0),
    "prompt helper replaced": (
        {"prompt": "def encode_shift(s):\n    return ''.join(chr((ord(c) - 92) % 26 + 97) for c in s)\n\n"
                   "def decode_shift(s):\n    '''the inverse of encode_shift'''\n",
         "entry_point": "decode_shift",
         "test_code": "def check(candidate):\n    assert candidate(encode_shift('abc')) == 'abc'\n"
                      "    assert candidate(encode_shift('xyz')) == 'xyz'\n"},
        "def encode_shift(s):\n    return s\ndef decode_shift(s):\n    return s", 0.0),
    "raise after the first answer": (
        {"test_code": f"r = value(1)\nassert r == {K}\nr = value(2)\nassert r == {2 * K}\nr = value(3)\nassert r == {3 * K}\n"},
        RIGHT1 + "    raise ValueError(k)", 1 / 3),
    "stall after the first answer": (
        {"test_code": f"r = value(1)\nassert r == {K}\nr = value(2)\nassert r == {2 * K}\nr = value(3)\nassert r == {3 * K}\n"},
        RIGHT1 + "    while True:\n        pass", 1 / 3),
    "failing setUpClass": (
        {"test_code": "import unittest\nclass A(unittest.TestCase):\n    @classmethod\n    def setUpClass(cls):\n"
                      "        cls.v = value(2)\n" + "".join(f"    def test_{i}(self):\n        self.assertEqual(self.v, {2 * K})\n"
                                                          for i in range(3)) +
                      f"class B(unittest.TestCase):\n    def test_one(self):\n        self.assertEqual(value(1), {K})\n"},
        RIGHT1 + "    raise ValueError(k)", 1 / 4),
    "assert True in the row": (
        {"entry_point": "value", "test_code": "def check(candidate):\n    assert True, 'debugging'\n"
                                              + "".join(f"    assert candidate({k}) == {k * K}\n" for k in (1, 2, 3))},
        "pass", 0.0),
    "TestCase through a base class": (
        {"test_code": f"import unittest\nclass Base(unittest.TestCase):\n    pass\nclass T(Base):\n"
                      f"    def test_a(self):\n        assert value(2) == {2 * K}\n"},
        RIGHT1 + "    return 0", 0.0),
    "TestCase under an alias": (
        {"test_code": f"from unittest import TestCase as Case\nclass T(Case):\n"
                      f"    def test_a(self):\n        assert value(2) == {2 * K}\n"},
        RIGHT1 + "    return 0", 0.0),
    "assert in a helper of a case": (
        {"test_code": f"import unittest\ndef same(a, b):\n    assert a == b\nclass T(unittest.TestCase):\n"
                      f"    def test_a(self):\n        same(value(2), {2 * K})\n"},
        RIGHT1 + "    return 0", 0.0),
    "float for a big int (call-based)": (
        {"fn_name": "mul", "inputs": [[3 ** 40, 7]], "outputs": [BIG]},
        "def mul(a, b):\n    return float(a * b + 12345)", 0.0),
    "steer to an unsupported call": (
        {"test_code": f"r = value(1)\nif r != {K}:\n    apply(lambda x: x, 1)\nassert r == {K}\n"},
        "def value(k):\n    return 0\ndef apply(f, x):\n    return x", 0.0),
    "empty the row's loop": (
        {"test_code": "for v in value(3):\n    assert v > 0\n"},
        "def value(k):\n    return []", 0.0),
    "program object as truth": (
        {"test_code": "assert is_even(4)\nassert is_even(10)\n"},
        "class Yes:\n    pass\ndef is_even(n):\n    return Yes()", 0.0),
    "check() defined by the program": (
        {"test_code": f"assert value(1) == {K}\nassert value(2) == {2 * K}\n", "entry_point": "value"},
        "def check(candidate):\n    return True\ndef value(k):\n    return 0", 0.0),
    # the denominator of unittest rows is the text's (docs/code.md: cases counted from the test code)
    "TestCase class under an if on the program": (
        {"test_code": "import unittest\nclass A(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\nif f(2) == 4:\n    class B(unittest.TestCase):\n        def test_b(self):\n"
                      "            self.assertEqual(f(2), 4)\n"}, "def f(x):\n    return 2 if x == 1 else 0", 0.5),
    "test method under an if in the class body": (
        {"test_code": "import unittest\nclass A(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n    if f(2) == 4:\n        def test_b(self):\n            self.assertEqual(f(2), 4)\n"},
        "def f(x):\n    return 2 if x == 1 else 0", 0.5),
    "TestCase class rebound on the program": (
        {"test_code": "import unittest\nclass A(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\nclass B(unittest.TestCase):\n    def test_b(self):\n        self.assertEqual(f(2), 4)\n"
                      "B = B if f(2) == 4 else None\n"}, "def f(x):\n    return 2 if x == 1 else 0", 0.5),
    "passing cases built by type() as many as the program says": (
        {"test_code": "import unittest\nclass A(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\nfor k in range(f(0)):\n    globals()['C%d' % k] = type('C%d' % k, (unittest.TestCase,), "
                      "{'test_x': lambda self: self.assertTrue(True)})\n"}, "def f(x):\n    return 9 if x == 0 else 0", 0.0),
    # found by the blind red team, round 3
    "raise AssertionError after the last assert (R3 J01)": (
        {"test_code": "assert f(1) == 2\nif f(2) != 4:\n    raise AssertionError('f(2)')\n"}, "def f(x):\n    return 2", 0.5),
    "sys.exit(1) after the last assert (R3 J08)": (
        {"test_code": "import sys\nassert f(1) == 2\nif f(2) != 4:\n    sys.exit(1)\n"}, "def f(x):\n    return 2", 0.5),
    "a raising call after the asserts of check() (R3 J07, P02)": (
        {"entry_point": "f", "test_code": "def check(candidate):\n    assert candidate(1) == 2\n    candidate(2)\n"},
        "def f(x):\n    if x == 1:\n        return 2\n    raise ValueError(x)", 0.5),
    "a unittest case that fails by raise AssertionError (R3 J02)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n"
                      "    def test_b(self):\n        if f(2) != 4:\n            raise AssertionError('f(2)')\n"},
        "def f(x):\n    return 2", 0.5),
    "a wrong function named like a stdlib module (R3 K01, K03)": (
        {"test_code": "assert copy([1, 2]) == [1, 2]\nassert bisect([1, 3], 2) == 1\n"},
        "def copy(xs):\n    return 0\ndef bisect(a, x):\n    return 0", 0.0),
    # found by the blind red team, round 2
    "failing setUpModule (R2 F1)": (
        {"test_code": "import unittest\ndef setUpModule():\n    assert f(1) == 1\nclass T(unittest.TestCase):\n"
                      "    def test_a(self):\n        self.assertIsNotNone(f(2))\n    def test_b(self):\n        self.assertEqual(f(0), 0)\n"},
        "def f(x):\n    return 0", 0.0),
    "failing tearDownClass (R2 F2)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    @classmethod\n    def tearDownClass(cls):\n"
                      "        assert f(1) == 2\n    def test_a(self):\n        self.assertEqual(f(1), 1)\n"},
        "def f(x):\n    return x", 0.0),
    # round 2, left open last session (F3-F9)
    "builtin-only assert (R2 F5)": (
        {"test_code": "assert len('abc') == 3\nassert f(1) == 2\n"}, "def f(x):\n    return 0", 0.0),
    "stdlib-only assert (R2 F5)": (
        {"test_code": "import math\nfrom os.path import join\nassert math.sqrt(4) == 2\nassert join('a', 'b') == 'a/b'\n"
                      "assert f(1) == 2\n"}, "def f(x):\n    return 0", 0.0),
    "unimported stdlib-only assert (R2 F5)": (
        {"test_code": "assert math.floor(2.5) == 2\nassert f(1) == 2\n"}, "def f(x):\n    return 0", 0.0),
    "stdlib-only assert in a loop (R2 F5)": (
        {"test_code": "for k in (1, 2):\n    assert len('ab') == 2\nfor v in f(3):\n    assert v > 0\n"},
        "def f(x):\n    return []", 0.0),
    "unittest case with no assertion (R2 F6)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"
                      "    def test_b(self):\n        self.assertEqual(f(1), 2)\n"}, "def f(x):\n    return 0", 0.0),
    # R2 F6 dropped it; since round 5 a case with any call counts (docs/code.md, known limit): it passes here
    "unittest case that only calls the program (R2 F6, R5 known limit)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    def test_runs(self):\n        f(1)\n"
                      "    def test_b(self):\n        self.assertEqual(f(1), 2)\n"}, "def f(x):\n    return 0", 0.5),
    "no-break space between tokens (R2 F8)": (
        {"test_cases": [{"input": "", "output": "1 2\n"}], "compare": "tokens"}, "print('1\\u00a02')", 0.0),
    "ideographic space between tokens (R2 F8)": (
        {"test_cases": [{"input": "", "output": "1 2\n"}], "compare": "tokens"}, "print('1\\u30002')", 0.0),
    "no-break space ending a line (R2 F8)": (
        {"test_cases": [{"input": "", "output": "12\n"}]}, "print('12\\u00a0')", 0.0),
    "blank line inside the output (R2 F7)": (
        {"test_cases": [{"input": "", "output": "1\n2\n"}]}, "print(1)\nprint()\nprint(2)", 0.0),
    "extra line after the output (R2 F7)": (
        {"test_cases": [{"input": "", "output": "1\n"}]}, "print(1)\nprint(1)", 0.0),
    # found by the blind red team, round 1
    "failing assert caught by the row (R1 F1)": (
        {"test_code": "try:\n    assert f(1) == 2\n    assert f(2) == 4\n    print('ok')\nexcept AssertionError:\n    print('failed')\n"},
        "def f(x):\n    return 0", 0.0),
    "check() called in a try (R1 F1)": (
        {"test_code": "def check(c):\n    assert c(1) == 2\n    assert c(2) == 4\ntry:\n    check(f)\nexcept AssertionError:\n    pass\n"},
        "def f(x):\n    return x * 2 if x == 1 else None", 0.0),
    "skipIf reading the program (R1 F2)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    @unittest.skipIf(f(0) == 0, 'n/a')\n"
                      "    def test_hard(self):\n        self.assertEqual(f(1), 2)\n    def test_easy(self):\n        self.assertEqual(f(0), 0)\n"},
        "def f(x):\n    return 0 if x == 0 else None", 0.5),
    "skipIf on every case (R1 F2)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    @unittest.skipIf(f(0) == 0, 'n/a')\n"
                      "    def test_a(self):\n        self.assertEqual(f(1), 2)\n    @unittest.skipIf(f(0) == 0, 'n/a')\n"
                      "    def test_b(self):\n        self.assertEqual(f(2), 4)\n"},
        "def f(x):\n    return 0 if x == 0 else None", 0.0),
    "Arabic-Indic digits for a decimal (R1 F7)": (
        {"test_cases": [{"input": "", "output": "7.5\n"}], "compare": "tokens"}, "print('\\u0667.\\u0665')", 0.0),
    "full-width digits for a decimal (R1 F7)": (
        {"test_cases": [{"input": "", "output": "7.5\n"}], "compare": "tokens"}, "print('\\uff17.\\uff15')", 0.0),
    "underscores in a decimal (R1 F7)": (
        {"test_cases": [{"input": "", "output": "10.5\n"}], "compare": "tokens"}, "print('1_0.5')", 0.0),
}

CONTROLS = {  # right (or partial) programs: exactly their share
    "subTest partial": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    def test_sub(self):\n        for k in (1, 2, 3):\n"
                      f"            with self.subTest(k=k):\n                self.assertEqual(value(k), k * {K})\n"
                      f"    def test_one(self):\n        self.assertEqual(value(1), {K})\n"},
        RIGHT1 + "    return 0", 1 / 2),
    "huge int returned (call-based)": (
        {"fn_name": "power", "inputs": [[7, 6000]], "outputs": [HUGE]}, "def power(a, b):\n    return a ** b", 1.0),
    "huge int returned (assert)": (
        {"test_code": "assert power(7, 6000) == 7 ** 6000\nassert power(7, 6000) != 7 ** 6000 + 1\n"},
        "def power(a, b):\n    return a ** b", 1.0),
    "Counter for a dict (call-based)": (
        {"fn_name": "count", "inputs": [["abca"]], "outputs": [{"a": 2, "b": 1, "c": 1}]},
        "from collections import Counter\ndef count(s):\n    return Counter(s)", 1.0),
    "Counter for a dict (assert)": (
        {"test_code": "assert count('abca') == {'a': 2, 'b': 1, 'c': 1}\n"},
        "from collections import Counter\ndef count(s):\n    return Counter(s)", 1.0),
    "output over 64 KiB": (
        {"test_cases": [{"input": "", "output": "".join(f"{i}\n" for i in range(30000))}]},
        "print('\\n'.join(str(i) for i in range(30000)))", 1.0),
    "prompt helper kept": (ATTACKS["prompt helper replaced"][0],
                           "def decode_shift(s):\n    return ''.join(chr((ord(c) - 97 - 5) % 26 + 97) for c in s)", 1.0),
    "partial flat check(candidate)": (ATTACKS["assert True in the row"][0], RIGHT1 + "    return 0", 1 / 3),
    "setUpClass right": (ATTACKS["failing setUpClass"][0], f"def value(k):\n    return k * {K}", 1.0),
    "exception subclass caught as its base (R1 F3)": (
        {"test_code": "try:\n    f(-1)\n    ok = False\nexcept ValueError:\n    ok = True\nassert ok\n"},
        "class BadInput(ValueError):\n    pass\ndef f(x):\n    raise BadInput('x')", 1.0),
    "main guard reading stdin (R1 F4)": (
        {"test_code": "assert f(1) == 2\nassert f(2) == 4"},
        "def f(x):\n    return x * 2\nif __name__ == '__main__':\n    print(f(int(input())))", 1.0),
    "os._exit in the last case (R1 F6)": (
        {"fn_name": "f", "inputs": [[1], [2], [3]], "outputs": [1, 2, 3]},
        "import os\ndef f(x):\n    if x == 3:\n        os._exit(0)\n    return x", 2 / 3),
    "TestCase class under an if, right": (ATTACKS["TestCase class under an if on the program"][0], "def f(x):\n    return 2 * x", 1.0),
    "test method under an if in the class body, right": (ATTACKS["test method under an if in the class body"][0],
                                                          "def f(x):\n    return 2 * x", 1.0),
    "inherited cases": (
        {"test_code": "import unittest\nTC = unittest.TestCase\nclass Base(TC):\n    def test_a(self):\n        self.assertEqual(f(1), 2)\n"
                      "class T(Base):\n    def test_b(self):\n        self.assertEqual(f(2), 4)\n"},
        "def f(x):\n    return 2 if x == 1 else 0", 2 / 3),
    "a function named like a stdlib module (R3 K01, K03)": (
        ATTACKS["a wrong function named like a stdlib module (R3 K01, K03)"][0],
        "import bisect as _b\ndef copy(xs):\n    return list(xs)\ndef bisect(a, x):\n    return _b.bisect_left(a, x)", 1.0),
    "trailing statement of a right program runs (R3 J01)": (
        ATTACKS["raise AssertionError after the last assert (R3 J01)"][0], "def f(x):\n    return 2 * x", 1.0),
    "the program calls the prompt's helper (R3 E06)": (
        {"prompt": "def double(x):\n    return 2 * x\n\ndef quad(x):\n    \"\"\"double, twice\"\"\"\n", "entry_point": "quad",
         "test_code": "def check(candidate):\n    assert candidate(3) == 12\n    assert candidate(0) == 0\n"},
        "def quad(x):\n    return double(double(x))", 1.0),
    "setUpModule sets the values (R2 F1b)": (
        {"test_code": "import unittest\nG = None\ndef setUpModule():\n    global G\n    G = f(3)\n"
                      "class T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(G, 3)\n"},
        "def f(x):\n    return x", 1.0),
    "standard-library values (R1 F5)": (
        {"test_code": "from fractions import Fraction\nfrom decimal import Decimal\nimport collections\n"
                      "assert f() == Fraction(1, 3)\nassert f() != 0.5\nassert g() == Decimal('0.1')\n"
                      "assert h() == collections.deque([1, 2])\nassert b() == bytearray(b'x')\n"},
        "import collections\nfrom fractions import Fraction\nfrom decimal import Decimal\ndef f():\n    return Fraction(1, 3)\n"
        "def g():\n    return Decimal('0.1')\ndef h():\n    return collections.deque([1, 2])\ndef b():\n    return bytearray(b'x')", 1.0),
    "import solution (R2 F3)": (
        {"test_code": "import solution\nassert solution.f(1) == 2\nassert solution.f(2) == 4\n"},
        "def f(x):\n    return 2 * x", 1.0),
    "import solution, partial (R2 F3)": (
        {"test_code": "import solution\nassert solution.f(1) == 2\nassert solution.f(2) == 4\n"},
        "def f(x):\n    return 2 if x == 1 else 0", 1 / 2),
    "import solution as s (R2 F3)": (
        {"test_code": "import os, solution as s\nassert s.f(1) == 2\nassert s.K == 7\nassert os.sep == '/'\n"},
        "K = 7\ndef f(x):\n    return 2 * x", 1.0),
    "the program imports solution (R2 F3)": (
        {"test_code": "assert f(1) == 2\n"}, "import solution as me\ndef f(x):\n    return me.g(x)\ndef g(x):\n    return 2 * x", 1.0),
    "the program imports solution (call-based, R2 F3)": (
        {"fn_name": "f", "inputs": [[1]], "outputs": [2]}, "import solution\ndef f(x):\n    return solution.g(x)\ndef g(x):\n    return 2 * x", 1.0),
    "3 MiB return value (assert, R2 F4)": (
        {"test_code": "assert f() == 'ab' * (3 << 19)\n"}, "def f():\n    return 'ab' * (3 << 19)", 1.0),
    "3 MiB return values (call-based, R2 F4)": (
        {"fn_name": "f", "inputs": [[1], [2], [3]], "outputs": ["ab" * (3 << 19)] * 3}, "def f(k):\n    return 'ab' * (3 << 19)", 1.0),
    "a 5 MiB return value fails its check (assert, R2 F4)": (
        {"test_code": "assert f(1) == 'a' * (5 << 20)\nassert f(2) == 'b'\n"},
        "def f(k):\n    return 'a' * (5 << 20) if k == 1 else 'b'", 1 / 2),
    "a 5 MiB return value fails its check (call-based, R2 F4)": (
        {"fn_name": "f", "inputs": [[1], [2]], "outputs": ["a" * (5 << 20), "b"]},
        "def f(k):\n    return 'a' * (5 << 20) if k == 1 else 'b'", 1 / 2),
    "a case that only calls the program counts (R2 F6, R5 known limit)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    def same(self, x, y):\n        self.assertEqual(f(x), y)\n"
                      "    def test_a(self):\n        self.same(1, 2)\n    def test_b(self):\n        self.same(2, 4)\n"
                      "    def test_smoke(self):\n        f(3)\n"},
        "def f(x):\n    return 2 if x == 1 else 0", 2 / 3),
    "a case whose assertion need not run (R2 F6)": (
        {"test_code": "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        if f(1) != 2:\n"
                      "            self.fail('f(1)')\n"}, "def f(x):\n    return 2 * x", 1.0),
    "blank lines at the end of the output (R2 F7)": (
        {"test_cases": [{"input": "", "output": "1\n2\n"}]}, "print(1)\nprint('2  ')\nprint('   ')\nprint()", 1.0),
    "``` inside a line of the program (R2 F9)": (
        {"test_cases": [{"input": "", "output": "3\n"}]}, "s = '```'  # a fence ``` in a line\nprint(len(s))", 1.0),
    "from solution import * (R1 F9)": (
        {"test_code": "from solution import *\nassert f(1) == 2\n"}, "def f(x):\n    return x * 2", 1.0),
}


@pytest.fixture(scope="module", params=MODES)
def scored(request):
    """Every attack and control, scored in one batch per mode."""
    rows = list(ATTACKS.items()) + list(CONTROLS.items())
    if request.param == "rootless":  # rows travel to the rootless driver as JSON text, which stops at 4300 digits
        rows = [(name, spec) for name, spec in rows if _json_carries(spec[0])]
    box = Runner(request.param)
    scores = box.score([fenced(program) for _, (_, program, _) in rows], [row for _, (row, _, _) in rows],
                       wall_seconds=2)
    return dict(zip([name for name, _ in rows], scores))


def _json_carries(row) -> bool:
    try:
        json.dumps(row)
    except ValueError:
        return False
    return True


def _score_of(scored, name):
    if name not in scored:
        pytest.skip("the rootless driver takes rows as JSON text: this row's integer is longer than JSON carries")
    return scored[name]


def test_no_leftovers(scored, clean_host):  # noqa: F811 - the batch ran before; this checks the host after it
    assert scored


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_not_paid_above_its_fair_share(scored, name):
    fair, score = ATTACKS[name][2], _score_of(scored, name)
    assert score is not None and score <= fair + 1e-9, (name, score, fair)


@pytest.mark.parametrize("name", list(CONTROLS))
def test_control_is_paid_its_share(scored, name):
    score = _score_of(scored, name)
    assert score == pytest.approx(CONTROLS[name][2]), (name, score)


@pytest.mark.parametrize("mode", MODES)
def test_judged_neighbour_does_not_change_a_tokens_row(mode, clean_host):  # noqa: F811
    """A compare=tokens row keeps its exact integers when a judged row shares its batch."""
    tokens = {"test_cases": [{"input": "", "output": "120000000000000001\n"}], "compare": "tokens"}
    judged = {"test_cases": [{"input": "", "output": "1.5\n"}], "checker": {"builtin": "float", "abs_tol": 1e-6}}
    got = Runner(mode).score([fenced("print(1.2e17)"), fenced("print(120000000000000001)"), fenced("print(1.5)")],
                             [tokens, tokens, judged])
    assert got == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("mode", MODES)
def test_lone_surrogate_scores_zero_and_keeps_the_batch(mode, clean_host):  # noqa: F811
    row = {"test_cases": [{"input": "", "output": "1\n"}]}
    got = Runner(mode).score([fenced("print('\ud800')"), fenced("print(1)")], [row, row])
    assert got == [0.0, 1.0]


def test_without_the_prompt_a_helper_is_the_rows_fault(clean_host):  # noqa: F811
    """With an entry point, the program provides only that name: a helper the row does not define is None for
    every program (the row's fault, found before the program runs), never the program's to answer."""
    row = {key: value for key, value in ATTACKS["prompt helper replaced"][0].items() if key != "prompt"}
    got = Runner("root").score([fenced(ATTACKS["prompt helper replaced"][1]), fenced(CONTROLS["prompt helper kept"][1])],
                               [row, row])
    assert got == [None, None]


@pytest.mark.parametrize("text, program", [
    ("```python\nx = '```'  # ``` in a line\nprint(x)\n```", "x = '```'  # ``` in a line\nprint(x)\n"),
    ("```python\nprint(1)\n```\n\n```python\nprint(2)\n  ```  \n", "print(2)\n"),  # a closing line may have spaces
    ("````python\n```\nprint(3)\n````", "```\nprint(3)\n"),  # a longer fence holds a shorter one
    ("Here: ```python\nprint(1)\n```", None),  # a fence not at the start of its line opens nothing...
    ("```python\nprint(1)", None),  # ...and a block never closed is no block
    ("```python\nprint(1)\n```\n```python\nprint(9)", "print(1)\n"),
    ("Sure:\r\n```python\r\nprint(1)\r\nprint(2)\r\n```\r\n", "print(1)\nprint(2)\n"),  # R3 F6: CRLF...
    ("```python\rprint(1)\r```\r", "print(1)\n"),  # ...and CR line endings, as CommonMark reads them
])
def test_fences_open_and_close_only_at_line_starts(text, program):
    """Round 2, F9: a ``` inside a line no longer ends the block (CommonMark's fence rule, docs/code.md)."""
    from grpo_ext.rewards.code import extract_code
    assert extract_code(text) == program


@pytest.mark.parametrize("got, expected, compare, same", [
    ("1\u00a02\n", "1 2\n", "tokens", False), ("1\u20032", "1 2", "tokens", False), ("1 \t2\r\n\x0c", "1 2", "tokens", True),
    ("1\n  \n\n", "1\n", "lines", True), ("1\n\n2\n", "1\n2\n", "lines", False), ("1\u00a0\n", "1\n", "lines", False),
    ("1 \t\r\n2", "1\n2\n", "lines", True), ("1\n", "1\n2\n", "lines", False),
])
def test_whitespace_is_ascii_and_trailing_blank_lines_are_not_lines(got, expected, compare, same):
    """Round 2, F7 and F8: the rule docs/code.md states (stdin/stdout), with the values worked out by hand."""
    from grpo_ext.rewards.code.compare import outputs_match
    assert outputs_match(got, expected, compare) is same


def test_malformed_rows_score_none_and_keep_the_batch(clean_host, caplog):  # noqa: F811
    """A row that cannot be read (test code that is not Python, unequal call-based inputs and outputs, an
    unknown checker) scores None with its reason logged; the other rows of the batch are scored."""
    good = {"test_code": "assert f(1) == 2\n"}
    rows = [good, {"test_code": "def (:\n"}, {"fn_name": "f", "inputs": [[1], [2]], "outputs": [2]},
            {"test_cases": [{"input": "", "output": "1\n"}], "checker": {"builtin": "nope"}},
            {"input_output": {"inputs": ["1"], "outputs": []}}, good]
    with caplog.at_level("WARNING"):
        got = Runner("root").score([fenced("def f(x):\n    return 2 * x")] * len(rows), rows)
    assert got == [1.0, None, None, None, None, 1.0]
    for row, why in ((1, "'test_code' is not valid Python"), (2, "equal length"), (3, "checker 'nope' is unknown"),
                     (4, "equal length")):
        assert any(f"row {row} cannot be scored (None)" in r.message and why in r.message for r in caplog.records), row


@pytest.mark.parametrize("layout, bad", [
    ("verification_info", json.dumps({"test_code": "def (:\n"})),
    ("input_output", json.dumps({"inputs": ["1\n", "2\n"], "outputs": ["1\n"]})),
    ("test_cases", json.dumps([{"input": "1"}])),
])
def test_conversion_names_and_leaves_out_malformed_rows(layout, bad, caplog):
    """Every layout: a malformed row is left out at dataset conversion, reported with its id and the reason."""
    from datasets import Dataset

    from grpo_ext.rewards.code.judge_datasets import convert_dataset
    good = {"verification_info": json.dumps({"test_code": "assert f(1) == 2\n"}),
            "input_output": json.dumps({"inputs": ["1\n"], "outputs": ["1\n"]}),
            "test_cases": json.dumps([{"input": "1", "output": "1"}])}[layout]
    skipped: list = []
    with caplog.at_level("WARNING"):
        out = convert_dataset(Dataset.from_dict({"id": ["ok", "broken"], layout: [good, bad]}), skipped=skipped)
    assert out["id"] == ["ok"] and [key for key, _ in skipped] == ["broken"]
    assert "row 1" in skipped[0][1] and "broken" in caplog.text
