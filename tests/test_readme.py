import re
from pathlib import Path

import pytest

from grpo_ext import kl
from grpo_ext.cli import advantage_table, filter_table, kl_table, rewards_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("marker, table, command", [
    ("rewards-table", rewards_table, "grpo-ext rewards list --markdown"),
    ("kl-table", kl_table, "grpo-ext kl list"),
    ("advantages-table", advantage_table, "grpo-ext advantages list"),
    ("filters-table", filter_table, "grpo-ext filters list"),
])
def test_tables_match_registries(marker, table, command):
    block = re.search(rf"<!-- {marker}:.*?-->\n(.*?)\n<!-- end {marker} -->", README, re.S)
    assert block, f"README lost its {marker} markers"
    assert block.group(1) == table(), f"README {marker} is stale: paste the output of `{command}`"


def test_gradient_table_covers_every_estimator():
    section = README.split("Which gradient each estimator gives")[1].split("\n\n")[1]
    for name in kl.available():
        assert f"`{name}`" in section, f"README's gradient table does not mention {name}"


def test_setup_command_is_the_one_ci_runs():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in README and "make test" in ci


def _trainer_examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    return [b for b in blocks if "Trainer(\"Qwen/" in b]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(2))
def test_trainer_examples_run_as_written(tmp_path, index):
    """The README's GRPO and PPO examples, run as written: only the Hub model id becomes a local
    tiny model, `dataset` a small one, and the output folder a temporary one with one short step."""
    from tests.tiny_setup import addition_dataset, tiny_model_path

    examples = _trainer_examples()
    assert len(examples) == 2, "README's trainer examples changed: update this test"
    code = examples[index].replace('"Qwen/Qwen2.5-0.5B-Instruct"', repr(tiny_model_path()))
    code = code.replace('output_dir="out"', f'output_dir={str(tmp_path)!r}, max_steps=1, max_completion_length=8, '
                                            'per_device_train_batch_size=8, use_cpu=True, report_to="none"')
    namespace = {"dataset": addition_dataset()}
    exec(compile(code, f"README example {index}", "exec"), namespace)  # noqa: S102 - our own documentation
    assert (tmp_path / "checkpoint-1" / "trainer_state.json").exists()  # one step trained and saved
