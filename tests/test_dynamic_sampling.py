"""Dynamic sampling: exactly the groups the filter names are dropped and replaced, the bound on
extra rounds is honoured, nothing changes when nothing is filtered, PPO with groups, resume."""

import json

import pytest
import torch
from datasets import Dataset

from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer, dynamic
from tests.test_feature_matrix import StopAt
from tests.tiny_setup import common_args, tiny_model_path

PROMPTS = [f"{i}+{i % 3}=" for i in range(16)]


def prompt_data() -> Dataset:
    return Dataset.from_dict({"prompt": PROMPTS})


def constant_for_even(prompts, completions, **kwargs):
    """0 for every completion of a prompt that starts with an even digit (a constant group); else a
    score that differs between completions (a checksum of the text)."""
    return [0.0 if int(p[0]) % 2 == 0 else sum(map(ord, c)) % 97 / 97 for p, c in zip(prompts, completions)]


def always_constant(completions, **kwargs):
    return [1.0] * len(completions)


def varying(completions, **kwargs):
    return [sum(map(ord, c)) % 97 / 97 for c in completions]


def trainer_for(tmp_path, reward, cls=GRPOTrainer, config=GRPOConfig, **overrides):
    args = config(**common_args(str(tmp_path), per_device_train_batch_size=8, optim="sgd", learning_rate=0.1,
                                **{"dynamic_sampling": True, **overrides}))
    trainer = cls(tiny_model_path(), reward_funcs=[reward], args=args, train_dataset=prompt_data())
    trainer.final_prompts = []
    if trainer.dynamic_sampler is not None:
        fill = trainer.dynamic_sampler.fill

        def recording_fill(*args, **kwargs):
            out = fill(*args, **kwargs)
            trainer.final_prompts.append(list(out["_prompts"]))
            return out

        trainer.dynamic_sampler.fill = recording_fill
    return trainer


def metric(trainer, name):
    return [h[name] for h in trainer.state.log_history if name in h]


# -- the pure parts ----------------------------------------------------------------------------
def test_filters_by_hand():
    nan = float("nan")
    rewards = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [nan, 2.0, 2.0], [nan, nan, nan], [nan, 1.0, 3.0]])
    assert dynamic.get("zero_variance").fn(rewards, rewards[..., None]).tolist() == [True, False, True, True, False]
    per_func = torch.stack([torch.tensor([[1.0, 1, 1], [0, 0, 0], [0, 1, 1]]),  # accuracy
                            torch.tensor([[0.2, 0, 0.1], [0.1, 0.3, 0], [0, 0, 0]])], dim=-1)  # a shaping reward
    summed = per_func.sum(-1)
    assert dynamic.get("first_reward_constant").fn(summed, per_func).tolist() == [True, True, False]
    assert dynamic.get("zero_variance").fn(summed, per_func).tolist() == [False, False, False]


