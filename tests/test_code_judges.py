"""Judged code problems: checkers, interactors, subtasks and graders, scored in the sandbox as root
and as an unprivileged user, their row layouts, and the attacks on the jury's side."""

import ast
import json
import os
from pathlib import Path

import pytest

from grpo_ext.recipe_kit import data
from grpo_ext.rewards.code import CodeExecution, checkers, sandbox
from grpo_ext.rewards.code.judge import Judge, run_connected
from grpo_ext.rewards.code.judge_datasets import convert_dataset, from_codeforces, from_ioi, with_includes
from grpo_ext.rewards.code.judge_rows import is_judged, parse_problem
from grpo_ext.rewards.code.rows import RowFormatError
from tests import judge_problems as jp
from tests.judge_problems import (EXPECTED, GRADED, INFOS, KINDS, PROGRAMS, SOLUTIONS, completion, grader_info,
                                  interactive_info, rows, subtasks_info)
from tests.sandbox_modes import MODES, Runner, clean_host  # noqa: F401 - fixture

DATA = Path(__file__).parent / "data"

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


def test_a_cpp_interactor_and_a_cpp_contestant():
    reward = CodeExecution(wall_seconds=2)
    binary_search = ("#include <cstdio>\n#include <cstring>\nint main() { int lo = 1, hi = 100; char r[4];\n"
                     "  while (true) { int m = (lo + hi) / 2; std::printf(\"? %d\\n\", m); std::fflush(stdout);\n"
                     "    if (std::scanf(\"%3s\", r) != 1) return 1;\n"
                     "    if (!std::strcmp(r, \"=\")) { std::printf(\"! %d\\n\", m); return 0; }\n"
                     "    if (!std::strcmp(r, \"<\")) hi = m - 1; else lo = m + 1; } }")
    python = [completion(SOLUTIONS["interactive"][p]) for p in ("right", "partial", "wrong")]
    scores = reward(completions=[completion(binary_search, "cpp")] + python,
                    verification_info=[dict(interactive_info("cpp"), language="cpp")] + [interactive_info("cpp")] * 3)
    assert scores == [1.0, 1.0, 0.5, 0.0]


@pytest.mark.parametrize("language", ["cpp", "python"])
def test_grader_rows_score_none_until_the_grader_runs_apart(language):
    """IOI style: the contestant writes a function, the grader owns main. They would share one
    binary or interpreter, so every program, right or not, scores None (never paid)."""
    reward = CodeExecution(wall_seconds=3)
    programs = [completion(GRADED[language][k], language) for k in ("right", "partial", "main")]
    assert reward(completions=programs, verification_info=[grader_info(language)] * 3) == [None, None, None]
    assert reward.last_outcomes == ["judge_error"] * 3


def test_subtasks_score_points_not_the_share_of_tests():
    partial = completion(SOLUTIONS["subtasks"]["partial"])
    reward = CodeExecution(wall_seconds=2)
    plain = {k: v for k, v in subtasks_info().items() if k != "subtasks"}  # the same tests, no subtasks
    assert reward(completions=[partial, partial], verification_info=[subtasks_info(), plain]) == [0.5, 5 / 6]
    binary = CodeExecution(wall_seconds=2, binary=True)
    assert binary(completions=[partial, completion(SOLUTIONS["subtasks"]["right"])],
                  verification_info=[subtasks_info()] * 2) == [0.0, 1.0]


