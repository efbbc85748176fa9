"""The ``grpo-ext`` command.

    grpo-ext rewards list
    grpo-ext kl list
    grpo-ext advantages list
    grpo-ext filters list
    grpo-ext rewards check math_accuracy --completion 'so \\boxed{1/2}' --gold 0.5
    grpo-ext rewards check 'soft_overlong(max_length=20, cache_length=5)' --completion '...'
    grpo-ext rewards check my_reward --reward_modules ./my_rewards.py --completion '...'
    grpo-ext sandbox check
    grpo-ext eval MODEL_OR_FOLDER --dataset FILE_OR_ID --metrics math_accuracy --k 1,4,16
    grpo-ext push outputs/grpo-math-offline --hub_model_id me/adder
    grpo-ext --version
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

import yaml

from grpo_ext import rewards
from grpo_ext.rewards import math as math_reward


def _key_values(pairs: list[str], flag: str) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} takes KEY=VALUE, got {pair!r}")
        out[key] = yaml.safe_load(value)  # "3" -> 3, "true" -> True, "[a, b]" -> list
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


def rewards_table() -> str:
    """The README's rewards table, generated from the registry."""
    rows = ["| reward | what it scores |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(doc)} |" for name, doc in rewards.available().items()]
    return "\n".join(rows)


def kl_table() -> str:
    """The README's KL estimator table, generated from grpo_ext.kl's registry."""
    from grpo_ext import kl

    rows = ["| `kl_estimator` | what it is |", "|---|---|"]
    return "\n".join(rows + [f"| `{name}` | {_cell(doc)} |" for name, doc in kl.available().items()])


def advantage_table() -> str:
    """The README's advantage mode table, generated from grpo_ext.advantages' registry."""
    from grpo_ext import advantages

    rows = ["| `advantage_mode` | advantage |", "|---|---|"]
    return "\n".join(rows + [f"| `{name}` | {_cell(doc)} |" for name, doc in advantages.available().items()])


def filter_table() -> str:
    """The README's dynamic-sampling filter table, generated from grpo_ext.dynamic's registry."""
    from grpo_ext import dynamic

    rows = ["| `dynamic_sampling_filter` | drops |", "|---|---|"]
    return "\n".join(rows + [f"| `{name}` | {_cell(doc)} |" for name, doc in dynamic.available().items()])


def _table(args: argparse.Namespace) -> int:
    print({"kl": kl_table, "advantages": advantage_table, "filters": filter_table}[args.group]())
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.markdown:
        print(rewards_table())
        return 0
    names = rewards.available()
    width = max(map(len, names))
    for name, doc in names.items():
        print(f"{name:<{width}}  {doc}")
    return 0


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _check(args: argparse.Namespace) -> int:
    from grpo_ext.recipe_kit.recipe_inputs import InputError, import_reward_modules

    try:
        import_reward_modules(args.reward_modules)
        name, params = rewards.registry.parse_spec(args.name)  # NAME or NAME(key=value, ...), as --reward_funcs
        reward = rewards.get(name, **params, **_key_values(args.param, "--param"))
    except (rewards.RewardError, InputError) as err:
        return _error(str(err))
    try:
        return _score(args, reward)
    except Exception as err:  # the reward refused the inputs (a gold answer of the wrong shape, ...): say so
        return _error(f"reward {reward.name!r} cannot score this completion with these inputs "
                      f"({type(err).__name__}: {err}); see its documentation for the columns it reads")


