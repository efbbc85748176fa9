"""Grader problems written for the tests (IOI style: the grader owns main, the contestant writes a
function) and the programs a policy might answer them with.

"Find the secret" (1..n): the grader ``grader.py`` reads ``n secret`` from its input and calls
the contestant's ``find(n)`` in ``guess.py``; the contestant asks ``grader.ask(x)`` (-1: the secret
is larger, 0: found, 1: smaller), at most ``LIMIT`` = 20 questions (the 21st ends the run with
"too many questions"); the grader prints ``OK`` when ``find`` returns the secret, which is the
jury's answer. Subtask ``small`` (n = 10, 30 points) lets a linear search through, ``large``
(n = 1000, 70 points) needs a binary search (at most 10 questions). So: binary search 1.0,
linear search 0.3 (the small subtask's points), on the large tests alone 0.

Each attack would score if the contestant shared the grader's interpreter, as IOI's Python
graders are run (``test_the_grader_attacks_would_score_in_a_shared_interpreter`` shows it); it
reads the secret (the grader's globals, ``__main__``, every object the garbage collector holds,
the grader's stdin and files through /proc), resets the question counter, prints a forged
verdict, exits early or closes its pipes.
"""

LIMIT = 20
GRADER = """import sys
import guess
N, SECRET = map(int, sys.stdin.read().split())
questions = 0
def ask(x):
    global questions
    questions += 1
    if questions > %d:
        print("too many questions")
        sys.exit(0)
    return (x > SECRET) - (x < SECRET)
def _reset():
    global questions
    questions = 0
answer = guess.find(N)
print("OK" if answer == SECRET else "WRONG %%r" %% (answer,))
""" % LIMIT
SMALL, LARGE = [(10, 7), (10, 10)], [(1000, 777), (1000, 21)]
SUBTASKS = [{"name": "small", "points": 30, "tests": [0, 1]}, {"name": "large", "points": 70, "tests": [2, 3]}]


def info(tests=SMALL + LARGE, subtasks=True) -> dict:
    row = {"language": "python", "test_cases": [{"input": f"{n} {s}\n", "output": "OK\n"} for n, s in tests],
           "grader": {"files": {"grader.py": GRADER}, "source": "guess.py"}}
    if subtasks:
        row["subtasks"] = SUBTASKS
    return row


BINARY = """from grader import ask
def find(n):
    lo, hi = 1, n
    while True:
        m = (lo + hi) // 2
        r = ask(m)
        if r == 0:
            return m
        lo, hi = (lo, m - 1) if r > 0 else (m + 1, hi)
"""
PROGRAMS = {
    "right": BINARY,
    "wrong": "import grader\ndef find(n):\n    grader.ask(1)\n    return n // 2",
    "partial": "import grader\ndef find(n):\n    for x in range(1, n + 1):\n        if grader.ask(x) == 0:\n"
               "            return x",
}
# the grader's module wherever it is: the proxy module here, __main__ in a shared interpreter
_G = "import sys\ndef grader():\n    return sys.modules.get('grader') or sys.modules['__main__']\n"
ATTACKS = {
    "grader globals": _G + "def find(n):\n    for where in (grader(), sys.modules.get('__main__')):\n"
                           "        value = getattr(where, 'SECRET', None)\n        if type(value) is int:\n"
                           "            return value\n    return n // 2",
    "every object in memory": "import gc\ndef find(n):\n    for o in gc.get_objects():\n"
                              "        if type(o) is dict and type(o.get('SECRET')) is int and 'ask' in o:\n"
                              "            return o['SECRET']\n    return n // 2",
    "stdin and files via /proc": "import glob\ndef find(n):\n    for path in glob.glob('/proc/[0-9]*/fd/*') + "
                                 "glob.glob('/proc/[0-9]*/cwd/*') + glob.glob('/work/*') + glob.glob('/tmp/*'):\n"
                                 "        try:\n            words = open(path).read().split()\n"
                                 "        except (OSError, ValueError):\n            continue\n"
                                 "        if len(words) == 2 and words[0] == str(n):\n            return int(words[1])\n"
                                 "    return n // 2",
    "reset the counter": _G + "def find(n):\n    g = grader()\n    for x in range(1, n + 1):\n"
                              "        for reset in (lambda: setattr(g, 'questions', 0), lambda: g._reset(),\n"
                              "                      lambda: g.ask.__globals__.__setitem__('questions', 0)):\n"
                              "            try:\n                reset()\n            except Exception:\n"
                              "                pass\n        if g.ask(x) == 0:\n            return x",
    "forged verdict": "import sys\ndef find(n):\n    print('OK', flush=True)\n    sys.stderr.write('OK\\n')\n"
                      "    return n // 2",
    "exit early": _G + "import os\ndef find(n):\n    grader().ask(1)\n    print('OK', flush=True)\n    os._exit(0)",
    "close the pipes": "import os\ndef find(n):\n    print('OK', flush=True)\n    os.closerange(3, 256)\n    return 1",
    "forged message": "import os\ndef find(n):\n    for fd in range(3, 64):\n        try:\n"
                      "            os.write(fd, b'{\"op\": \"ret\", \"r\": {\"h\": 0}}\\n')\n"
                      "        except OSError:\n            pass\n    return n // 2",
    "return the grader's function": _G + "def find(n):\n    return grader().ask",
}
SHARED_PAYS = ("grader globals", "every object in memory", "stdin and files via /proc", "reset the counter")


