"""A recipe's inputs are checked before any model work (grpo_ext/recipe_kit/recipe_inputs.py): reward names,
the user's reward modules, weights, dataset files and splits, the launch, and the cached tiny
model. Bad inputs give one message naming the option/file/line and the fix, and exit status 2."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from grpo_ext import rewards
from grpo_ext.recipe_kit import recipe, recipe_inputs
from grpo_ext.recipe_kit.recipe_inputs import InputError

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = Path(sys.executable).with_name("accelerate")
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")


# -- reward strings ------------------------------------------------------------------------------

def test_reward_strings_resolve_by_one_rule(tmp_path):
    assert rewards.registry.reward_model_id("model:my-org/my-rm") == "my-org/my-rm"
    assert rewards.registry.reward_model_id("model:./rm") == "./rm"
    assert rewards.registry.reward_model_id("my-org/my-rm") == "my-org/my-rm"
    assert rewards.registry.reward_model_id(str(tmp_path)) == str(tmp_path)
    assert rewards.registry.reward_model_id("math_accuracy") is None
    assert rewards.registry.reward_model_id("soft_overlong(max_length=8, cache_length=2)") is None
    assert rewards.registry.reward_model_id("code_execution(backend='piston', url='http://judge:2000')") is None
    assert rewards.registry.reward_model_id("tests.tiny_setup:digit_reward") is None
    with pytest.raises(rewards.registry.UnknownRewardError, match="Did you mean 'math_accuracy'"):
        rewards.registry.reward_model_id("math_acuracy")


def test_unknown_reward_and_weights_are_named():
    with pytest.raises(InputError, match=r"--reward_funcs math_acuracy: unknown reward .*Did you mean 'math_accuracy'.*"
                                         r"--reward_modules"):
        recipe_inputs.check_rewards(["math_acuracy"], None)
    with pytest.raises(InputError, match=r"--reward_weights has 3 values \[1.0, 0.2, 0.1\] for 2 rewards"):
        recipe_inputs.check_rewards(["math_accuracy", "answer_format"], [1.0, 0.2, 0.1])
    with pytest.raises(InputError, match="--reward_funcs is empty"):
        recipe_inputs.check_rewards([], None)
    # the columns the registry rewards need; a reward model needs none
    assert recipe_inputs.check_rewards(["math_accuracy", "model:org/rm"], [1.0, 0.5]) == ["answer"]
    assert recipe_inputs.check_rewards(["math_accuracy(gold_column='solution')"], None) == ["solution"]


def test_reward_modules_register_user_rewards(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_file_rewards.py").write_text(
        "from grpo_ext import rewards\n\n@rewards.register('i18_from_file')\ndef short(completions):\n"
        "    return [float(len(c) < 5) for c in completions]\n")
    package = tmp_path / "i18_user_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "scoring.py").write_text(
        "from grpo_ext import rewards\n\n@rewards.register('i18_from_package')\ndef has_x(completions):\n"
        "    return [float('x' in c) for c in completions]\n")
    try:
        names = recipe_inputs.import_reward_modules(["i18_user_pkg.scoring,./user_file_rewards.py"])
        assert names == ["i18_user_pkg.scoring", "grpo_ext_user_user_file_rewards"]
        assert rewards.resolve("i18_from_file")(completions=["abc", "abcdef"]) == [1.0, 0.0]
        assert rewards.resolve("i18_from_package")(completions=["x", "y"]) == [1.0, 0.0]
        assert recipe_inputs.check_rewards(["i18_from_file", "i18_from_package"], None) == []
    finally:
        rewards.unregister("i18_from_file")
        rewards.unregister("i18_from_package")
    with pytest.raises(InputError, match=r"--reward_modules ./nothing.py: no such file"):
        recipe_inputs.import_reward_modules(["./nothing.py"])
    with pytest.raises(InputError, match=r"--reward_modules no_such_pkg.rewards: cannot import it"):
        recipe_inputs.import_reward_modules(["no_such_pkg.rewards"])


# -- dataset files and splits --------------------------------------------------------------------

def test_broken_jsonl_line_is_named(tmp_path):
    path = tmp_path / "problems.jsonl"
    path.write_text('{"question": "1+1?", "answer": "2"}\n\n{"question": "2+2?" "answer": "4"}\n')
    with pytest.raises(InputError, match=r"problems.jsonl:3: not valid JSON \(Expecting ',' delimiter, column 21\)"):
        recipe_inputs.check_local_file(str(path))
    path.write_text('{"question": "1+1?", "answer": "2"}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"problems.jsonl:2: a JSON Lines row must be an object"):
        recipe_inputs.check_local_file(str(path))
    path.write_text("\n  \n")
    with pytest.raises(InputError, match="the file has no rows"):
        recipe_inputs.check_local_file(str(path))
    path.write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        recipe_inputs.check_local_file(str(path))
    with pytest.raises(InputError, match="no such file"):
        recipe_inputs.check_local_file(str(tmp_path / "missing.jsonl"))
    recipe_inputs.check_local_file("openai/gsm8k")  # a Hub name: not a file, nothing to check here


def _script(path, **kw):
    script = recipe.RecipeArguments(dataset_name=str(path), **kw)
    return script


def test_one_local_file_holds_out_its_test_rows(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"question": f"{i}+0?", "answer": str(i)}) + "\n" for i in range(10)))
    script = _script(path, eval_size=200)
    train, test = recipe._load_splits(script, seed=0, task="math")
    assert len(test) == 2 and len(train) == 8  # capped at a fifth
    assert sorted(map(int, list(train["answer"]) + list(test["answer"]))) == list(range(10))  # disjoint, complete
    assert script.eval_rows == sorted(int(a) for a in test["answer"])
    assert script.eval_source.startswith(f"2 rows of {path} held out of training, --eval_size 200 capped at a fifth")
    again = _script(path, eval_size=200)
    recipe._load_splits(again, seed=0, task="math")
    assert again.eval_rows == script.eval_rows  # the seed decides
    with pytest.raises(InputError, match="--eval_size 0"):
        recipe._load_splits(_script(path, eval_size=0), seed=0, task="math")
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"question": "1?", "answer": "1"}) + "\n")
    with pytest.raises(InputError, match="has 1 row"):
        recipe._load_splits(_script(one), seed=0, task="math")


def test_a_separate_test_file_is_evaluated_as_is(tmp_path):
    train_file, test_file = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train_file.write_text("".join(json.dumps({"question": f"{i}?", "answer": str(i)}) + "\n" for i in range(6)))
    test_file.write_text("".join(json.dumps({"question": f"{i}?", "answer": str(i)}) + "\n" for i in (100, 101)))
    script = _script(train_file, dataset_test_split=str(test_file))
    train, test = recipe._load_splits(script, seed=0, task="math")
    assert len(train) == 6 and list(test["answer"]) == ["100", "101"] and script.eval_rows == [0, 1]


def test_columns_the_rewards_need():
    with pytest.raises(InputError, match=r"the rewards need the dataset columns \['solution'\]"):
        recipe_inputs.check_columns(["solution"], Dataset.from_dict({"prompt": ["a"], "answer": ["1"]}))


def test_shipped_code_config_does_not_evaluate_on_training_rows(tmp_path):
    """The Python code config names one split for both; its test rows are held out of training."""
    from trl import ModelConfig

    from grpo_ext import GRPOConfig

    config = ROOT / "recipes/configs/grpo_qwen2.5-0.5b_code.yaml"
    script, args, _ = recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), config,
                                   ["--config", str(config), "--output_dir", str(tmp_path),
                                    "--dataset_name", str(ROOT / "tests/data/code_test_cases.jsonl")])
    train, test = recipe._load_splits(script, args.seed, task="code")
    assert len(train) + len(test) == 5 and len(test) == 1
    assert test[0]["prompt"] not in list(train["prompt"])


# -- the cached tiny model -----------------------------------------------------------------------

def test_built_models_are_reused_only_with_the_same_settings(tmp_path, capsys):
    folder = tmp_path / "initial-model"
    assert not recipe._reusable(folder, {"tiny_hidden_size": 64})
    folder.mkdir()
    recipe._stamp(folder, {"tiny_hidden_size": 64})
    assert recipe._reusable(folder, {"tiny_hidden_size": 64})
    assert "reusing" in capsys.readouterr().out
    assert not recipe._reusable(folder, {"tiny_hidden_size": 32})
    assert not folder.exists()  # removed, to be rebuilt
    assert (f"rebuilding {folder}: it was built with {{'tiny_hidden_size': 64}}, this run asks for "
            f"{{'tiny_hidden_size': 32}}") in capsys.readouterr().out
    folder.mkdir()  # an unstamped folder (an older run): rebuilt too
    assert not recipe._reusable(folder, {"tiny_hidden_size": 64}) and not folder.exists()
    assert "it was built with unknown settings" in capsys.readouterr().out


# -- whole recipes: one message, status 2, before any model work -------------------------------------

def _recipe(*args, launcher=(), cwd=ROOT, timeout=300):
    cmd = [*launcher, *([] if launcher else [sys.executable]), str(ROOT / "recipes/grpo_math.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["--reward_funcs", "math_acuracy"], "error: --reward_funcs math_acuracy: unknown reward 'math_acuracy'. "
                                          "Did you mean 'math_accuracy'?"),
    (["--reward_weights", "1.0"], "error: --reward_weights has 1 values [1.0] for 2 rewards"),
    (["--reward_modules", "./not_here.py"], "error: --reward_modules ./not_here.py: no such file"),
    (["--kl_estimator", "k4"], "error: "),
])
def test_bad_recipe_input_prints_one_message(tmp_path, args, message):
    proc = _recipe("--output_dir", str(tmp_path), *args)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "initial-model").exists()  # nothing was built


def test_broken_dataset_file_names_its_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "1+1?", "answer": "2"}\n{"question": "2+2?", "answer": 4\n')
    proc = _recipe("--output_dir", str(tmp_path / "out"), "--dataset_name", str(bad))
    assert proc.returncode == 2
    assert f"error: {bad}:2: not valid JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_user_reward_module_used_by_name_from_a_recipe(tmp_path):
    """The user's own module, beside their work, registers a reward; the recipe names it. It runs
    in the reward workers (shipped by value): every step's reward is its constant 0.5."""
    (tmp_path / "my_rewards.py").write_text(
        "from grpo_ext import rewards\n\n@rewards.register('half_credit')\ndef half_credit(completions):\n"
        "    \"\"\"0.5 for every completion.\"\"\"\n    return [0.5] * len(completions)\n")
    out = tmp_path / "out"
    proc = _recipe("--output_dir", str(out), "--reward_modules", "./my_rewards.py", "--reward_funcs", "half_credit",
                   "--reward_weights", "1.0", "--max_steps", "2", "--sft_warmup_steps", "2", "--eval_size", "4",
                   "--logging_steps", "1", "--per_device_train_batch_size", "16", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    curve = json.loads((out / "metrics.json").read_text())["reward_curve"]
    assert [c["reward"] for c in curve] == [0.5, 0.5]


@pytest.mark.slow
def test_ddp_with_two_processes_on_cpu(tmp_path):
    """accelerate's multi-GPU (DDP) config on CPU: two real processes (gloo), the tiny model built
    once by the main process, three steps, a saved model that moved from the warm-up."""
    from transformers import AutoModelForCausalLM

    proc = _recipe("--output_dir", str(tmp_path), "--max_steps", "3", "--sft_warmup_steps", "20",
                   "--per_device_train_batch_size", "16", "--logging_steps", "1", "--eval_size", "16",
                   launcher=(str(ACCELERATE), "launch", "--config_file", str(ROOT / "recipes/accelerate/multi_gpu.yaml"),
                             "--num_processes", "2"), timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-5000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 3 and len(metrics["reward_curve"]) == 3
    trained = AutoModelForCausalLM.from_pretrained(tmp_path)
    warmed = AutoModelForCausalLM.from_pretrained(tmp_path / "warmed-up")
    assert any(not (p == warmed.get_parameter(n)).all() for n, p in trained.named_parameters())


def test_fewer_processes_than_asked_is_refused(tmp_path):
    """`accelerate launch --num_processes 2` without a config file starts one process on CPU."""
    proc = _recipe("--output_dir", str(tmp_path), launcher=(str(ACCELERATE), "launch", "--num_processes", "2"))
    assert proc.returncode != 0
    assert "error: accelerate launch was asked for --num_processes 2 but started one process" in proc.stderr
    assert "--config_file recipes/accelerate/multi_gpu.yaml" in proc.stderr


def test_trainer_resolves_reward_strings_by_the_same_rule(tmp_path):
    """The Python API: a misspelt name is the registry's error, not a Hub lookup; `model:` loads
    a reward model."""
    import torch

    from grpo_ext import GRPOConfig, GRPOTrainer
    from tests.tiny_setup import addition_dataset, common_args, tiny_model_path, tiny_reward_model_path

    args = GRPOConfig(**common_args(str(tmp_path)))
    with pytest.raises(rewards.registry.UnknownRewardError, match="Did you mean 'math_accuracy'"):
        GRPOTrainer(tiny_model_path(), reward_funcs=["math_acuracy"], args=args, train_dataset=addition_dataset())
    trainer = GRPOTrainer(tiny_model_path(), reward_funcs=["math_accuracy", f"model:{tiny_reward_model_path()}"],
                          args=args, train_dataset=addition_dataset())
    assert isinstance(trainer.reward_funcs[1], torch.nn.Module) and not isinstance(trainer.reward_funcs[0], torch.nn.Module)


# -- mistakes found before any model work: one line, status 2, nothing built -----------------------

def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connection refused at once


def _one_error(proc, message, out):
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr, proc.stderr[-3000:]
    assert not (out / "initial-model").exists() and not (out / "warmed-up").exists()  # no model work


def _yaml(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["negative_lr", "resume_missing", "resume_true_none", "config_without_model",
                                  "report_to", "eval_no_samples", "push_without_id", "yaml_value", "yaml_key",
                                  "flag_typo"])
def test_each_early_mistake_is_one_line_before_any_model_work(tmp_path, case):
    out = tmp_path / "out"
    args, message = {
        "negative_lr": (["--learning_rate", "-1"], "error: --learning_rate -1.0: a learning rate must be >= 0"),
        "resume_missing": (["--resume_from_checkpoint", str(tmp_path / "nowhere")], "no such folder"),
        "resume_true_none": (["--resume_from_checkpoint", "true"], "has no checkpoint-N folder to resume from"),
        "config_without_model": (["--config", _yaml(tmp_path, "c.yaml", "dataset_name: builtin:arithmetic\n")],
                                 "sets no model_name_or_path. --config replaces the recipe's default config"),
        "report_to": (["--report_to", "tensorboard"], "--report_to tensorboard: tensorboard is not installed"),
        "eval_no_samples": (["--eval_strategy", "steps", "--eval_num_samples", "0"],
                            "eval_num_samples and eval_prompts_per_call must be >= 1"),
        "push_without_id": (["--push_to_hub", "true"], "--push_to_hub needs --hub_model_id"),
        "yaml_value": (["--config", _yaml(tmp_path, "v.yaml", "model_name_or_path: builtin:tiny\nlearning_rate: abc\n")],
                       "v.yaml: learning_rate: invalid float value: 'abc'"),
        "yaml_key": (["--config", _yaml(tmp_path, "k.yaml", "model_name_or_path: builtin:tiny\nlearning_rat: 0.1\n")],
                     "k.yaml: unknown key 'learning_rat'. Did you mean 'learning_rate'?"),
        "flag_typo": (["--max_step", "3"], "unknown option --max_step. Did you mean 'max_steps'"),
    }[case]
    if case == "report_to" and importlib.util.find_spec("tensorboard"):
        pytest.skip("tensorboard is installed here")
    _one_error(_recipe("--output_dir", str(out), *args), message, out)


def _hub_recipe(tmp_path, endpoint, *args, token="hf_test_token"):
    env = {k: v for k, v in ENV.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1")
    if token:
        env["HF_TOKEN"] = token
    cmd = [sys.executable, str(ROOT / "recipes/grpo_math.py"), "--output_dir", str(tmp_path / "out"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_push_and_hub_ids_are_checked_against_the_hub_before_any_model_work(tmp_path):
    from tests.hub_server import FakeHub

    push = ("--push_to_hub", "true", "--hub_model_id", "me/adder")
    out = tmp_path / "out"
    with FakeHub(models=("org/known-model",)) as fake:
        _one_error(_hub_recipe(tmp_path, fake.url, *push, token=None), "--push_to_hub: no Hugging Face token", out)
        _one_error(_hub_recipe(tmp_path, fake.url, *push, token="hf_wrong"), "refuses this token (401)", out)
        _one_error(_hub_recipe(tmp_path, fake.url, "--model_name_or_path", "org/no-such-model"),
                   "--model_name_or_path org/no-such-model: no such model on the Hub", out)
        _one_error(_hub_recipe(tmp_path, fake.url, "--dataset_name", "org/no-such-data"),
                   "--dataset_name org/no-such-data: no such dataset on the Hub", out)
        assert ("GET", "/api/whoami-v2") in fake.requests
    closed = _closed_port_url()
    _one_error(_hub_recipe(tmp_path, closed, *push), f"--push_to_hub: cannot reach the Hub at {closed}", out)
    # a Hub reward model beside a local policy and dataset: the recipe does not go offline, it asks
    _one_error(_hub_recipe(tmp_path, closed, "--reward_funcs", "math_accuracy", "org/reward-model"),
               f"--reward_funcs org/reward-model: cannot reach the Hub at {closed}", out)


def test_resume_true_takes_the_latest_checkpoint(tmp_path):
    for step in (2, 10, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert recipe_inputs.resolve_checkpoint("true", str(tmp_path)) == str(tmp_path / "checkpoint-10")
    assert recipe_inputs.resolve_checkpoint(str(tmp_path / "checkpoint-2"), str(tmp_path)) == str(tmp_path / "checkpoint-2")
    assert recipe_inputs.resolve_checkpoint("false", str(tmp_path)) is None
    with pytest.raises(InputError, match=r"no such folder .*checkpoint-10.*`--resume_from_checkpoint true` takes the latest"):
        recipe_inputs.resolve_checkpoint("checkpoint-3", str(tmp_path))


def _parse(argv, config=ROOT / "recipes/configs/grpo_math_offline.yaml"):
    from trl import ModelConfig

    from grpo_ext import GRPOConfig

    return recipe.parse((recipe.RecipeArguments, GRPOConfig, ModelConfig), config, argv)


def test_reward_funcs_alone_do_not_inherit_the_default_configs_weights(tmp_path, capsys):
    script, args, _ = _parse(["--output_dir", str(tmp_path), "--reward_funcs", "math_accuracy"])
    assert script.reward_funcs == ["math_accuracy"] and args.reward_weights is None
    assert "the weights [1.0, 0.2] of" in capsys.readouterr().err
    recipe_inputs.check_rewards(script.reward_funcs, args.reward_weights)  # one reward, weight 1.0: fine
    script, args, _ = _parse(["--output_dir", str(tmp_path), "--max_steps", "3"])
    assert args.reward_weights == [1.0, 0.2] and args.max_steps == 3  # the default config applies
    script, args, _ = _parse(["--output_dir", str(tmp_path), "--reward_funcs", "math_accuracy", "think_format",
                              "--reward_weights", "1.0", "0.5"])
    assert args.reward_weights == [1.0, 0.5]


def test_help_shows_the_default_configs_values_and_lists_config():
    proc = subprocess.run([sys.executable, str(ROOT / "recipes/grpo_math.py"), "--help"], capture_output=True,
                          text=True, env=dict(ENV, COLUMNS="400"), cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = " ".join(proc.stdout.split())
    assert "--config FILE" in text and "replaces the recipe's default config" in text
    assert "The initial learning rate for AdamW. (default: 0.0005)" in text  # the YAML's 5.0e-4, not TRL's 1e-6
    assert "(default: builtin:tiny)" in text and "(default: outputs/grpo-math-offline)" in text


def test_columns_are_named_by_the_user(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps({"q": f"{i}+1?", "gold": str(i + 1), "answer": "not this"}) + "\n"
                            for i in range(10)))
    script = _script(path, prompt_column="q", answer_column="gold")
    train, test = recipe._load_splits(script, seed=0, task="math")
    rows = list(train) + list(test)
    assert sorted(r["answer"] for r in rows) == sorted(str(i + 1) for i in range(10))
    assert {r["prompt"] for r in rows} == {f"{i}+1?" for i in range(10)}
    with pytest.raises(InputError, match=r"--prompt_column question: the dataset has no such column; it has \['q', "):
        recipe._load_splits(_script(path, prompt_column="question"), seed=0, task="math")
    code = tmp_path / "code.jsonl"
    tests = {"language": "python", "test_cases": [{"input": "1\n", "output": "1\n"}]}
    code.write_text("".join(json.dumps({"task": f"echo {i}", "checks": tests}) + "\n" for i in range(5)))
    script = _script(code, prompt_column="task", tests_column="checks")
    train, test = recipe._load_splits(script, seed=0, task="code")
    assert "prompt" in train.column_names and "verification_info" in train.column_names
    with pytest.raises(InputError, match="--tests_layout nope: not a layout"):
        recipe._load_splits(_script(code, prompt_column="task", tests_column="checks", tests_layout="nope"), 0, "code")
