"""Blind round 5 against the verdict specification (docs/code.md, "Verdicts"): test code that reaches its
own asserts, assertion methods or ``exec`` through another name. Each attack FAILS if its program
scores above its fair share (or None where a share is due); each control is a right or partial
program paid exactly its share. One batch per sandbox mode (root and rootless)."""

import pytest

from grpo_ext.rewards.code import sandbox
from sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture
from test_code_verdicts import fenced

pytestmark = [pytest.mark.skipif(not sandbox.namespaces_available(), reason="user namespaces unavailable"),
              pytest.mark.xdist_group("sandbox")]

RIGHT = "def sq(n):\n    return n * n"
ONE = "def sq(n):\n    return 9 if n == 3 else -1"  # right on sq(3) only
NONE = "def sq(n):\n    return -1"
HELPER = "def check(c):\n" + "".join(f"    assert c({n}) == {n * n}\n" for n in range(4, 12))  # 8 asserts ONE fails
TOP = "assert sq(3) == 9\n"  # the one check ONE passes

INDIRECT = {  # F1: a helper with asserts reached other than by a direct call of its own name
    "alias": HELPER + TOP + "run = check\nrun(sq)\n",
    "map": HELPER + TOP + "list(map(check, [sq]))\n",
    "partial": "import functools\n" + HELPER + TOP + "functools.partial(check, sq)()\n",
    "__call__": HELPER + TOP + "check.__call__(sq)\n",
    "decorator": HELPER + TOP + "@check\ndef via(n):\n    return sq(n)\n",
    "dict": HELPER + TOP + "table = {'c': check}\ntable['c'](sq)\n",
    "helper of a helper": HELPER + "def outer(c):\n    inner = check\n    inner(c)\n" + TOP + "outer(sq)\n",
}
TEXT = "".join(f"assert sq({n}) == {n * n}\\n" for n in range(4, 12))
EXEC = {  # F5: exec reached other than by a direct call
    "run = exec": TOP + f'run = exec\nrun("{TEXT}")\n',
    "builtins.exec": "import builtins\n" + TOP + f'builtins.exec("{TEXT}")\n',
    "getattr(builtins, 'exec')": "import builtins\n" + TOP + f'getattr(builtins, "exec")("{TEXT}")\n',
}
HUMANEVAL = ("def _more(c):\n" + "".join(f"    assert c({n}) == {n * n}\n" for n in range(4, 12))
             + "def check(c):\n    assert c(3) == 9\n    more = _more\n    more(c)\n")