def test_unknown_filter_and_bad_bounds_fail_early(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'zero_variance'"):
        GRPOConfig(**common_args(str(tmp_path), dynamic_sampling=True, dynamic_sampling_filter="zero_varience"))
    with pytest.raises(ValueError, match="dynamic_sampling_max_rounds must be >= 0"):
        GRPOConfig(**common_args(str(tmp_path), dynamic_sampling=True, dynamic_sampling_max_rounds=-1))
    with pytest.raises(ValueError, match="needs num_generations >= 2"):
        PPOConfig(**common_args(str(tmp_path), dynamic_sampling=True, num_generations=1))


def test_prompt_stream_is_a_disjoint_permutation_per_epoch_and_resumable():
    streams = [dynamic.PromptStream(10, seed=3, process_index=p, num_processes=2) for p in range(2)]
    epoch = [i for _ in range(5) for s in streams for i in s.take(1)]
    assert sorted(epoch) == list(range(10))  # one epoch: every prompt once, split between processes
    later = [s.take(2) for s in streams]
    resumed = dynamic.PromptStream(10, seed=3, process_index=1, num_processes=2)
    resumed.consumed = 10
    resumed.take(2)  # process 1 skips process 0's share of the same round
    assert resumed.consumed == streams[1].consumed == 14
    fresh = dynamic.PromptStream(10, seed=3, process_index=1, num_processes=2)
    fresh.consumed = 10
    assert fresh.take(2) == later[1]


def test_merge_pads_prompts_left_and_completions_right():
    a = {"prompt_ids": torch.tensor([[5, 6], [7, 8]]), "prompt_mask": torch.ones(2, 2, dtype=torch.long),
         "completion_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]), "completion_mask": torch.ones(2, 3, dtype=torch.long),
         "num_items_in_batch": torch.tensor(6), "_prompts": ["a", "b"], "_per_func": torch.tensor([[1.0], [2.0]])}
    b = {"prompt_ids": torch.tensor([[9, 9, 9]]), "prompt_mask": torch.ones(1, 3, dtype=torch.long),
         "completion_ids": torch.tensor([[7]]), "completion_mask": torch.ones(1, 1, dtype=torch.long),
         "num_items_in_batch": torch.tensor(1), "_prompts": ["c"], "_per_func": torch.tensor([[3.0]])}
    merged = dynamic.merge([(a, torch.tensor([1])), (b, torch.tensor([0]))], pad_token_id=0)
    assert merged["prompt_ids"].tolist() == [[0, 7, 8], [9, 9, 9]]
    assert merged["prompt_mask"].tolist() == [[0, 1, 1], [1, 1, 1]]
    assert merged["completion_ids"].tolist() == [[4, 5, 6], [7, 0, 0]]
    assert merged["completion_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert merged["_prompts"] == ["b", "c"] and merged["_per_func"].tolist() == [[2.0], [3.0]]


# -- training ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_exactly_the_constant_groups_are_dropped_and_replaced(tmp_path):
    scored: list[str] = []

    def recording(prompts, completions, **kwargs):
        scored.extend(prompts)
        return constant_for_even(prompts, completions)

    trainer = trainer_for(tmp_path, recording, max_steps=4, dynamic_sampling_max_rounds=20)
    trainer.train()
    assert len(trainer.final_prompts) == 4
    for batch in trainer.final_prompts:
        assert len(batch) == 8 and all(int(p[0]) % 2 == 1 for p in batch), batch  # two odd groups, whole
        assert batch[:4] == [batch[0]] * 4 and batch[4:] == [batch[4]] * 4
    # the groups filtered are exactly the even prompts among all generated (4 completions each)
    generated, filtered = metric(trainer, "dynamic_sampling/prompts"), metric(trainer, "dynamic_sampling/filtered_share")
    assert sum(generated) == len(scored) / 4
    assert sum(f * g for f, g in zip(filtered, generated)) == pytest.approx(sum(int(p[0]) % 2 == 0 for p in scored) / 4)
    assert all(g - f * g >= 2 - 1e-9 for f, g in zip(filtered, generated))  # at least the 2 groups needed were kept
    assert metric(trainer, "dynamic_sampling/shortfall_share") == [0.0] * 4
    assert all(r == g / 2 for r, g in zip(metric(trainer, "dynamic_sampling/rounds"), generated))  # 2 groups a round
    used = trainer._last_advantages  # noqa: SLF001
    assert (used.view(2, 4, -1)[:, :, 0].sum(1).abs() < 1e-5).all() and used.abs().max() > 0.1


@pytest.mark.slow
@pytest.mark.parametrize("rounds", [0, 2])
def test_the_bound_on_extra_rounds_is_honoured(tmp_path, rounds):
    trainer = trainer_for(tmp_path, always_constant, max_steps=2, dynamic_sampling_max_rounds=rounds)
    trainer.train()
    assert metric(trainer, "dynamic_sampling/rounds") == [rounds + 1.0] * 2
    assert metric(trainer, "dynamic_sampling/prompts") == [2.0 * (rounds + 1)] * 2
    assert metric(trainer, "dynamic_sampling/shortfall_share") == [1.0] * 2  # trained on what was found
    assert all(len(b) == 8 for b in trainer.final_prompts)
    assert (trainer._last_advantages == 0).all()  # noqa: SLF001 - only constant groups: nothing to learn


@pytest.mark.slow
def test_nothing_filtered_changes_nothing(tmp_path):
    on = trainer_for(tmp_path / "on", varying, max_steps=3)
    on.train()  # each trainer is built right before it trains: building one seeds the global RNG
    off = trainer_for(tmp_path / "off", varying, max_steps=3, dynamic_sampling=False)
    off.train()
    assert metric(on, "dynamic_sampling/rounds") == [1.0] * 3
    assert metric(on, "loss") == pytest.approx(metric(off, "loss"), rel=1e-6, abs=1e-9)
    for (name, a), (_, b) in zip(on.model.named_parameters(), off.model.named_parameters()):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.slow
def test_ppo_with_groups(tmp_path):
    trainer = trainer_for(tmp_path, constant_for_even, cls=PPOTrainer, config=PPOConfig, num_generations=4,
                          max_steps=2, dynamic_sampling_max_rounds=20)
    trainer.train()
    assert all(int(p[0]) % 2 == 1 for batch in trainer.final_prompts for p in batch)
    assert all(v == v for v in metric(trainer, "value/loss"))


@pytest.mark.slow
def test_resume_with_kl_target_and_dynamic_sampling(tmp_path):
    """Killed after checkpoint 2, resumed: the metric history and the parameters are those of the
    run that never stopped (adaptive beta, the extra-prompt stream, RNG)."""
    kwargs = dict(max_steps=4, dynamic_sampling_max_rounds=20, kl_target=1e-4, kl_horizon=2, beta=0.1,
                  save_strategy="steps", save_steps=2)
    stopped = trainer_for(tmp_path / "a", constant_for_even, **kwargs)
    stopped.add_callback(StopAt(2))
    stopped.train()
    state = json.loads((tmp_path / "a" / "checkpoint-2" / "grpo_ext_state.json").read_text())
    assert state["dynamic_sampling"]["consumed"] > 0 and state["beta"] != 0.1
    resumed = trainer_for(tmp_path / "a", constant_for_even, **kwargs)
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-2"))
    whole = trainer_for(tmp_path / "b", constant_for_even, **kwargs)
    whole.train()
    assert stopped.final_prompts + resumed.final_prompts == whole.final_prompts
    for name in ("loss", "kl/beta", "dynamic_sampling/prompts", "reward"):
        assert metric(stopped, name) == pytest.approx(metric(whole, name)[:2], rel=1e-6), name
        assert metric(resumed, name)[-2:] == pytest.approx(metric(whole, name)[2:], rel=1e-6), name
    assert resumed.beta == pytest.approx(whole.beta, rel=1e-12) and whole.beta != 0.1
    for (name, a), (_, b) in zip(resumed.model.named_parameters(), whole.model.named_parameters()):
        torch.testing.assert_close(a, b, msg=name)
