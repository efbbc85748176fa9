"""Every fenced code block of README.md and docs/*.md, run (or parsed) offline as the reader would
use it. The convention (what each fence tag means, how shell commands are shortened) is in
docs/contributing-docs.md; in short:

- ``python``: run alone in a fresh interpreter, from a scratch copy of the repo root; a Hub model id
  from ``HUB_MODELS`` becomes a tiny local model.
- ``bash``/``sh``/``shell``: each command runs; recipe runs get ``SHORT`` appended (and a local
  model and dataset for Hub configs); bench, make, pip, git clone, multi-node and push commands
  are checked, not run.
- ``yaml``/``json``/``jsonl``/``toml``: parsed. ``text``/``console``/``output``: not code.
- an untagged fence or another tag fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # files that exist now
NOT_CODE = {"text", "console", "output"}
SHELL = {"bash", "sh", "shell"}
HUB_MODELS = ("Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-1.5B-Instruct",
              "Qwen/Qwen2.5-Math-1.5B", "Qwen/Qwen2.5-7B-Instruct")
SHORT = ["--max_steps", "2", "--sft_warmup_steps", "2", "--eval_size", "4", "--eval_batch_size", "4",
         "--per_device_train_batch_size", "8", "--num_generations", "4", "--max_completion_length", "8",
         "--logging_steps", "1", "--save_strategy", "no"]
CHECKED_ONLY = ("make", "pip", "git")
PYTHON = sys.executable
BIN = Path(PYTHON).parent
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<tag>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def blocks() -> list[tuple[str, str, str]]:
    """(id "file:line", tag, body) of every fenced block."""
    out = []
    for path in DOC_FILES:
        text = path.read_text()
        for m in FENCE.finditer(text):
            indent = len(m.group("indent"))
            body = "".join(line[indent:] if line[:indent].strip() == "" else line
                           for line in m.group("body").splitlines(keepends=True))
            line = text.count("\n", 0, m.start()) + 1
            out.append((f"{path.relative_to(ROOT)}:{line}", m.group("tag").strip().split(" ")[0], body))
    return out


BLOCKS = blocks()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """A scratch folder that looks like the repo root (links to its parts) but keeps outputs."""
    folder = tmp_path_factory.mktemp("docs")
    for name in ("recipes", "tests", "bench", "rewards", "grpo_ext", "docs", "pyproject.toml", "Makefile", "README.md"):
        if (ROOT / name).exists():
            (folder / name).symlink_to(ROOT / name)
    return folder


def _env(scratch: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="",
                OMP_NUM_THREADS="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(scratch))


def _run(cmd: list[str], scratch: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def _tiny_model() -> str:
    from tests.tiny_setup import tiny_model_path

    return tiny_model_path()


# -- python ------------------------------------------------------------------------------------------

def run_python(body: str, scratch: Path, name: str) -> None:
    for model in HUB_MODELS:
        body = re.sub(rf"([\"']){re.escape(model)}\1", repr(_tiny_model()), body)
    script = scratch / ("block_" + re.sub(r"\W", "_", name) + ".py")
    script.write_text(body)
    _run([PYTHON, str(script)], scratch, _env(scratch), timeout=300)


# -- shell -------------------------------------------------------------------------------------------

def commands(body: str) -> list[list[str]]:
    """One token list per command: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", body)
    return [tokens for line in joined.splitlines() if (tokens := shlex.split(line, comments=True))]


def run_shell(body: str, scratch: Path, name: str) -> None:
    env = _env(scratch)
    for n, tokens in enumerate(commands(body)):
        assert "$" not in tokens[0], f"{name}: {tokens[0]!r} looks like a prompt; a transcript is a `console` block"
        if tokens[0] == "export":
            key, _, value = tokens[1].partition("=")
            env[key] = value
        elif tokens[0] == "cd":
            raise AssertionError(f"{name}: `cd` in a docs shell block; write paths from the repo root")
        elif tokens[0] in CHECKED_ONLY:
            check_tool_command(tokens, name)
        elif tokens[0] == "grpo-ext":
            _run([PYTHON, "-m", "grpo_ext.recipe_kit.cli", *tokens[1:]], scratch, env)
        elif _recipe_index(tokens) is not None:
            run_recipe(tokens, scratch, env, f"{name}-{n}")
        elif tokens[0] == "python" and len(tokens) > 1 and tokens[1].startswith("bench/"):
            check_bench(tokens[1:], scratch, env)
        else:
            _run([PYTHON if tokens[0] == "python" else tokens[0], *tokens[1:]], scratch, env)


def _recipe_index(tokens: list[str]) -> int | None:
    if tokens[0] not in ("accelerate", "python"):
        return None
    return next((i for i, t in enumerate(tokens) if re.fullmatch(r"recipes/\w+\.py", t)), None)


