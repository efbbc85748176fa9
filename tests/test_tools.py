"""TRL's ``tools=[...]`` and ``environment_factory`` under every grpo-ext setting: the tokens of a
tool's result (``tool_mask`` 0) are never trained on, carry no KL, and are transparent holes in the
advantages, GAE and returns.

The rollouts are TRL's own (its generation, tool-call parsing, tool execution and masks) on the tiny
model with the tiny tool format (:func:`grpo_ext.tools.add_tiny_tool_format`). A random tiny model
never writes a well-formed call by chance, so sampling is steered with ``generation_kwargs``'
``sequence_bias``: after ``<assistant>`` it writes ``<tool_call>f\\nx=``, then free text, closed by
``</tool_call>`` at a random point. Training uses the model's own log-probabilities, never the bias.
"""

from __future__ import annotations

import functools
import os
import tempfile

import pytest
import torch
from datasets import Dataset
from transformers import AutoTokenizer

from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer, tools
from grpo_ext import advantages as adv_modes
from grpo_ext import kl as kl_estimators
from grpo_ext.recipe_kit.tiny import build_tiny_model, build_tokenizer
from tests.tiny_setup import common_args


@functools.cache
def tool_model_path() -> str:
    """The tiny model with the tool-format tokens, chat template and response template."""
    path = build_tiny_model(tempfile.mkdtemp(prefix="grpo-ext-tiny-tools-"), hidden_size=32, num_layers=2,
                            extra_tokens=tools.TOOL_FORMAT_TOKENS)
    tools.add_tiny_tool_format(AutoTokenizer.from_pretrained(path)).save_pretrained(path)
    return path


def steering() -> dict:
    """``generation_kwargs`` that make the random tiny model call the tool ``f`` (see the module docstring)."""
    ids = build_tokenizer(tools.TOOL_FORMAT_TOKENS).convert_tokens_to_ids  # the ids of tool_model_path()'s tokenizer
    chain = ["<assistant>", "<tool_call>", "f", "\n", "x", "="]
    bias = [[[ids(a), ids(b)], 30.0] for a, b in zip(chain, chain[1:])]
    bias += [[[ids("</tool_call>")], 2.5], [[ids("</tool_call>"), ids("<eos>")], 30.0]]
    return {"sequence_bias": bias}


CALLED_IN: list[int] = []  # the process ids f ran in


def f(x: str) -> str:
    """Count the digits of a text.

    Args:
        x: The text.
    """
    CALLED_IN.append(os.getpid())
    return str(sum(ch.isdigit() for ch in x))


class Counter:
    """An environment (TRL's ``environment_factory`` contract): ``reset`` per rollout, public methods
    are its tools, ``get_reward`` scores the episode. Here: how many times ``f`` was called."""

    def reset(self, **row) -> str | None:
        self.calls = 0
        return None

    def f(self, x: str) -> str:
        """Count the digits of a text.

        Args:
            x: The text.
        """
        self.calls += 1
        return str(sum(ch.isdigit() for ch in x))

    def get_reward(self) -> float:
        return float(self.calls)


def chat_dataset(n: int = 8) -> Dataset:
    return Dataset.from_dict({"prompt": [[{"role": "user", "content": f"{i}+{i % 3}="}] for i in range(n)]})


def written(completion: list[dict]) -> str:
    """What the model wrote in a conversational completion: its texts and its calls' argument values."""
    mine = [m for m in completion if m["role"] == "assistant"]
    values = [str(v) for m in mine for call in m.get("tool_calls") or [] for v in call["function"]["arguments"].values()]
    return "".join(str(m.get("content") or "") for m in mine) + "".join(values)


def text_reward(completions, **kwargs) -> list[float]:
    """A dense reward on what the model wrote: the share of digits in it."""
    return [sum(ch.isdigit() for ch in written(c)) / max(len(written(c)), 1) for c in completions]


