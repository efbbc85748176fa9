"""Bounds on a whole sandboxed run (all of its processes together), for :mod:`rewards.code.sandbox`.

Two ways, chosen once per process (:func:`mode`):

- ``cgroup v1`` / ``cgroup v2``: where this process may create control groups (root, or a
  delegated cgroup v2 directory named by ``GRPO_EXT_SANDBOX_CGROUP``), each run gets its own
  group with a hard memory ceiling (RAM and swap, tmpfs pages included) and a process ceiling;
  the kernel enforces both.
- ``watchdog``: elsewhere, a thread samples the run's processes (those in its PID namespace)
  every ``interval`` seconds, summing their private resident memory and counting them, and kills
  the whole namespace when either goes over. It is a soft bound: a run can overshoot by what it
  allocates within one interval, and it is then killed.

``GRPO_EXT_SANDBOX_BOUNDS=watchdog`` forces the watchdog (used by the tests to check both ways).
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from itertools import count

V1 = "/sys/fs/cgroup"
_GROUP = "grpo-ext-sandbox"
_ids = count()
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _writable_dir(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


@functools.cache
def mode() -> str:
    """``cgroup v2``, ``cgroup v1`` or ``watchdog``: how runs are bounded here."""
    if os.environ.get("GRPO_EXT_SANDBOX_BOUNDS") == "watchdog":
        return "watchdog"
    delegated = os.environ.get("GRPO_EXT_SANDBOX_CGROUP")
    if delegated and _v2_ready(delegated):
        return "cgroup v2"
    if os.path.exists(f"{V1}/cgroup.controllers") and _v2_ready(f"{V1}/{_GROUP}", create=True):
        return "cgroup v2"
    if all(_writable_dir(f"{V1}/{c}") for c in ("memory", "pids")):
        return "cgroup v1"
    return "watchdog"


def _v2_ready(parent: str, create: bool = False) -> bool:
    try:
        if create:
            os.makedirs(parent, exist_ok=True)
        with open(f"{parent}/cgroup.subtree_control", "w") as f:
            f.write("+memory +pids")
        return True
    except OSError:
        return False


def _v2_parent() -> str:
    return os.environ.get("GRPO_EXT_SANDBOX_CGROUP") or f"{V1}/{_GROUP}"


def _put(path: str, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _read_int_field(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except OSError:
        pass
    return 0


class RunBounds:
    """The bounds of one run: create, let the child join (``join_files``), watch, kill, close."""

    def __init__(self, memory_bytes: int, processes: int, interval: float = 0.01):
        self.memory_bytes, self.processes, self.interval = memory_bytes, processes, interval
        self.mode, self.exceeded = mode(), None
        self.groups: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        name = f"run-{os.getpid()}-{next(_ids)}"
        if self.mode == "cgroup v1":
            memory, pids = f"{V1}/memory/{_GROUP}/{name}", f"{V1}/pids/{_GROUP}/{name}"
            for path in (memory, pids):
                os.makedirs(path)
                self.groups.append(path)
            _put(f"{memory}/memory.limit_in_bytes", memory_bytes)
            if os.path.exists(f"{memory}/memory.memsw.limit_in_bytes"):
                _put(f"{memory}/memory.memsw.limit_in_bytes", memory_bytes)
            _put(f"{pids}/pids.max", processes)
        elif self.mode == "cgroup v2":
            path = f"{_v2_parent()}/{name}"
            os.mkdir(path)
            self.groups.append(path)
            _put(f"{path}/memory.max", memory_bytes)
            if os.path.exists(f"{path}/memory.swap.max"):
                _put(f"{path}/memory.swap.max", 0)
            _put(f"{path}/pids.max", processes)

    @property
    def join_files(self) -> tuple[str, ...]:
        return tuple(f"{g}/cgroup.procs" for g in self.groups)

    def start(self, pid: int) -> None:
        """Watch the run whose PID 1 has host PID ``pid``."""
        self._pid = pid
        if self.mode == "watchdog":
            self._thread = threading.Thread(target=self._watch, name="sandbox-watchdog", daemon=True)
            self._thread.start()

    def members(self) -> list[int]:
        """Host PIDs of the run's processes."""
        if self.groups:
            pids = set()
            for path in self.join_files:
                try:
                    with open(path) as f:
                        pids.update(int(p) for p in f.read().split())
                except OSError:
                    pass
            return sorted(pids)
        return _namespace_members(self._pid) if self._pid else []

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            pids = self.members()
            if not pids:
                return
            if len(pids) > self.processes:
                self.exceeded = "processes"
            elif sum(_private_rss(p) for p in pids) > self.memory_bytes:
                self.exceeded = "memory"
            if self.exceeded:
                self.kill()
                return

    def kill_init(self) -> None:
        """SIGKILL PID 1 of the run (only while its parent, our child, has not reaped it)."""
        if self._pid:
            _kill(self._pid)

    def kill(self) -> None:
        """SIGKILL every process of the run."""
        for _ in range(100):
            pids = self.members()
            if not pids:
                return
            for pid in pids:
                _kill(pid)
            time.sleep(0.005)

    def close(self) -> str | None:
        """Stop watching, remove the groups; returns the bound that was exceeded, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.mode == "cgroup v1" and self.exceeded is None:
            memory, pids = self.groups
            if _read_int_field(f"{memory}/memory.oom_control", "oom_kill") > 0:
                self.exceeded = "memory"
            elif _read_int_field(f"{pids}/pids.events", "max") > 0:
                self.exceeded = "processes"
        elif self.mode == "cgroup v2" and self.exceeded is None:
            if _read_int_field(f"{self.groups[0]}/memory.events", "oom_kill") > 0:
                self.exceeded = "memory"
            elif _read_int_field(f"{self.groups[0]}/pids.events", "max") > 0:
                self.exceeded = "processes"
        if self.groups:
            self.kill()
            for path in self.groups:
                for _ in range(200):
                    try:
                        os.rmdir(path)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.005)
        return self.exceeded


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _namespace_members(pid: int) -> list[int]:
    try:
        ns = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/pid") == ns:
                    out.append(int(name))
            except OSError:
                pass
    return out


def _private_rss(pid: int) -> int:
    """Resident memory not backed by files (``resident - shared`` of statm), in bytes."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            fields = f.read().split()
        return (int(fields[1]) - int(fields[2])) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0
