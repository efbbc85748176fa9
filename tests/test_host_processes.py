"""The leftover check's attribution (tests/host_processes.py): a test process sees the sandbox user's
processes it started, orphans included, and not those of another process tree (another worker)."""

import os
import shutil
import signal
import subprocess
import time

import pytest

import host_processes

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="starting processes as uid 65534 needs root and setpriv")


def _as_nobody(script: str) -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "/bin/sh", "-c", script]


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_this_process_adopts_orphans_and_finds_them():
    """A process whose parent exits is re-parented to this test process, so it is still found;
    once it is killed, the check reaps it and finds nothing."""
    with host_processes.adopting_orphans(NOBODY):
        sh = subprocess.Popen(_as_nobody("sleep 300 & echo $!"), stdout=subprocess.PIPE, text=True)
        orphan = int(sh.stdout.readline())
        sh.wait()
        try:
            found = host_processes.running_as(NOBODY)
            assert [p.pid for p in found] == [orphan] and found[0].ppid == os.getpid(), found
        finally:
            _kill([orphan])
        assert host_processes.wait_gone(NOBODY, seconds=10) == []
    assert not os.path.exists(f"/proc/{orphan}"), "the killed orphan was not reaped"
    # outside the block this process adopts nothing: another orphan goes to the host's reaper
    sh = subprocess.Popen(_as_nobody("sleep 300 & echo $!"), stdout=subprocess.PIPE, text=True)
    elsewhere = int(sh.stdout.readline())
    sh.wait()
    try:
        assert host_processes.running_as(NOBODY) == []
    finally:
        _kill([elsewhere])


def test_another_process_tree_is_not_ours():
    """Two trees (two workers, say): each one's processes are found under it and only there."""
    trees = [subprocess.Popen(_as_nobody("sleep 300 & sleep 300 & wait")) for _ in range(2)]
    try:
        for _ in range(200):  # until each shell has started both sleeps
            below = [host_processes.running_as(NOBODY, root=t.pid) for t in trees]
            if all(len([p for p in b if p.cmdline.startswith("sleep")]) == 2 for b in below):
                break
            time.sleep(0.05)
        first, second = ({p.pid for p in b} for b in below)
        assert len(first) == len(second) == 2 and not first & second, below
        assert first | second <= {p.pid for p in host_processes.running_as(NOBODY)}
    finally:
        _kill([p.pid for t in trees for p in host_processes.descendants(t.pid)] + [t.pid for t in trees])
        for t in trees:
            t.wait()
    assert host_processes.wait_gone(NOBODY, seconds=10) == []
