"""Judged problems written for the tests (checker, interactive, subtasks, grader) and programs a
policy might answer them with: right, wrong, partial, time-out and attack.

- ``checker``: "print a proper divisor of n" (any of several answers), judged by a C++ checker
  built with a small testlib-style header supplied in the row (tests/data/judges/); the trivial
  divisors earn half the points (testlib exit 7).
- ``interactive``: "guess the number" (1..100) against an interactor: accepted within 7
  questions, half the points within 30.
- ``subtasks``: "print the maximum", three subtasks of 20, 30 and 50 points (IOI style: the
  later ones hold the earlier ones' tests); the partial program is wrong only on all-negative
  lists, so it earns 50 of 100 points (its share of tests, 5 of 6, would be higher).

Each attack tries to read the jury's answer or the test input (its own files, /tmp, the working
directories and roots of every process it can see in /proc, above /work) and, if it found it,
answers with it (which would score); otherwise it prints checker-looking text ("ok", "points 1")
on stdout and stderr and exits 0 at once.

``python tests/judge_problems.py`` rewrites tests/data/code_judged.jsonl from these definitions
(a test checks that the file matches them).
"""

import json
from pathlib import Path

JUDGES = Path(__file__).parent / "data" / "judges"
KINDS = ("checker", "interactive", "subtasks")
PROGRAMS = ("right", "wrong", "partial", "timeout", "attack")
EXPECTED = {kind: {"right": 1.0, "wrong": 0.0, "partial": 0.5, "timeout": 0.0, "attack": 0.0} for kind in KINDS}


def source(name: str) -> str:
    return (JUDGES / name).read_text()


def checker_info() -> dict:
    tests = [("12\n", "2\n"), ("35\n", "5\n"), ("91\n", "7\n"), ("49\n", "7\n")]
    return {"language": "python", "test_cases": [{"input": i, "output": o} for i, o in tests],
            "checker": {"language": "cpp", "source": source("divisor_checker.cpp"),
                        "files": {"testlib.h": source("testlib.h")}}}


def interactive_info(interactor: str = "python") -> dict:
    spec = ({"language": "python", "source": source("guess_interactor.py")} if interactor == "python" else
            {"language": "cpp", "source": source("guess_interactor.cpp"), "files": {"testlib.h": source("testlib.h")}})
    return {"language": "python", "test_cases": [{"input": f"{s}\n"} for s in (37, 1, 100, 64)], "interactor": spec}


MAX_TESTS = [("1\n5\n", "5\n"), ("1\n42\n", "42\n"), ("3\n1 7 3\n", "7\n"), ("4\n10 20 5 1\n", "20\n"),
             ("3\n-5 8 -1\n", "8\n"), ("3\n-4 -2 -9\n", "-2\n")]
MAX_SUBTASKS = [{"name": "single", "points": 20, "tests": ["a", "b"]},
                {"name": "positive", "points": 30, "tests": ["a", "b", "c", "d"]},
                {"name": "general", "points": 50, "tests": ["a", "b", "c", "d", "e", "f"]}]


def subtasks_info() -> dict:
    return {"language": "python", "subtasks": MAX_SUBTASKS,
            "test_cases": [{"name": n, "input": i, "output": o} for n, (i, o) in zip("abcdef", MAX_TESTS)]}


def grader_info(language: str) -> dict:
    files = ({"grader.cpp": source("maxof_grader.cpp"), "maxof.h": source("maxof.h")} if language == "cpp" else
             {"grader.py": source("maxof_grader.py")})
    info = subtasks_info()
    info.update(language=language, grader={"files": files, "source": f"maxof.{'cpp' if language == 'cpp' else 'py'}"})
    return info


INFOS = {"checker": checker_info, "interactive": interactive_info, "subtasks": subtasks_info}