def check_tool_command(tokens: list[str], name: str) -> None:
    if tokens[0] == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M)
        for target in tokens[1:]:
            assert target in targets, f"{name}: `make {target}`: the Makefile has no such target ({targets})"
    elif tokens[0] == "pip":
        extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        for token in tokens:
            for extra in re.findall(r"\.\[([\w,-]+)\]", token):
                assert set(extra.split(",")) <= set(extras), f"{name}: pip extra {extra!r} not in pyproject ({list(extras)})"


def check_bench(argv: list[str], scratch: Path, env: dict) -> None:
    """Bench runs take minutes: the script exists and knows every flag the command uses."""
    help_text = _run([PYTHON, argv[0], "--help"], scratch, env).stdout
    for flag in (a.split("=")[0] for a in argv[1:] if a.startswith("--")):
        assert flag in help_text, f"`{shlex.join(argv)}`: {argv[0]} has no option {flag}"


def run_recipe(tokens: list[str], scratch: Path, env: dict, name: str) -> None:
    i = _recipe_index(tokens)
    launcher, script, args = tokens[:i], tokens[i], tokens[i + 1:]
    if "--num_processes" in launcher:
        k = launcher.index("--num_processes") + 1
        launcher[k] = str(min(int(launcher[k]), 2))
    default = _default_config(script)
    args = [str(default) if a == "<yaml>" else a for a in args]
    config = yaml.safe_load(Path(scratch, args[args.index("--config") + 1]).read_text()) if "--config" in args else \
        yaml.safe_load(default.read_text())
    model = _option(args, "--model_name_or_path") or config.get("model_name_or_path", "")
    dataset = _option(args, "--dataset_name") or config.get("dataset_name", "")
    extra = [*SHORT, "--output_dir", str(scratch / "out" / name)]
    if not model.startswith("builtin:"):
        extra += ["--model_name_or_path", "builtin:tiny", "--dtype", "float32"]
    if not dataset.startswith("builtin:") and not (scratch / dataset).exists():
        extra += ["--dataset_name", _local_dataset(scratch, "code" in script)]
    check_only = "--push_to_hub" in args or int(_option(launcher, "--num_machines") or 1) > 1
    if check_only:
        parse_recipe_args(script, args + extra, scratch, env)
        return
    command = [str(BIN / "accelerate"), *launcher[1:]] if launcher[0] == "accelerate" else [PYTHON]
    _run([*command, script, *args, *extra], scratch, env, timeout=900)


def _option(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def _default_config(script: str) -> Path:
    text = (ROOT / script).read_text()
    return ROOT / "recipes" / "configs" / re.search(r'"configs" / "([^"]+)"', text).group(1)


def _local_dataset(scratch: Path, code: bool) -> str:
    if code:
        return str(ROOT / "tests/data/code_test_cases.jsonl")
    path = scratch / "gsm8k_like.jsonl"
    path.write_text("".join(json.dumps({"question": f"What is {a} + {b}?", "answer": f"{a}+{b}=<<{a}+{b}={a + b}>>\n"
                                        f"#### {a + b}"}) + "\n" for a in range(5) for b in range(4)))
    return str(path)


def parse_recipe_args(script: str, argv: list[str], scratch: Path, env: dict) -> None:
    """The arguments parse as the recipe parses them (for commands that are not run)."""
    code = ("import sys\nfrom trl import ModelConfig\nfrom grpo_ext import GRPOConfig, PPOConfig\nfrom grpo_ext.recipe_kit import recipe\n"
            f"config = PPOConfig if 'ppo' in {script!r} else GRPOConfig\n"
            f"recipe.parse((recipe.RecipeArguments, config, ModelConfig), {str(_default_config(script))!r}, sys.argv[1:])\n")
    _run([PYTHON, "-c", code, *argv], scratch, env)


# -- the test --------------------------------------------------------------------------------------

# one file's blocks on one pytest-xdist worker, in order: a block may read what an earlier one wrote
@pytest.mark.parametrize("name, tag, body", [pytest.param(*b, id=b[0], marks=pytest.mark.xdist_group(b[0].split(":")[0]))
                                             for b in BLOCKS])
def test_docs_code_block(name, tag, body, scratch):
    if tag in NOT_CODE:
        return
    if tag == "python":
        run_python(body, scratch, name)
    elif tag in SHELL:
        run_shell(body, scratch, name)
    elif tag == "yaml":
        yaml.safe_load(body)
    elif tag == "json":
        json.loads(body)
    elif tag == "jsonl":
        for line in filter(str.strip, body.splitlines()):
            json.loads(line)
    elif tag == "toml":
        tomllib.loads(body)
    else:
        pytest.fail(f"{name}: fence tag {tag!r}: use python, bash, yaml, json, jsonl, toml, or text/console for "
                    "what is not run (see tests/test_docs.py)")


def test_docs_have_blocks():
    """The extraction itself works: the README has python and shell blocks."""
    tags = {tag for name, tag, _ in BLOCKS if name.startswith("README.md")}
    assert {"python", "bash"} <= tags
