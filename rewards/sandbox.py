"""Run untrusted programs locally, isolated and bounded (Linux).

Each run gets:

- a fresh working directory (mode 700, owned by the sandbox user), removed afterwards;
- new network, PID, mount and IPC namespaces (``unshare``): no network interface but a downed
  loopback, and when the program's first process exits the kernel kills everything else it
  started, so nothing outlives the run; the whole tree is also killed on time-out;
- an unprivileged user (``nobody``, uid 65534), with no way back to privileges (no_new_privs);
  the root file system is remounted read-only inside the namespace, and ``/tmp``, ``/var/tmp``,
  ``/dev/shm`` and ``/run/lock`` are covered by empty read-only file systems, so its directory is
  the only place it can write;
- resource limits: address space, CPU seconds, processes, file size, open files, no core dumps;
  a wall-clock limit; stdout and stderr captured and truncated; stdin closed unless given;
- an empty environment (only ``PATH``, ``HOME``, ``LANG``), so no secret of the parent's leaks.

Without namespaces (not root, no ``unshare``), :func:`run` refuses to start unless the caller
opts into ``isolation="process"`` (limits and a process group only, network reachable), which
logs a warning every time it is used.
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

SANDBOX_UID = SANDBOX_GID = 65534  # nobody / nogroup
_COVERED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # world-writable places hidden from programs


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0  # wall clock for one run
    cpu_seconds: int = 10  # CPU time per process
    memory_bytes: int = 1 << 30  # address space per process
    processes: int = 64  # processes of the sandbox user (enforced when started as root)
    file_bytes: int = 16 << 20  # largest file the program may write
    open_files: int = 64
    output_bytes: int = 64 << 10  # stdout and stderr each keep this much; the rest is dropped


@dataclass
class Result:
    returncode: int | None  # None when killed on time-out
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@functools.cache
def namespaces_available() -> bool:
    """Can this process create the namespaces (and drop to the sandbox user)?"""
    if os.name != "posix" or shutil.which("unshare") is None or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def _world_executable(path: str) -> bool:
    p = Path(os.path.realpath(path))
    return all(os.stat(d).st_mode & stat.S_IXOTH for d in [p, *p.parents])


@functools.cache
def default_python() -> str:
    """A Python interpreter the unprivileged sandbox user may execute."""
    import sys

    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if candidate and os.path.exists(candidate) and _world_executable(candidate):
            return candidate
    raise SandboxUnavailable("no Python interpreter that the sandbox user 'nobody' may run; set python_executable")


def _limit(limits: Limits, as_root: bool):
    def apply():  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if as_root:  # root ignores RLIMIT_NPROC; the sandbox user does not
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


def _isolated_argv(argv: list[str], workdir: str) -> list[str]:
    steps = [f"mount --bind {workdir} {workdir}",  # its own mount, so it stays writable when / is not
             "mount -o remount,bind,ro /"]  # the root file system, read-only in this namespace only
    # world-writable places on other file systems get an empty read-only one on top
    steps += [f"mount -t tmpfs -o ro,size=4k,mode=555 none {d}" for d in _COVERED if os.path.ismount(d)]
    script = f"{' && '.join(steps)} && cd {workdir} && exec setpriv --reuid={SANDBOX_UID} " \
             f"--regid={SANDBOX_GID} --clear-groups --no-new-privs -- \"$@\""
    return ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount", "--ipc", "--propagation", "private",
            "sh", "-c", script, "sandbox", *argv]


class _Capped:
    """Reads a pipe to its end on a thread, keeping the first ``cap`` bytes."""

    def __init__(self, pipe, cap: int):
        self.data, self.dropped = bytearray(), 0
        self.thread = threading.Thread(target=self._read, args=(pipe, cap), daemon=True)
        self.thread.start()

    def _read(self, pipe, cap: int) -> None:
        with pipe:
            for chunk in iter(lambda: pipe.read(65536), b""):
                room = cap - len(self.data)
                self.data += chunk[:room]
                self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        self.thread.join(timeout=5)
        return self.data.decode("utf-8", errors="replace")


def _base_dir() -> str:
    base = "/run/grpo-ext-sandbox" if os.geteuid() == 0 and os.path.isdir("/run") else tempfile.gettempdir()
    os.makedirs(base, mode=0o711, exist_ok=True)
    return base


def run(files: dict[str, str], argv: list[str], stdin: str | None = None, limits: Limits = Limits(),
        isolation: str = "namespaces") -> Result:
    """Write ``files`` into a fresh directory and run ``argv`` there, isolated and bounded.

    ``isolation``: "namespaces" (default; refuses to run where unavailable) or "process" (an
    explicit opt-in to a weaker mode: limits and a process group only, network reachable).
    """
    if isolation not in ("namespaces", "process"):
        raise ValueError(f"isolation must be 'namespaces' or 'process', got {isolation!r}")
    isolated = isolation == "namespaces"
    if isolated and not namespaces_available():
        raise SandboxUnavailable(
            "cannot isolate programs here: the code sandbox needs Linux, root and the 'unshare' and 'setpriv' "
            "tools (util-linux). Run as root, or pass isolation='process' to accept a weaker sandbox with "
            "network access and no file-system protection."
        )
    if not isolated:
        logger.warning("code sandbox running WITHOUT namespaces: the program can reach the network and "
                       "write wherever the current user can")
    workdir = tempfile.mkdtemp(prefix="run-", dir=_base_dir())
    try:
        for name, text in files.items():
            Path(workdir, name).write_text(text)
        if isolated:
            for path in [workdir, *(os.path.join(workdir, n) for n in files)]:
                os.chown(path, SANDBOX_UID, SANDBOX_GID)
            os.chmod(workdir, 0o700)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        command = _isolated_argv(argv, workdir) if isolated else argv
        return _execute(command, workdir, env, stdin, limits, isolated)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _execute(command, workdir, env, stdin, limits: Limits, as_root: bool) -> Result:
    start = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=workdir, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_limit(limits, as_root),
    )
    out, err = _Capped(proc.stdout, limits.output_bytes), _Capped(proc.stderr, limits.output_bytes)
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
    timed_out = False
    try:
        proc.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_group(proc)
    seconds = time.monotonic() - start
    stdout, stderr = out.text(), err.text()
    return Result(None if timed_out else proc.returncode, stdout, stderr, timed_out,
                  bool(out.dropped or err.dropped), seconds)


def _feed(pipe, text: str) -> None:
    try:
        with pipe:
            pipe.write(text.encode())
    except (BrokenPipeError, OSError):  # the program exited without reading everything
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