# -- verdicts and the checker library ------------------------------------------------------------
@pytest.mark.parametrize("status, stdout, stderr, result, score, outcome", [
    (0, "", "ok", "", 1.0, "passed"),
    (1, "", "wrong", "", 0.0, "wrong_answer"),
    (2, "", "", "", 0.0, "wrong_answer"),
    (4, "", "", "", 0.0, "wrong_answer"),
    (8, "", "", "", 0.0, "wrong_answer"),
    (3, "", "jury answer broken", "", None, "judge_error"),
    (7, "", "", "points 0.25 partly", 0.25, "partial"),  # the result file first
    (7, "0.75\n", "points 0.1", "", 0.75, "partial"),  # then stdout
    (7, "", "points 0.4 message", "", 0.4, "partial"),  # then stderr
    (7, "", "0 points", "", 0.0, "wrong_answer"),
    (7, "", "points 1", "", 1.0, "passed"),
    (7, "", "points 1.5", "", None, "judge_error"),  # outside [0, 1]
    (7, "", "points -0.5", "", None, "judge_error"),
    (7, "", "no number here", "", None, "judge_error"),
    (7, "", "points nan", "", None, "judge_error"),
    (None, "", "", "", None, "judge_error"),  # timed out
    (-9, "", "", "", None, "judge_error"),  # killed
    (16, "", "", "", None, "judge_error"),  # not a testlib code (its _pc(n) exits n, or 50 + n with TESTSYS)
])
def test_testlib_exit_codes(status, stdout, stderr, result, score, outcome):
    verdict = checkers.testlib_verdict(status, stdout, stderr, result)
    assert (verdict.score, verdict.outcome) == (score, outcome)


def test_points_scale_and_cms_verdicts():
    assert checkers.testlib_verdict(7, "", "points 30", "", points_max=100).score == 0.3
    assert checkers.testlib_verdict(7, "", "points 130", "", points_max=100).score is None
    cms = checkers.cms_verdict
    assert (cms(0, "1\n", "ok").score, cms(0, "0.5", "").outcome, cms(0, "0", "").outcome) == (1.0, "partial", "wrong_answer")
    assert cms(1, "1", "crash").score is None and cms(None, "", "").score is None
    assert cms(0, "", "").score is None and cms(0, "2", "").score is None and cms(0, "yes", "").score is None


def test_builtin_checkers():
    f = checkers.check_float
    assert f("0.3333333", "0.333333333") == 1.0 and f("0.334", "0.333333333") == 0.0
    assert f("1000000.5", "1000000") == 1.0  # relative: 1e-6 of a million is 1
    assert f("0.0000005", "0") == 1.0 and f("0.000002", "0") == 0.0  # absolute near zero
    assert f("0.01", "0", abs_tol=0.1) == 1.0 and f("1.05", "1", abs_tol=0, rel_tol=0.1) == 1.0
    assert f("nan", "1") == 0.0 and f("inf", "1") == 0.0 and f("1 2", "1") == 0.0
    assert f("case 1.0000001", "case 1") == 1.0 and f("Case 1", "case 1") == 0.0
    u = checkers.check_unordered
    assert u("3 1 2", "1 2 3") == 1.0 and u("1\n2\n3\n", "3 2 1") == 1.0
    assert u("1 1 2", "1 2 2") == 0.0 and u("1 2", "1 2 3") == 0.0
    y = checkers.check_yes_no
    assert y("YES\nno\nYes", "yes NO yes") == 1.0 and y("yes", "no") == 0.0 and y("Yes 5", "YES 5") == 1.0
    assert y("yes 5", "yes 6") == 0.0 and y("yess", "yes") == 0.0 and y("YES", "YES YES") == 0.0
    assert checkers.check_lines("1 2  \n3\n\n", "1 2\n3") == 1.0 and checkers.check_lines("1  2", "1 2") == 0.0
    assert checkers.check_tokens("1  2\n3", "1 2 3") == 1.0 and checkers.check_tokens("1 2", "1 2 3") == 0.0


def test_builtin_checkers_in_rows():
    reward = CodeExecution(wall_seconds=2)
    rows = [{"test_cases": [{"input": "3\n", "output": "YES\n"}, {"input": "4\n", "output": "NO\n"}],
             "checker": {"builtin": "yes_no"}},
            {"test_cases": [{"input": "3\n", "output": "1 2 3\n"}], "checker": {"builtin": "unordered"}},
            {"test_cases": [{"input": "3\n", "output": "0.333333\n"}], "checker": {"builtin": "float", "abs_tol": 1e-3}}]
    programs = ["print('yes' if int(input()) % 2 else 'no')", "print(*range(int(input()), 0, -1))", "print(0.3334)"]
    assert reward(completions=[completion(p) for p in programs], verification_info=rows) == [1.0, 1.0, 1.0]


