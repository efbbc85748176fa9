"""The code reward under attack: every way to get paid without solving must score 0, in each test
format; correct programs score 1 and partial ones their share, as root and rootless."""

import json
import secrets

import re

import pytest

from grpo_ext.rewards.code import _checks, sandbox
from grpo_ext.rewards.code import extract_code, outputs_match, parse_tests
from sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(not sandbox.namespaces_available(), reason="user namespaces unavailable")

# The task: secret(x) returns a value nobody can guess; it never enters the sandbox.
SECRET = "s-" + secrets.token_hex(8)
RIGHT = f"def secret(x):\n    return {SECRET!r} if x == 1 else 'other'"
WRONG = "def secret(x):\n    return 'nope'"
FORMATS = {
    "test_code": {"language": "python", "test_code": f"assert secret(1) == {SECRET!r}\nassert secret(2) == 'other'"},
    "call": {"language": "python", "fn_name": "secret", "inputs": [[1], [2]], "outputs": [SECRET, "other"]},
    "stdin": {"language": "python", "test_cases": [{"input": "1\n", "output": SECRET + "\n"}]},
}
MAIN = "\nif __name__ == '__main__':\n    print(secret(int(input())))\n"  # stdin/stdout entry point

# Each hack runs before (or inside) a wrong solution; with any of them a report of success would
# be a forgery. Each is written to win against a harness that trusts exit codes or output.
HACKS = {
    "sys.exit before the tests": "import sys\nsys.exit(0)\n",
    "os._exit before the tests": "import os\nos._exit(0)\n",
    "SystemExit from inside": "def secret(x):\n    raise SystemExit(0)\n",
    "atexit overrides the status": "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "excepthook exits 0": "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
    "signal handler exits 0": "import signal, os\nsignal.signal(signal.SIGUSR1, lambda *a: os._exit(0))\n"
                              "os.kill(os.getpid(), signal.SIGUSR1)\n",
    "kills itself": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "kills its parent": "import os, signal\nos.kill(os.getppid() or 1, signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\n",
    "prints a pass": "print('All tests passed\\nOK\\n{\"passed\": true}')\nimport os\nos._exit(0)\n",
    "fake results everywhere": (
        "import os\nfor fd in range(3, 64):\n    for line in (b'r 0 true', b'1 r 0 true', b'fin', b'end'):\n"
        "        try:\n            os.write(fd, b'0' * 64 + b' ' + line + b'\\n')\n        except OSError:\n            pass\n"
        "for name in ('result.json', 'report.txt', '/tmp/results'):\n    open(name, 'w').write('passed')\nos._exit(0)\n"),
    "reads the tests to find the answer": (
        "import os, re\nfound = []\nfor top in ('/work', '/tmp', '/proc/self', '/proc/1'):\n"
        "    for root, dirs, files in os.walk(top):\n        for name in files:\n            try:\n"
        "                found += re.findall(r's-[0-9a-f]{16}', open(os.path.join(root, name), errors='ignore').read(1 << 20))\n"
        "            except OSError:\n                pass\n        if top.startswith('/proc'):\n            break\n"
        "import sys\nfound = [f for f in found if f != 's-' + '0' * 16]\n"
        "def secret(x, _f=found):\n    return _f[-1] if _f else 'nope'\n"),
    "always-equal object": ("class Anything(str):\n    def __eq__(self, other):\n        return True\n"
                            "    def __ne__(self, other):\n        return False\n    __hash__ = str.__hash__\n"
                            "def secret(x):\n    return Anything('nope')\n"),
    "replaces builtins": ("import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 18\n"
                          "builtins.AssertionError = type('Never', (Exception,), {})\n"),
    "replaces harness functions": (
        "import sys, json\ndef secret(x):\n    f = sys._getframe()\n    while f is not None:\n"
        "        for name in ('encode', 'send', '_hmac', 'check', 'holds', 'same'):\n"
        "            if name in f.f_globals:\n                f.f_globals[name] = lambda *a, **k: '\"s-' + '0' * 16 + '\"'\n"
        "        f = f.f_back\n    json.dumps = lambda *a, **k: '\"s-' + '0' * 16 + '\"'\n    return 'nope'\n"),
}


