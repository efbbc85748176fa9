"""Code rewards in every language, from every row layout, locally and on sandbox services."""

import json
import time
from pathlib import Path

import pytest

from grpo_ext import rewards
from grpo_ext.recipe_kit import data
from grpo_ext.rewards.code import languages
from grpo_ext.rewards.code import CodeExecution, extract_code
from grpo_ext.rewards.code.backends import PistonBackend, Run, SandboxFusionBackend
from grpo_ext.rewards.code.judge_datasets import convert_dataset
from grpo_ext.rewards.code.rows import RowFormatError, outputs_match, parse_tests
from tests.code_programs import CASES, EXPECTED, PROGRAMS, completion, verification_info
from tests.code_services import StandIn

DATA = Path(__file__).parent / "data"
LANGUAGES = list(PROGRAMS)
KINDS = list(EXPECTED)


@pytest.fixture(scope="module")
def reward():
    return CodeExecution(wall_seconds=2, concurrency=2)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_of_program_scores_what_it_earned(reward, language):
    """correct 1, wrong 0, compile error 0 (counted), time-out 0 (counted), partial its share, and an
    early exit with status 0 before printing the answer 0."""
    scores = reward(completions=[completion(language, kind) for kind in KINDS],
                    verification_info=[verification_info(language)] * len(KINDS))
    got = {kind: (score, outcome) for kind, score, outcome in zip(KINDS, scores, reward.last_outcomes)}
    print(f"\n{language:11s}" + "".join(f" {kind}={score:g}" for kind, (score, _) in got.items()))
    assert got == EXPECTED


@pytest.mark.parametrize("language", ["cpp", "c", "java", "javascript", "python"])
def test_compiled_languages_work_rootless(language):
    """As an ordinary user (uid 65534 started with setpriv): compile, run, and a compile error, the
    same scores as root. (Rust is left out: this machine's toolchain lives under /root, which an
    ordinary user cannot read; an ordinary user's own rustup works the same way.)"""
    from tests.sandbox_modes import Runner

    kinds = ["correct", "partial", "compile_error"]
    scores = Runner("rootless").score([completion(language, k) for k in kinds],
                                      [verification_info(language)] * len(kinds), wall_seconds=3)
    assert scores == [EXPECTED[k][0] for k in kinds]


def test_binary_reward_and_metrics_through_the_registry():
    seen = {}
    reward = rewards.get("code_execution_binary", wall_seconds=2)
    kinds = ["correct", "partial", "compile_error", "timeout"]
    scores = reward(prompts=["p"] * 5, completions=[completion("cpp", k) for k in kinds] + ["I cannot."],
                    completion_ids=None, verification_info=[verification_info("cpp")] * 5,
                    log_metric=lambda name, value: seen.__setitem__(name, value))
    assert scores == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert seen == {"code/no_code": 0.2, "code/compile_error": 0.2, "code/timeout": 0.2, "code/runtime_error": 0.0,
                    "code/wrong_answer": 0.2, "code/passed": 0.2, "code/service_error": 0.0,
                    "code/dataset_error": 0.0, "code/judge_error": 0.0}


@pytest.mark.parametrize("program", [
    "#include </dev/zero>\nint main() {}",  # the preprocessor reads forever: bounded by memory and time
    "char big[1 << 30] = {1};\nint main() { return big[5]; }",  # a 1 GiB binary: over the file and disk bounds
    "#include </etc/shadow>\nint main() {}",  # a host secret: not readable by the sandbox user
    "#include </root/.bashrc>\nint main() {}",  # not in the sandbox at all
])
def test_compile_time_attacks_are_compile_errors(program):
    reward = CodeExecution(wall_seconds=2, compile_seconds=5)
    info = {"language": "cpp", "test_cases": [{"input": "", "output": ""}]}  # an empty output would pass
    assert reward(completions=[f"```cpp\n{program}\n```"], verification_info=[info]) == [0.0]
    assert reward.last_outcomes == ["compile_error"]


def test_a_crash_is_a_runtime_error():
    reward = CodeExecution(wall_seconds=2)
    crash = "```cpp\n#include <cstdlib>\nint main() { std::abort(); }\n```"
    assert reward(completions=[crash], verification_info=[verification_info("cpp")]) == [0.0]
    assert reward.last_outcomes == ["runtime_error"]


