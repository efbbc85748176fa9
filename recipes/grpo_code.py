"""GRPO on programming problems, rewarded by running the completion's code against tests in the
local sandbox (rewards/sandbox.py: no network, limits, unprivileged user; Linux, as root).

    accelerate launch recipes/grpo_code.py --config recipes/configs/grpo_qwen2.5-0.5b_code.yaml
    accelerate launch recipes/grpo_code.py --dataset_name problems.jsonl --model_name_or_path <model>

The dataset needs a prompt column (question, problem or prompt) and verification_info (stdin/stdout
test cases or assert-style test code; schema in rewards/code.py); malformed rows stop the run
before training. Without --config it runs recipes/configs/grpo_code.yaml (flags override it).
"""

from pathlib import Path

from trl import ModelConfig, get_peft_config

import rewards
from grpo_ext import GRPOConfig, GRPOTrainer, recipe

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "grpo_qwen2.5-0.5b_code.yaml"


def main(argv=None):
    script, args, model_args = recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), DEFAULT_CONFIG, argv)
    model_path, train, test = recipe.prepare(script, model_args, args, task="code")
    trainer = GRPOTrainer(model_path, reward_funcs=script.reward_funcs, args=args, train_dataset=train, peft_config=get_peft_config(model_args))
    metrics = {"pass rate": rewards.get("code_execution_binary")}
    return recipe.train_and_report(trainer, script, model_args, test, metrics)


if __name__ == "__main__":
    main()
    recipe.exit_process()
