"""GRPO with tools: multi-turn rollouts in which the model calls tools and reads their results
(TRL's `tools=[...]` / `environment_factory`; tool-result tokens are masked out of the loss, the KL and the advantages).

    accelerate launch recipes/grpo_tools.py        # offline default: tiny local model, built-in lookup task, CPU
    accelerate launch recipes/grpo_tools.py --config recipes/configs/grpo_tools_qwen3-1.7b_python.yaml
    accelerate launch recipes/grpo_tools.py --max_steps 100 --advantage_mode rloo --kl_estimator k3+ --beta 0.01

Without --config it runs recipes/configs/grpo_tools_offline.yaml (other flags override it): it
builds a small model with a tool-call format locally (grpo_ext/tools.py), warms it up on the lookup
task (grpo_ext/recipe_kit/lookup.py: codes of two-letter keys that only the episode's `lookup()` tool knows,
an `environment_factory`; 100 keys are held out), measures greedy multi-turn accuracy, tool-call
rate and malformed-call rate on the held-out keys, trains with GRPO on the exact-answer reward,
and measures again. Training logs TRL's `tools/call_frequency` and `tools/failure_frequency`.
The output folder gets the model, metrics.json (with the tool-call curve), reward_curve.png and a
model card. `--help` lists every option with its documentation.
"""

from pathlib import Path

from trl import ModelConfig, get_peft_config

from grpo_ext import GRPOConfig, GRPOTrainer
from grpo_ext.recipe_kit import recipe, tool_recipe

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "grpo_tools_offline.yaml"


def main(argv=None):
    script, args, model_args = recipe.parse((tool_recipe.ToolRecipeArguments, GRPOConfig, ModelConfig),
                                            DEFAULT_CONFIG, argv)
    # tools: the trainer's tools= and / or environment_factory=
    model_path, train, test, tools, metrics = tool_recipe.prepare(script, model_args, args)
    trainer = GRPOTrainer(model_path, reward_funcs=tool_recipe.reward_funcs(script, metrics), args=args,
                          train_dataset=train, eval_dataset=test, peft_config=get_peft_config(model_args), **tools)
    return tool_recipe.train_and_report(trainer, script, model_args, test, metrics)


if __name__ == "__main__":
    with recipe.user_errors():  # a bad input: one message naming the option or file, and the fix
        main()
    recipe.exit_process()
