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


behaving.itemwise = True  # each completion on its own: a misbehaving one costs only its own score


def longest(completions, **kwargs):
    """A batch-level reward: 1.0 for the longest completions of the batch, else the share of that length."""
    top = max(len(c) for c in completions)
    return [len(c) / top for c in completions]


def always_raises(completions, **kwargs):
    raise RuntimeError("broken reward")


def one_too_many(completions, **kwargs):
    return [0.0] * (len(completions) + 1)


def one_too_few(completions, **kwargs):
    return [0.0] * (len(completions) - 1)


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
        assert logged == [("rewards/behaving/failed", 2.0), ("runner/behaving/timeout", 0.5)]
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
    with pytest.raises(ValueError, match="stop_share"):
        RewardRunner(stop_share=0)


def test_a_batch_level_reward_is_called_on_the_batch(runner):
    batch = ["a", "abcd", "ab", "abcd"]
    direct = longest(completions=batch)
    assert direct == [0.25, 1.0, 0.5, 1.0]
    assert runner.run(longest, completions=batch) == direct
    assert runner.wrap(rewards.resolve("tests.test_runner:longest"))(completions=batch) == direct
    # the same function declared item-wise would see batches of one: every completion its own longest
    itemwise = rewards.registry.Reward(longest, "longest", itemwise=True)
    assert runner.run(itemwise, completions=batch) == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("fn, got", [(one_too_many, 4), (one_too_few, 2)])
def test_a_wrong_number_of_values_is_an_error_naming_both_counts(runner, fn, got):
    with pytest.raises(rewards.RewardError, match=f"reward '{fn.__name__}' returned {got} values for 3 completions"):
        runner.run(fn, completions=["a", "b", "c"])
    itemwise = rewards.registry.Reward(fn, fn.__name__, itemwise=True)
    with pytest.raises(rewards.RewardError, match=f"returned {got - 2} values for 1 completions"):
        runner.run(itemwise, completions=["a", "b", "c"])


def test_failures_are_counted_per_reward_and_summed_up_in_one_line(caplog):
    logged = []
    with RewardRunner(num_workers=2, timeout=1.0, memory_bytes=1 << 30) as r:
        with caplog.at_level("WARNING", logger="grpo_ext.rewards.runner"):
            out = r.run(behaving, completions=["a", "raise", "ab", "exit"], log_metric=lambda k, v: logged.append((k, v)))
        assert out == [1.0, None, 2.0, None]
        assert ("rewards/behaving/failed", 2.0) in logged and ("runner/behaving/timeout", 0.0) in logged
        assert r.failed["behaving"] == 2
    lines = [rec.getMessage() for rec in caplog.records]
    assert len(lines) == 1 and "'behaving': 2 of 4 completions failed this batch (2 raised or crashed" in lines[0]


def test_a_reward_that_fails_on_every_item_stops_the_run():
    with RewardRunner(num_workers=1, timeout=5.0) as r:
        with pytest.raises(rewards.runner.RewardFailedError,
                           match=r"reward 'always_raises' failed on 3 of 3 completions .*RuntimeError: broken reward"):
            r.run(always_raises, completions=["a", "b", "c"])
    # a threshold above 1 never stops: the failures score timeout_value and are counted
    with RewardRunner(num_workers=1, timeout=5.0, stop_share=2.0, timeout_value=0.0) as r:
        logged = []
        assert r.run(always_raises, completions=["a", "b"], log_metric=lambda k, v: logged.append((k, v))) == [0.0, 0.0]
        assert ("rewards/always_raises/failed", 2.0) in logged
    # half a batch over a threshold of 0.5 stops too (item-wise)
    with RewardRunner(num_workers=1, timeout=5.0, stop_share=0.5) as r:
        with pytest.raises(rewards.runner.RewardFailedError, match="failed on 1 of 2"):
            r.run(behaving, completions=["raise", "ab"])


def rank(completions, **kwargs):
    """A batch-level reward: each completion's place in the sorted batch, from 0 to 1."""
    order = sorted(set(completions))
    return [order.index(c) / max(len(order) - 1, 1) for c in completions]


def rank_again(completions, **kwargs):
    return rank(completions)


def _trainer(tmp_path, reward_funcs):
    from grpo_ext import GRPOConfig, GRPOTrainer
    from tests.tiny_setup import addition_dataset, common_args, tiny_model_path

    args = GRPOConfig(**common_args(str(tmp_path), max_steps=1, reward_timeout=20.0))
    return GRPOTrainer(tiny_model_path(), reward_funcs=reward_funcs, args=args, train_dataset=addition_dataset())


@pytest.mark.slow
def test_the_trainer_scores_a_batch_reward_alike_by_name_and_as_callable(tmp_path):
    trainer = _trainer(tmp_path, ["tests.test_runner:rank", rank_again])
    try:
        trainer.train()
        per_func = trainer._rewards_per_func  # [B, 2]: by name, as a callable
        assert per_func[:, 0].tolist() == per_func[:, 1].tolist()
        assert per_func[:, 0].max().item() == 1.0  # ranks of the batch, not of one completion (all 0.0)
    finally:
        trainer.reward_runner.close()


@pytest.mark.slow
@pytest.mark.parametrize("by_name", [True, False])
def test_the_trainer_refuses_a_wrong_length_by_name_and_as_callable(tmp_path, by_name):
    trainer = _trainer(tmp_path, ["tests.test_runner:one_too_many"] if by_name else [one_too_many])
    try:
        with pytest.raises(ValueError, match=r"one_too_many' returned 5 (values for|rewards, but) 4"):
            trainer.train()
    finally:
        if trainer.reward_runner is not None:
            trainer.reward_runner.close()
