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