def fenced(code: str) -> str:
    return f"Here is my solution:\n```python\n{code}\n```\n"


def hack_program(hack: str, fmt: str) -> str:
    return HACKS[hack] + "\n" + (WRONG if "def secret" not in HACKS[hack] else "") + (MAIN if fmt == "stdin" else "")


@pytest.fixture(params=MODES)
def box(request, clean_host):  # noqa: F811
    return Runner(request.param)


def test_controls_right_scores_one_and_wrong_zero(box):
    for fmt, info in FORMATS.items():
        right, wrong = fenced(RIGHT + (MAIN if fmt == "stdin" else "")), fenced(WRONG + (MAIN if fmt == "stdin" else ""))
        assert box.score([right, wrong], [info, info], wall_seconds=3) == [1.0, 0.0], fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_hack_scores_zero(box, fmt):
    completions = [fenced(hack_program(hack, fmt)) for hack in HACKS]
    scores = box.score(completions, [FORMATS[fmt]] * len(HACKS), wall_seconds=3, concurrency=2)
    assert dict(zip(HACKS, scores)) == dict.fromkeys(HACKS, 0.0)


def test_the_reading_hack_works_when_the_answer_is_reachable(clean_host):  # noqa: F811
    """Control for the reading hack: with the answer in a file the program can read, it scores."""
    leak = hack_program("reads the tests to find the answer", "stdin") + f"\n# {SECRET}\n"
    assert Runner("root").score([fenced(leak)], [FORMATS["stdin"]], wall_seconds=3) == [1.0]


def test_builtins_hack_loses_on_an_unsealed_assertion(clean_host):  # noqa: F811
    """Assertions are evaluated in the test code's own interpreter, whose builtins the program never reaches."""
    info = {"language": "python", "test_code": "assert isinstance(secret(1), int) and len(secret(1)) == 18"}
    honest = "def secret(x):\n    return 42"  # an int, but len(42) raises: fails honestly too
    hacked = hack_program("replaces builtins", "test_code")
    fn = Runner("root").score
    assert fn([fenced(hacked), fenced(honest)], [info, info], wall_seconds=3) == [0.0, 0.0]
    assert fn([fenced("def secret(x):\n    return 'a' * 18")], [{"language": "python", "test_code":
              "assert isinstance(secret(1), str) and len(secret(1)) == 18"}], wall_seconds=3) == [1.0]


# -- correctness ---------------------------------------------------------------------------------

ADD = "a, b = map(int, input().split())\nprint(a + b)"
IO = {"language": "python", "test_cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10"},
                                           {"input": "-1 1\n", "output": "0  \n\n"}]}


@pytest.mark.parametrize("code, share", [
    (ADD, 1.0),                                                   # all pass (trailing whitespace ignored)
    ("a, b = map(int, input().split())\nprint(a + b if a > 0 else 99)", 2 / 3),
    ("print('wrong')", 0.0),
    ("def broken(:\n    pass", 0.0),                              # syntax error
    ("a, b = map(int, input().split())\nprint(a + b)\nprint('extra')", 0.0),   # extra line
    ("a, b = map(int, input().split())\nprint(a, '+', b, '=', a + b)", 0.0),   # wrong format
    ("a, b = map(int, input().split())\nprint(a + b)\nraise SystemExit(1)", 0.0),  # right output, failed exit
])
def test_stdin_stdout_scoring(box, code, share):
    assert box.score([fenced(code)], [IO]) == [pytest.approx(share)]


CALL = {"language": "python", "fn_name": "mean", "inputs": [[[1, 2]], [[1, 2, 3, 4]], [[5]], [[0, 1]]],
        "outputs": [1.5, 2.5, 5.0, 0.5]}


