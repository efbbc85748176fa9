"""PPO (a critic and GAE) on math problems with verifiable rewards.

    accelerate launch recipes/ppo_math.py         # offline default: tiny local model, built-in arithmetic, CPU
    accelerate launch --config_file recipes/accelerate/zero3.yaml recipes/ppo_math.py --config <yaml>

Without --config it runs recipes/configs/ppo_math_offline.yaml (other flags override it); see
recipes/grpo_math.py for what the offline default does. The policy is saved as a plain
transformers model in the output folder and the critic in its critic/ subfolder.
"""

from pathlib import Path

from trl import ModelConfig

from grpo_ext import rewards
from grpo_ext import PPOConfig, PPOTrainer
from grpo_ext.recipe_kit import recipe

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "ppo_math_offline.yaml"


def main(argv=None):
    script, args, model_args = recipe.parse((recipe.RecipeArguments, PPOConfig, ModelConfig), DEFAULT_CONFIG, argv)
    model_path, train, test = recipe.prepare(script, model_args, args)
    trainer = PPOTrainer(model_path, reward_funcs=script.reward_funcs, args=args, train_dataset=train, eval_dataset=test)
    metrics = {"accuracy": rewards.get("math_accuracy"), "format": rewards.get("answer_format")}
    return recipe.train_and_report(trainer, script, model_args, test, metrics)


if __name__ == "__main__":
    with recipe.user_errors():  # a bad input: one message naming the option or file, and the fix
        main()
    recipe.exit_process()
