"""A recipe's inputs, checked before any model work: the launch, the user's reward modules, the
reward names and weights, and the dataset files. Every problem is an :class:`InputError` whose
message names the option, file or line and the fix; :func:`user_errors` prints it once and ends
the process with status 2, without a traceback.

Reward strings (``--reward_funcs``) resolve by one rule, :func:`grpo_ext.rewards.registry.reward_model_id`:

| string | is |
|---|---|
| ``model:ORG/NAME`` or ``model:./folder`` | a reward model (TRL loads it) |
| a registered name, ``name(key=value)``, ``package.module:function`` | a registry reward |
| an existing local folder | a reward model |
| ``ORG/NAME`` (one slash, no spaces) | a reward model on the Hub |
| anything else | an error from the registry, with the closest names |
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from grpo_ext import rewards



class InputError(ValueError):
    """A recipe input that cannot work; the message says which and how to fix it."""


@contextmanager
def user_errors():
    """Turn input errors (ours, the registry's, the dataset layouts') into one message on stderr
    and exit status 2; anything else propagates with its traceback."""
    from grpo_ext.recipe_kit.data import DatasetFormatError

    try:
        yield
    except (InputError, DatasetFormatError, rewards.RewardError) as err:
        if int(os.environ.get("LOCAL_RANK", "0")) == 0:  # every process fails alike; say it once
            print(f"\nerror: {err}\n", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(2)  # no interpreter teardown: nothing else (process groups, workers) prints


def import_reward_modules(items: list[str] | None) -> list[str]:
    """Import ``--reward_modules`` (dotted module names, or ``.py`` files) so the rewards they
    register are known by name. Modules are found from the working directory too; a file is
    imported under its own name and shipped to reward workers by value. Returns the names."""
    names = []
    if str(Path.cwd()) not in sys.path:
        sys.path.append(str(Path.cwd()))  # `accelerate launch recipes/x.py` puts only recipes/ on the path
    for item in (part.strip() for entry in items or [] for part in entry.split(",")):
        if not item:
            continue
        if item.endswith(".py") or os.sep in item:
            names.append(_import_file(item))
            continue
        try:
            importlib.import_module(item)
        except ImportError as err:
            raise InputError(f"--reward_modules {item}: cannot import it ({err}). Give a module importable from "
                             f"{Path.cwd()} (or on PYTHONPATH), or a file path such as ./my_rewards.py") from None
        names.append(item)
    return names


def _import_file(item: str) -> str:
    import cloudpickle

    path = Path(item)
    if not path.is_file():
        raise InputError(f"--reward_modules {item}: no such file (looked from {Path.cwd()})")
    name = "grpo_ext_user_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path.resolve())
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    cloudpickle.register_pickle_by_value(module)  # reward workers cannot import it by name
    return name


def check_rewards(specs: list[str] | None, weights: list[float] | None) -> list[str]:
    """Each ``--reward_funcs`` string resolves (or is a reward model) and ``--reward_weights``
    has one weight per reward. Returns the columns the registry rewards need."""
    if not specs:
        raise InputError("--reward_funcs is empty: name at least one reward, e.g. --reward_funcs math_accuracy "
                         "(`grpo-ext rewards list` shows them)")
    columns = []
    for spec in specs:
        try:
            model = rewards.registry.reward_model_id(spec)
            reward = None if model is not None else rewards.resolve(spec)
        except rewards.RewardError as err:
            raise InputError(f"--reward_funcs {spec}: {err} To load your own rewards, pass --reward_modules "
                             "my_pkg.rewards (or ./my_rewards.py); for a reward model write model:ORG/NAME.") from None
        if reward is not None:
            columns += [c for c in getattr(getattr(reward, "params", None), "required", ()) if c not in columns]
    if weights is not None and len(weights) != len(specs):
        raise InputError(f"--reward_weights has {len(weights)} values {list(weights)} for {len(specs)} rewards "
                         f"{list(specs)}: give one weight per reward, in the same order")
    return columns


def check_local_file(name: str) -> None:
    """A local JSON/JSONL/CSV dataset file reads: a broken line is named with its number."""
    path = Path(name)
    if not path.is_file():
        if path.suffix.lower() in (".json", ".jsonl", ".csv", ".parquet", ".txt") or name.startswith(("./", "/")):
            raise InputError(f"--dataset_name {name}: no such file (looked from {Path.cwd()})")
        return
    if path.stat().st_size == 0:
        raise InputError(f"--dataset_name {name}: the file is empty; it needs one problem per row")
    if path.suffix.lower() not in (".json", ".jsonl"):
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{name}:{err.lineno}: not valid JSON ({err.msg}, column {err.colno}); fix that line") from None
        return
    if not text.strip():
        raise InputError(f"--dataset_name {name}: the file has no rows (only blank lines); it needs one problem per line")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{name}:{number}: not valid JSON ({err.msg}, column {err.colno}); each line of a "
                             "JSON Lines file must be one complete JSON object: fix or delete that line") from None
        if not isinstance(row, dict):
            raise InputError(f"{name}:{number}: a JSON Lines row must be an object {{\"column\": value, ...}}, "
                             f"got {type(row).__name__}")


def check_columns(columns: list[str], dataset, option: str = "--dataset_name") -> None:
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise InputError(f"{option}: the rewards need the dataset columns {missing}, but the prepared dataset has "
                         f"{dataset.column_names}; rename the columns or pick rewards that use these")


def check_launch() -> None:
    """Refuse a launch that asked for several processes and got one: ``accelerate launch
    --num_processes 2`` without a config file (or ``--multi_gpu``) runs one process on a machine
    without GPUs."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return
    asked = _asked_processes(os.getppid())
    if asked > 1:
        raise InputError(
            f"accelerate launch was asked for --num_processes {asked} but started one process (this one): without "
            "a config file accelerate runs a single process when it finds fewer GPUs than that. For several "
            "processes (CPU or GPU) add --config_file recipes/accelerate/multi_gpu.yaml (DDP) or a "
            "recipes/accelerate/zero*.yaml (DeepSpeed); for one process drop --num_processes.")


