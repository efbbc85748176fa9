"""Test-suite set-up shared by every test process (one, or a pytest-xdist controller and its workers).

- The repository root and this folder go first on ``sys.path``.
- Under pytest-xdist the slow tests are handed out first.
- Each test process adopts its orphans (``host_processes``), so that checks for leftovers see only
  the processes this process started, whatever else runs on the host.
- At the end of the session each test process checks that no process of the sandbox user it started
  is still running (an error on its last test), and the controller (or the only process) checks again
  once the workers have exited: their orphans are then its own. Either fails the run.
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

SANDBOX_UID = 65534  # the sandbox's host user in both modes (tests/sandbox_modes.py)


def pytest_configure(config):
    host_processes.adopt_orphans()


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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a worker's leftovers are its session fixture's error, then the controller's orphans
    left = host_processes.wait_gone(SANDBOX_UID)
    if not left:
        return
    listing = "\n".join(f"  pid {p.pid}: {p.cmdline}" for p in left)
    sys.stderr.write("\nerror: sandboxed processes started by this test run outlived it; killed now:\n"
                     f"{listing}\n")
    _kill(left)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