# -- judge errors ------------------------------------------------------------------------------
FAILING_JURY = {
    "fail": "import sys\nsys.exit(3)",
    "signal": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",  # (a Python exception exits 1: testlib's WA)
    "hang": "while True:\n    pass",
    "bad points": "import sys\nprint('points 2')\nsys.exit(7)",
}


@pytest.mark.parametrize("name", list(FAILING_JURY))
def test_a_failing_checker_scores_none_and_is_counted(name):
    seen = {}
    reward = CodeExecution(wall_seconds=2, binary=name == "fail")
    reward._judge = Judge(reward.local, jury_seconds=2)  # the hanging checker gives up after 2 s
    info = {"test_cases": [{"input": "1\n", "output": "1\n"}],
            "checker": {"language": "python", "source": FAILING_JURY[name]}}
    scores = reward(completions=[completion("print(1)"), completion("print(2)")], verification_info=[info] * 2,
                    log_metric=lambda key, value: seen.__setitem__(key, value))
    assert scores == [None, None] and reward.last_outcomes == ["judge_error"] * 2
    assert seen["code/judge_error"] == 1.0 and reward.totals["judge_error"] == 2


def test_a_checker_that_does_not_compile_is_a_judge_error():
    reward = CodeExecution(wall_seconds=2)
    info = {"test_cases": [{"input": "1\n", "output": "1\n"}], "checker": {"language": "cpp", "source": "int main( {"}}
    assert reward(completions=[completion("print(1)")], verification_info=[info]) == [None]
    assert reward.last_outcomes == ["judge_error"]


def test_a_contestant_that_crashes_scores_zero_whatever_the_judge_says():
    reward = CodeExecution(wall_seconds=2)
    info = {"test_cases": [{"input": "1\n", "output": "1\n"}], "checker": {"language": "python", "source": "pass"}}
    crash = completion("print(1, flush=True)\nraise SystemExit(3)")  # the checker accepts everything
    assert reward(completions=[crash], verification_info=[info]) == [0.0]
    assert reward.last_outcomes == ["runtime_error"]


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


@pytest.mark.parametrize("kind", ["checker", "interactive"])
def test_flooding_scores_zero(kind):
    flood = {"checker": "import sys\nwhile True:\n    sys.stdout.write('1' * 65536)",
             "interactive": "while True:\n    print('? 1')"}[kind]  # never reads the interactor's replies
    reward = CodeExecution(wall_seconds=2)
    assert reward(completions=[completion(flood)], verification_info=[INFOS[kind]()]) == [0.0]


def test_an_interactive_contestant_sees_neither_the_interactor_nor_its_files():
    """Each side of an interactive run has its own PID namespace, /proc and files: the contestant
    lists /proc and looks for the interactor's input; the interactor waits for its line."""
    python = sandbox.default_python()
    look = ("import glob, os, sys\nprint('ready', flush=True)\n"
            "sys.stderr.write(repr((sorted(p for p in os.listdir('/proc') if p.isdigit()), "
            "glob.glob('/proc/[0-9]*/cwd/*'), glob.glob('/proc/[0-9]*/root/work/*'), sorted(os.listdir('/work')))))")
    jury = "import sys\nline = sys.stdin.readline()\nprint(sorted(__import__('os').listdir('/work')), file=sys.stderr)\n" \
           "sys.exit(0 if line == 'ready\\n' else 1)"
    contestant, interactor = run_connected(
        dict(files={"main.py": look}, argv=[python, "main.py"], limits=sandbox.Limits(wall_seconds=5)),
        dict(files={"jury.py": jury, "input.txt": "secret 37\n"}, argv=[python, "jury.py"],
             limits=sandbox.Limits(wall_seconds=8)), "namespaces")
    assert contestant.ok and interactor.ok, (contestant.stderr, interactor.stderr)
    assert ast.literal_eval(contestant.stderr) == (["1"], ["/proc/1/cwd/main.py"], ["/proc/1/root/work/main.py"], ["main.py"])
    assert "input.txt" in interactor.stderr and contestant.stdout == "" and interactor.stdout == ""


