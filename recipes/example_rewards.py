"""An example of a user's reward module: the README's tour loads it into a recipe with
``--reward_modules recipes/example_rewards.py`` and names its reward in ``--reward_funcs``.
tests/test_readme.py checks that the README shows this file's code."""

from grpo_ext import rewards


@rewards.register("brevity")
def brevity(completions, completion_ids, max_tokens: int = 12):
    """1.0 for completions of at most max_tokens tokens, else 0.0."""
    return [float(len(ids) <= max_tokens) for ids in completion_ids]
