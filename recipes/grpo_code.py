"""GRPO on programming problems, rewarded by running the completion's code against tests in the
local sandbox (rewards/code/sandbox.py: no network, bounded, an unprivileged user namespace; Linux) or
on a sandbox service (reward option backend='sandbox_fusion' or 'piston' with url=...).

    accelerate launch recipes/grpo_code.py --config recipes/configs/grpo_qwen2.5-0.5b_code.yaml       # Python
    accelerate launch recipes/grpo_code.py --config recipes/configs/grpo_qwen2.5-0.5b_code_cpp.yaml   # C++
    accelerate launch recipes/grpo_code.py --dataset_name problems.jsonl --model_name_or_path <model>

The dataset needs a prompt column (question, problem, prompt or description) and tests in one of
the layouts of rewards/code/rows.py (verification_info; APPS/TACO input_output; test_cases or
tests; CodeContests public/private/generated_tests), converted once before training; a malformed
row stops the run with its number. Rows that do not name their language are in --code_language
(default python). Without --config it runs recipes/configs/grpo_qwen2.5-0.5b_code.yaml (flags
override it).
"""

from pathlib import Path

from trl import ModelConfig, get_peft_config

from grpo_ext import GRPOConfig, GRPOTrainer, rewards
from grpo_ext.recipe_kit import recipe

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "grpo_qwen2.5-0.5b_code.yaml"


def main(argv=None):
    script, args, model_args = recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), DEFAULT_CONFIG, argv)
    model_path, train, test = recipe.prepare(script, model_args, args, task="code")
    trainer = GRPOTrainer(model_path, reward_funcs=script.reward_funcs, args=args, train_dataset=train, eval_dataset=test, peft_config=get_peft_config(model_args))
    metrics = {"pass rate": rewards.get("code_execution_binary")}
    return recipe.train_and_report(trainer, script, model_args, test, metrics)


if __name__ == "__main__":
    with recipe.user_errors():  # a bad input: one message naming the option or file, and the fix
        main()
    recipe.exit_process()
