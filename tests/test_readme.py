import re
from pathlib import Path

import pytest

from grpo_ext import kl
from grpo_ext.cli import advantage_table, kl_table, rewards_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("marker, table, command", [
    ("rewards-table", rewards_table, "grpo-ext rewards list --markdown"),
    ("kl-table", kl_table, "grpo-ext kl list"),
    ("advantages-table", advantage_table, "grpo-ext advantages list"),
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