# -- rows and layouts --------------------------------------------------------------------------
CHECKER = {"language": "python", "source": "pass"}


@pytest.mark.parametrize("info, message", [
    ({"checker": CHECKER}, r"row 3: 'test_cases' must be a non-empty list"),
    ({"checker": CHECKER, "test_cases": [{"input": "1"}]}, r"row 3: test case 0 needs text 'input' and 'output'"),
    ({"checker": {"language": "python"}, "test_cases": [{"output": "1"}]}, r"row 3: 'checker' needs a non-empty text 'source'"),
    ({"checker": {"source": "x", "language": "cobol"}, "test_cases": [{"output": "1"}]}, r"row 3: 'checker': language 'cobol'"),
    ({"checker": {"source": "x", "protocol": "icpc"}, "test_cases": [{"output": "1"}]}, r"row 3: 'checker': 'protocol' must"),
    ({"checker": {"source": "x", "files": {"../x.h": ""}}, "test_cases": [{"output": "1"}]}, r"row 3: 'checker': file name"),
    ({"checker": {"builtin": "fuzzy"}, "test_cases": [{"output": "1"}]}, r"row 3: 'checker': built-in checker 'fuzzy'"),
    ({"checker": {"builtin": "float", "eps": 1}, "test_cases": [{"output": "1"}]}, r"row 3: 'checker': the 'float' checker"),
    ({"checker": {"builtin": "float", "abs_tol": -1}, "test_cases": [{"output": "1"}]}, r"'abs_tol' must be a finite"),
    ({"interactor": CHECKER, "test_cases": [{}], "input_file": "in.txt"}, r"row 3: an interactive row talks over stdin"),
    ({"checker": CHECKER, "test_cases": [{"output": "1"}], "input_file": "a/b"}, r"row 3: 'input_file': file name"),
    ({"checker": CHECKER, "test_cases": [{"output": "1"}], "input_file": "x", "output_file": "x"}, r"both 'x'"),
    ({"interactor": dict(CHECKER, protocol="cms"), "test_cases": [{}]}, r"row 3: 'interactor': 'protocol' must be one of \('testlib',\)"),
    ({"subtasks": [{"points": 1, "tests": [5]}], "test_cases": [{"output": "1"}]}, r"row 3: subtask 0 names test 5"),
    ({"subtasks": [{"points": 1, "tests": [0]}], "test_cases": [{"output": "1"}, {"output": "2"}]}, r"tests \['1'\] belong to no subtask"),
    ({"subtasks": [{"points": -1, "tests": [0]}], "test_cases": [{"output": "1"}]}, r"subtask 0 needs 'points' >= 0"),
    ({"subtasks": [{"points": 0, "tests": [0]}], "test_cases": [{"output": "1"}]}, r"points add up to 0"),
    ({"subtasks": [], "test_cases": [{"output": "1"}]}, r"'subtasks' must be a non-empty list"),
    ({"subtasks": [{"points": 1, "tests": [0]}], "test_cases": [{"output": "1", "name": "a"}, {"output": "1", "name": "a"}]},
     r"test names must be unique"),
    ({"grader": {"files": {"g.cpp": ""}}, "language": "cpp", "test_cases": [{"output": "1"}]}, r"'grader' needs 'files'"),
    ({"grader": {"files": {"g.py": ""}, "source": "s.cpp"}, "language": "cpp", "test_cases": [{"output": "1"}]},
     r"a cpp grader needs 'source' ending .cpp and a .cpp file"),
    ({"grader": {"files": {"g.java": ""}, "source": "S.java"}, "language": "java", "test_cases": [{"output": "1"}]},
     r"graders are read for cpp and python"),
    ({"checker": CHECKER, "test_cases": [{"output": "1"}], "time_limit": 0}, r"'time_limit' must be a positive number"),
    ({"checker": CHECKER, "test_cases": [{"output": "1"}], "fn_name": "f"}, r"takes 'test_cases', not 'fn_name'"),
])
def test_malformed_judged_rows_name_the_row(info, message):
    assert is_judged(info) and is_judged(json.dumps(info))
    with pytest.raises(RowFormatError, match=message):
        parse_problem(info, 3)