@pytest.mark.parametrize("code, share", [
    ("def mean(xs):\n    return sum(xs) / len(xs)", 1.0),                 # 5.0 == 5: int and float compare as numbers
    ("def mean(xs):\n    return sum(xs) // len(xs)", 1 / 4),              # only [5] survives integer division
    ("class Solution:\n    def mean(self, xs):\n        return sum(xs) / len(xs)", 1.0),  # LeetCode style
    ("def mean(xs):\n    return (sum(xs) / len(xs),)", 0.0),              # a tuple is a list, not a number
    ("def mean(xs):\n    return str(sum(xs) / len(xs))", 0.0),            # '1.5' is not 1.5
    ("def mean(xs):\n    if len(xs) == 1:\n        while True: pass\n    return sum(xs) / len(xs)", 2 / 4),  # time-out at case 2
    ("def mean(xs):\n    return sum(xs) / len(xs) + 1e-12", 1.0),         # within 1e-9
    ("def average(xs):\n    return 0", 0.0),                               # wrong name
])
def test_call_based_scoring(box, code, share):
    assert box.score([fenced(code)], [CALL], wall_seconds=1) == [pytest.approx(share)]


def test_call_based_values_are_compared_strictly():
    same = _checks.same
    assert same(True, True) and not same(True, 1) and not same(1, True)
    assert same([1, [2.0, "a"]], [1, [2, "a"]]) and not same([1, 2], [1, 2, 3])
    assert not same(float("nan"), float("nan")) and same(0.1 + 0.2, 0.3) and not same(1.0, 1.001)
    assert same({"a": [1]}, {"a": [1.0]}) and not same({"a": 1}, {"b": 1}) and not same(None, 0)
    assert _checks.decode('{"__set__": [[1, 2], 3]}') == frozenset({(1, 2), 3})
    big = 3 ** 40 * 7 + 12345  # past 2**53: float(big) is rounded
    assert same(big, big) and same(5.0, 5) and not same(float(big), big) and not same(big + 1, big)
    assert not same(5.000000001, 5) and same(5, 5.0) and not same(float("inf"), 10**400)
    assert _checks.decode('{"__int__": "%x"}' % 10**5000) == 10**5000


TEST_CODE = {"language": "python", "test_code": (
    "def check(candidate):\n    assert candidate([3, 1, 2]) == [1, 2, 3]\n    assert candidate([]) == []\n"
    "    for xs in ([2, 1], [5, 4, 3]):\n        assert candidate(xs) == sorted(xs)\n"
    "    assert candidate([1]) is not None\n    assert 3 in candidate([3])\n    assert not candidate([])\n"
    "check(my_sort)\n")}


# check() holds an assert in a loop, so it is all or nothing (docs/code.md, "Verdicts"): one check,
# held only when every assert that ran held; the same asserts without the loop (FLAT) count one by one:
# [3,1,2] sorted, [] sorted, [2,1] sorted, [5,4,3] sorted, [1] is not None, 3 in [3], not [].
FLAT = {"language": "python", "test_code": TEST_CODE["test_code"].replace(
    "    for xs in ([2, 1], [5, 4, 3]):\n        assert candidate(xs) == sorted(xs)\n",
    "    assert candidate([2, 1]) == [1, 2]\n    assert candidate([5, 4, 3]) == [3, 4, 5]\n")}


@pytest.mark.parametrize("code, score, flat", [
    ("def my_sort(xs):\n    return sorted(xs)", 1.0, 1.0),
    ("def my_sort(xs):\n    return xs", 0.0, 4 / 7),                   # [], None, in, not
    ("def my_sort(xs):\n    return tuple(sorted(xs))", 0.0, 3 / 7),    # a tuple is not a list: None, in, not
    ("def my_sort(xs):\n    return sorted(xs, reverse=True)", 0.0, 4 / 7),
    ("def my_sort(xs):\n    raise ValueError", 0.0, 0.0),              # every check raises
    ("def my_sort(xs):\n    import time\n    time.sleep(60)", 0.0, 0.0),  # the first call spends the budget
])
def test_test_code_scoring(box, code, score, flat):
    assert box.score([fenced(code)] * 2, [TEST_CODE, FLAT], wall_seconds=2) == [score, pytest.approx(flat)]


def test_many_programs_in_parallel_in_order(clean_host):  # noqa: F811
    completions = [fenced(f"print({i})") for i in range(8)]
    infos = [{"language": "python", "test_cases": [{"input": "", "output": f"{i if i % 3 else -1}\n"}]} for i in range(8)]
    out = Runner("root").score(completions, infos, concurrency=4)
    assert out == [0.0 if i % 3 == 0 else 1.0 for i in range(8)]