@pytest.mark.parametrize("tag, language", [("cpp", "cpp"), ("c++", "cpp"), ("cc", "cpp"), ("js", "javascript"),
                                           ("javascript", "javascript"), ("rs", "rust"), ("rust", "rust"),
                                           ("py", "python"), ("python3", "python"), ("", "java"), ("C", "c")])
def test_extraction_takes_the_last_block_tagged_for_the_language(tag, language):
    text = f"```{tag}\nfirst\n```\n```bash\nls\n```\n```{tag}\nsecond\n```\n```haskell\nmain = pure ()\n```"
    assert extract_code(text, language) == "second\n"
    other = "java" if language != "java" else "cpp"
    if tag:  # a block tagged for another language is not this one's
        assert extract_code(f"```{tag}\nx\n```", other) is None


def test_row_language_names_and_aliases():
    for alias, name in [("C++", "cpp"), ("g++", "cpp"), ("nodejs", "javascript"), ("rs", "rust"), ("python3", "python")]:
        assert parse_tests({"language": alias, "test_cases": [{"input": "", "output": "1"}]}, 0).language == name
    with pytest.raises(RowFormatError, match=r"row 4: language 'cobol' is not supported"):
        parse_tests({"language": "cobol", "test_cases": [{"output": "1"}]}, 4)


def test_a_row_without_a_language_takes_the_rewards(reward):
    cpp = CodeExecution(language="cpp", wall_seconds=2)
    info = {"test_cases": [{"input": i, "output": o} for i, o in CASES]}
    assert cpp(completions=[completion("cpp", "correct")], verification_info=[info]) == [1.0]


