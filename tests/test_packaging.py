"""The distribution's layout: rewards/ installs as grpo_ext.rewards, and a user's rewards.py is harmless."""

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _package_folders() -> set[str]:
    names = set()
    for top, name in (("grpo_ext", "grpo_ext"), ("rewards", "grpo_ext.rewards")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            names.add(".".join((name, *rel)))
    return names


def test_pyproject_lists_every_package_folder():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"grpo_ext": "grpo_ext", "grpo_ext.rewards": "rewards"}
    assert set(setuptools["packages"]) == _package_folders()


def test_a_user_module_named_rewards_does_not_shadow_ours(tmp_path):
    (tmp_path / "rewards.py").write_text("def mine(completions, **kwargs):\n    return [0.5] * len(completions)\n")
    (tmp_path / "train.py").write_text(
        "import rewards\n"
        "from grpo_ext import rewards as builtin\n"
        "import trl\n"
        "from grpo_ext.trainer import GRPOTrainer\n"
        "from grpo_ext.rewards.runner import RewardRunner\n"
        "print(rewards.mine(['a', 'b']), builtin.get('math_accuracy')(prompts=['q'], completions=['\\\\boxed{2}'],"
        " completion_ids=[[0]], answer=['2']), issubclass(GRPOTrainer, trl.GRPOTrainer), RewardRunner.__name__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[0] == "[0.5, 0.5] [1.0] True RewardRunner"


def _python(code: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter outside the checkout, with the checkout on its path."""
    return subprocess.run([sys.executable, "-c", code], cwd="/", env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=timeout)


def test_one_registry_whichever_way_the_package_is_reached():
    code = (
        "import grpo_ext.rewards.registry as a\n"
        "from grpo_ext import rewards\n"
        "import importlib; b = importlib.import_module('grpo_ext.rewards.registry')\n"
        "print(a is b is rewards.registry, rewards.__name__)\n"
    )
    out = _python(code)
    assert out.stdout.strip() == "True grpo_ext.rewards", out.stderr[-2000:]


@pytest.mark.slow
def test_the_wheel_places_rewards_inside_grpo_ext(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("grpo_ext-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"{package.replace('.', '/')}/__init__.py" for package in _package_folders()}
    assert expected <= names
    assert not any(name.startswith("rewards/") for name in names)
    assert "grpo_ext/rewards/registry.py" in names


def test_importing_the_folder_under_its_bare_name_is_refused():
    out = subprocess.run([sys.executable, "-c", "import rewards"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "import it as `from grpo_ext import rewards`" in out.stderr


def test_the_trainers_never_import_the_recipe_kit():
    """grpo_ext/ holds the trainer and its maths; what running a recipe needs is in grpo_ext.recipe_kit.
    Importing every trainer-side module leaves the recipe kit unloaded."""
    trainer_side = sorted(p.stem for p in (ROOT / "grpo_ext").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for name in {trainer_side!r}:\n"
        "    importlib.import_module('grpo_ext.' + name)\n"
        "import grpo_ext\n"
        "grpo_ext.GRPOTrainer, grpo_ext.PPOTrainer, grpo_ext.GRPOConfig\n"
        "print(sorted(m for m in sys.modules if m.startswith('grpo_ext.recipe_kit')))\n"
    )
    out = _python(code, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert {"trainer", "config", "kl", "advantages", "ppo"} <= set(trainer_side)