def tool_args(output_dir: str, **overrides) -> dict:
    """The feature matrix's common arguments, with room for a call, its result and a second call."""
    return common_args(output_dir, max_completion_length=24, max_tool_calling_iterations=1,
                       generation_kwargs=steering(), **overrides)


def holes_inside(mask: torch.Tensor) -> torch.Tensor:
    """Positions masked out with a model token after them (tool results, not padding) ``[B, T]``."""
    later = torch.flip(torch.cummax(torch.flip(mask, [1]), 1).values, [1])  # 1 where a model token is at or after t
    return (mask == 0) & (later > 0)


# -- shared trainer set-up -------------------------------------------------------------------------


class Probe:
    """Keeps the per-token log-probs (and PPO's values) of the last loss with their gradients."""

    def _get_per_token_logps_and_entropies(self, *args, **kwargs):
        out = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        if torch.is_grad_enabled() and out[0].requires_grad:
            out[0].retain_grad()
            self.probed.append(out[0])
        return out

    def _values(self, batch):
        values = super()._values(batch)
        if torch.is_grad_enabled() and values.requires_grad:
            values.retain_grad()
            self.probed_values.append(values)
        return values


class ProbedGRPO(Probe, GRPOTrainer):
    probed: list = []


class ProbedPPO(Probe, PPOTrainer):
    probed: list = []
    probed_values: list = []


def build(tmp_path, ppo: bool = False, env: bool = False, **overrides):
    kwargs = tool_args(str(tmp_path), **overrides)
    extra = {"environment_factory": Counter} if env else {"tools": [f]}
    rewards = [] if env else [text_reward]
    if ppo:
        kwargs["num_generations"] = 1
        trainer = ProbedPPO(tool_model_path(), rewards, PPOConfig(**kwargs), train_dataset=chat_dataset(), **extra)
        trainer.probed_values = []
    else:
        trainer = ProbedGRPO(tool_model_path(), rewards, GRPOConfig(**kwargs), train_dataset=chat_dataset(), **extra)
    trainer.probed = []
    trainer.current_gradient_accumulation_steps = 1  # set by train(); the tests call the loss directly
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # move the policy off the reference, so that the KL is not 0
        for p in trainer.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return trainer