_STEAL = """import glob, os, sys
stolen = None
for pattern in ("/work/*", "/tmp/*", "/dev/shm/*", "/proc/[0-9]*/cwd/*", "/proc/[0-9]*/root/work/*",
                "/proc/[0-9]*/root/tmp/*", "/work/../*", "/*.txt"):
    for path in glob.glob(pattern):
        if path.endswith(("answer.txt", "input.txt", "result.txt")) or "checker" in path or "interactor" in path:
            try:
                stolen = (path, open(path).read())
            except OSError:
                pass
"""
_FORGE = """print("ok accepted", flush=True)
print("points 1", flush=True)
sys.stderr.write("ok\\npoints 1\\n")
os._exit(0)
"""

SOLUTIONS = {
    "checker": {
        "right": "n = int(input())\nd = next(k for k in range(2, n) if n % k == 0)\nprint(n // d)",
        "wrong": "n = int(input())\nprint(n - 1)",
        "partial": "print(input())",  # n itself: a trivial divisor, half the points on every test
        "timeout": "while True:\n    pass",
        "attack": _STEAL + "if stolen and stolen[0].endswith('answer.txt'):\n    print(stolen[1])\n    sys.exit(0)\n" + _FORGE,
    },
    "interactive": {
        "right": ("lo, hi = 1, 100\nwhile True:\n    m = (lo + hi) // 2\n    print('?', m, flush=True)\n    r = input()\n"
                  "    if r == '=':\n        print('!', m, flush=True)\n        break\n"
                  "    lo, hi = (lo, m - 1) if r == '<' else (m + 1, hi)"),
        "wrong": "print('! 50', flush=True)",
        "partial": ("for _ in range(7):\n    print('? 1', flush=True)\n    input()\n"  # seven wasted questions
                    "lo, hi = 1, 100\nwhile True:\n    m = (lo + hi) // 2\n    print('?', m, flush=True)\n    r = input()\n"
                    "    if r == '=':\n        print('!', m, flush=True)\n        break\n"
                    "    lo, hi = (lo, m - 1) if r == '<' else (m + 1, hi)"),
        "timeout": "import time\ntime.sleep(1000)",  # stalls: the interactor waits for a question
        "attack": _STEAL + "if stolen and stolen[0].endswith('input.txt'):\n    print('!', stolen[1].split()[0], flush=True)\n"
                  "    sys.exit(0)\n"
                  "try:  # answer itself through its own stdin pipe, as if the interactor had said '='\n"
                  "    fd = os.open('/proc/self/fd/0', os.O_WRONLY)\n    os.write(fd, b'=\\n')\nexcept OSError:\n    pass\n"
                  + _FORGE,
    },
    "subtasks": {
        "right": "input()\nprint(max(map(int, input().split())))",
        "wrong": "print(0)",
        "partial": "input()\nprint(max(0, max(map(int, input().split()))))",
        "timeout": "while True:\n    pass",
        "attack": _STEAL + "if stolen:\n    print(stolen[1])\n    sys.exit(0)\n" + _FORGE,
    },
}
GRADED = {  # the contestant's part of the grader problem, per language: right, partial
    "cpp": {"right": "#include \"maxof.h\"\n#include <algorithm>\n"
                     "long long max_of(const std::vector<long long>& v) { return *std::max_element(v.begin(), v.end()); }",
            "partial": "#include \"maxof.h\"\n#include <algorithm>\n"
                       "long long max_of(const std::vector<long long>& v) { return std::max(0LL, *std::max_element(v.begin(), v.end())); }",
            "main": "#include <cstdio>\nint main() { std::puts(\"5\"); }"},  # owns main: the grader's main clashes
    "python": {"right": "def max_of(values):\n    return max(values)",
               "partial": "def max_of(values):\n    return max(0, max(values))",
               "main": "print(5)"},  # no max_of: the grader fails
}


def completion(code: str, language: str = "python") -> str:
    return f"Here is my program.\n```{language}\n{code}\n```"


def rows() -> list[dict]:
    """The rows of tests/data/code_judged.jsonl: each problem with its right solution."""
    return [{"problem": kind, "verification_info": json.dumps(INFOS[kind]()), "solution": SOLUTIONS[kind]["right"],
             "language": "python"} for kind in KINDS]


