import os
import time

import pytest

from grpo_ext import rewards
from grpo_ext.rewards.runner import RewardRunner


def behaving(completions, **kwargs):
    """Scores the length, except for a few completions that misbehave on purpose."""
    out = []
    for c in completions:
        if c == "hang":
            while True:
                pass
        if c == "sleep":
            time.sleep(3600)
        if c == "exit":
            os._exit(3)
        if c == "raise":
            raise RuntimeError("broken reward")
        if c == "memory":
            bytearray(8 << 30)  # over the 1 GiB ceiling at once
        out.append(float(len(c)))
    return out


@pytest.fixture(scope="module")
def runner():
    with RewardRunner(num_workers=2, timeout=1.0, memory_bytes=1 << 30) as r:
        yield r


def test_results_in_order_with_failures_isolated(runner):
    before = dict(runner.stats)
    batch = ["a", "hang", "abc", "exit", "ab", "raise", "memory", "sleep", "abcd"]
    start = time.monotonic()
    out = runner.run(behaving, completions=batch)
    assert out == [1.0, None, 3.0, None, 2.0, None, None, None, 4.0]
    assert time.monotonic() - start < 60  # not the 3600 s hang; slack for a loaded host
    assert runner.stats["timeouts"] - before.get("timeouts", 0) == 2
    assert runner.stats["crashes"] - before.get("crashes", 0) == 3
    assert runner.run(behaving, completions=["xyz"]) == [3.0]  # the pool recovered


def test_timeout_value_is_configurable():
    with RewardRunner(num_workers=1, timeout=0.5, timeout_value=-1.0) as r:
        assert r.run(behaving, completions=["sleep", "ab"]) == [-1.0, 2.0]


def test_time_out_share_is_logged_through_log_metric():
    logged = []
    with RewardRunner(num_workers=1, timeout=0.5) as r:
        out = r.run(behaving, completions=["sleep", "ab", "abc", "hang"],
                    log_metric=lambda key, value: logged.append((key, value)))
        assert out == [None, 2.0, 3.0, None]
        assert logged == [("runner/behaving/timeout", 0.5)]
        assert r.stats["timeouts"] == 2


def test_registered_rewards_and_columns(runner):
    fn = rewards.get("math_accuracy")
    out = runner.run(fn, prompts=["q"] * 3, completions=["\\boxed{2}", "\\boxed{3}", "\\boxed{100000!}"],
                     completion_ids=[[1]] * 3, answer=["2", "2", "2"], trainer_state=object())
    assert out == [1.0, 0.0, 0.0]


def test_missing_column_fails_before_dispatch(runner):
    with pytest.raises(rewards.MissingColumnError, match="'answer'"):
        runner.run(rewards.get("math_accuracy"), completions=["1"], solution=["1"])


def test_ragged_columns_are_an_error(runner):
    with pytest.raises(ValueError, match="has 1 values for 2"):
        runner.run(behaving, completions=["a", "b"], answer=["1"])


def test_wrap_keeps_trl_contract_and_name(runner):
    pooled = runner.wrap(rewards.get("tag_count"))
    assert pooled.__name__ == "tag_count"
    assert pooled(prompts=["p", "p"], completions=["<think>a</think><answer>b</answer>", ""], completion_ids=None,
                  log_metric=print) == [1.0, 0.0]


def test_reward_defined_in_a_script_ships_by_value(runner):
    scale = 3.0
    assert runner.run(lambda completions: [scale * len(c) for c in completions], completions=["ab"]) == [6.0]


def test_bad_settings():
    with pytest.raises(ValueError, match="num_workers"):
        RewardRunner(num_workers=0)
    with pytest.raises(ValueError, match="timeout"):
        RewardRunner(timeout=0)
