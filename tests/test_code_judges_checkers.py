"""Checkers: testlib's and CMS's verdicts, the built-in checkers, judge errors and the jury
self-check, score scales, the testlib setting and testlib's own checkers."""

import os
from pathlib import Path

import pytest

from grpo_ext.rewards.code import CodeExecution, checkers, sandbox
from grpo_ext.rewards.code.judge import Judge
from grpo_ext.rewards.code.judge_rows import parse_problem
from grpo_ext.rewards.code.rows import RowFormatError
from tests import judge_problems as jp
from tests.judge_problems import SOLUTIONS, completion

HEADER = jp.JUDGES / "testlib.h"  # the tests' own small header with testlib's names (not testlib.h)

if not sandbox.namespaces_available():
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)


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

TOKEN_CHECKERS = ("tokens", "float", "unordered", "yes_no", "codeforces")


@pytest.mark.parametrize("name", list(checkers.BUILTIN))
@pytest.mark.parametrize("output, answer, by_tokens, by_lines", [
    ("1\u00a02\n", "1 2\n", 0.0, 0.0),  # a no-break space is part of its token, never a separator
    ("1\u30002", "1 2", 0.0, 0.0),  # an ideographic space neither
    ("1\u00a0\n", "1\n", 0.0, 0.0),  # nor trimmed at the end of a line
    ("1\t2\r\n\x0c", "1 2", 1.0, 0.0),  # ASCII whitespace separates tokens (a line keeps its tab)
    ("1 2 \t\n\n", "1 2", 1.0, 1.0),
])
def test_builtin_checkers_split_on_ascii_whitespace_only(name, output, answer, by_tokens, by_lines):
    """One rule for every path (docs/code.md, stdin/stdout): the checkers read tokens and lines as
    compare does; before, `str.split()` made "1\u00a02" the two tokens of "1 2"."""
    assert checkers.BUILTIN[name](output, answer, "") == (by_tokens if name in TOKEN_CHECKERS else by_lines)


def test_no_break_space_fails_on_every_path():
    """"1\u00a02" for "1 2" scores 0 as a plain row (lines, tokens) and under every built-in checker;
    "1\t2" passes wherever tokens are compared, in the same batch."""
    case = [{"input": "", "output": "1 2\n"}]
    rows = [{"test_cases": case}, {"test_cases": case, "compare": "tokens"}]
    rows += [{"test_cases": case, "checker": {"builtin": name}} for name in checkers.BUILTIN]
    reward = CodeExecution(wall_seconds=2)
    nbsp = reward(completions=[completion("print('1\\u00a02')")] * len(rows), verification_info=rows)
    tab = reward(completions=[completion("print('1\\t2')")] * len(rows), verification_info=rows)
    assert nbsp == [0.0] * len(rows)
    assert tab == [0.0, 1.0] + [1.0 if name in TOKEN_CHECKERS else 0.0 for name in checkers.BUILTIN]


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