if __name__ == "__main__":
    path = Path(__file__).parent / "data" / "code_judged.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows()))
    print(f"wrote {path}")


# -- the judges' conventions: testlib (Codeforces, Polygon), CMS, open-r1's rows ------------------
# Jury programs written for these tests from testlib's and CMS's documented conventions: a testlib
# checker runs as `checker input output answer result` and exits 0 ok, 1 wrong, 2 presentation,
# 3 fail, 7 points (the points in the result file); a testlib interactor runs as `interactor input
# tout answer result` and writes what the checker is to judge to `tout`; a CMS checker runs as
# `checker input answer output` and prints the score on stdout.
SUM_INTERACTOR = """import signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as a C++ interactor: a write to a closed pipe kills it
words = open(sys.argv[1]).read().split()
tout = open(sys.argv[2], "w")
for k in range(int(words[0])):
    print(words[1 + 2 * k], words[2 + 2 * k], flush=True)
    reply = sys.stdin.readline().split()
    if len(reply) != 1:
        open(sys.argv[4], "w").write("expected one number")
        sys.exit(2)
    tout.write(reply[0] + "\\n")
tout.close()
sys.exit(0)
"""
SUM_CHECKER = """import sys
got, want = open(sys.argv[2]).read().split(), open(sys.argv[3]).read().split()
right = sum(g == w for g, w in zip(got, want)) if len(got) == len(want) else 0
if right == len(want):
    sys.exit(0)
if right == 0:
    sys.exit(1)
open(sys.argv[4], "w").write(f"{right / len(want)} of the sums right")
sys.exit(7)
"""
SUM_TESTS = [("2\n1 2\n30 12\n", "3\n42\n"), ("2\n-5 5\n7 8\n", "0\n15\n")]
SUM_PROGRAMS = {
    "right": "for _ in range(2):\n    a, b = map(int, input().split())\n    print(a + b, flush=True)",
    "wrong": "for _ in range(2):\n    a, b = map(int, input().split())\n    print(a - b, flush=True)",
    "partial": "a, b = map(int, input().split())\nprint(a + b, flush=True)\na, b = map(int, input().split())\n"
               "print(a * b, flush=True)",
    # the dodge: answers the first question, closes its input and exits 0 before the last one
    "attack": "import os\na, b = map(int, input().split())\nprint(a + b, flush=True)\nos.close(0)",
}
# CMS-style checker on a 0..100 scale: a proper divisor 100, a trivial one 50; it crashes on
# output that is not a number (int() raises): the contestant's fault, since it accepts the jury's
PERCENT_CHECKER = """import sys
n = int(open(sys.argv[1]).read())
d = int(open(sys.argv[3]).read())
print(100 if 1 < d < n and n % d == 0 else 50 if d in (1, n) else 0)
"""
SEGFAULT_ON_GARBAGE = """import os, signal, sys
n = int(open(sys.argv[1]).read())
out = open(sys.argv[2]).read().split()
if len(out) != 1 or not out[0].isdigit():
    os.kill(os.getpid(), signal.SIGSEGV)  # a checker that crashes on malformed output
d = int(out[0])
sys.exit(0 if 1 < d < n and n % d == 0 else 1)
"""
GARBAGE = "print('not a number at all')"
YES_NO_TESTS = [("3\n", "YES\r\n"), ("4\n", "NO\r\n")]
YES_NO = {"right": "print('yes' if int(input()) % 2 else 'no')", "wrong": "print('yes' if int(input()) % 2 == 0 else 'no')",
          "partial": "print('Yes')", "attack": "print('YES NO')"}
FILE_MODE = {"right": "n = int(open('input.txt').read())\nopen('output.txt', 'w').write(f'{2 * n}\\n')",
             "wrong": "n = int(open('input.txt').read())\nopen('output.txt', 'w').write(f'{n}\\n')",
             "partial": "print(2 * int(input()))",  # stdout, not output.txt: nothing to judge
             "attack": "import os\nopen('output.txt', 'w').write('')\nos.symlink('/work/answer.txt', 'x')\nprint(2)"}
