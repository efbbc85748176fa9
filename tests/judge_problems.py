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