def test_the_example_file_matches_the_problems_and_its_solutions_pass():
    path = DATA / "code_judged.jsonl"
    assert [json.loads(line) for line in path.read_text().splitlines()] == rows()
    ready = data.normalise_code(data.load(str(path), None, "train"))
    reward = CodeExecution(wall_seconds=2)
    solutions = [completion(row["solution"]) for row in rows()]
    assert reward(completions=solutions, verification_info=ready["verification_info"]) == [1.0] * len(KINDS)


def test_codeforces_rows():
    raw = data.load(str(DATA / "code_codeforces.jsonl"), None, "train")
    ready = data.normalise_code(raw)  # official_tests: converted once, checker kept
    infos = [json.loads(v) for v in ready["verification_info"]]
    assert infos[0]["checker"]["protocol"] == "cms" and infos[1]["checker"] == {"builtin": "codeforces"}
    assert infos[0]["time_limit"] == 1.0 and infos[0]["memory_limit"] == 256.0
    reward = CodeExecution(wall_seconds=2)
    solutions = [completion(row["solution"]) for row in raw]
    assert reward(completions=solutions, verification_info=ready["verification_info"]) == [1.0, 1.0]
    other = completion("n = int(input())\nprint(1, n - 1)")  # another valid split: the checker accepts it
    wrong = completion("n = int(input())\nprint(0, n)")  # 0 is not positive
    assert reward(completions=[other, wrong], verification_info=[infos[0]] * 2) == [1.0, 0.0]
    row = json.loads((DATA / "code_codeforces.jsonl").read_text().splitlines()[0])
    with pytest.raises(RowFormatError, match=r"codeforces row 4 \(9001/A\) is interactive .* no 'interactor'"):
        from_codeforces(dict(row, interaction_format="Ask questions."), 4)
    interactive = dict(row, interaction_format="Ask '? x', answer '! x'.", official_tests=[{"input": "37\n", "output": ""}],
                       interactor=json.dumps(interactive_info()["interactor"]))  # a column the user added
    info = from_codeforces(interactive, 5)
    assert "checker" not in info and info["interactor"]["language"] == "python"
    assert reward(completions=[completion(SOLUTIONS["interactive"][p]) for p in ("right", "wrong")],
                  verification_info=[info] * 2) == [1.0, 0.0]
    with pytest.raises(RowFormatError, match=r"codeforces row 4 \(9001/A\): input_mode 'files' is neither"):
        from_codeforces(dict(row, input_mode="files"), 4)
    with pytest.raises(RowFormatError, match=r"codeforces row 4 \(9001/A\): .*test case 1 needs text"):
        from_codeforces(dict(row, official_tests=[{"input": "1", "output": "1"}, {"input": "2"}]), 4)


def test_ioi_rows():
    subtask_rows = [json.loads(line) for line in (DATA / "code_ioi.jsonl").read_text().splitlines()]
    tests = {(t["problem_id"], t["test_name"]): (t["test_input"], t["test_output"])
             for t in map(json.loads, (DATA / "code_ioi_tests.jsonl").read_text().splitlines())}
    [info] = from_ioi(subtask_rows, tests)
    problem = parse_problem(info, 0)
    assert [(s.name, s.points, len(s.tests)) for s in problem.subtasks] == [
        ("00-samples", 0.0, 1), ("01-single", 20.0, 2), ("02-positive", 30.0, 4), ("03-full", 50.0, 6)]
    assert problem.grader.source == "maxof.cpp" and dict(problem.grader.files).keys() == {"grader.cpp", "maxof.h"}
    reward = CodeExecution(wall_seconds=3)
    programs = [completion(GRADED["cpp"][k], "cpp") for k in ("right", "partial")]
    assert reward(completions=programs, verification_info=[info] * 2) == [None, None]  # graders: see above
    with pytest.raises(RowFormatError, match=r"ioi row 1 \(maxof, subtask 01-single\): test '1-01' is not among"):
        from_ioi(subtask_rows, {k: v for k, v in tests.items() if k[1] != "1-01"})
    with pytest.raises(RowFormatError, match=r"ioi row 0 .*task_type 'Communication'"):
        from_ioi([dict(subtask_rows[0], task_type="Communication")], tests)