def shared_interpreter_files(contestant: str) -> dict:
    """The problem laid out as IOI runs a Python grader: one folder, one interpreter."""
    return {"grader.py": GRADER, "guess.py": contestant}


# the same task with a C++ grader (IOI's usual layout: guess.h declares both sides' functions)
CPP_HEADER = "#pragma once\nint ask(int x);\nint find(int n);\n"
CPP_GRADER = """#include <cstdio>
#include <cstdlib>
#include "guess.h"
int N, SECRET, questions = 0;  // globals: a contestant linked into this binary could name them
int ask(int x) {
    if (++questions > %d) { std::puts("too many questions"); std::exit(0); }
    return (x > SECRET) - (x < SECRET);
}
int main() {
    if (std::scanf("%%d %%d", &N, &SECRET) != 2) return 1;
    int answer = find(N);
    std::printf(answer == SECRET ? "OK\\n" : "WRONG %%d\\n", answer);
}
""" % LIMIT


def cpp_info(tests=SMALL + LARGE, subtasks=True) -> dict:
    row = info(tests, subtasks)
    row.update(language="cpp", grader={"files": {"grader.cpp": CPP_GRADER, "guess.h": CPP_HEADER}, "source": "guess.cpp"})
    return row


CPP_PROGRAMS = {
    "right": "#include \"guess.h\"\nint find(int n) { int lo = 1, hi = n;\n  while (true) { int m = (lo + hi) / 2, r = ask(m);\n"
             "    if (r == 0) return m; if (r > 0) hi = m - 1; else lo = m + 1; } }",
    "wrong": "#include \"guess.h\"\nint find(int n) { ask(1); return n / 2; }",
    "partial": "#include \"guess.h\"\nint find(int n) { for (int x = 1; x <= n; ++x) if (ask(x) == 0) return x; return 0; }",
}
CPP_ATTACKS = {
    "grader globals": "#include \"guess.h\"\nextern int SECRET, questions;\nint find(int n) { questions = 0; return SECRET; }",
    "forged verdict, exit early": "#include <cstdio>\n#include <cstdlib>\n#include \"guess.h\"\n"
                                  "int find(int n) { ask(1); std::puts(\"OK\"); std::fflush(stdout); std::exit(0); }",
    "close the pipes": "#include <unistd.h>\n#include \"guess.h\"\nint find(int n) { for (int fd = 3; fd < 64; ++fd) close(fd); return 1; }",
    "forged answer before the call": "#include <unistd.h>\n#include \"guess.h\"\n"
                                     "static int forged = write(41, \"R 5\\n\", 4);  // before main: an answer nobody asked\n"
                                     "int find(int n) { return n / 2; }",
    "another process's memory": "#include <cstdio>\n#include <cstring>\n#include \"guess.h\"\n"
                                "int find(int n) { char path[64]; for (int pid = 1; pid < 4096; ++pid) {\n"
                                "  std::snprintf(path, sizeof path, \"/proc/%d/fd/0\", pid); FILE* f = std::fopen(path, \"r\");\n"
                                "  int a, b; if (f && std::fscanf(f, \"%d %d\", &a, &b) == 2 && a == n) return b; if (f) std::fclose(f); }\n"
                                "  return n / 2; }",
}