def _asked_processes(pid: int) -> int:
    """``--num_processes`` of an ``accelerate launch`` command line (process ``pid``), else 0."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return 0
    if not any(a.endswith("accelerate") for a in argv[:2]) or "launch" not in argv:
        return 0
    for i, arg in enumerate(argv):
        if arg.endswith(".py") and i > 1:
            break  # the training script: what follows are its own arguments
        value = arg.split("=", 1)[1] if arg.startswith("--num_processes=") else (
            argv[i + 1] if arg == "--num_processes" and i + 1 < len(argv) else None)
        if value is not None and value.isdigit():
            return int(value)
    return 0


# -- training settings that fail only after the model loaded, or after training -----------------

# report_to backend -> the modules any one of which makes it work
_REPORTERS = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",), "trackio": ("trackio",),
              "mlflow": ("mlflow",), "comet_ml": ("comet_ml",), "clearml": ("clearml",), "dvclive": ("dvclive",),
              "neptune": ("neptune",), "swanlab": ("swanlab",), "codecarbon": ("codecarbon",),
              "azure_ml": ("azureml",)}


def check_training(args) -> None:
    """The learning rate, ``--resume_from_checkpoint`` (``true``: the latest checkpoint of
    ``output_dir``, resolved here to its folder) and ``--report_to`` backends."""
    if args.learning_rate < 0:
        raise InputError(f"--learning_rate {args.learning_rate}: a learning rate must be >= 0 (e.g. 1e-6 for a "
                         "0.5B model, 5e-4 for the tiny offline one)")
    args.resume_from_checkpoint = resolve_checkpoint(args.resume_from_checkpoint, args.output_dir)
    steps = args.logging_steps if args.logging_strategy == "steps" or getattr(args.logging_strategy, "value", "") == "steps" else 0
    if 0 < args.max_steps < steps and steps >= 1:  # a short run would log nothing: no reward curve
        print(f"note: --max_steps {args.max_steps} is below logging_steps {args.logging_steps}: logging every step "
              "so the run has a reward curve", file=sys.stderr, flush=True)
        args.logging_steps = 1
    for backend in args.report_to or []:
        modules = _REPORTERS.get(backend)
        if modules and not any(importlib.util.find_spec(m) for m in modules):
            raise InputError(f"--report_to {backend}: {backend} is not installed (pip install {modules[0]}), or "
                             f"report elsewhere (--report_to none)")


def resolve_checkpoint(value, output_dir: str) -> str | None:
    """A checkpoint folder to resume from: ``true`` means the latest ``checkpoint-N`` of ``output_dir``
    (as transformers' ``resume_from_checkpoint=True``); ``false``/empty means none."""
    from transformers.trainer_utils import get_last_checkpoint

    if value is None or str(value).strip().lower() in ("", "false", "no", "none"):
        return None
    here = sorted(p.name for p in Path(output_dir).glob("checkpoint-*")) if Path(output_dir).is_dir() else []
    if str(value).strip().lower() in ("true", "yes", "latest"):
        latest = get_last_checkpoint(output_dir) if Path(output_dir).is_dir() else None
        if latest is None:
            raise InputError(f"--resume_from_checkpoint {value}: {output_dir} has no checkpoint-N folder to resume "
                             "from (a run saves them with --save_strategy steps --save_steps N); drop the flag to start "
                             "afresh")
        return latest
    if not Path(value).is_dir():
        raise InputError(f"--resume_from_checkpoint {value}: no such folder (looked from {Path.cwd()}); "
                         f"{output_dir} has {here or 'no checkpoints'}; `--resume_from_checkpoint true` takes the latest")
    return str(value)


