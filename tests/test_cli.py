import pytest

from grpo_ext import rewards
from grpo_ext.recipe_kit.cli import main


def test_rewards_list(capsys):
    assert main(["rewards", "list"]) == 0
    out = capsys.readouterr().out
    for name in rewards.available():
        assert name in out


def test_rewards_check_math_says_why(capsys):
    assert main(["rewards", "check", "math_accuracy", "--completion", "so \\boxed{\\frac{1}{2}}", "--gold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "score:     1.0" in out
    assert "extracted: '\\\\frac{1}{2}'" in out
    assert "answer 1/2 | gold 1/2" in out


def test_rewards_check_with_params(capsys):
    argv = ["rewards", "check", "soft_overlong", "--param", "max_length=10", "--param", "cache_length=4",
            "--completion", "x", "--token-ids", "[1, 2, 3, 4, 5, 6, 7, 8]"]
    assert main(argv) == 0
    assert "score:     -0.5" in capsys.readouterr().out


def test_rewards_check_errors(capsys):
    assert main(["rewards", "check", "math_acuracy", "--completion", "x"]) == 2
    assert "Did you mean 'math_accuracy'" in capsys.readouterr().err
    assert main(["rewards", "check", "math_accuracy", "--completion", "x"]) == 2
    assert "pass --gold" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["rewards", "check", "tag_count", "--completion", "x", "--param", "oops"])


def test_sandbox_check_attacks_live(capsys):
    from grpo_ext.rewards.code import sandbox

    if not sandbox.namespaces_available():
        pytest.skip("user namespaces unavailable")
    assert main(["sandbox", "check"]) == 0
    out = capsys.readouterr().out
    assert "isolation:  user namespaces" in out and "all attacks contained" in out
    assert out.count("  contained") == 15 and "NOT CONTAINED" not in out
    # the same attacks against the weaker opt-in mode get through: the check can fail
    assert main(["sandbox", "check", "--isolation", "process"]) == 1
    out = capsys.readouterr().out
    assert "NOT CONTAINED  connect to a host port" in out and "NOT CONTAINED  list host processes" in out


def test_version(capsys):
    from grpo_ext import __version__

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"grpo-ext {__version__}"


def test_rewards_check_takes_the_reward_funcs_syntax(capsys):
    argv = ["rewards", "check", "soft_overlong(max_length=10, cache_length=4)", "--completion", "x",
            "--token-ids", "[1, 2, 3, 4, 5, 6, 7, 8]"]
    assert main(argv) == 0
    assert "score:     -0.5" in capsys.readouterr().out
    assert main(["rewards", "check", "soft_overlong(max_length=", "--completion", "x"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_rewards_check_loads_the_users_module(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cli_user_rewards.py").write_text(
        "from grpo_ext import rewards\n\n@rewards.register('cli_short')\ndef short(completions):\n"
        "    return [float(len(c) < 5) for c in completions]\n")
    try:
        assert main(["rewards", "check", "cli_short", "--reward_modules", "./cli_user_rewards.py", "--completion", "abc"]) == 0
        assert "score:     1.0" in capsys.readouterr().out
    finally:
        rewards.unregister("cli_short")
    assert main(["rewards", "check", "x", "--reward_modules", "./missing.py", "--completion", "abc"]) == 2
    assert "error: --reward_modules ./missing.py: no such file" in capsys.readouterr().err


def test_rewards_check_code_with_a_number_for_gold_is_an_error_not_a_traceback(capsys):
    assert main(["rewards", "check", "code_execution", "--completion", "```python\nprint(3)\n```", "--gold", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: reward 'code_execution' cannot score this completion with these inputs")
    assert "Traceback" not in err


def test_push_a_saved_run_later(tmp_path, monkeypatch, capsys):
    from tests.hub_server import FakeHub

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "model.safetensors").write_bytes(b"weights")
    (run / "README.md").write_text("# card\n")
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", fake.url)
        assert main(["push", str(run), "--hub_model_id", "me/later", "--token", "hf_test_token"]) == 0
        assert fake.repos["me/later"]["files"]["model.safetensors"] == b"weights"
        assert "pushed:" in capsys.readouterr().out
        assert main(["push", str(run), "--hub_model_id", "me/later", "--token", "hf_wrong"]) == 2
        assert "refuses this token (401)" in capsys.readouterr().err
    assert main(["push", str(tmp_path), "--hub_model_id", "me/later"]) == 2
    assert "holds no saved model" in capsys.readouterr().err
