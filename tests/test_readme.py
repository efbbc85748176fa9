"""The README's and docs' tables stay true to the code: the registries' tables, the options table
(every field grpo-ext adds to TRL's config), the gradient table (every estimator), the example
reward module the tour shows, and the set-up command CI runs. (Every code block is run by
tests/test_docs.py.)"""

import dataclasses
import re
from pathlib import Path

import pytest
import trl

from grpo_ext import GRPOConfig, PPOConfig, kl
from grpo_ext.recipe_kit.cli import advantage_table, filter_table, kl_table, rewards_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TRAINER_DOC = (ROOT / "docs" / "trainer.md").read_text()


def _section(text: str, marker: str) -> str:
    block = re.search(rf"<!-- {marker}:.*?-->\n(.*?)\n<!-- end {marker} -->", text, re.S)
    assert block, f"README lost its {marker} markers"
    return block.group(1)


@pytest.mark.parametrize("marker, table, command", [
    ("rewards-table", rewards_table, "grpo-ext rewards list --markdown"),
    ("kl-table", kl_table, "grpo-ext kl list"),
    ("advantages-table", advantage_table, "grpo-ext advantages list"),
    ("filters-table", filter_table, "grpo-ext filters list"),
])
def test_tables_match_registries(marker, table, command):
    assert _section(README, marker) == table(), f"README {marker} is stale: paste the output of `{command}`"


def test_options_table_lists_every_new_field():
    listed = set(re.findall(r"`(\w+)`", "\n".join(line.split("|")[1] for line in
                                                   _section(README, "options-table").splitlines()[2:])))
    ours = {f.name for f in dataclasses.fields(PPOConfig)} - {f.name for f in dataclasses.fields(trl.GRPOConfig)}
    overridden = {"gradient_checkpointing"}  # TRL's field, redefined by GRPOConfig
    assert ours | overridden == listed, f"options table: missing {sorted(ours - listed)}, extra {sorted(listed - ours - overridden)}"
    assert set(GRPOConfig.__dataclass_fields__) <= set(PPOConfig.__dataclass_fields__)


def test_gradient_table_covers_every_estimator():
    section = TRAINER_DOC.split("Which gradient each estimator gives")[1].split("\n\n")[1]
    for name in kl.available():
        assert f"`{name}`" in section, f"docs/trainer.md's gradient table does not mention {name}"


def test_tour_shows_the_example_reward_module():
    code = (ROOT / "recipes" / "example_rewards.py").read_text().split('"""\n\n', 1)[1]
    assert f"```python\n{code}```" in README, "README's tour and recipes/example_rewards.py differ"
    assert "--reward_modules recipes/example_rewards.py" in README


def test_setup_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in README and "make test" in ci