CASES = "import unittest\n"
CASE_A = "    def test_a(self):\n        self.assertEqual(sq(3), 9)\n"
UNITTEST = {  # F2, F3: a case whose assertion is reached through another name; fair share 1/2
    "CHECK = _impl": "def _impl(c):\n    assert c(4) == 16\n    assert c(5) == 25\nCHECK = _impl\n" + CASES
                     + "class T(unittest.TestCase):\n" + CASE_A + "    def test_b(self):\n        CHECK(sq)\n",
    "dict of helpers": "def _impl(c):\n    assert c(4) == 16\nH = {'x': _impl}\n" + CASES
                       + "class T(unittest.TestCase):\n" + CASE_A + "    def test_b(self):\n        H['x'](sq)\n",
    "staticmethod": "def _impl(c):\n    assert c(4) == 16\n" + CASES + "class T(unittest.TestCase):\n"
                    "    helper = staticmethod(_impl)\n" + CASE_A + "    def test_b(self):\n        self.helper(sq)\n",
    "partial": "import functools\ndef _impl(c):\n    assert c(4) == 16\nP = functools.partial(_impl)\n" + CASES
               + "class T(unittest.TestCase):\n" + CASE_A + "    def test_b(self):\n        P(sq)\n",
    "list of helpers": "def _impl(c):\n    assert c(4) == 16\nHS = [_impl]\n" + CASES + "class T(unittest.TestCase):\n"
                       + CASE_A + "    def test_b(self):\n        for h in HS:\n            h(sq)\n",
    "eq = self.assertEqual": CASES + "class T(unittest.TestCase):\n" + CASE_A
                              + "    def test_b(self):\n        eq = self.assertEqual\n        eq(sq(4), 16)\n",
    "alias made in setUp": CASES + "class T(unittest.TestCase):\n    def setUp(self):\n        self.same = self.assertEqual\n"
                           + CASE_A + "    def test_b(self):\n        self.same(sq(4), 16)\n",
    "class attribute": CASES + "class T(unittest.TestCase):\n    same = unittest.TestCase.assertEqual\n" + CASE_A
                       + "    def test_b(self):\n        self.same(sq(4), 16)\n",
    "getattr": CASES + "class T(unittest.TestCase):\n" + CASE_A
               + "    def test_b(self):\n        getattr(self, 'assertEqual')(sq(4), 16)\n",
    "map(self.assertTrue)": CASES + "class T(unittest.TestCase):\n" + CASE_A
                            + "    def test_b(self):\n        list(map(self.assertTrue, [sq(4) == 16]))\n",
    "lambda attribute": CASES + "class T(unittest.TestCase):\n    chk = lambda self, x, y: self.assertEqual(x, y)\n"
                        + CASE_A + "    def test_b(self):\n        self.chk(sq(4), 16)\n",
}
SETUP_ONLY = CASES + "class T(unittest.TestCase):\n    def setUp(self):\n        self.assertEqual(sq(4), 16)\n" \
                     "    def test_x(self):\n        pass\n"  # F6