def rollout(trainer) -> dict:
    """One generation batch through TRL's tool loop and our scoring; it must hold tool results."""
    trainer.model.train()
    rows = [trainer.train_dataset[i] for i in range(trainer.args.per_device_train_batch_size // trainer.num_generations)
            for _ in range(trainer.num_generations)]
    out = trainer._generate_and_score_completions(rows)  # noqa: SLF001
    assert "tool_mask" in out and holes_inside(out["completion_mask"] * out["tool_mask"]).any(), "no tool was called"
    return out


def loss_and_grads(trainer, out) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss of ``out`` and its gradient with respect to the per-token log-probabilities ``[B, T]``."""
    trainer.probed.clear()
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, out)
    loss.backward()
    return loss.detach(), torch.cat([p.grad for p in trainer.probed])


# -- the tests -------------------------------------------------------------------------------------

ESTIMATORS = list(kl_estimators.available())


@pytest.mark.slow
@pytest.mark.parametrize("placement", ["loss", "reward"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_tool_results_get_no_gradient_and_no_kl(tmp_path, estimator, placement):
    trainer = build(tmp_path, kl_estimator=estimator, kl_placement=placement, beta=0.5)
    out = rollout(trainer)
    mask = out["completion_mask"] * out["tool_mask"]
    holes = holes_inside(mask)
    adv = trainer._last_advantages  # noqa: SLF001 - what the loss uses
    assert (adv[holes] == 0).all() and adv[mask > 0].abs().max() > 0
    loss, grads = loss_and_grads(trainer, out)
    assert (grads[mask == 0] == 0).all(), "a tool-result token got a gradient"
    assert grads[mask > 0].abs().max() > 0
    # whatever sits on the tool-result tokens (reference and old log-probs) changes nothing
    moved = dict(out)
    moved["ref_per_token_logps"] = out["ref_per_token_logps"] + 3.0 * holes
    if out.get("old_per_token_logps") is not None:
        moved["old_per_token_logps"] = out["old_per_token_logps"] - 2.0 * holes
    loss_moved, grads_moved = loss_and_grads(trainer, moved)
    assert loss_moved == loss and torch.equal(grads_moved, grads)
    if not kl_estimators.get(estimator).full_vocab:  # the logged KL is the mean over model tokens only
        logps = trainer.probed[0].detach()
        per_token = kl_estimators.get(estimator).fn(logps if placement == "loss" else out["old_per_token_logps"],
                                                    out["ref_per_token_logps"])
        expected = ((per_token * mask).sum() / mask.sum()).item()
        logged = trainer._metrics["train"]["kl"]  # noqa: SLF001
        assert logged[-1] == pytest.approx(expected, rel=1e-5, abs=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [m for m in adv_modes.available() if m != "gae"])
def test_every_advantage_mode_skips_tool_results(tmp_path, mode):
    """The advantages on the model's tokens are the mode's advantages of the rollouts with the tool
    results cut out (KL in the reward: the per-token KL rewards move with their tokens)."""
    if mode == "normalize_then_sum":  # TRL's own setting, with the KL in the loss (grpo-ext refuses it in the reward)
        trainer = build(tmp_path, multi_objective_aggregation=mode, beta=0.5)
    else:
        trainer = build(tmp_path, advantage_mode=mode, kl_placement="reward", kl_estimator="k1", beta=0.5)
    out = rollout(trainer)
    mask = (out["completion_mask"] * out["tool_mask"]).float()
    adv = trainer._last_advantages  # noqa: SLF001
    token_rewards = torch.zeros_like(mask)
    if not trainer.kl_in_loss:
        token_rewards = -0.5 * (out["old_per_token_logps"] - out["ref_per_token_logps"])
    compact_mask, compact_r = torch.zeros_like(mask), torch.zeros_like(mask)
    for i in range(len(mask)):
        keep = mask[i] > 0
        compact_mask[i, : keep.sum()] = 1
        compact_r[i, : keep.sum()] = token_rewards[i, keep]
    per_func = trainer._rewards_per_func  # noqa: SLF001
    seq = (per_func * trainer.reward_weights).nansum(1)
    compact = adv_modes.get(mode).fn(adv_modes.Batch(
        seq, compact_mask, group_size=trainer.num_generations, token_rewards=None if trainer.kl_in_loss else compact_r,
        gamma=trainer.args.gamma,
        lam=trainer.args.lam, eps=trainer.args.advantage_eps, k=trainer.args.passk_k, per_func=per_func,
        weights=trainer.reward_weights))
    for i in range(len(mask)):
        keep = mask[i] > 0
        torch.testing.assert_close(adv[i, keep], compact[i, : keep.sum()], rtol=1e-5, atol=1e-6)
        assert (adv[i, ~keep] == 0).all()


def gae_by_hand(rewards: list[float], values: list[float], gamma: float, lam: float) -> list[float]:
    """Textbook GAE over one sequence (no holes): delta_t = r_t + gamma V_{t+1} - V_t, V after the end 0."""
    out, running = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        following = values[t + 1] if t + 1 < len(values) else 0.0
        running = rewards[t] + gamma * following - values[t] + gamma * lam * running
        out[t] = running
    return out


@pytest.mark.slow
def test_ppo_gae_and_returns_across_tool_results_equal_those_without_them(tmp_path):
    trainer = build(tmp_path, ppo=True, gamma=0.9, lam=0.8, beta=0.5)
    out = rollout(trainer)
    mask = out["completion_mask"] * out["tool_mask"]
    raw = trainer._last_advantages  # noqa: SLF001 - GAE before whitening
    kl = out["old_per_token_logps"] - out["ref_per_token_logps"]  # k1, PPO's default
    seq = (trainer._rewards_per_func * trainer.reward_weights).nansum(1)  # noqa: SLF001
    for i in range(len(mask)):
        keep = mask[i] > 0
        r = (-0.5 * kl[i, keep]).tolist()
        r[-1] += seq[i].item()
        expected = gae_by_hand(r, out["old_values"][i, keep].tolist(), 0.9, 0.8)
        torch.testing.assert_close(raw[i, keep], torch.tensor(expected), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(out["returns"][i, keep], raw[i, keep] + out["old_values"][i, keep])
        assert (raw[i, ~keep] == 0).all() and (out["returns"][i, ~keep] == 0).all() and (out["advantages"][i, ~keep] == 0).all()
    _, grads = loss_and_grads(trainer, out)
    value_grads = torch.cat([v.grad for v in trainer.probed_values])
    assert (grads[mask == 0] == 0).all() and (value_grads[mask == 0] == 0).all(), "the value loss saw a tool result"
    assert value_grads[mask > 0].abs().max() > 0


@pytest.mark.slow
def test_dynamic_sampling_keeps_the_tool_masks(tmp_path):
    trainer = build(tmp_path, dynamic_sampling=True, per_device_train_batch_size=8, num_generations=4)
    out = rollout(trainer)
    mask = out["completion_mask"] * out["tool_mask"]
    assert out["num_items_in_batch"] == mask.sum()
    assert (out["advantages"][mask == 0] == 0).all()
    _, grads = loss_and_grads(trainer, out)
    assert (grads[mask == 0] == 0).all() and grads[mask > 0].abs().max() > 0


@pytest.mark.slow
@pytest.mark.parametrize("ppo", [False, True], ids=["grpo", "ppo"])
def test_environment_factory_rewards_its_episodes(tmp_path, ppo):
    """Each rollout gets its own environment: the reward is the number of calls made in that rollout."""
    trainer = build(tmp_path, ppo=ppo, env=True)
    out = rollout(trainer)
    mask = out["completion_mask"] * out["tool_mask"]
    calls = [float(e.calls) for e in trainer.environments]
    assert trainer.reward_func_names == ["Counter"] and trainer._rewards_per_func[:, 0].tolist() == calls  # noqa: SLF001
    result = out["tool_mask"] == 0
    holes = (result & ~torch.nn.functional.pad(result, (1, 0))[:, :-1]).sum(1)  # runs of tool-result tokens
    assert all((h > 0) == (c > 0) and h <= c for h, c in zip(holes.tolist(), calls)), "a call without its result"
    _, grads = loss_and_grads(trainer, out)
    assert (grads[mask == 0] == 0).all()


@pytest.mark.slow
def test_tool_run_trains_and_evaluates(tmp_path):
    """Two optimizer steps move the parameters, the user's tool runs in the user's process (as TRL
    runs it), and the greedy evaluation runs TRL's tool loop."""
    trainer = build(tmp_path)
    CALLED_IN.clear()
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())
    assert all("tools/call_frequency" in h for h in trainer.state.log_history if "loss" in h)
    assert CALLED_IN and set(CALLED_IN) == {os.getpid()}
    trainer.model.eval()
    result = tools.evaluate(trainer, chat_dataset(4), {"digits": text_reward}, batch_size=2)
    assert result["n"] == 4 and len(result["samples"]) == 3 and all(s[0]["role"] == "assistant" for s in result["samples"])
    calls = sum(any(m["role"] == "tool" for m in s) for s in result["samples"])
    assert 0 <= result["tool_call_rate"] <= 1 and (calls > 0) <= (result["tool_call_rate"] > 0)
    assert not trainer.model.training and trainer.generation_config.do_sample  # evaluation put both back
