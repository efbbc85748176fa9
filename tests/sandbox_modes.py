"""The code sandbox as root (in this process) and as an unprivileged user (through
``tests/sandbox_driver.py`` started with ``setpriv`` as uid 65534 and the system Python)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import host_processes
import pytest

from grpo_ext.rewards import code
from grpo_ext.rewards.code import _bounds, sandbox

DRIVER = Path(__file__).with_name("sandbox_driver.py")
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
MODES = ("root", "rootless")


def rootless_available() -> str | None:
    """Why the rootless mode cannot be tested here, or None."""
    if os.geteuid() != 0:
        return "the suite drops to an unprivileged user with setpriv, which needs root"
    if shutil.which("setpriv") is None or not os.access(SYSTEM_PYTHON, os.X_OK):
        return "setpriv and /usr/bin/python3 are needed"
    if not all(os.stat(p).st_mode & 0o005 for p in (DRIVER.parent.parent, DRIVER.parent, DRIVER)):
        return "the repository is not readable by other users"
    return None


def _as_nobody(request: dict, env: dict | None = None) -> object:
    proc = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", SYSTEM_PYTHON, str(DRIVER)],
        input=json.dumps(request), capture_output=True, text=True, timeout=120, cwd="/",
        env={"PATH": "/usr/bin:/bin", **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


class Runner:
    """``run`` and ``score`` with the same meaning in both modes."""

    def __init__(self, mode: str):
        self.mode = mode
        if mode == "rootless" and (why := rootless_available()):
            pytest.skip(why)

    def support(self) -> dict:
        return sandbox.support() if self.mode == "root" else _as_nobody({"op": "support"})

    def run(self, program: str, stdin: str | None = None, env: dict | None = None, **limits) -> sandbox.Result:
        files, argv = {"main.py": program}, ["{python}", "main.py"]
        if self.mode == "root":
            python = sandbox.default_python()
            return sandbox.run(files, [python if a == "{python}" else a for a in argv], stdin=stdin,
                               limits=sandbox.Limits(**limits))
        answer = _as_nobody({"op": "run", "files": files, "argv": argv, "stdin": stdin, "limits": limits}, env)
        answer["channel"] = answer["channel"].encode()
        return sandbox.Result(**answer)

    def score(self, completions: list[str], infos: list, **params) -> list[float]:
        if self.mode == "root":
            return code.CodeExecution(**params)(completions=completions, verification_info=infos)
        return _as_nobody({"op": "reward", "completions": completions, "verification_info": infos, "params": params})


def sandbox_processes() -> list[str]:
    """Command lines of the live processes of the sandbox's host user (both modes use uid 65534)
    that descend from this test process: another worker's or another test run's are not ours."""
    return [p.cmdline for p in host_processes.running_as(NOBODY)]


def leftovers() -> list[str]:
    """Run directories and control groups of this process that should not outlive their runs (the
    mount points of other processes' runs are always empty on the host: their roots live in namespaces)."""
    found = []
    for base in Path("/tmp").glob("grpo-ext-sandbox-*/root"):
        found += [str(p) for p in base.iterdir()]
    found += [str(p) for p in Path("/tmp").glob(f"grpo-ext-run-{os.getpid()}-*")]
    for controller in ("memory", "pids"):
        group = Path(_bounds.V1, controller, "grpo-ext-sandbox")
        if group.is_dir():
            found += [str(p) for p in group.glob(f"run-{os.getpid()}-*")]
    return found


@pytest.fixture
def clean_host():
    """Every run must leave no process and no directory behind. Only this test process's own are
    looked at (its descendants, its run directories and control groups), so tests that use it may run
    in parallel (pytest-xdist) and beside other test runs on the same host."""
    before = leftovers()
    with host_processes.adopting_orphans(NOBODY):
        yield
        left = [p.cmdline for p in host_processes.wait_gone(NOBODY)]
    assert left == [], f"a sandboxed process outlived its run: {left}"
    after = leftovers()
    assert after == before, (f"a run left a directory or a control group behind: new {sorted(set(after) - set(before))}, "
                             f"gone {sorted(set(before) - set(after))}")


def as_dict(result: sandbox.Result) -> dict:
    return dataclasses.asdict(result)


@pytest.fixture
def listener():
    """A TCP server on the host's loopback; records whatever connects."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    got, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                got.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], got
    stop.set()
    thread.join()
    server.close()