# name: (row, program, fair share)
ATTACKS = {f"{name} (R5 F1), one of nine": ({"test_code": code}, ONE, 0.0) for name, code in INDIRECT.items()}
ATTACKS |= {f"{name} (R5 F5), one of nine": ({"test_code": code}, ONE, 0.0) for name, code in EXEC.items()}
ATTACKS |= {f"{name} (R5 F2/F3), half": ({"test_code": code}, ONE, 0.5) for name, code in UNITTEST.items()}
ATTACKS |= {
    "only an aliased helper (R5 F1), wrong": ({"test_code": HELPER + "run = check\nrun(sq)\n"}, NONE, 0.0),
    "HumanEval check with an aliased helper (R5 F1)": ({"test_code": HUMANEVAL, "entry_point": "sq"}, ONE, 0.0),
    "assertion only in setUp (R5 F6), wrong": ({"test_code": SETUP_ONLY}, NONE, 0.0),
    "an idle case beside a busy setUpClass is no check (R5 F6)": (
        {"test_code": CASES + "class T(unittest.TestCase):\n    @classmethod\n    def setUpClass(cls):\n        cls.n = len('ab')\n"
                      "    def test_p(self):\n        pass\n" + CASE_A + "    def test_b(self):\n        self.assertEqual(sq(4), 16)\n"},
        ONE, 0.5),
    "check defined twice and called (R5 F4)": (
        {"test_code": "def check(c):\n    assert c(3) == 9\n" + HELPER + "check(sq)\n"}, ONE, 0.0),
}
CONTROLS = {f"{name} (R5 F1), right": ({"test_code": code}, RIGHT, 1.0) for name, code in INDIRECT.items()}
CONTROLS |= {f"{name} (R5 F5), right": ({"test_code": code}, RIGHT, 1.0) for name, code in EXEC.items()}
CONTROLS |= {f"{name} (R5 F2/F3), right": ({"test_code": code}, RIGHT, 1.0) for name, code in UNITTEST.items()}
CONTROLS |= {
    "only an aliased helper (R5 F1), right": ({"test_code": HELPER + "run = check\nrun(sq)\n"}, RIGHT, 1.0),
    "HumanEval check with an aliased helper (R5 F1), right": ({"test_code": HUMANEVAL, "entry_point": "sq"}, RIGHT, 1.0),
    "direct check(sq) stays flat (R5 F1)": ({"test_code": HELPER + TOP + "check(sq)\n"}, ONE, 1 / 9),
    "direct exec stays all or nothing (R5 F5), right": ({"test_code": TOP + f'exec("{TEXT}")\n'}, RIGHT, 1.0),
    "assertion only in setUp (R5 F6), right": ({"test_code": SETUP_ONLY}, RIGHT, 1.0),
    "re.compile is no text run (R5 F5)": ({"test_code": "import re\nPAT = re.compile('a+')\n" + HELPER + TOP + "check(sq)\n"},
                                          ONE, 1 / 9),
    "a class attribute that is data is no case (R5 F2), right": (
        {"test_code": CASES + "class T(unittest.TestCase):\n    test_data = [(3, 9), (4, 16)]\n    maxDiff = None\n"
                      "    def test_all(self):\n        for n, want in self.test_data:\n            self.assertEqual(sq(n), want)\n"},
        RIGHT, 1.0),
    "an inert case is still no check (R5 F2)": (
        {"test_code": CASES + "class T(unittest.TestCase):\n    def test_p(self):\n        'todo'\n        x = 1\n"
                      + CASE_A + "    def test_b(self):\n        self.assertEqual(sq(4), 16)\n"}, ONE, 0.5),
    "1 assert, then check redefined with 8 (R5 F4), right": (
        {"test_code": "def check(c):\n    assert c(3) == 9\n\n" + HELPER, "entry_point": "sq"}, RIGHT, 1.0),
    "8 asserts, then check redefined with 1 (R5 F4), right": (
        {"test_code": HELPER + "\ndef check(c):\n    assert c(3) == 9\n", "entry_point": "sq"}, RIGHT, 1.0),
    "check redefined: the last one counts (R5 F4), one": (
        {"test_code": "def check(c):\n    assert c(3) == 9\n\n" + HELPER, "entry_point": "sq"}, ONE, 0.0),
    "check defined twice and called (R5 F4), right": (
        {"test_code": "def check(c):\n    assert c(3) == 9\n" + HELPER + "check(sq)\n"}, RIGHT, 1.0),
    "example output after the program (R5 F7)": (
        {"test_code": TOP + "assert sq(4) == 16\n", "completion": f"Here:\n```python\n{RIGHT}\n```\nOutput:\n```\n9\n```\n"},
        None, 1.0),
    "the tagged block is the program, not a later untagged one (R5 F7)": (
        {"test_code": TOP + "assert sq(4) == 16\n", "completion": f"```python\n{NONE}\n```\n```\n{RIGHT}\n```\n"}, None, 0.0),
    "untagged program alone (R5 F7)": (
        {"test_code": TOP + "assert sq(4) == 16\n", "completion": f"```\n{RIGHT}\n```\n"}, None, 1.0),
}


def _completion(row, program):
    return row.pop("completion") if program is None else fenced(program)


@pytest.fixture(scope="module", params=MODES)
def scored(request):
    rows = [(name, dict(row), program) for name, (row, program, _) in list(ATTACKS.items()) + list(CONTROLS.items())]
    completions = [_completion(row, program) for _, row, program in rows]
    scores = Runner(request.param).score(completions, [row for _, row, _ in rows], wall_seconds=2)
    return dict(zip([name for name, _, _ in rows], scores))


def test_no_leftovers(scored, clean_host):  # noqa: F811 - the batch ran before; this checks the host after it
    assert scored


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_not_paid_above_its_fair_share(scored, name):
    fair, score = ATTACKS[name][2], scored[name]
    assert score is not None and score <= fair + 1e-9, (name, score, fair)


@pytest.mark.parametrize("name", list(CONTROLS))
def test_control_is_paid_its_share(scored, name):
    assert scored[name] == pytest.approx(CONTROLS[name][2]), (name, scored[name])
