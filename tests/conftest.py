"""Test-suite set-up shared by every test process (one, or a pytest-xdist controller and its workers).

- The repository root and this folder go first on ``sys.path``.
- Under pytest-xdist the slow tests are handed out first.
- At the end of the session each test process checks that no process of the sandbox user it
  started is still running below it (an error on its last test, which fails the run); ``clean_host``
  (tests/sandbox_modes.py) checks the same, orphans included, after each sandbox test.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
TESTS = str(Path(__file__).parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

import host_processes  # noqa: E402 - needs the path above

# DeepSpeed compiles its ops with g++ into torch's extension cache, which defaults to
# ~/.cache/torch_extensions: minutes of CPU each. Our CPU runs no longer build its shared-memory op
# (grpo_ext.config.skip_cpu_shm_build), but an op a run does need (cpu_adam under ZeRO offload)
# would be compiled again by each test that gives its run a scratch HOME (the docs blocks, the Hub
# tests): one cache for every run of the session, the user's own (torch locks it while one process
# builds, so runs started at once wait rather than all compile).
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path.home() / ".cache" / "torch_extensions"))

SANDBOX_UID = 65534  # the sandbox's host user in both modes (tests/sandbox_modes.py)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the slow tests (minutes each) first: spread over the workers from the start
    rather than left for the end, where one of them would run on alone (the order is otherwise kept)."""
    if getattr(config.option, "numprocesses", None):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _kill(procs) -> None:
    for proc in procs:
        try:
            os.kill(proc.pid, 9)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session", autouse=True)
def no_sandbox_process_outlives_the_session():
    yield
    left = host_processes.wait_gone(SANDBOX_UID)
    _kill(left)
    assert not left, f"sandboxed processes outlived the tests of this process: {[p.cmdline for p in left]}"