def test_judged_rows_need_the_local_backend_and_other_rows_share_the_batch():
    remote = CodeExecution(backend="piston", url="http://127.0.0.1:9")
    with pytest.raises(RowFormatError, match="judged rows need backend='local'"):
        remote(completions=["x"], verification_info=[INFOS["checker"]()])
    reward = CodeExecution(wall_seconds=2)
    plain = {"test_cases": [{"input": "2\n", "output": "4\n"}]}
    tolerant = {"test_cases": [{"input": "", "output": "0.333333"}], "compare": "tokens"}
    programs = [completion(SOLUTIONS["checker"]["right"]), completion("print(2 * int(input()))"), completion("print(1 / 3)")]
    assert reward(completions=programs, verification_info=[INFOS["checker"](), plain, tolerant]) == [1.0, 1.0, 1.0]
    mixed = [completion(SOLUTIONS["checker"]["right"]), completion("def f():\n    return 1")]
    assert reward(completions=mixed, verification_info=[INFOS["checker"](), {"test_code": "assert f() == 1"}]) == [1.0, 1.0]


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
        "Python grader with a secret (attack: reads it)": (jp.secret_grader_info(), jp.SECRET_PROGRAMS, {},
                                                           dict.fromkeys(("right", "wrong", "partial", "attack"))),
    }


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
def test_case_by_program(box, case):
    """The closing table: each case's right, wrong, partial and attack programs, root and rootless."""
    info, programs, params, expected = CASES[case]
    scores = box.score([completion(code) for code in programs.values()], [info] * len(programs), wall_seconds=3,
                       **params)
    got = dict(zip(programs, scores))
    print(f"\n{box.mode:8s} {case:52s}" + "".join(f" {p}={s}" for p, s in got.items()))
    assert got == expected


def test_testlib_setting_names_the_row_and_the_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("GRPO_EXT_TESTLIB", raising=False)
    info = {"test_cases": jp.divisor_tests(), "checker": {"language": "cpp", "source": jp.source("divisor_checker.cpp")}}
    with pytest.raises(RowFormatError, match=r"row 4: the checker includes testlib.h but none is given: .*'testlib'.*"
                                             r"testlib='/path/testlib.h' or \$GRPO_EXT_TESTLIB"):
        parse_problem(info, 4)
    with pytest.raises(RowFormatError, match=r"row 4: the checker: the testlib setting names '/nowhere/testlib.h'"):
        parse_problem(info, 4, testlib="/nowhere/testlib.h")
    for given in ({"testlib": str(HEADER)}, {}):  # the row's own path; the environment variable
        monkeypatch.setenv("GRPO_EXT_TESTLIB", str(HEADER))
        checker = parse_problem({**info, **given}, 4).checker
        assert dict(checker.files)["testlib.h"] == HEADER.read_text()
    own = tmp_path / "own.h"
    own.write_text("// the package's own copy\n")
    carried = parse_problem({**info, "checker": {**info["checker"], "files": {"testlib.h": own.read_text()}}}, 4)
    assert dict(carried.checker.files)["testlib.h"] == own.read_text()  # a package's own copy wins


