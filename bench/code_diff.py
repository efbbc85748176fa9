"""Differential run of the code reward against a plain reference scorer (the oracle), by row shape.

The oracle applies docs/code.md's "Verdicts" with no adversary in mind: the program and the test
code in one plain interpreter (``exec``) in a throwaway subprocess, asserts run statement by
statement, the real ``unittest`` loader and runner, values compared by its own short rule. The
generator writes rows of the real shapes (single, and-joined, chained, abs, check(candidate),
a loop, unittest, subTest, setUpClass, call-based, stdin lines/tokens) for a few tasks, and for each
row the right program and its mutants (off by one, wrong constant, early exception, stall, float for
int, container subclass, huge values, huge output, odd unicode). Every program gets a score from
the reward and from the oracle; the table counts agreements and disagreements by row shape and lists
the disagreements. Trusted code only runs outside the sandbox here: the programs are ours.

    python bench/code_diff.py                          # this checkout (root)
    python bench/code_diff.py --tree /tmp/before       # the reward of another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(ROOT)
sys.path[:0] = [TREE, str(ROOT / "bench")]
sys.set_int_max_str_digits(0)

from code_diff_oracle import ORACLE  # noqa: E402

WALL = 2.0  # seconds: the program's budget (a loaded machine must not turn a right program into a timeout)
# task: (function, right body, cases [(args, expected value, expected as Python text)])
TASKS = {
    "add": ("add", "return a + b", ["a", "b"], [((1, 2), 3, "3"), ((10**20, 5), 10**20 + 5, "10**20 + 5"),
                                                ((-3, 3), 0, "0")]),
    "mean": ("mean", "return sum(xs) / len(xs)", ["xs"], [(([1, 2],), 1.5, "1.5"), (([1, 2, 3, 4],), 2.5, "2.5"),
                                                           (([0.1, 0.2],), (0.1 + 0.2) / 2, repr((0.1 + 0.2) / 2))]),
    "count": ("count", "out = {}\n    for c in s:\n        out[c] = out.get(c, 0) + 1\n    return out", ["s"],
              [(("abca",), {"a": 2, "b": 1, "c": 1}, "{'a': 2, 'b': 1, 'c': 1}"), (("",), {}, "{}"),
               (("zz",), {"z": 2}, "{'z': 2}")]),
    "power": ("power", "return a ** b", ["a", "b"], [((7, 6000), 7**6000, "7 ** 6000"), ((2, 10), 1024, "1024"),
                                                     ((3, 3), 27, "27")]),
    "rev": ("rev", "return s[::-1]", ["s"], [(("abc",), "cba", "'cba'"), (("h\u00e9llo",), "oll\u00e9h", "'oll\\u00e9h'"),
                                             (("a\u0301b",), "b\u0301a", "'b\\u0301a'")]),
}
MUTANTS = {
    "right": "r",
    "off by one": "_off(r)",
    "wrong constant": "42",
    "early exception": "_raise() if _n[0] > 1 else r",
    "stall": "_stall() if _n[0] > 1 else r",
    "float for int": "float(r) if type(r) is int else r",
    "container subclass": "_sub(r)",
    "huge value": "r * 10 ** 5000 if type(r) is int else r",
    "odd unicode": "r + '\\u202e' if type(r) is str else r",
}
HELPERS = '''
import collections
_n = [0]
def _off(r):
    if isinstance(r, (int, float)):
        return r + 1
    return r + "x" if isinstance(r, str) else {**r, "k": 1}
def _raise():
    raise ValueError("early")
def _stall():
    while True:
        pass
class _S(str):
    pass
class _I(int):
    pass
def _sub(r):
    if type(r) is dict:
        return collections.Counter(r)
    if type(r) is str:
        return _S(r)
    return _I(r) if type(r) is int else r
'''


INDIRECT = ("__import__('solution').", "sys.modules['solution'].", "importlib.import_module('solution').")  # to the program


def program(task: str, mutant: str, stdin: bool = False) -> str:
    fn, body, params, _ = TASKS[task]
    text = HELPERS + f"def _right({', '.join(params)}):\n    {body}\n" + (
        f"def {fn}(*args):\n    _n[0] += 1\n    r = _right(*args)\n    return {MUTANTS[mutant]}\n")
    if mutant == "odd unicode":
        text = "# \u00fc\u00e9 \u202e \ud800\n" + text  # a lone surrogate: no UTF-8 text, so no program
    if stdin:
        text += (f"import sys, json\nsys.set_int_max_str_digits(0)\nfor line in sys.stdin:\n"
                 f"    print({fn}(*json.loads(line)))\n")
    return text


def _call(fn, args):
    return f"{fn}({', '.join(map(repr, args))})"


def rows(task: str) -> dict[str, tuple[dict, int]]:
    """Row shape -> (verification_info, checks the specification counts)."""
    fn, _, _, cases = TASKS[task]
    number = all(isinstance(v, (int, float)) for _, v, _ in cases)
    calls = [(_call(fn, a), e) for a, _, e in cases]
    out = {
        "single": ("".join(f"assert {c} == {e}\n" for c, e in calls), len(cases)),
        "and-joined": ("".join(f"assert {c} == {e} and {c} is not None\n" for c, e in calls), len(cases)),
        "chained": ("".join(f"assert {e} == {c} == {e}\n" for c, e in calls), len(cases)),
        "loop": (f"CASES = [{', '.join(f'({a!r}, {e})' for a, _, e in cases)}]\nfor a, e in CASES:\n"
                 f"    assert {fn}(*a) == e\n", 1),
        "unittest": ("import unittest\nclass T(unittest.TestCase):\n" + "".join(
            f"    def test_{i}(self):\n        self.assertEqual({c}, {e})\n" for i, (c, e) in enumerate(calls)), len(cases)),
        "subTest": ("import unittest\nclass T(unittest.TestCase):\n    def test_all(self):\n" + "".join(
            f"        with self.subTest(i={i}):\n            self.assertEqual({c}, {e})\n" for i, (c, e) in enumerate(calls))
            + f"    def test_first(self):\n        self.assertEqual({calls[0][0]}, {calls[0][1]})\n", 2),
        "setUpClass": ("import unittest\nclass B(unittest.TestCase):\n    def test_first(self):\n"
                       f"        self.assertEqual({calls[0][0]}, {calls[0][1]})\nclass A(unittest.TestCase):\n"
                       f"    @classmethod\n    def setUpClass(cls):\n        cls.v = {calls[1][0]}\n"
                       f"    def test_a(self):\n        self.assertEqual(self.v, {calls[1][1]})\n"
                       f"    def test_b(self):\n        self.assertEqual({calls[2][0]}, {calls[2][1]})\n", 3),
    }
    first = calls[0]
    out["import solution"] = ("import solution\n" + "".join(f"assert solution.{c} == {e}\n" for c, e in calls), len(cases))
    out["fixed asserts"] = ("import math\nassert len('abc') == 3\nassert math.sqrt(4) == 2\n"
                            + "".join(f"assert {c} == {e}\n" for c, e in calls), len(cases))
    out["unittest, a case without assertion"] = (
        "import unittest\nclass T(unittest.TestCase):\n    def test_runs(self):\n        " + first[0] + "\n"
        "    def test_nothing(self):\n        pass\n" + "".join(
            f"    def test_{i}(self):\n        self.assertEqual({c}, {e})\n" for i, (c, e) in enumerate(calls)),
        len(cases) + 1)  # blind round 5: a case with a call counts (it passes when the call does not raise)
    out["unittest, class under an if"] = (
        f"import unittest\nif {first[0]} == {first[1]}:\n    class T(unittest.TestCase):\n" + "".join(
            f"        def test_{i}(self):\n            self.assertEqual({c}, {e})\n" for i, (c, e) in enumerate(calls)),
        len(cases))
    out["indirect asserts"] = ("import sys, importlib\n" + "".join(  # blind round 4, M1: each is a check of the program
        f"assert {reach}{c} == {e}\n" for reach, (c, e) in zip(INDIRECT, calls)), len(INDIRECT))
    out["indirect eval"] = ("".join(f"assert eval({c!r}) == {e}\n" for c, e in calls), len(cases))
    out["unittest, swallowed assertions"] = (  # blind round 4, M2: a failure caught by the case still fails it
        "import unittest\nclass T(unittest.TestCase):\n" + "".join(
            f"    def test_{i}(self):\n        try:\n            self.assertEqual({c}, {e})\n"
            f"        except {'AssertionError' if i % 2 else 'Exception'}:\n            pass\n"
            for i, (c, e) in enumerate(calls)), len(cases))
    out["stop after the last assert"] = (  # round 3, F1: a raise after the asserts is one more check, failed
        "".join(f"assert {c} == {e}\n" for c, e in calls[:-1]) + f"if {calls[-1][0]} != {calls[-1][1]}:\n"
        "    raise AssertionError('last')\n", len(cases) - 1)
    out["helper through an alias"] = (  # blind round 5, F1: one check
        f"def _h(c):\n" + "".join(f"    assert c({', '.join(map(repr, a))}) == {e}\n" for a, _, e in cases)
        + f"assert {first[0]} == {first[1]}\nrun = _h\nrun({fn})\n", 1)
    text = "".join(f"assert {c} == {e}\n" for c, e in calls)
    out["exec through an alias"] = (f"run = exec\nrun({text!r})\n", 1)  # blind round 5, F5: one check
    out["unittest, assertion through an alias"] = (  # blind round 5, F3: each case a check
        "import unittest\nclass T(unittest.TestCase):\n" + "".join(
            f"    def test_{i}(self):\n        eq = self.assertEqual\n        eq({c}, {e})\n" for i, (c, e) in enumerate(calls)),
        len(cases))
    out["unittest, assertion in setUp only"] = (  # blind round 5, F6: the case is a check
        f"import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n        self.assertEqual({first[0]}, {first[1]})\n"
        "    def test_x(self):\n        pass\n", 1)
    out = {shape: ({"test_code": code}, n) for shape, (code, n) in out.items()}
    if number:
        out["abs"] = ({"test_code": "".join(f"assert abs({c} - ({e})) < 1e-9\n" for c, e in calls)}, len(cases))
    check = "def check(candidate):\n" + "".join(f"    assert candidate({', '.join(map(repr, a))}) == {e}\n"
                                                  for a, _, e in cases)
    out["check(candidate)"] = ({"test_code": check, "entry_point": fn}, len(cases))
    out["call-based"] = ({"fn_name": fn, "inputs": [list(a) for a, _, _ in cases], "outputs": [v for _, v, _ in cases]},
                         len(cases))
    if task in ("add", "power", "rev"):
        for compare in ("lines", "tokens"):
            out[f"stdin {compare}"] = ({"test_cases": [{"input": json.dumps(list(a)) + "\n", "output": f"{v}\n"}
                                                       for a, v, _ in cases], "compare": compare}, len(cases))
    return out


def generate():
    cases = []
    for task in TASKS:
        for shape, (row, checks) in rows(task).items():
            for mutant in MUTANTS:
                if mutant == "huge value" and task != "add":
                    continue
                cases.append((task, shape, mutant, row, checks, program(task, mutant, stdin=shape.startswith("stdin"))))
    cases += [("lines", f"stdin {c}", m, {"test_cases": [{"input": "", "output": "".join(f"{i}\n" for i in range(30000))}],
                                         "compare": c}, 1,
               f"print('\\n'.join(str(i) for i in range({30000 if m == 'right' else 29999})))")
              for c in ("lines", "tokens") for m in ("right", "off by one")]  # huge output: 169 KiB
    return cases + rule_cases()


WHITESPACE = {  # programs printing "1 2\n3\n" or near it (ASCII whitespace, trailing blank lines)
    "right": "print('1 2\\n3')",
    "trailing blank lines": "print('1 2\\n3\\n\\n \\t\\n')",
    "no-break space": "print('1\\u00a02\\n3')",
    "no-break space ending a line": "print('1 2\\u00a0\\n3')",
    "tab between tokens": "print('1\\t2\\n3')",
    "blank line inside": "print('1 2\\n\\n3')",
}
FENCES = {  # completions of the add task, fenced in the ways docs/code.md rules on
    "backticks inside a line": "```python\ndef add(a, b):\n    s = '```'\n    return a + b\n```",
    "two blocks, the last right": "```python\ndef add(a, b):\n    return 0\n```\n```python\ndef add(a, b):\n    return a + b\n```",
    "two blocks, the last wrong": "```python\ndef add(a, b):\n    return a + b\n```\n```python\ndef add(a, b):\n    return 0\n```",
    "a block never closed": "```python\ndef add(a, b):\n    return a + b\n",
    "a fence inside a line": "Here: ```python\ndef add(a, b):\n    return a + b\n```",
    "a longer fence holds a shorter": "````python\ndef add(a, b):\n    '''\n```\n'''\n    return a + b\n````",
    "another language's block last": "```python\ndef add(a, b):\n    return a + b\n```\n```bash\necho 3\n```",
}
MALFORMED = {  # rows no program can be scored on: None for every program
    "test code not Python": {"test_code": "def (:\n"},
    "unequal inputs and outputs": {"fn_name": "add", "inputs": [[1, 2], [2, 2]], "outputs": [3]},
    "unknown checker": {"test_cases": [{"input": "", "output": "3\n"}], "checker": {"builtin": "nope"}},
    "no check (assert True)": {"test_code": "assert True\nassert len('ab') == 2\n"},
}


def rule_cases():
    """The rules built after the first table: whitespace, fences, malformed rows (extra fields:
    the completion when it is not the program fenced, whether the row is malformed)."""
    out = []
    for mutant, code in WHITESPACE.items():
        for mode in ("lines", "tokens", "checker tokens", "checker lines"):
            row = {"test_cases": [{"input": "", "output": "1 2\n3\n"}]}
            row.update({"compare": mode} if " " not in mode else {"checker": {"builtin": mode.split()[1]}})
            out.append(("print", f"whitespace {mode}", mutant, row, 1, code))
    single = {"test_code": "assert add(1, 2) == 3\nassert add(-3, 3) == 0\n"}
    for mutant, text in FENCES.items():
        out.append(("add", "fences", mutant, single, 2, "", text))
    for mutant, row in MALFORMED.items():
        for program in ("def add(a, b):\n    return a + b", "def add(a, b):\n    return 0"):
            out.append(("add", "malformed rows", mutant, row, 1, program, None, True))
    return out


def oracle(row: dict, checks: int, code: str, completion: str | None = None, malformed: bool = False) -> float:
    """The reference score: the program and the row in one throwaway interpreter, by the specification."""
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:
        return 0.0  # cannot be written as a program: it does not compile
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp, "spec.pickle")
        spec.write_bytes(pickle.dumps({"row": row, "code": code, "wall": WALL, "completion": completion,
                                       "malformed": malformed}))
        try:
            proc = subprocess.run([sys.executable, "-c", ORACLE, str(spec)], capture_output=True, text=True,
                                  timeout=WALL * (checks + 4) if "test_cases" in row else WALL * 2 + 3, cwd=tmp)
            out = proc.stdout
        except subprocess.TimeoutExpired as err:
            out = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
    held = {line.split()[1] for line in out.splitlines() if line.startswith("P ")}
    if "NOCHECK" in out:
        return None
    return len(held) / (checks + ("STOP" in out.splitlines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="score with the reward of this checkout")
    parser.add_argument("--show", type=int, default=40, help="disagreements listed")
    args = parser.parse_args()
    from grpo_ext.rewards.code import CodeExecution

    cases = generate()
    reward = CodeExecution(wall_seconds=WALL, concurrency=2)
    fenced = [c[6] if len(c) > 6 and c[6] is not None else f"```python\n{c[5]}\n```" for c in cases]
    try:
        got = reward(completions=fenced, verification_info=[c[3] for c in cases])
    except Exception as err:  # noqa: BLE001 - an earlier version may raise on a program: score one at a time
        print(f"the batch raised {type(err).__name__}: {str(err)[:120]}; scoring one program at a time")
        got = []
        for text, c in zip(fenced, cases):
            try:
                got.append(reward(completions=[text], verification_info=[c[3]])[0])
            except Exception as one:  # noqa: BLE001
                got.append(f"raises {type(one).__name__}")
    with ThreadPoolExecutor(2) as pool:
        want = list(pool.map(lambda c: oracle(*c[3:]), cases))
    table, wrong = {}, []
    for c, g, w in zip(cases, got, want):
        same = (g is None and w is None) or (isinstance(g, float) and w is not None and abs(g - w) < 1e-9)
        counts = table.setdefault(c[1], Counter())
        counts["programs"] += 1
        counts["agree" if same else "disagree"] += 1
        if not same:
            wrong.append((c[1], c[0], c[2], g, w))
    print(f"\nreward from {TREE}; {len(cases)} programs\n")
    print("| row shape | programs | agree | disagree |")
    print("|---|---|---|---|")
    for shape, counts in table.items():
        print(f"| {shape} | {counts['programs']} | {counts['agree']} | {counts['disagree']} |")
    total = Counter()
    for counts in table.values():
        total.update(counts)
    print(f"| all | {total['programs']} | {total['agree']} | {total['disagree']} |")
    print("\n| row shape | task | mutant | reward | oracle |\n|---|---|---|---|---|")
    for shape, task, mutant, g, w in wrong[:args.show]:
        print(f"| {shape} | {task} | {mutant} | {_fmt(g)} | {_fmt(w)} |")


def _fmt(x) -> str:
    return "None" if x is None else x if isinstance(x, str) else f"{x:.3g}"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
