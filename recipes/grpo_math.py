"""GRPO on math problems with verifiable rewards (answers checked with sympy, format tags).

    accelerate launch recipes/grpo_math.py        # offline default: tiny local model, built-in arithmetic, CPU
    accelerate launch recipes/grpo_math.py --config recipes/configs/grpo_qwen2.5-0.5b_gsm8k.yaml
    accelerate launch --config_file recipes/accelerate/zero2.yaml recipes/grpo_math.py --config <yaml>
    accelerate launch recipes/grpo_math.py --max_steps 50 --kl_estimator k3+ --push_to_hub --hub_model_id me/model
    accelerate launch recipes/grpo_math.py --reward_modules ./my_rewards.py --reward_funcs math_accuracy my_reward

Without --config it runs recipes/configs/grpo_math_offline.yaml (other flags override it): it
builds a small model and a character-level tokenizer locally (grpo_ext/recipe_kit/tiny.py), warms it up on
350 addition problems (grpo_ext/recipe_kit/arithmetic.py), measures greedy accuracy on 50 held-out
problems, trains with GRPO and the math_accuracy and answer_format rewards, and measures again.
The output folder gets the model, metrics.json, reward_curve.png and a model card (README.md).
Rewards, weights and data are checked before any model work (grpo_ext/recipe_kit/recipe_inputs.py).
`--help` lists every option with its documentation.
"""

from pathlib import Path

from trl import ModelConfig, get_peft_config

from grpo_ext import GRPOConfig, GRPOTrainer, rewards
from grpo_ext.recipe_kit import recipe

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "grpo_math_offline.yaml"


def main(argv=None):
    script, args, model_args = recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), DEFAULT_CONFIG, argv)
    model_path, train, test = recipe.prepare(script, model_args, args)
    trainer = GRPOTrainer(model_path, reward_funcs=script.reward_funcs, args=args, train_dataset=train, eval_dataset=test, peft_config=get_peft_config(model_args))
    metrics = {"accuracy": rewards.get("math_accuracy"), "format": rewards.get("answer_format")}
    return recipe.train_and_report(trainer, script, model_args, test, metrics)


if __name__ == "__main__":
    with recipe.user_errors():  # a bad input: one message naming the option or file, and the fix
        main()
    recipe.exit_process()