def test_the_jury_self_check_runs_once_per_test_and_is_kept():
    reward = CodeExecution(wall_seconds=2)
    info = {"language": "python", "test_cases": jp.divisor_tests()[:1],
            "checker": {"language": "python", "source": jp.SEGFAULT_ON_GARBAGE}}
    garbage = [completion(jp.GARBAGE + f"  # {k}") for k in range(3)]
    assert reward(completions=garbage, verification_info=[info] * 3) == [0.0, 0.0, 0.0]
    accepts = reward._judge._accepts
    assert len(accepts) == 1 and next(iter(accepts.values())).score == 1.0
    broken = dict(info, test_cases=[{"input": "12\n", "output": "oops\n"}])  # the jury's answer is garbage too
    assert reward(completions=garbage[:1], verification_info=[broken]) == [None]


def test_score_scales_per_row():
    reward = CodeExecution(wall_seconds=2)
    unscaled = {"language": "python", "test_cases": jp.divisor_tests()[:1],
                "checker": {"language": "python", "source": jp.PERCENT_CHECKER, "protocol": "cms"}}
    right = completion(SOLUTIONS["checker"]["right"])
    assert reward(completions=[right], verification_info=[unscaled]) == [None]  # 100 on a 0..1 scale: the row's fault
    quitp = {"language": "python", "test_cases": jp.divisor_tests()[:1], "checker": {
        "language": "python", "points_max": 100,
        "source": "import sys\nopen(sys.argv[4], 'w').write('30 points')\nsys.exit(7)"}}
    assert reward(completions=[right], verification_info=[quitp]) == [0.3]
    assert checkers.testlib_verdict(7, "", "", "0.25 of it").score == 0.25  # without a maximum: points in [0, 1]


def test_codeforces_conversion_reports_rows_and_keeps_the_rest():
    from datasets import Dataset

    good = jp.codeforces_row()
    rows = [good, dict(good, id="9003/C", interaction_format="Ask."), dict(good, id="9004/D", official_tests=[], generated_tests=[]),
            dict(good, id="9005/E", input_mode="file")]
    skipped = []
    out = convert_dataset(Dataset.from_list(rows), "python", skipped=skipped)
    assert len(out) == 2 and [k for k, _ in skipped] == ["9003/C", "9004/D"]
    assert "is interactive" in skipped[0][1] and "official_tests" in skipped[1][1]
    infos = [json.loads(v) for v in out["verification_info"]]
    assert infos[0]["checker"] == {"builtin": "codeforces"} and len(infos[0]["test_cases"]) == 2  # generated tests read
    assert (infos[1]["input_file"], infos[1]["output_file"]) == ("input.txt", "output.txt")
    with pytest.raises(RowFormatError, match="no row of the dataset can be judged; the first: 9003/C"):
        convert_dataset(Dataset.from_list(rows[1:3]), "python")


def test_ioi_rows_as_open_r1_stores_them():
    from datasets import Dataset

    subtask_rows = [json.loads(line) for line in (DATA / "code_ioi.jsonl").read_text().splitlines()]
    tests = {(t["problem_id"], t["test_name"]): (t["test_input"], t["test_output"])
             for t in map(json.loads, (DATA / "code_ioi_tests.jsonl").read_text().splitlines())}
    checker = ("// CMS checker\n#include \"testlib.h\"\nint main(int argc, char* argv[]) { return 0; }")
    for row in subtask_rows:  # as open-r1 stores them: the tests in the row, bytes, the checker in its folder
        row.update(test_cases=[list(tests[row["id"], n]) for n in row["test_names"]], memory_limit=1 << 30,
                   grader_files=row["grader_files"] + [["checker/checker.cpp", checker], ["checker/testlib.h", "// h"]])
    [info] = from_ioi(subtask_rows)
    problem = parse_problem(info, 0)
    assert problem.memory_bytes == 1 << 30 and parse_problem(dict(info, memory_limit=256), 0).memory_bytes == 256 << 20
    assert dict(problem.checker.files) == {"testlib.h": "// h"} and problem.checker.protocol == "cms"
    assert problem.grader.prelude == '#include "maxof.h"\n#include <bits/stdc++.h>\n'
    assert with_includes('#include "maxof.h"\nint f();', "maxof").startswith("#include <bits/stdc++.h>\n#include \"maxof.h\"")
    broken = dict(subtask_rows[0], id="other", task_type="Communication")
    raw = Dataset.from_list([dict(r, problem="Find the maximum.") for r in subtask_rows + [broken]])
    skipped = []
    ready = convert_dataset(raw, "cpp", skipped=skipped)
    assert len(ready) == 1 and skipped[0][0] == "other" and "Communication" in skipped[0][1]
    assert len(data.normalise_code(raw)) == 1  # the recipe's conversion reads the layout too


