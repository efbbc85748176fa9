"""Judged code problems scored in the sandbox as root and as an unprivileged user: the tables kind x
program and case x program, and the attacks on the jury's side. Each kind of jury has its own
file beside this one: test_code_judges_checkers.py, _interactors.py, _graders.py, _rows.py."""

import pytest

from grpo_ext.rewards.code import CodeExecution, sandbox
from grpo_ext.rewards.code.judge_datasets import from_codeforces, from_ioi
from tests import grader_problems as gp
from tests import judge_problems as jp
from tests.judge_problems import (EXPECTED, INFOS, KINDS, PROGRAMS, SOLUTIONS, completion, interactive_info,
                                  subtasks_info)
from tests.sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture

if not sandbox.namespaces_available():
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)


@pytest.fixture(params=MODES)
def box(request, clean_host):  # noqa: F811
    return Runner(request.param)


@pytest.mark.parametrize("kind", KINDS)
def test_kind_by_program_scores(box, kind):
    """The table: right 1, wrong 0, partial 0.5 (checker points, interactor points, subtask
    points), time-out 0, attack 0, as root and rootless."""
    scores = box.score([completion(SOLUTIONS[kind][p]) for p in PROGRAMS], [INFOS[kind]()] * len(PROGRAMS),
                       wall_seconds=2)
    got = dict(zip(PROGRAMS, scores))
    print(f"\n{box.mode:8s} {kind:11s}" + "".join(f" {p}={s:g}" for p, s in got.items()))
    assert got == EXPECTED[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_every_hack_of_the_code_reward_scores_zero_when_judged(box, kind):
    """The attacks tests/test_code_reward.py makes on the plain code reward (early exits with
    status 0, signal and exit hooks, killing itself or its parent, printed passes, forged reports
    on every descriptor and in files, reading every file it can reach, patched builtins), each run
    before the wrong program of each judged kind."""
    from test_code_reward import HACKS

    programs = [completion(hack + "\n" + SOLUTIONS[kind]["wrong"]) for hack in HACKS.values()]
    scores = box.score(programs, [INFOS[kind]()] * len(HACKS), wall_seconds=3, concurrency=2)
    assert dict(zip(HACKS, scores)) == dict.fromkeys(HACKS, 0.0)


def test_outcomes_of_the_table_are_counted():
    seen = {}
    reward = CodeExecution(wall_seconds=2)
    reward(completions=[completion(SOLUTIONS["interactive"][p]) for p in PROGRAMS] + ["no code"],
           verification_info=[interactive_info()] * (len(PROGRAMS) + 1),
           log_metric=lambda name, value: seen.__setitem__(name, value))
    assert reward.last_outcomes == ["passed", "wrong_answer", "wrong_answer", "timeout", "wrong_answer", "no_code"]
    assert seen["code/passed"] == 1 / 6 and seen["code/timeout"] == 1 / 6 and seen["code/judge_error"] == 0.0


def test_subtasks_score_points_not_the_share_of_tests():
    partial = completion(SOLUTIONS["subtasks"]["partial"])
    reward = CodeExecution(wall_seconds=2)
    plain = {k: v for k, v in subtasks_info().items() if k != "subtasks"}  # the same tests, no subtasks
    assert reward(completions=[partial, partial], verification_info=[subtasks_info(), plain]) == [0.5, 5 / 6]
    binary = CodeExecution(wall_seconds=2, binary=True)
    assert binary(completions=[partial, completion(SOLUTIONS["subtasks"]["right"])],
                  verification_info=[subtasks_info()] * 2) == [0.0, 1.0]


# -- attacks on the jury's side ----------------------------------------------------------------
def test_the_attacks_would_score_if_the_jury_files_were_reachable():
    """Control: each attack, run with the file it looks for beside it, prints what would pass."""
    python = sandbox.default_python()
    checker = sandbox.run({"main.py": SOLUTIONS["checker"]["attack"], "answer.txt": "6\n"}, [python, "main.py"])
    assert checker.stdout.strip() == "6"
    interactive = sandbox.run({"main.py": SOLUTIONS["interactive"]["attack"], "input.txt": "37\n"}, [python, "main.py"])
    assert interactive.stdout.strip() == "! 37"


def test_forged_result_files_and_verdict_text_do_not_score():
    """The contestant writes what a checker's result file or an interactor's verdict would hold,
    in every place it can write, and prints it; the jury's programs run elsewhere."""
    forge = ("import os\nfor place in ('/work', '/tmp', '/dev/shm'):\n    for name in ('result.txt', 'output.txt', 'answer.txt'):\n"
             "        open(f'{place}/{name}', 'w').write('points 1\\n')\nprint('points 1')\nos._exit(0)")
    reward = CodeExecution(wall_seconds=2)
    infos = [INFOS[kind]() for kind in KINDS]
    assert reward(completions=[completion(forge)] * 3, verification_info=infos) == [0.0, 0.0, 0.0]


# -- the judges' conventions: the table case x program ------------------------------------------
HEADER = jp.JUDGES / "testlib.h"  # the tests' own small header with testlib's names (not testlib.h)


def _cases() -> dict:
    """case -> (rows, {program: completion}, reward params, {program: expected score})."""
    divisor = jp.divisor_tests()
    testlib_checker = {"language": "python", "test_cases": divisor,
                       "checker": {"language": "cpp", "source": jp.source("divisor_checker.cpp")}}  # header: the setting
    percent = {"language": "python", "test_cases": divisor,
               "checker": {"language": "python", "source": jp.PERCENT_CHECKER, "protocol": "cms", "points_max": 100}}
    checker_programs = {p: SOLUTIONS["checker"][p] for p in ("right", "wrong", "partial")} | {"attack": jp.GARBAGE}
    sums = {p: jp.SUM_PROGRAMS[p] for p in ("right", "wrong", "partial", "attack")}
    file_row = from_codeforces(jp.codeforces_row(input_mode="file", official_tests=[{"input": "21\n", "output": "42\n"}],
                                                 generated_tests=[{"input": "5\n", "output": "10\n"}]), 0, "python")
    generated = from_codeforces(jp.codeforces_row(generated_checker=jp.PERCENT_CHECKER, checker_points_max=100,
                                                  official_tests=divisor, generated_tests=[]), 0, "python")
    segv = {"language": "python", "test_cases": divisor, "checker": {"language": "python", "source": jp.SEGFAULT_ON_GARBAGE}}
    return {
        "testlib checker (C++, testlib.h from the setting)": (testlib_checker, checker_programs, {"testlib": str(HEADER)},
                                                               {"right": 1.0, "wrong": 0.0, "partial": 0.5, "attack": 0.0}),
        "points checker (CMS, 0..100, crashes on garbage)": (percent, checker_programs, {},
                                                             {"right": 1.0, "wrong": 0.0, "partial": 0.5, "attack": 0.0}),
        "checker that segfaults on garbage (testlib)": (segv, checker_programs, {},
                                                        {"right": 1.0, "wrong": 0.0, "partial": 0.0, "attack": 0.0}),
        "interactor alone (relays answers to tout)": (jp.sum_info(checker=False), sums, {},
                                                     {"right": 1.0, "wrong": 0.0, "partial": 0.0, "attack": 0.0}),
        "interactor + checker (Codeforces)": (jp.sum_info(), sums, {},
                                             {"right": 1.0, "wrong": 0.0, "partial": 0.5, "attack": 0.0}),
        "CF row without checker (official + generated tests)": (from_codeforces(jp.codeforces_row(), 0, "python"),
                                                                jp.YES_NO, {},
                                                                {"right": 1.0, "wrong": 0.0, "partial": 0.5, "attack": 0.0}),
        "CF generated checker (0..100 named by the row)": (generated, checker_programs, {},
                                                           {"right": 1.0, "wrong": 0.0, "partial": 0.5, "attack": 0.0}),
        "CF file-mode row": (file_row, jp.FILE_MODE, {}, {"right": 1.0, "wrong": 0.0, "partial": 0.0, "attack": 0.0}),
        "IOI rows: subtasks 20/30/50, CMS checker in C++": (from_ioi(jp.ioi_rows(), language="python")[0],
                                                            {p: SOLUTIONS["subtasks"][p] for p in ("right", "wrong", "partial")}
                                                            | {"attack": jp.GARBAGE}, {},
                                                            {"right": 1.0, "wrong": 0.0, "partial": 0.5, "attack": 0.0}),
        "Python grader: find the secret, subtasks 30/70": (gp.info(), {**gp.PROGRAMS, "attack": gp.ATTACKS["grader globals"]},
                                                            {}, {"right": 1.0, "wrong": 0.0, "partial": 0.3, "attack": 0.0}),
        "Python grader, large tests only (resets the counter)": (gp.info(gp.LARGE, subtasks=False),
                                                                 {**gp.PROGRAMS, "attack": gp.ATTACKS["reset the counter"]}, {},
                                                                 {"right": 1.0, "wrong": 0.0, "partial": 0.0, "attack": 0.0}),
        "C++ grader (stubs from guess.h), subtasks 30/70": (gp.cpp_info(), {**gp.CPP_PROGRAMS,
                                                                              "attack": gp.CPP_ATTACKS["grader globals"]},
                                                             {}, {"right": 1.0, "wrong": 0.0, "partial": 0.3, "attack": 0.0}),
        "Python grader lending ask (reads __main__)": (jp.secret_grader_info(), jp.SECRET_PROGRAMS, {},
                                                      {"right": 1.0, "wrong": 0.0, "partial": 0.0, "attack": 0.0}),
    }


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
def test_case_by_program(box, case):
    """The closing table: each case's right, wrong, partial and attack programs, root and rootless."""
    info, programs, params, expected = CASES[case]
    language = info.get("language", "python")
    scores = box.score([completion(code, language) for code in programs.values()], [info] * len(programs), wall_seconds=3,
                       **params)
    got = dict(zip(programs, scores))
    print(f"\n{box.mode:8s} {case:52s}" + "".join(f" {p}={s}" for p, s in got.items()))
    assert got == expected


