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