def test_json_text_rows_and_no_code_block(clean_host):  # noqa: F811
    out = Runner("root").score([fenced(ADD), "no code here"], [json.dumps(IO), IO])
    assert out == [1.0, 0.0]


def test_binary_variant(clean_host):  # noqa: F811
    from grpo_ext import rewards

    partial = fenced("a, b = map(int, input().split())\nprint(a + b if a > 0 else 99)")
    assert rewards.get("code_execution_binary")(completions=[fenced(ADD), partial], verification_info=[IO, IO]) == [1.0, 0.0]


@pytest.mark.parametrize("info, message", [
    ("{not json", "row 1 is not valid JSON"),
    ({"language": "cobol", "test_code": "x"}, "row 1: language 'cobol' is not supported"),
    ({"language": "python"}, "row 1 needs exactly one of"),
    ({"language": "python", "test_cases": []}, "row 1: 'test_cases' must be a non-empty list"),
    ({"language": "python", "test_cases": [{"input": "1"}]}, "row 1: test case 0 needs text 'output'"),
    ({"language": "python", "test_code": "assert ("}, "row 1: 'test_code' is not valid Python"),
    ({"language": "python", "fn_name": "f", "inputs": [[1]], "outputs": []}, "row 1: call-based tests need"),
    ({"language": "python", "fn_name": "f", "inputs": [1], "outputs": [1]}, r"row 1: inputs\[0\] must be the list"),
    ({"language": "python", "fn_name": "not a name", "inputs": [[1]], "outputs": [1]}, "row 1: 'fn_name' must be"),
    (["a"], "row 1 must be a mapping"),
])
def test_malformed_rows_name_the_row(info, message, caplog, clean_host):  # noqa: F811
    """A malformed row scores None (a fault of the row), its reason logged with the row's number; the
    well-formed row beside it is still scored."""
    from grpo_ext import rewards

    fn = rewards.get("code_execution")
    with caplog.at_level("WARNING"):
        got = fn(completions=[fenced(ADD)] * 2, verification_info=[IO, info])
    assert got == [1.0, None]
    assert any(re.search(message.replace("(", r"\("), r.getMessage()) for r in caplog.records), message


def test_extract_code_takes_the_last_python_block():
    text = "```python\nfirst\n```\n```bash\nls\n```\n```py\nsecond\n```\n```\nthird\n```"
    assert extract_code(text) == "second\n"  # blind round 5, F7: a tagged block beats a later untagged one
    assert extract_code("```\nfirst\n```\n```bash\nls\n```\n```\nthird\n```") == "third\n"
    assert extract_code("```bash\nls\n```") is None


def test_outputs_match_rules():
    assert outputs_match("1\n2  \n", "1\n2")
    assert not outputs_match("1\n2\n3", "1\n2")
    assert not outputs_match("1", "1\n2")
    assert not outputs_match(" 1", "1")  # leading whitespace counts
    assert parse_tests({"test_cases": [{"output": "1"}]}, 0).cases == (("", "1"),)


def test_forged_report_for_an_unsealed_assertion_scores_zero(clean_host):  # noqa: F811
    """A report forged onto every descriptor the program has never reaches this process: the report
    comes from the test code's interpreter, over a pipe the program's sandbox is never given."""
    info = {"language": "python", "test_code": "assert secret(1) == secret(1) + 'x'"}  # can never hold
    forge = ("import os\nfd = int(os.environ.get('SANDBOX_CHANNEL_FD', '0')) or 3\n"
             "for fd in range(3, 32):\n    for i, line in enumerate((b'c 0 [\"a\",\"a\"]', b'fin', b'end'), start=1):\n"
             "        try:\n            os.write(fd, b'0' * 64 + b' ' + str(i).encode() + b' ' + line + b'\\n')\n"
             "        except OSError:\n            pass\nos._exit(0)\n" + WRONG)
    assert Runner("root").score([fenced(forge)], [info], wall_seconds=3) == [0.0]