def _real_testlib() -> Path:
    path = os.environ.get("GRPO_EXT_TESTLIB")
    if not path or not Path(path).is_file():
        pytest.skip("the real testlib.h is not given: set GRPO_EXT_TESTLIB to a local testlib.h (with its checkers/ "
                    "and interactors/ folders beside it, as in testlib's repository)")
    return Path(path)


@pytest.mark.slow
def test_real_testlib_checkers_and_interactor():
    """testlib's own checkers (wcmp, ncmp, rcmp4, yesno) and interactor-a-plus-b, read from the
    local copy the setting names, with the real testlib.h (root only: compiling the real header
    five times takes longer than the rootless driver's time-out on a loaded machine)."""
    header = _real_testlib()
    folder = header.parent

    def program(path):
        return {"language": "cpp", "source": (folder / path).read_text()}

    rows = {"wcmp": ({"test_cases": [{"input": "", "output": "a  b\nc\n"}], "checker": program("checkers/wcmp.cpp")},
                     "print('a b c')", "print('a b d')"),
            "ncmp": ({"test_cases": [{"input": "", "output": "1 2 3\n"}], "checker": program("checkers/ncmp.cpp")},
                     "print('1\\n2\\n3')", "print('1 2 4')"),
            "rcmp4": ({"test_cases": [{"input": "", "output": "0.3333\n"}], "checker": program("checkers/rcmp4.cpp")},
                      "print(1 / 3)", "print(0.34)"),
            "yesno": ({"test_cases": [{"input": "", "output": "YES\n"}], "checker": program("checkers/yesno.cpp")},
                      "print('yes')", "print('no')"),
            "a-plus-b": ({"test_cases": [{"input": "2\n1 2\n3 4\n", "output": "3\n7\n"}],
                          "interactor": program("interactors/interactor-a-plus-b.cpp")},
                         jp.SUM_PROGRAMS["right"], jp.SUM_PROGRAMS["wrong"])}
    infos, programs = [], []
    for info, right, wrong in rows.values():
        infos += [dict(info, language="python")] * 2
        programs += [completion(right), completion(wrong)]
    reward = CodeExecution(wall_seconds=3, testlib=str(header), compile_seconds=300)
    scores = reward(completions=programs, verification_info=infos)
    assert scores == [1.0, 0.0] * len(rows), dict(zip(rows, zip(scores[::2], scores[1::2])))


def test_a_file_mode_row_without_checker_is_judged_from_its_file():
    info = {"test_cases": [{"input": "21\n", "output": "42\n"}], "input_file": "in.txt", "output_file": "out.txt"}
    assert is_judged(info) and is_judged(json.dumps(info))
    programs = {"file": "n = int(open('in.txt').read())\nopen('out.txt', 'w').write(str(2 * n))",
                "stdout": "print(2 * int(input()))"}  # stdin also holds the input, but the output is the file's
    reward = CodeExecution(wall_seconds=2)
    assert reward(completions=[completion(p) for p in programs.values()], verification_info=[info] * 2) == [1.0, 0.0]


def test_the_row_modules_import_in_one_direction():
    """rows <- checkers <- judge_rows <- judge_datasets <- judge: no module imports a later one,
    not even inside a function (the old circle rows -> judge_datasets -> judge_rows -> rows)."""
    order = ["rows", "checkers", "judge_rows", "judge_datasets", "judge"]
    folder = Path(__file__).parent.parent / "rewards" / "code"
    for k, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
        assert not imported & set(order[k:]), (name, imported & set(order[k:]))
