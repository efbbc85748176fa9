"""What the recipes need to run: inputs checked before any model work, datasets, the built-in
offline tasks and tiny models, reports and plots, the Hub push and the ``grpo-ext`` command.

The trainers (``grpo_ext.GRPOTrainer``, ``grpo_ext.PPOTrainer``) never import from here.
"""
