"""Graders (IOI style: the grader owns main, the contestant writes functions): the grader and the
contestant run in two sandboxed interpreters joined by pipes that carry calls and plain values,
as root and rootless; the attacks a shared interpreter would pay; whose fault a failure is."""

import logging
import re

import pytest

from grpo_ext.rewards.code import CodeExecution, sandbox
from grpo_ext.rewards.code.judge_rows import parse_problem
from grpo_ext.rewards.code.rows import RowFormatError
from tests import grader_problems as gp
from tests import judge_problems as jp
from tests.judge_problems import GRADED, completion, grader_info
from tests.sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture

if not sandbox.namespaces_available():
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)


@pytest.fixture(params=MODES)
def box(request, clean_host):  # noqa: F811
    return Runner(request.param)


def test_a_python_grader_scores_by_program(box):
    """Binary search 1.0; a wrong answer 0; a linear search passes the small subtask only (30 of
    100 points) and nothing on the large tests alone; the grader that lends its ``ask`` (passed
    as an argument, asked back across the boundary) scores the same way."""
    programs = [gp.PROGRAMS[p] for p in ("right", "wrong", "partial")]
    large = gp.info(gp.LARGE, subtasks=False)
    lent = [jp.SECRET_PROGRAMS[p] for p in ("right", "wrong", "partial")]
    scores = box.score([completion(c) for c in programs + programs[::2] + lent],
                       [gp.info()] * 3 + [large] * 2 + [jp.secret_grader_info()] * 3, wall_seconds=3)
    assert scores == [1.0, 0.0, 0.3, 1.0, 0.0, 1.0, 0.0, 0.0]


def test_the_grader_attacks_score_zero(box):
    """Each attack (tests/grader_problems.py) on the large tests, beside the right program, which
    is paid: the grader's secret, counter and output are out of the contestant's reach."""
    programs = {"right": gp.PROGRAMS["right"], **gp.ATTACKS, "shared-interpreter attack": jp.SECRET_PROGRAMS["attack"]}
    infos = [gp.info(gp.LARGE, subtasks=False)] * (len(programs) - 1) + [jp.secret_grader_info()]
    scores = box.score([completion(c) for c in programs.values()], infos, wall_seconds=3)
    assert dict(zip(programs, scores)) == {"right": 1.0} | dict.fromkeys(list(programs)[1:], 0.0)


@pytest.mark.parametrize("attack", gp.SHARED_PAYS)
def test_the_grader_attacks_would_score_in_a_shared_interpreter(attack):
    """Control: the grader and the attack in one interpreter, as IOI runs Python graders: the
    grader prints OK for a secret the attack never searched for (777 of 1000: a linear search
    would need 777 questions, 20 are allowed)."""
    python = sandbox.default_python()
    files = {**gp.shared_interpreter_files(gp.ATTACKS[attack]), "input.txt": "1000 777\n"}
    result = sandbox.run(files, ["/bin/bash", "-c", f"{python} -E -s grader.py < input.txt"], limits=sandbox.Limits(wall_seconds=10))
    assert result.stdout == "OK\n", result.stderr[-500:]


GRADER_FAULT = "import guess\nraise ValueError('the grader is broken')"
CRASHES_ON_A_STRING = "import sys\nimport guess\nn, s = map(int, sys.stdin.read().split())\nprint('OK' if guess.find(n) + 0 == s else 'NO')"


@pytest.mark.parametrize("grader, program, score, outcome", [
    (GRADER_FAULT, gp.PROGRAMS["right"], None, "judge_error"),  # fails before calling the contestant: the jury's fault
    (CRASHES_ON_A_STRING, "def find(n):\n    return 'x'", 0.0, "runtime_error"),  # after its answer: the contestant's
    (gp.GRADER, "def find(n):\n    raise KeyError(n)", 0.0, "runtime_error"),
    (gp.GRADER, "raise SystemExit('at import')", 0.0, "runtime_error"),
    (gp.GRADER, "def search(n):\n    return 1", 0.0, "runtime_error"),  # no find
    (gp.GRADER, "def find(n):\n    while True:\n        pass", 0.0, "timeout"),  # CPU limit or wall clock: one verdict
    (gp.GRADER, "def find(n):\n    return [10 ** 9] * 500000", 0.0, "runtime_error"),  # over the wire's size
    (gp.GRADER, "def find(n:\n    return 1", 0.0, "compile_error"),
], ids=["grader fails first", "grader fails on the answer", "find raises", "exit at import", "no find", "stalls",
        "answer over 4 MiB", "syntax error"])
def test_whose_fault_a_failed_grader_run_is(grader, program, score, outcome):
    info = dict(gp.info(gp.SMALL[:1], subtasks=False), grader={"files": {"grader.py": grader}, "source": "guess.py"})
    reward = CodeExecution(wall_seconds=2)
    assert reward(completions=[completion(program)], verification_info=[info]) == [score]
    assert reward.last_outcomes == [outcome]


