"""The model card of a trained model, and the push to the Hugging Face Hub.

Nothing here contacts the Hub unless the run names something on it: ``--push_to_hub
--hub_model_id NAME`` (checked before any model work: the token is asked who it belongs to,
:func:`check_push`), or a Hub model, dataset or reward model id (each looked up once, without
retries, :func:`check_hub_ids`). A run with local model, data and rewards and no push never
contacts the Hub. Requests go to ``HF_ENDPOINT`` when it is set (a mirror, or the local test
server of tests/test_hub.py). ``grpo-ext push OUTPUT_DIR --hub_model_id NAME`` pushes a saved run.
"""

from __future__ import annotations

import os
from pathlib import Path

from grpo_ext.recipe_kit.recipe_inputs import InputError
from grpo_ext.rewards.registry import reward_model_id

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
    repo = args.hub_model_id or str(Path(args.output_dir).resolve())  # a Hub id, or a path that works from anywhere
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


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false")


def _unreachable(what: str, err: Exception) -> InputError:
    return InputError(f"{what}: cannot reach the Hub at {_endpoint()} ({type(err).__name__}: {err}). Check the network "
                      "(or HF_ENDPOINT for a mirror), or give a local file or folder instead")


def check_push(repo_id: str | None, token: str | None = None) -> str:
    """Before any model work: a repo name, a token, and a Hub that answers to it. Returns the user."""
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    if not repo_id:
        raise InputError("--push_to_hub needs --hub_model_id NAME (e.g. your-name/model-name)")
    if _offline():
        raise InputError("--push_to_hub: the Hugging Face libraries are offline (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE "
                         "is set); unset it, or train without --push_to_hub and push later with "
                         "`grpo-ext push OUTPUT_DIR --hub_model_id NAME`")
    token = token or get_token()
    if not token:
        raise InputError("--push_to_hub: no Hugging Face token; run `hf auth login`, set HF_TOKEN, or pass --hub_token")
    try:
        who = HfApi(token=token).whoami()
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (401, 403):
            raise InputError(f"--push_to_hub: the Hub at {_endpoint()} refuses this token ({status}); "
                             "log in again (`hf auth login`) or set HF_TOKEN to a token with write access") from None
        raise _unreachable("--push_to_hub", err) from None
    except Exception as err:  # the network's errors (connection, DNS, time-out): one message
        raise _unreachable("--push_to_hub", err) from None
    return who.get("name", "?") if isinstance(who, dict) else "?"


def check_hub_ids(ids: list[tuple[str, str, str]], token: str | None = None) -> None:
    """Each ``(option, "model" | "dataset", id)`` exists on the Hub: one request each, no retries,
    so a typo or an unreachable Hub is one message before any model work. Offline (``HF_HUB_OFFLINE``)
    nothing is asked: the libraries then read their cache."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    if not ids or _offline():
        return
    api = HfApi(token=token)
    for option, repo_type, repo_id in ids:
        what = f"{option} {repo_id}"
        try:
            api.repo_info(repo_id, repo_type=repo_type, timeout=10)
        except GatedRepoError:
            raise InputError(f"{what}: the {repo_type} is gated; accept its terms on the Hub and log in "
                             "(`hf auth login`)") from None
        except RepositoryNotFoundError:
            raise InputError(f"{what}: no such {repo_type} on the Hub at {_endpoint()} (or it is private: log in "
                             "with `hf auth login`); check the spelling, or give a local file or folder") from None
        except HfHubHTTPError as err:
            raise _unreachable(what, err) from None
        except Exception as err:  # the network's errors (connection, DNS, time-out): one message
            raise _unreachable(what, err) from None


# -- what a recipe fetches, and offline mode when it fetches nothing -----------------------------


def _is_local(name: str | None) -> bool:
    return bool(name) and (name.startswith("builtin:") or os.path.exists(name))


def hub_ids(script, model_args) -> list[tuple[str, str, str]]:
    """What the run fetches from the Hub: ``(option, "model" | "dataset", id)``, reward models included."""
    ids = []
    if not _is_local(model_args.model_name_or_path):
        ids.append(("--model_name_or_path", "model", model_args.model_name_or_path))
    if not _is_local(script.dataset_name):
        ids.append(("--dataset_name", "dataset", script.dataset_name))
    for spec in script.reward_funcs or []:
        model = reward_model_id(spec)
        if model is not None and not _is_local(model):
            ids.append(("--reward_funcs", "model", model))
    return ids


def stay_offline_when_local(script, model_args, training_args) -> bool:
    """With a local (or built-in) model, dataset and reward models and no push, switch the Hugging
    Face libraries to offline mode, so the run makes no network request at all (huggingface_hub
    otherwise asks the Hub for metadata now and then). Returns whether it did."""
    if training_args.push_to_hub or hub_ids(script, model_args):
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets.config
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True
    datasets.config.HF_HUB_OFFLINE = True
    return True


def check_settings_and_hub(script, model_args, training_args) -> None:
    """The training settings, then the Hub (push, ids) or the switch to offline mode: before any
    model work (see :mod:`grpo_ext.recipe_kit.recipe_inputs`, :func:`check_push`, :func:`check_hub_ids`)."""
    from grpo_ext.recipe_kit import recipe_inputs

    recipe_inputs.check_training(training_args)
    if training_args.push_to_hub:
        check_push(training_args.hub_model_id, training_args.hub_token)
    if not stay_offline_when_local(script, model_args, training_args):
        check_hub_ids(hub_ids(script, model_args), training_args.hub_token)
