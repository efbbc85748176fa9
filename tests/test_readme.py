import re
from pathlib import Path

from grpo_ext.cli import rewards_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_rewards_table_matches_registry():
    block = re.search(r"<!-- rewards-table:.*?-->\n(.*?)\n<!-- end rewards-table -->", README, re.S)
    assert block, "README lost its rewards-table markers"
    assert block.group(1) == rewards_table(), "README rewards table is stale: paste `grpo-ext rewards list --markdown`"


def test_setup_command_is_the_one_ci_runs():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test" in README and "make test" in ci
