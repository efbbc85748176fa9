"""The model card of a trained model, and the push to the Hugging Face Hub.

Nothing here runs unless the user asks to push (``--push_to_hub --hub_model_id NAME``): a run
without push never contacts the Hub. The push goes to ``HF_ENDPOINT`` when it is set (a mirror,
or the local test server of tests/test_hub.py).
"""

from __future__ import annotations

from pathlib import Path

UPLOAD_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.model", "*.txt", "README.md", "reward_curve.png", "pass_at_k.png",
                   "critic/*"]
IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/*", "initial-model/*", "warmed-up/*", "runs/*", "training_args.bin"]


def _algorithm(args, rewards: list[str]) -> list[str]:
    weights = args.reward_weights or [1.0] * len(rewards)
    lines = [
        f"- trainer: `{type(args).__name__.replace('Config', 'Trainer')}` (grpo-ext)",
        f"- advantage mode: `{args.advantage_mode}`; KL estimator `{args.kl_estimator}` placed in the "
        f"`{args.kl_placement}` (beta = {args.beta}, correction `{args.kl_correction}`)",
        f"- loss type: `{args.loss_type}`; {args.num_generations} completions per prompt",
        "- rewards (weight): " + (", ".join(f"`{r}` ({w:g})" for r, w in zip(rewards, weights)) or "custom callables"),
    ]
    return lines


def model_card(args, base_model: str, dataset: str, metrics: dict, rewards: list[str] | None = None) -> str:
    """README.md for the pushed model: what it is, how it was trained, how well, how to load it.
    ``rewards``: the reward names the run used (the recipe's ``reward_funcs``)."""
    repo = args.hub_model_id or Path(args.output_dir).name
    before, after = metrics.get("before", {}), metrics.get("after", {})
    hyper = {k: getattr(args, k) for k in ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps",
                                           "max_completion_length", "temperature", "max_steps", "num_iterations",
                                           "epsilon", "seed")}
    lines = [
        "---",
        "library_name: transformers",
        f"base_model: {base_model}",
        f"datasets: [{dataset}]",
        "tags: [grpo-ext, reinforcement-learning, verifiable-rewards, trl]",
        "---",
        f"# {repo}",
        "",
        f"`{base_model}` fine-tuned with reinforcement learning on verifiable rewards, on `{dataset}`, with grpo-ext.",
        "",
        "## Algorithm",
        *_algorithm(args, rewards or []),
        "",
        "## Hyper-parameters",
        "| name | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in hyper.items()],
        "",
        "## Results",
        f"Held-out problems: {after.get('n', '?')}; {metrics.get('steps', '?')} RL steps in "
        f"{metrics.get('seconds', 0) / 60:.1f} min.",
        "",
        "| metric (greedy decoding) | before RL | after RL |", "|---|---|---|",
        *[f"| {k} | {before.get(k, float('nan')):.3f} | {v:.3f} |" for k, v in after.items() if isinstance(v, float)],
        "",
        *([f"### Sampled (k = {metrics['evaluation']['k']})", metrics["evaluation"]["table"], ""] if "evaluation" in metrics else []),
        "![reward curve](reward_curve.png)",
        "",
        "## How to load",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        f'model = AutoModelForCausalLM.from_pretrained("{repo}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
        "```",
    ]
    return "\n".join(lines) + "\n"


def push(output_dir: str, repo_id: str, token: str | None = None, private: bool | None = None) -> str:
    """Create the repo if needed and upload the model, tokenizer, card and curve; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, exist_ok=True, private=private)
    info = api.upload_folder(repo_id=repo_id, folder_path=output_dir, allow_patterns=UPLOAD_PATTERNS,
                             ignore_patterns=IGNORE_PATTERNS,
                             commit_message="Upload model trained with grpo-ext")
    return str(info)