# -- row layouts ---------------------------------------------------------------------------------
def test_apps_input_output_stdin_and_call_based(reward):
    stdin_row = {"input_output": json.dumps({"inputs": ["1 2\n", ["3 4"]], "outputs": ["3\n", ["7"]]})}
    tests = parse_tests(stdin_row, 0)
    assert tests.cases == (("1 2\n", "3\n"), ("3 4\n", "7\n"))
    call_row = {"input_output": {"fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [[3], 7]}}
    program = "```python\ndef add(a, b):\n    return a + b\n```"
    assert reward(completions=[completion("python", "correct"), program],
                  verification_info=[stdin_row, call_row]) == [1.0, 1.0]
    wrapped = "```python\ndef add(a, b):\n    return [a + b]\n```"  # [3] is APPS's way of writing 3, and itself
    assert reward(completions=[wrapped], verification_info=[call_row]) == [0.5]


@pytest.mark.parametrize("row, message", [
    ({"input_output": "{not json"}, r"row 7: 'input_output' is not valid JSON"),
    ({"input_output": {"inputs": ["1"], "outputs": []}}, r"row 7: 'input_output' needs non-empty lists"),
    ({"input_output": {"inputs": [1], "outputs": ["1"]}}, r"row 7: inputs\[0\] must be text or a list of lines"),
    ({"language": "cpp", "input_output": {"fn_name": "f", "inputs": [[1]], "outputs": [1]}}, r"row 7: call-based"),
    ({"test_cases": [{"input": "1"}]}, r"row 7: test case 0 needs text 'output'"),
    ({"test_cases": [{"input": "1", "output": "1", "testtype": "functional"}]}, r"row 7: test case 0 is of type"),
    ({"language": "java", "test_code": "assert f() == 1"}, r"row 7: 'test_code' tests are Python only"),
    ({"test_cases": [{"output": "1"}], "compare": "fuzzy"}, r"row 7: 'compare' must be one of"),
    ({"test_cases": [], "input_output": {}}, r"row 7 needs exactly one of"),
])
def test_malformed_rows_name_the_row(row, message):
    with pytest.raises(RowFormatError, match=message):
        parse_tests(row, 7)


@pytest.mark.parametrize("name, language", [("code_verification_info.jsonl", "python"), ("code_apps.jsonl", "python"),
                                            ("code_test_cases.jsonl", "cpp"), ("code_contests_cpp.jsonl", "cpp")])
def test_example_datasets_convert_once_and_their_solutions_pass(name, language):
    """Each layout's example file in tests/data: converted to verification_info by the recipe's
    loader, and the reference solution stored with each row scores 1 (a wrong one 0)."""
    raw = data.load(str(DATA / name), None, "train")
    ready = data.normalise_code(raw, None, None, language)
    assert "verification_info" in ready.column_names and "prompt" in ready.column_names
    reward = CodeExecution(language=language, wall_seconds=3)
    solutions = [f"```{row.get('language') or language}\n{row['solution']}\n```" for row in raw]
    assert reward(completions=solutions, verification_info=ready["verification_info"]) == [1.0] * len(raw)
    wrong = ["```\nthis is not a program\n```"] * len(raw)
    assert reward(completions=wrong, verification_info=ready["verification_info"]) == [0.0] * len(raw)


def test_a_malformed_dataset_row_is_reported_and_left_out(tmp_path, caplog):
    rows = [{"problem": "p", "input_output": json.dumps({"inputs": ["1"], "outputs": ["1"]})},
            {"problem": "q", "input_output": json.dumps({"inputs": ["1", "2"], "outputs": ["1"]})}]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert data.normalise_code(data.load(str(path), None, "train"))["prompt"] == ["p"]
    assert "1 of 2 rows cannot be judged" in caplog.text and "row 1" in caplog.text
    path.write_text(json.dumps(rows[1]))
    with pytest.raises(data.DatasetFormatError, match="no row of the dataset can be judged; the first: 0: .*row 0"):
        data.normalise_code(data.load(str(path), None, "train"))
    with pytest.raises(data.DatasetFormatError, match="language 'cobol'"):
        data.normalise_code(data.load(str(path), None, "train"), language="cobol")


def test_token_comparison_allows_float_error_and_nothing_else():
    assert outputs_match("0.3333333\n", "0.333333333333\n", "tokens")
    assert outputs_match("1 2\n3", "1  2 3\n", "tokens")  # tokens, not lines
    assert outputs_match("1000000.5", "1000000.0", "tokens")  # relative: 1e-6 of a million is 1
    assert not outputs_match("1000002", "1000000.0", "tokens")
    assert outputs_match("2.0000001", "2.0", "tokens") and outputs_match("2", "2.0", "tokens")
    assert not outputs_match("2.01", "2.0", "tokens")
    assert not outputs_match("1 2", "1 2 3", "tokens")
    assert not outputs_match("nan", "1", "tokens") and not outputs_match("inf", "inf1", "tokens")
    assert not outputs_match("YES", "yes", "tokens")
    assert not outputs_match("0.3333333\n", "0.333333333333\n")  # the default compares lines exactly


def test_token_comparison_keeps_integers_exact():
    """An expected integer token matches only an equal integer: no tolerance, no decimal spelling."""
    big = "120000000000000001"  # 1.2e17 + 1: the float tolerance would allow ~1.2e11 around it
    assert outputs_match(big, big, "tokens") and outputs_match("+" + big, big, "tokens")
    assert outputs_match("007", "7", "tokens") and outputs_match("-0", "0", "tokens")
    for near in ("120000000000000000", "1.2e17", "120000000000000001.0", "1.20000000000000001e17"):
        assert not outputs_match(near, big, "tokens"), near
    assert not outputs_match("1000000.5", "1000000", "tokens") and not outputs_match("2.0000001", "2", "tokens")
    assert not outputs_match("7.0", "7", "tokens") and not outputs_match("7e0", "7", "tokens")
    assert outputs_match("3 0.5000001", "3 0.5", "tokens") and not outputs_match("3.0 0.5", "3 0.5", "tokens")


def test_token_comparison_set_per_row(reward):
    program = "```python\nprint(1 / 3)\n```"
    tolerant = {"test_cases": [{"input": "", "output": "0.333333"}], "compare": "tokens"}
    exact = {"test_cases": [{"input": "", "output": "0.333333"}]}
    assert reward(completions=[program, program], verification_info=[tolerant, exact]) == [1.0, 0.0]


def test_convert_dataset_reads_test_cases_as_json_text():
    from datasets import Dataset

    rows = Dataset.from_dict({"question": ["q"], "language": ["c++"],
                              "tests": [json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}])]})
    info = json.loads(convert_dataset(rows)["verification_info"][0])
    assert parse_tests(info, 0).language == "cpp" and parse_tests(info, 0).cases == (("1 2\n", "3\n"),)


