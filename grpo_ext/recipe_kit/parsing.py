"""A recipe's command line: TRL's ``--config file.yaml`` plus ``--key value`` overrides, with the
mistakes a person makes there caught in one line each (see :func:`parse_argv`).

- Without ``--config`` the overrides apply to the recipe's offline default config; ``--config``
  *replaces* that default wholesale (nothing of it is kept), and a config without
  ``model_name_or_path`` is refused saying so.
- ``--help`` shows the values the run would use (the default config's, or ``--config``'s), and
  lists ``--config`` itself.
- A YAML that does not read, a key no option has (with the closest names), a value of the wrong
  type, or an unknown flag: one :class:`InputError` naming the file or flag.
- ``--reward_funcs`` given alone does not inherit the config's ``reward_weights``, which were for
  the config's own rewards: every reward weighs 1.0 and a note says so.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from pathlib import Path

import yaml

from grpo_ext.recipe_kit.recipe_inputs import InputError

CONFIG_HELP = ("YAML file of these options (one `key: value` a line). It replaces the recipe's default config ({}) "
               "wholesale: give every setting the run needs, model_name_or_path included. Flags given after it "
               "override it.")


def _split_config(argv: list[str], default_config: Path) -> tuple[list[str], Path, bool]:
    """(argv without --config, the config file, whether the user named it)."""
    out, config, explicit = [], default_config, False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--config" or arg.startswith("--config="):
            value = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else None)
            if not value:
                raise InputError("--config needs a file: --config recipes/configs/<name>.yaml")
            config, explicit = Path(value), True
            i += 1 if "=" in arg else 2
            continue
        out.append(arg)
        i += 1
    return out, config, explicit


def read_config(path: Path) -> dict:
    """The YAML mapping of a config file; a file that is missing or does not read is one InputError."""
    if not path.is_file():
        raise InputError(f"--config {path}: no such file (looked from {Path.cwd()})")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{where}: not valid YAML ({getattr(err, 'problem', None) or err}); fix that line") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: a config must be a YAML mapping of `option: value` lines, got {type(config).__name__}")
    return config


def _dests(parser: argparse.ArgumentParser) -> list[str]:
    return [a.dest for a in parser._actions if a.dest != "help"]


def _closest(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" Did you mean {', '.join(map(repr, close))}?" if close else ""


def check_keys(config: dict, path: Path, parser: argparse.ArgumentParser) -> None:
    names = _dests(parser)
    for key in config:
        if key != "env" and key not in names:
            raise InputError(f"{path}: unknown key {key!r}.{_closest(str(key), names)} `--help` lists the options")


def _unknown_flags(argv: list[str], parser: argparse.ArgumentParser) -> None:
    names = _dests(parser)
    for arg in argv:
        flag = arg[2:].split("=", 1)[0]
        if arg.startswith("--") and flag.replace("-", "_") not in names:
            raise InputError(f"unknown option --{flag}.{_closest(flag, names)} `--help` lists the options")


def _weights_follow_rewards(argv: list[str], config: dict, path: Path) -> None:
    """``--reward_funcs`` without ``--reward_weights``: the config's weights were for its own rewards."""
    flags = {a.split("=", 1)[0] for a in argv}
    if "--reward_funcs" not in flags or "--reward_weights" in flags or config.get("reward_weights") is None:
        return
    named = argv[argv.index("--reward_funcs") + 1:] if "--reward_funcs" in argv else []
    named = [a for a in named[: next((i for i, a in enumerate(named) if a.startswith("--")), len(named))]]
    if named == list(config.get("reward_funcs") or []):
        return
    print(f"note: --reward_funcs {' '.join(named)} without --reward_weights: the weights {config['reward_weights']} "
          f"of {path} were for its reward_funcs {config.get('reward_funcs')}; every reward weighs 1.0 "
          "(pass --reward_weights to choose)", file=sys.stderr, flush=True)
    config["reward_weights"] = None


def parse_argv(parser, argv: list[str], default_config: Path):
    """Parse ``argv`` into the parser's dataclasses (see the module docstring)."""
    argv, config_path, explicit = _split_config(argv, Path(default_config))
    config = read_config(config_path)
    check_keys(config, config_path, parser)
    if "--help" in argv or "-h" in argv:
        parser.add_argument("--config", metavar="FILE", default=str(config_path),
                            help=CONFIG_HELP.format(default_config))
        parser.set_defaults_with_config(**{k: v for k, v in config.items() if k != "env"})
        parser.parse_args(["--help"])  # prints the values this run would use, and exits
    _unknown_flags(argv, parser)
    _weights_follow_rewards(argv, config, config_path)

    def error(message: str):  # argparse's own errors (a wrong value type): one line, naming the file
        m = re.match(r"argument --(\w+)(/--[\w-]+)?: ", message)
        if not m:
            raise InputError(message)
        key, said = m.group(1), message[m.end():]
        if key in config and f"--{key}" not in {a.split("=", 1)[0] for a in argv}:
            raise InputError(f"{config_path}: {key}: {said}; fix that value in the file")
        raise InputError(f"--{key}: {said}")

    parser.error = error
    env = config.pop("env", {}) or {}
    if not isinstance(env, dict):
        raise InputError(f"{config_path}: `env` must be a mapping of environment variables, got {env!r}")
    for key, value in env.items():  # as TRL's parser does
        os.environ[str(key)] = str(value)
    parser.set_defaults_with_config(**config)
    try:
        parsed = parser.parse_args_into_dataclasses(args=argv)
    except InputError:
        raise
    except ValueError as err:  # a config's own checks (GRPOConfig.__post_init__)
        raise InputError(f"{err} (settings from {config_path} and the command line)") from None
    model_args = parsed[-1]
    if getattr(model_args, "model_name_or_path", "") is None:
        raise InputError(
            f"{config_path} sets no model_name_or_path. --config replaces the recipe's default config ({default_config}) "
            "wholesale, nothing of it is kept: add `model_name_or_path: builtin:tiny` (the offline tiny model), a local "
            "folder or a Hub id to the file, or pass --model_name_or_path")
    return parsed
