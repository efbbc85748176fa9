"""Which host processes belong to this test process, so that a check for leftovers sees only its own.

Many test processes share one host (pytest-xdist workers, other test runs): a check that looked at
every process of the sandbox user would see the runs of its neighbours. A process here belongs to
this test process when it descends from it. For that to hold after a sandboxed program's parents
exit, the test process is a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux >= 3.4)
while a checked test runs (``adopting_orphans``): orphaned descendants are re-parented to it instead
of to the host's init, so they stay in its tree, and it reaps those of the sandbox user afterwards.
Only for that span: a subreaper must reap every orphan it adopts, and a test that kills a tree of
thousands of processes (a fork bomb in the weak, namespace-free mode) would otherwise leave as many
zombies in the test process, on a host whose PID space is shared with everyone (often 32768).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def adopting_orphans(uid: int):
    """Within the block this process adopts its orphaned descendants; on leaving, it reaps those of
    ``uid`` that have exited and stops adopting (unless it adopted before)."""
    before = ctypes.c_int(0)
    _libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(before), 0, 0, 0)
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        reap_orphans(uid)
        _libc.prctl(PR_SET_CHILD_SUBREAPER, before.value, 0, 0, 0)


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    uid: int
    zombie: bool  # exited, waiting to be reaped: it runs nothing any more
    cmdline: str


def _read(pid: int) -> Proc | None:
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return Proc(pid, int(fields["PPid"]), int(fields["Uid"].split()[0]), fields["State"].strip().startswith("Z"),
                cmdline)


def descendants(root: int | None = None) -> list[Proc]:
    """Every process below ``root`` (this process by default), read from /proc once."""
    root = os.getpid() if root is None else root
    table = [p for p in map(_read, (int(d) for d in os.listdir("/proc") if d.isdigit())) if p is not None]
    children: dict[int, list[Proc]] = {}
    for proc in table:
        children.setdefault(proc.ppid, []).append(proc)
    found, frontier = [], [root]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += below
        frontier += [p.pid for p in below]
    return found


def reap_orphans(uid: int) -> None:
    """Reap the exited processes of ``uid`` that were re-parented to this process (nobody else waits
    for them; this process's own subprocesses of that user are waited for by whoever started them)."""
    for proc in descendants():
        if proc.zombie and proc.ppid == os.getpid() and proc.uid == uid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)


def running_as(uid: int, root: int | None = None) -> list[Proc]:
    """The live (not exited) processes of ``uid`` below ``root``."""
    return [p for p in descendants(root) if p.uid == uid and not p.zombie]


def wait_gone(uid: int, seconds: float = 5.0) -> list[Proc]:
    """Wait up to ``seconds`` for the processes of ``uid`` below this process to end; those left."""
    deadline = time.monotonic() + seconds
    while True:
        reap_orphans(uid)
        left = running_as(uid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
