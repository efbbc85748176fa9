"""The private parts of trl.GRPOTrainer that grpo_ext.GRPOTrainer relies on. If TRL changes them,
these tests say which seam broke; update grpo_ext/trainer.py and the trl pin together."""

import inspect

import pytest
import torch
import trl
from packaging.version import Version

from tests.tiny_setup import addition_dataset, common_args, digit_reward, tiny_model_path

TESTED_MINOR = "1.16"

SEAMS = {  # method -> the parameters (in order) our overrides call it with
    "_calculate_rewards": ["self", "inputs", "prompts", "completions", "completion_ids_list"],
    "_generate_and_score_completions": ["self", "inputs"],
    "_compute_loss": ["self", "model", "inputs"],
    "_get_per_token_logps_and_entropies": ["self", "model", "input_ids", "attention_mask", "logits_to_keep"],
    "training_step": ["self", "model", "inputs", "num_items_in_batch"],
}


def test_trl_is_the_tested_minor_version():
    got = Version(trl.__version__)
    assert f"{got.major}.{got.minor}" == TESTED_MINOR, (
        f"grpo_ext's trainer is tested against trl {TESTED_MINOR}.x, found {trl.__version__}: run this file and "
        "tests/test_grpo_trainer.py, then move the pin in pyproject.toml"
    )


@pytest.mark.parametrize("method, params", SEAMS.items())
def test_seam_signatures(method, params):
    fn = getattr(trl.GRPOTrainer, method, None)
    assert fn is not None, f"trl.GRPOTrainer.{method} is gone; grpo_ext/trainer.py overrides it"
    got = list(inspect.signature(fn).parameters)[: len(params)]
    assert got == params, f"trl.GRPOTrainer.{method} now takes {got}, grpo_ext expects {params}"


def test_helpers_we_import():
    from trl.trainer.utils import use_adapter  # the reference of a PEFT model, for kl_estimator='full'

    assert callable(use_adapter)


def test_runtime_contract(tmp_path):
    """What the seams read and write at run time: attributes, the batch's keys, advantages' shape."""
    kwargs = common_args(str(tmp_path))
    trainer = trl.GRPOTrainer(tiny_model_path(), reward_funcs=[digit_reward], args=trl.GRPOConfig(**kwargs),
                              train_dataset=addition_dataset())
    for attr in ("beta", "loss_type", "importance_sampling_level", "temperature", "num_generations",
                 "num_generations_eval", "reward_weights", "reward_func_names", "max_completion_length", "ref_model",
                 "_metrics", "_step"):
        assert hasattr(trainer, attr), f"trl.GRPOTrainer no longer has .{attr}, which grpo_ext reads"
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    seen = {}
    original = trainer._calculate_rewards  # noqa: SLF001

    def spy(*args):
        seen["rewards"] = original(*args)
        return seen["rewards"]

    trainer._calculate_rewards = spy  # noqa: SLF001
    batch = trainer._generate_and_score_completions([addition_dataset()[0]] * 4)  # noqa: SLF001
    assert seen["rewards"].shape == (4, 1), "_calculate_rewards must return the gathered [N, num_funcs] rewards"
    for key in ("prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "advantages", "num_items_in_batch",
                "ref_per_token_logps"):
        assert key in batch, f"_generate_and_score_completions no longer returns {key!r}"
    assert batch["advantages"].shape == (4,)
    # TRL's loss must accept [B, T] advantages (grpo_ext's are per token)
    batch["advantages"] = batch["advantages"].unsqueeze(1).expand_as(batch["completion_mask"]).contiguous()
    loss = trainer._compute_loss(trainer.model, batch)  # noqa: SLF001
    assert torch.isfinite(loss)
    # TRL must read the KL coefficient from self.beta inside _compute_loss (grpo_ext zeroes it there)
    trainer._metrics["train"].clear()  # noqa: SLF001
    trainer.beta = 0.0
    trainer._compute_loss(trainer.model, batch)  # noqa: SLF001
    assert "kl" not in trainer._metrics["train"], "TRL's _compute_loss no longer reads self.beta"  # noqa: SLF001