# -- the language registry -------------------------------------------------------------------------
def test_a_user_adds_a_language_in_a_few_lines():
    bash = languages.Language("bash-test", source="main.sh", aliases=("sh-test",), compile=("bash", "-n", "main.sh"),
                              run=("bash", "main.sh"))
    languages.register_language(bash)
    try:
        reward = CodeExecution(wall_seconds=2)
        info = {"language": "sh-test", "test_cases": [{"input": "2 3\n", "output": "5\n"}]}
        good, broken = "```sh-test\nread a b\necho $((a + b))\n```", "```bash-test\nif then fi\n```"
        assert reward(completions=[good, broken], verification_info=[info, info]) == [1.0, 0.0]
        assert reward.last_outcomes == ["passed", "compile_error"]
        with pytest.raises(ValueError, match="already registered"):
            languages.register_language(bash)
    finally:
        languages._LANGUAGES.pop("bash-test")
        languages._ALIASES.pop("bash-test")
        languages._ALIASES.pop("sh-test")


def test_a_missing_toolchain_is_named():
    ghost = languages.Language("ghost", source="main.g", run=("ghost-interpreter-that-is-not-installed", "main.g"))
    with pytest.raises(languages.LanguageUnavailable, match="ghost.*not installed"):
        ghost.toolchain()


def test_sandbox_check_lists_the_languages():
    from grpo_ext.rewards.code.sandbox_check import language_checks

    rows = {name: (ok, detail) for name, ok, detail in language_checks()}
    assert set(rows) >= set(LANGUAGES)
    assert all(ok for ok, _ in rows.values()), rows


# -- sandbox services ------------------------------------------------------------------------------
SERVICE_LANGUAGES = {"sandbox_fusion": ["python", "cpp", "java", "javascript", "rust"],
                     "piston": ["python", "cpp", "c", "java", "javascript", "rust"]}


@pytest.mark.parametrize("api", ["sandbox_fusion", "piston"])
def test_a_service_scores_like_the_local_sandbox(reward, api):
    langs = SERVICE_LANGUAGES[api][:3]
    kinds = ["correct", "partial", "compile_error", "timeout", "hack"]
    completions = [completion(lang, kind) for lang in langs for kind in kinds]
    infos = [verification_info(lang) for lang in langs for _ in kinds]
    local = reward(completions=completions, verification_info=infos)
    local_outcomes = reward.last_outcomes
    with StandIn(api) as service:
        remote = CodeExecution(backend=api, url=service.url, wall_seconds=2, concurrency=4)
        assert remote(completions=completions, verification_info=infos) == local
        assert remote.last_outcomes == local_outcomes
        assert remote.backend.stats["service_errors"] == 0 and remote.backend.stats["requests"] == service.requests


@pytest.mark.parametrize("api", ["sandbox_fusion", "piston"])
def test_a_failing_service_scores_none_and_is_counted(api):
    seen = {}
    with StandIn(api, fail=True) as service:
        remote = CodeExecution(backend=api, url=service.url, wall_seconds=2, retries=2, backoff=0.01)
        scores = remote(completions=[completion("python", "correct"), "no code here"],
                        verification_info=[verification_info("python")] * 2,
                        log_metric=lambda name, value: seen.__setitem__(name, value))
    assert scores == [None, 0.0]  # the service's failure is not the program's; no code is still 0
    assert remote.last_outcomes == ["service_error", "no_code"]
    assert seen["code/service_error"] == 0.5
    assert service.requests == len(CASES) * 3  # every case tried 1 + 2 times
    assert remote.backend.stats["service_errors"] == len(CASES)