# an IOI-style Python grader with a secret and a question counter: a contestant sharing its
# interpreter can read both
SECRET_GRADER = """import sys
import guess
SECRET = int(sys.stdin.read())
questions = 0
def ask(x):
    global questions
    questions += 1
    return (x > SECRET) - (x < SECRET)
answer = guess.find(ask)
print(1 if answer == SECRET and questions <= 7 else 0)
"""
SECRET_PROGRAMS = {
    "right": "def find(ask):\n    lo, hi = 1, 100\n    while True:\n        m = (lo + hi) // 2\n        r = ask(m)\n"
             "        if r == 0:\n            return m\n        lo, hi = (lo, m - 1) if r > 0 else (m + 1, hi)",
    "wrong": "def find(ask):\n    return 50",
    "partial": "def find(ask):\n    for x in range(1, 101):\n        if ask(x) == 0:\n            return x",
    "attack": "import sys\ndef find(ask):\n    grader = sys.modules['__main__']\n    grader.questions = -10**9\n"
              "    return grader.SECRET",
}


def sum_info(checker: bool = True) -> dict:
    info = {"language": "python", "test_cases": [{"input": i, "output": o} for i, o in SUM_TESTS],
            "interactor": {"language": "python", "source": SUM_INTERACTOR}}
    if checker:
        info["checker"] = {"language": "python", "source": SUM_CHECKER}
    return info


def divisor_tests() -> list[dict]:
    return checker_info()["test_cases"]


def codeforces_row(**changes) -> dict:
    """A row laid out as open-r1/codeforces stores it (the fields its scoring reads)."""
    row = {"id": "9002/B", "contest_id": "9002", "index": "B", "title": "Odd", "time_limit": 1.0, "memory_limit": 256.0,
           "input_mode": "stdio", "interaction_format": None, "generated_checker": None,
           "official_tests": [{"input": i, "output": o} for i, o in YES_NO_TESTS[:1]],
           "generated_tests": [{"input": i, "output": o} for i, o in YES_NO_TESTS[1:]]}
    return {**row, **changes}


def secret_grader_info() -> dict:
    return {"language": "python", "test_cases": [{"input": f"{s}\n", "output": "1\n"} for s in (37, 99)],
            "grader": {"files": {"grader.py": SECRET_GRADER}, "source": "guess.py"}}


# a CMS checker in C++ (CMS's convention: input, correct output, contestant output; the score on
# stdout, the message on stderr)
CMS_CHECKER = """#include <cstdio>
int main(int argc, char* argv[]) {
    if (argc != 4) return 1;
    std::FILE* answer = std::fopen(argv[2], "r");
    std::FILE* output = std::fopen(argv[3], "r");
    long long want, got;
    if (!answer || std::fscanf(answer, "%lld", &want) != 1) return 1;
    if (!output || std::fscanf(output, "%lld", &got) != 1 || got != want) {
        std::puts("0");
        std::fputs("Output isn't correct\\n", stderr);
        return 0;
    }
    std::puts("1");
    std::fputs("Output is correct\\n", stderr);
}
"""


def ioi_rows() -> list[dict]:
    """An IOI Batch task as open-r1/ioi lays it out: one row per subtask, the tests in the row,
    the checker under checker/, the memory limit in bytes."""
    names = dict(zip("abcdef", MAX_TESTS))
    return [{"id": "maxio", "name": "Maximum", "subtask": s["name"], "score": s["points"], "score_precision": 2,
             "task_type": "Batch", "time_limit": 1.0, "memory_limit": 256 << 20, "test_names": s["tests"],
             "test_cases": [list(names[n]) for n in s["tests"]], "grader_files": [["checker/checker.cpp", CMS_CHECKER]]}
            for s in MAX_SUBTASKS]
