"""Blind round 4 against the verdict specification (docs/code.md, "Verdicts"): asserts that reach the
program indirectly, unittest cases that catch their own failures, and the minor findings. Each attack
FAILS if its program scores above its fair share (or None where a share is due); each control is a
right or partial program paid exactly its share. One batch per sandbox mode (root and rootless)."""

import pytest

from grpo_ext.rewards.code import sandbox
from sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture
from test_code_verdicts import fenced

pytestmark = [pytest.mark.skipif(not sandbox.namespaces_available(), reason="user namespaces unavailable"),
              pytest.mark.xdist_group("sandbox")]

RIGHT = "def add(a, b):\n    return a + b"
HALF = "def add(a, b):\n    return 4 if (a, b) == (2, 2) else 0"  # right on add(2, 2) only
WRONG = "def add(a, b):\n    return 0"
FIRST = "assert add(2, 2) == 4\n"  # a direct check that HALF passes

INDIRECT = {  # M1: an assert that reaches the program through a dynamic access is a check of the program
    "eval": FIRST + "assert eval('add(3, 4)') == 7\n",
    "globals": FIRST + "assert globals()['add'](3, 4) == 7\n",
    "vars": FIRST + "assert vars()['add'](3, 4) == 7\n",
    "__import__": FIRST + "assert __import__('solution').add(3, 4) == 7\n",
    "sys.modules": "import sys\n" + FIRST + "assert sys.modules['solution'].add(3, 4) == 7\n",
    "importlib": "import importlib\n" + FIRST + "assert importlib.import_module('solution').add(3, 4) == 7\n",
    "import_module": "from importlib import import_module as im\n" + FIRST + "assert im('solution').add(3, 4) == 7\n",
}
ONLY_INDIRECT = {  # M1: a row whose only checks are indirect: a wrong program may not dodge to None
    "only eval": "assert eval('add(3, 4)') == 7\nassert eval('add(1, 1)') == 2\n",
    "only exec": "exec('assert add(3, 4) == 7')\n",
    "only __import__": "assert __import__('solution').add(3, 4) == 7\n",
}
CASE = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(add(2, 2), 4)\n"
SWALLOWED = {  # M2: a unittest case that catches its own failure failed
    "assertEqual, except AssertionError": CASE + "    def test_b(self):\n        try:\n            self.assertEqual(add(3, 4), 7)\n"
                                                 "        except AssertionError:\n            pass\n",
    "assertEqual, except Exception": CASE + "    def test_b(self):\n        try:\n            self.assertEqual(add(3, 4), 7)\n"
                                            "        except Exception:\n            pass\n",
    "assertTrue, bare except": CASE + "    def test_b(self):\n        try:\n            self.assertTrue(add(3, 4) == 7)\n"
                                      "        except BaseException:\n            pass\n",
    "assertRaises swallowed": CASE + "    def test_b(self):\n        try:\n            with self.assertRaises(ValueError):\n"
                                     "                add(-1, 0)\n        except AssertionError:\n            pass\n",
    "plain assert in a case": CASE + "    def test_b(self):\n        try:\n            assert add(3, 4) == 7\n"
                                     "        except AssertionError:\n            pass\n",
    "assert in a helper of a case": "def same(a, b):\n    assert a == b\n" + CASE + "    def test_b(self):\n        try:\n"
                                    "            same(add(3, 4), 7)\n        except AssertionError:\n            pass\n",
    "plain assert in try (assert-style)": FIRST + "try:\n    assert add(3, 4) == 7\nexcept AssertionError:\n    pass\n",
    "lambda case": CASE + "    test_b = lambda self: self.assertEqual(add(3, 4), 7)\n",
}
RAISES_RIGHT = "def add(a, b):\n    if a < 0:\n        raise ValueError(a)\n    return a + b"