@pytest.mark.parametrize("api", ["sandbox_fusion", "piston"])
def test_a_hanging_service_gives_up_at_its_timeout(api):
    with StandIn(api, hang=30) as service:
        remote = CodeExecution(backend=api, url=service.url, request_timeout=0.5, retries=1, backoff=0.01,
                               concurrency=len(CASES))
        start = time.monotonic()
        scores = remote(completions=[completion("python", "correct")], verification_info=[verification_info("python")])
        elapsed = time.monotonic() - start
    assert scores == [None] and remote.last_outcomes == ["service_error"]
    assert service.requests == len(CASES) * 2
    assert elapsed < 25  # bounded by its own time-outs (2 x 0.5 s per case), not by the 30 s hang; slack for load


@pytest.mark.parametrize("api", ["sandbox_fusion", "piston"])
def test_retries_ride_out_a_few_errors(reward, api):
    with StandIn(api, fail_first=2) as service:
        remote = CodeExecution(backend=api, url=service.url, wall_seconds=2, retries=2, backoff=0.01, concurrency=1)
        assert remote(completions=[completion("cpp", "correct")], verification_info=[verification_info("cpp")]) == [1.0]
    assert remote.backend.stats["retries"] == 2 and remote.backend.stats["service_errors"] == 0


def test_service_replies_are_read_as_documented():
    sf = SandboxFusionBackend.parse
    assert sf({"status": "Success", "run_result": {"status": "Finished", "return_code": 0, "stdout": "3\n"}}) == Run("ok", "3\n")
    assert sf({"status": "Failed", "compile_result": {"status": "Finished", "return_code": 1, "stderr": "e"},
               "run_result": None}).status == "compile_error"
    assert sf({"status": "Failed", "run_result": {"status": "TimeLimitExceeded", "return_code": None}}).status == "timeout"
    assert sf({"status": "Failed", "run_result": {"status": "Error", "return_code": 1}}).status == "runtime_error"
    ps = PistonBackend.parse
    assert ps({"run": {"stdout": "3\n", "code": 0, "signal": None}}) == Run("ok", "3\n")
    assert ps({"compile": {"code": 1, "stderr": "e"}, "run": {"code": None}}).status == "compile_error"
    assert ps({"run": {"stdout": "", "code": None, "signal": "SIGKILL", "status": "TO"}}).status == "timeout"
    assert ps({"run": {"stdout": "", "code": None, "signal": "SIGSEGV"}}).status == "runtime_error"


def test_service_configuration_errors():
    with pytest.raises(ValueError, match="needs url"):
        CodeExecution(backend="piston")
    with pytest.raises(ValueError, match="must start with http"):
        CodeExecution(backend="piston", url="localhost:2000")
    with pytest.raises(ValueError, match="backend must be one of"):
        CodeExecution(backend="judge0")
    remote = CodeExecution(backend="sandbox_fusion", url="http://127.0.0.1:9")
    with pytest.raises(RowFormatError, match="stdin/stdout tests only"):
        remote(completions=["x"], verification_info=[{"fn_name": "f", "inputs": [[1]], "outputs": [1]}])
    with pytest.raises(ValueError, match="has no 'c'"):
        remote(completions=[completion("c", "correct")], verification_info=[verification_info("c")])


def test_the_trainer_logs_code_outcomes(tmp_path):
    """Named in the trainer's reward_funcs, the code reward runs on the whole batch in the trainer's
    process (not one completion at a time in the reward pool) and its outcomes reach TRL's logs."""
    from datasets import Dataset

    from grpo_ext import GRPOConfig, GRPOTrainer
    from tests.tiny_setup import common_args, tiny_model_path

    rows = Dataset.from_dict({"prompt": [f"Print {i}." for i in range(4)],
                              "verification_info": [json.dumps(verification_info("cpp"))] * 4})
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=["code_execution(wall_seconds=2)"],
                          args=GRPOConfig(**common_args(str(tmp_path), max_steps=1)), train_dataset=rows)
    assert trainer.reward_runner is None and isinstance(trainer.reward_funcs[0].fn, CodeExecution)
    trainer.train()
    logged = trainer.state.log_history[0]
    # six random tokens hold no code block: every completion is "no_code"
    assert logged["code/no_code"] == 1.0
    assert all(logged[f"code/{name}"] == 0.0 for name in ("compile_error", "timeout", "runtime_error",
                                                          "wrong_answer", "passed", "service_error"))