@contextlib.contextmanager
def _warnings_logged():
    """The messages of the warnings logged while the block runs (the reasons a reward gives for a None)."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)


def _score(args: argparse.Namespace, reward) -> int:
    columns = _key_values(args.column, "--column")
    required = reward.params.required
    if args.gold is not None:
        columns[required[0] if required else "answer"] = args.gold
    missing = [c for c in required if c not in columns]
    if missing:
        return _error(f"reward {args.name!r} needs {missing}; pass --gold or --column NAME=VALUE")
    ids = list(args.completion.encode()) if args.token_ids is None else args.token_ids
    with _warnings_logged() as warnings:
        score = reward(prompts=[args.prompt], completions=[args.completion], completion_ids=[ids],
                       **{k: [v] for k, v in columns.items()})[0]
    if score is None and warnings:  # a reward scores a row it cannot read None and logs why: say it as an error
        return _error(f"reward {reward.name!r} cannot score this completion with these inputs "
                      f"({'; '.join(warnings)}); see its documentation for the columns it reads")
    print(f"reward:    {args.name}")
    print(f"score:     {score}")
    gold_column = getattr(reward.fn, "gold_column", None)
    if gold_column is not None:  # math-based rewards: show why
        check = math_reward.explain(args.completion, columns[gold_column])
        print(f"extracted: {check.answer!r}")
        print(f"gold:      {check.gold!r}")
        print(f"parsed:    answer {check.answer_parsed or '-'} | gold {check.gold_parsed or '-'}")
        print(f"why:       {check.reason}")
    if args.token_ids is None and reward.params.wants and "completion_ids" in reward.params.wants:
        print(f"note:      lengths counted in UTF-8 bytes ({len(ids)}); pass --token-ids for real token counts")
    return 0


def _sandbox_check(args: argparse.Namespace) -> int:
    from grpo_ext.rewards.code.sandbox_check import run_checks

    return 0 if run_checks(isolation=args.isolation) else 1


def _push(args: argparse.Namespace) -> int:
    from grpo_ext.recipe_kit import hub
    from grpo_ext.recipe_kit.recipe_inputs import InputError

    if not Path(args.output_dir, "config.json").is_file():
        return _error(f"{args.output_dir} holds no saved model (no config.json); give the output_dir of a finished run")
    try:
        hub.check_push(args.hub_model_id, args.token)
    except InputError as err:
        return _error(str(err))
    print("pushed:", hub.push(args.output_dir, args.hub_model_id, args.token, args.private))
    return 0


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("grpo-ext")
    except metadata.PackageNotFoundError:  # a source checkout on PYTHONPATH
        import grpo_ext

        return getattr(grpo_ext, "__version__", "unknown (not installed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grpo-ext", description="grpo-ext command-line tools")
    parser.add_argument("--version", action="version", version=f"grpo-ext {_version()}")
    sub = parser.add_subparsers(dest="group", required=True)
    group = sub.add_parser("rewards", help="list and try the registered rewards")
    cmds = group.add_subparsers(dest="command", required=True)
    listing = cmds.add_parser("list", help="registered rewards with one-line docs")
    listing.add_argument("--markdown", action="store_true", help="print the README's table")
    listing.set_defaults(func=_list)
    check = cmds.add_parser("check", help="score one completion and say why")
    check.add_argument("name", help="a reward as --reward_funcs takes it: NAME, 'NAME(key=value, ...)' or "
                                    "package.module:function")
    check.add_argument("--reward_modules", action="append", default=[], metavar="MODULE",
                       help="module or .py file to import first (its @rewards.register rewards can then be named)")
    check.add_argument("--completion", required=True, help="the completion text")
    check.add_argument("--gold", help="the gold answer (goes to the reward's gold column)")
    check.add_argument("--prompt", default="", help="the prompt text (default: empty)")
    check.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="reward parameter")
    check.add_argument("--column", action="append", default=[], metavar="KEY=VALUE", help="extra dataset column")
    check.add_argument("--token-ids", type=yaml.safe_load, default=None, help="completion token ids, e.g. '[1, 2, 3]'")
    check.set_defaults(func=_check)
    for name, what in (("kl", "KL estimators"), ("advantages", "advantage modes"),
                       ("filters", "dynamic-sampling filters")):
        grp = sub.add_parser(name, help=f"the registered {what}")
        grp.add_subparsers(dest="command", required=True).add_parser("list", help=f"{what} as a markdown table")
        grp.set_defaults(func=_table)
    box = sub.add_parser("sandbox", help="the code sandbox on this machine")
    box_check = box.add_subparsers(dest="command", required=True).add_parser(
        "check", help="print the isolation this machine gives and run attacks against it live")
    box_check.add_argument("--isolation", choices=("namespaces", "process"), default="namespaces",
                           help="the mode to attack (default: namespaces; 'process' shows what the weaker mode lets through)")
    box.set_defaults(func=_sandbox_check)
    __import__("grpo_ext.recipe_kit.eval_cli", fromlist=["add_parser"]).add_parser(sub)  # grpo-ext eval
    push = sub.add_parser("push", help="push a saved run (model, tokenizer, card, curve) to the Hub")
    push.add_argument("output_dir", help="the output_dir of a finished run")
    push.add_argument("--hub_model_id", required=True, help="the repository, e.g. your-name/model-name")
    push.add_argument("--token", default=None, help="Hugging Face token (default: HF_TOKEN or `hf auth login`'s)")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.set_defaults(func=_push)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