# name: (row, program, fair share)
ATTACKS = {f"{name} (R4 M1), half": ({"test_code": code}, HALF, 0.5) for name, code in INDIRECT.items()}
ATTACKS |= {f"{name} (R4 M1), wrong": ({"test_code": code}, WRONG, 0.0) for name, code in ONLY_INDIRECT.items()}
ATTACKS |= {f"{name} (R4 M2), half": ({"test_code": code}, HALF, 0.5) for name, code in SWALLOWED.items()}
ATTACKS |= {f"{name} (R4 M2), wrong": ({"test_code": code}, WRONG, 0.0) for name, code in SWALLOWED.items()}
ATTACKS |= {
    "attribute of a module's module (R4 M1)": (
        {"test_code": FIRST + "import re\nassert re.enum.sys.modules['solution'].add(3, 4) == 7\n"}, HALF, 0.5),
    "stall, then a case catches the program's absence (R4 code_diff)": (
        {"test_code": CASE + "    def test_b(self):\n        try:\n            self.assertEqual(add(3, 4), 7)\n"
                             "        except Exception:\n            pass\n"},
        "def add(a, b):\n    if a == 2:\n        return 4\n    while True:\n        pass", 0.5),
    "exit, then the test code catches the program's absence (R4 code_diff)": (
        {"test_code": FIRST + "for a, b in ((3, 4), (1, 1)):\n    try:\n        assert add(a, b) == a + b\n"
                              "    except Exception:\n        pass\n"},
        "import os\ndef add(a, b):\n    if a == 2:\n        return 4\n    os._exit(0)", 0.0),
    "program dunder through a pure module (R4 M1)": (
        {"test_code": FIRST + "import math\nassert math.__dict__ is not None and add(3, 4) == 7\n"}, HALF, 0.5),
}
CONTROLS = {f"{name} (R4 M1), right": ({"test_code": code}, RIGHT, 1.0) for name, code in {**INDIRECT, **ONLY_INDIRECT}.items()}
CONTROLS |= {f"{name} (R4 M2), right": ({"test_code": code}, RAISES_RIGHT, 1.0) for name, code in SWALLOWED.items()}
CONTROLS |= {
    "pure asserts still dropped (R4 M1)": (
        {"test_code": "import math\nfrom os.path import join\nassert True\nassert math.sqrt(4) == 2\n"
                      "assert join('a', 'b') == 'a/b'\nassert collections.Counter('ab') == {'a': 1, 'b': 1}\n" + FIRST
                      + "assert add(3, 4) == 7\n"}, HALF, 0.5),
    "a caught exception of the program's is no failure (R4 M2)": (
        {"test_code": CASE + "    def test_b(self):\n        try:\n            add(-1, 0)\n        except ValueError:\n"
                             "            pass\n        self.assertEqual(add(3, 4), 7)\n"}, RAISES_RIGHT, 1.0),
    "assertRaises that holds (R4 M2)": (
        {"test_code": CASE + "    def test_b(self):\n        with self.assertRaises(ValueError):\n            add(-1, 0)\n"},
        RAISES_RIGHT, 1.0),
    "os._exit(0) ends the row's test code (R4 minor)": (
        {"test_code": "import os\n" + FIRST + "assert add(3, 4) == 7\nos._exit(0)\n"}, RIGHT, 1.0),
    "os._exit(0) before a check (R4 minor)": (
        {"test_code": "import os\n" + FIRST + "if add(3, 4) != 7:\n    os._exit(0)\nassert add(3, 4) == 7\n"}, HALF, 0.5),
    "typing names for class Solution (call-based, R4 minor)": (
        {"fn_name": "twoSum", "inputs": [[[2, 7, 11], 9], [[3, 3], 6]], "outputs": [[0, 1], [0, 1]]},
        "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> Optional[List[int]]:\n"
        "        seen: Dict[int, int] = {}\n        for i, n in enumerate(nums):\n            if target - n in seen:\n"
        "                return [seen[target - n], i]\n            seen[n] = i\n", 1.0),
    "typing names (assert, R4 minor)": (
        {"test_code": "assert first([3, 4]) == 3\n"}, "def first(xs: List[int]) -> Optional[int]:\n    return xs[0]", 1.0),
}


@pytest.fixture(scope="module", params=MODES)
def scored(request):
    rows = list(ATTACKS.items()) + list(CONTROLS.items())
    box = Runner(request.param)
    scores = box.score([fenced(program) for _, (_, program, _) in rows], [row for _, (row, _, _) in rows], wall_seconds=2)
    return dict(zip([name for name, _ in rows], scores))


def test_no_leftovers(scored, clean_host):  # noqa: F811 - the batch ran before; this checks the host after it
    assert scored


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_not_paid_above_its_fair_share(scored, name):
    fair, score = ATTACKS[name][2], scored[name]
    assert score is not None and score <= fair + 1e-9, (name, score, fair)


@pytest.mark.parametrize("name", list(CONTROLS))
def test_control_is_paid_its_share(scored, name):
    assert scored[name] == pytest.approx(CONTROLS[name][2]), (name, scored[name])


@pytest.mark.parametrize("text", ["~~~python\nprint(1)\n~~~", "~~~\nprint(1)\n~~~\n", "Here:\n~~~~py\nprint(1)\n~~~~"])
def test_tilde_fences_hold_code(text):
    """Round 4, minor: ``~~~`` fences are code blocks (CommonMark), closed only by tildes."""
    from grpo_ext.rewards.code import extract_code
    assert extract_code(text) == "print(1)\n"


def test_fence_characters_do_not_mix():
    from grpo_ext.rewards.code import extract_code
    assert extract_code("~~~python\nx = 1\n```\nprint(x)\n~~~") == "x = 1\n```\nprint(x)\n"
    assert extract_code("```python\nprint(2)\n~~~") is None  # a ~~~ line does not close a ``` block


def test_the_sandbox_has_no_numpy(clean_host):  # noqa: F811
    """Documented limit (docs/code.md): the sandbox's Python has the standard library only."""
    row = {"test_code": "assert f() == 6\n"}
    got = Runner("root").score([fenced("import numpy as np\ndef f():\n    return int(np.arange(4).sum())")], [row])
    assert got == [0.0]


def test_a_stalled_call_is_logged_as_a_timeout(clean_host):  # noqa: F811
    """Round 4, minor: a call-based case that stalls is a `timeout` (it was logged `wrong_answer`, as the
    harness read its worker's end-of-thread sentinel before holding it); the score is the cases before it."""
    from grpo_ext.rewards.code import CodeExecution
    row = {"fn_name": "f", "inputs": [[1], [2], [3]], "outputs": [1, 2, 3]}
    programs = ["def f(x):\n    if x == 2:\n        while True:\n            pass\n    return x",
                "import time\ndef f(x):\n    if x == 2:\n        time.sleep(60)\n    return x",
                "def f(x):\n    return x if x != 2 else 0", "def f(x):\n    return x"]
    reward = CodeExecution(wall_seconds=1)
    got = reward(completions=[fenced(p) for p in programs], verification_info=[row] * len(programs))
    assert got == pytest.approx([1 / 3, 1 / 3, 2 / 3, 1.0])
    assert reward.last_outcomes == ["timeout", "timeout", "wrong_answer", "passed"]
