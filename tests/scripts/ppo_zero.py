"""A few PPO (or GRPO) steps under DeepSpeed, saved; launched by tests/test_deepspeed.py with
`accelerate launch --config_file recipes/accelerate/zeroN.yaml --num_processes 2`."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

from grpo_ext import GRPOConfig, GRPOTrainer, PPOConfig, PPOTrainer  # noqa: E402
from grpo_ext.recipe_kit import recipe  # noqa: E402
from tests.test_dynamic_sampling import constant_for_even  # noqa: E402
from tests.tiny_setup import addition_dataset, digit_reward  # noqa: E402


def record_final_prompts(trainer, out: str) -> None:
    """Each process writes the prompts of every batch it trained on to rank<N>.json."""
    fill, batches = trainer.dynamic_sampler.fill, []

    def recording_fill(*args, **kwargs):
        merged = fill(*args, **kwargs)
        batches.append(list(merged["_prompts"]))
        Path(out, f"rank{trainer.accelerator.process_index}.json").write_text(json.dumps(batches))
        return merged

    trainer.dynamic_sampler.fill = recording_fill


def main(model_path: str, out: str, algo: str) -> None:
    cpu = not torch.cuda.is_available()
    common = dict(output_dir=out, per_device_train_batch_size=4, max_completion_length=6, max_steps=3,
                  learning_rate=1e-3, report_to="none", logging_steps=1, save_strategy="no", seed=0,
                  ddp_backend="gloo" if cpu else None, bf16=False)
    if algo == "ppo":
        trainer = PPOTrainer(model_path, [digit_reward], PPOConfig(**common), train_dataset=addition_dataset(32))
    elif algo == "grpo-dynamic":  # groups of prompts with an even first digit are constant: filtered
        trainer = GRPOTrainer(model_path, [constant_for_even], GRPOConfig(**common, num_generations=4, beta=0.04,
                                                                          dynamic_sampling=True,
                                                                          dynamic_sampling_max_rounds=20),
                              train_dataset=addition_dataset(32))
        record_final_prompts(trainer, out)
    else:  # "grpo", or "grpo-full": the exact KL over the vocabulary (the LM head is partitioned under ZeRO-3)
        estimator = "full" if algo == "grpo-full" else "k3"
        trainer = GRPOTrainer(model_path, [digit_reward], GRPOConfig(**common, num_generations=4, beta=0.04,
                                                                     kl_estimator=estimator),
                              train_dataset=addition_dataset(32))
    trainer.train()
    trainer.save_model(out)
    if trainer.accelerator.is_main_process:
        logs = [h for h in trainer.state.log_history if "loss" in h]
        kl = [h["kl"] for h in trainer.state.log_history if "kl" in h]
        Path(out, "run.json").write_text(json.dumps({"steps": trainer.state.global_step, "logs": logs, "kl": kl,
                                                     "processes": trainer.accelerator.num_processes}))
    recipe.shut_down(trainer)


if __name__ == "__main__":
    main(*sys.argv[1:4])
    recipe.exit_process()
