"""Judged row layouts: malformed rows, the example file, open-r1's Codeforces and IOI rows and their
conversion, file-mode rows, the backend judged rows need, and the modules' import order."""

import ast
import json
from pathlib import Path

import pytest

from grpo_ext.recipe_kit import data
from grpo_ext.rewards.code import CodeExecution, sandbox
from grpo_ext.rewards.code.judge_datasets import convert_dataset, from_codeforces, from_ioi, with_includes
from grpo_ext.rewards.code.judge_rows import is_judged, parse_problem
from grpo_ext.rewards.code.rows import RowFormatError
from tests import judge_problems as jp
from tests.judge_problems import GRADED, INFOS, KINDS, SOLUTIONS, completion, interactive_info, rows

DATA = Path(__file__).parent / "data"

if not sandbox.namespaces_available():
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)


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
    assert reward(completions=programs, verification_info=[info] * 2) == [1.0, 0.5]  # the C++ grader, run apart
    with pytest.raises(RowFormatError, match=r"ioi row 1 \(maxof, subtask 01-single\): test '1-01' is not among"):
        from_ioi(subtask_rows, {k: v for k, v in tests.items() if k[1] != "1-01"})
    with pytest.raises(RowFormatError, match=r"ioi row 0 .*task_type 'Communication'"):
        from_ioi([dict(subtask_rows[0], task_type="Communication")], tests)

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