def test_the_contestant_calls_only_the_graders_own_public_functions():
    """It may call ``ask`` (defined by the grader); not ``_reset``, not what the grader imported
    (``sys.exit``, ``os.system``), not a variable; what it may not call raises in its own code."""
    probe = ("import grader\ndef find(n):\n    seen = []\n"
             "    for name in ('_reset', 'system', 'exit', 'SECRET', 'questions', 'ask'):\n"
             "        try:\n            getattr(grader, name)(1)\n            seen.append(name)\n"
             "        except Exception as err:\n            seen.append(type(err).__name__)\n"
             "    return 7 if seen == ['AttributeError'] * 5 + ['ask'] else 0")
    grader = gp.GRADER.replace("import sys\n", "import sys\nfrom os import system\nfrom sys import exit\n")
    info = dict(gp.info(gp.SMALL[:1], subtasks=False), grader={"files": {"grader.py": grader}, "source": "guess.py"})
    reward = CodeExecution(wall_seconds=3)
    assert reward(completions=[completion(probe)], verification_info=[info]) == [1.0]


def test_grader_rows_name_their_faults():
    info = gp.info(gp.SMALL[:1], subtasks=False)
    for files, source, message in ((({"grader.py": gp.GRADER, "_wire.py": ""}), "guess.py", r"\['_wire.py'\] are the judge's own"),
                                   ({"grader.py": gp.GRADER}, "grader.py", r"already hold 'grader.py'"),
                                   ({"grader.py": gp.GRADER}, "graders_peer.py", r"are the judge's own")):
        with pytest.raises(RowFormatError, match=r"row 2: .*" + message):
            parse_problem(dict(info, grader={"files": files, "source": source}), 2)


def test_the_maxof_graders_in_both_languages():
    """IOI's "maxof" (tests/data/judges/): the contestant's max_of called by a C++ and a Python grader;
    a program that brings its own main clashes with the stub's (C++: does not link) or has no
    max_of (Python): 0."""
    reward = CodeExecution(wall_seconds=3)
    for language in ("cpp", "python"):
        programs = [completion(GRADED[language][k], language) for k in ("right", "partial", "main")]
        assert reward(completions=programs, verification_info=[grader_info(language)] * 3) == [1.0, 0.5, 0.0]


def test_a_cpp_grader_scores_by_program(box):
    """The same task with a C++ grader, run apart through the stubs generated from guess.h:
    binary search 1.0, wrong 0, linear search 0.3 (small subtask), 0 on the large tests alone."""
    programs = [gp.CPP_PROGRAMS[p] for p in ("right", "wrong", "partial")]
    large = gp.cpp_info(gp.LARGE, subtasks=False)
    scores = box.score([completion(c, "cpp") for c in programs + programs[::2]], [gp.cpp_info()] * 3 + [large] * 2,
                       wall_seconds=5)
    assert scores == [1.0, 0.0, 0.3, 1.0, 0.0]


def test_the_cpp_grader_attacks_score_zero(box):
    programs = {"right": gp.CPP_PROGRAMS["right"], **gp.CPP_ATTACKS}
    scores = box.score([completion(c, "cpp") for c in programs.values()],
                       [gp.cpp_info(gp.LARGE, subtasks=False)] * len(programs), wall_seconds=5)
    assert dict(zip(programs, scores)) == {"right": 1.0} | dict.fromkeys(gp.CPP_ATTACKS, 0.0)


def test_the_cpp_attack_would_score_linked_into_the_graders_binary():
    """Control: compiled the way IOI's compile.sh builds a task (one binary), the attack that
    names the grader's globals reads the secret and resets the counter."""
    files = {"grader.cpp": gp.CPP_GRADER, "guess.h": gp.CPP_HEADER, "guess.cpp": gp.CPP_ATTACKS["grader globals"],
             "input.txt": "1000 777\n"}
    result = sandbox.run(files, ["/bin/bash", "-c", "g++ -O2 -o main grader.cpp guess.cpp && ./main < input.txt"],
                         limits=sandbox.Limits(wall_seconds=60, processes=64, memory_bytes=8 << 30),
                         read_only=("/usr",))
    assert result.stdout == "OK\n", result.stderr[-500:]


@pytest.mark.parametrize("header, message", [
    ("int ask(int x);\nint find(int n);\n", "the grader defines every function"),
    ("struct Point { int x; };\nPoint find(int n);\n", "the type 'Point' cannot cross"),
    ("int find(int* n);\n", r"the type 'int\*' cannot cross"),
])
def test_a_cpp_grader_the_stub_cannot_serve_scores_none_with_the_reason(header, message, caplog):
    grader = gp.CPP_GRADER if "defines" not in message else gp.CPP_GRADER + "int find(int n) { return 1; }\n"
    info = dict(gp.cpp_info(gp.SMALL[:1], subtasks=False), grader={"files": {"grader.cpp": grader, "guess.h": header},
                                                                    "source": "guess.cpp"})
    reward = CodeExecution(wall_seconds=3)
    with caplog.at_level(logging.WARNING):
        assert reward(completions=[completion(gp.CPP_PROGRAMS["right"], "cpp")], verification_info=[info]) == [None]
    assert reward.last_outcomes == ["judge_error"] and re.search(message, caplog.text)
