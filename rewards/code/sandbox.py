"""Run untrusted programs locally, isolated and bounded (Linux), as root or as an ordinary user.

Each run (``isolation="namespaces"``, the default) gets, from :mod:`rewards.code._isolate`:

- its own user, mount, network, IPC, UTS and PID namespaces. As an ordinary user the run maps
  that user to root inside an unprivileged user namespace; as root it first becomes ``nobody``
  (uid 65534) and does the same, so the program never holds host privileges either way;
- no network (only a downed loopback), and a fresh ``/proc`` that shows only its own processes;
- a new read-only root holding the host's ``/usr``, ``/etc`` and ``/opt`` (read-only) and
  nothing else of the host: no home directories, no ``/tmp``, no ``/run``, no other users' files;
- one tmpfs of ``disk_bytes`` inside the namespace behind ``/work`` (its working directory,
  holding its files), ``/tmp`` and ``/dev/shm``: the only places it can write, freed with the run;
- no capabilities, no_new_privs, no further user namespaces;
- an empty environment (``PATH``, ``HOME``, ``LANG``, ``TMPDIR``), so no secret of the parent's leaks;
- per-process limits (address space, CPU seconds, file size, open files, no core dumps) and
  limits on the whole run (:mod:`rewards.code._bounds`): total memory and process count through a
  cgroup where this process may create one (root), otherwise through a watchdog that sums the
  run's processes; a wall clock; stdout and stderr captured and truncated; stdin closed unless given.

When PID 1 of the run exits or is killed, the kernel kills every other process in it, so nothing
outlives a run; nothing is written to the host's disk either.

Where user namespaces are unavailable (a kernel setting, a container policy), :func:`run` refuses
with the reason unless the caller opts into ``isolation="process"`` (limits and a process group
only, network and files reachable), which logs a warning every time it is used.
:func:`support` reports what this machine offers; ``grpo-ext sandbox check`` prints it and
attacks the sandbox live.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from . import _bounds, _isolate

logger = logging.getLogger(__name__)

SANDBOX_UID = SANDBOX_GID = 65534  # nobody / nogroup: what a run started by root runs as on the host
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/work", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
       "PYTHONDONTWRITEBYTECODE": "1"}


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0  # wall clock for one run
    cpu_seconds: int = 10  # CPU time per process
    memory_bytes: int = 1 << 30  # address space per process
    total_memory_bytes: int = 1 << 30  # memory of all the run's processes together (and its tmpfs, with cgroups)
    processes: int = 32  # processes and threads of the run together (counted in its own user namespace)
    disk_bytes: int = 64 << 20  # everything the run may write (/work, /tmp, /dev/shm together)
    file_bytes: int = 16 << 20  # largest file the program may write
    open_files: int = 64
    output_bytes: int = 64 << 10  # stdout and stderr each keep this much; the rest is dropped


@dataclass
class Result:
    returncode: int | None  # None when killed on time-out
    stdout: str
    stderr: str
    timed_out: bool  # past the wall clock or killed by the CPU-time limit: one verdict whichever came first
    truncated: bool
    seconds: float
    exceeded: str | None = None  # "memory" or "processes" when a bound on the whole run killed it
    channel: bytes = b""  # what the program wrote to the extra pipe (run(..., channel=True))

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.exceeded is None


def _world_executable(path: str) -> bool:
    p = os.path.realpath(path)
    parts = [p] + [os.path.dirname(p)]
    while parts[-1] not in ("/", ""):
        parts.append(os.path.dirname(parts[-1]))
    return all(os.stat(d).st_mode & stat.S_IXOTH for d in parts)


@functools.cache
def default_python() -> str:
    """A Python interpreter the sandbox can run (world-executable when started as root)."""
    usable = _world_executable if os.geteuid() == 0 else (lambda p: os.access(p, os.X_OK))
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if candidate and os.path.exists(candidate) and usable(candidate):
            return candidate
    raise SandboxUnavailable("no Python interpreter the sandbox may run; set python_executable")


def interpreter_paths(executable: str) -> tuple[str, ...]:
    """Read-only paths a program needs to run ``executable`` when it lives outside /usr and /opt."""
    real = os.path.realpath(executable)
    if real.startswith(("/usr/", "/opt/")):
        return ()
    prefix = os.path.dirname(os.path.dirname(real))  # .../bin/python3 -> ...
    return (prefix,)


@functools.cache
def _mountpoint() -> str:
    """An empty directory the run's new root is mounted on, inside its namespace only."""
    base = os.path.join(tempfile.gettempdir(), f"grpo-ext-sandbox-{os.geteuid()}")
    os.makedirs(f"{base}/root", exist_ok=True)
    os.chmod(base, 0o755 if os.geteuid() == 0 else 0o700)
    os.chmod(f"{base}/root", 0o755)
    return f"{base}/root"


def _cap_last() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return 40


@functools.cache
def support() -> dict:
    """What isolation this machine gives: ``{"isolation", "as", "bounds", "error"}``."""
    info = {"isolation": None, "as": None, "bounds": _bounds.mode(), "error": None}
    if sys.platform != "linux":
        info["error"] = "the sandbox needs Linux namespaces"
        return info
    try:
        result = _run_isolated({}, ["/bin/sh", "-c", "exit 0"], None, Limits(wall_seconds=10), False, ())
        if result.returncode != 0:
            raise SandboxUnavailable(result.stderr.strip() or f"exit status {result.returncode}")
    except (SandboxUnavailable, OSError) as err:
        info["error"] = (
            f"{err}. Unprivileged user namespaces are needed: check `sysctl user.max_user_namespaces` (> 0), "
            "`kernel.unprivileged_userns_clone=1` (Debian kernels before 5.10), "
            "`kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu 23.10 and later), or the container's "
            "seccomp profile. Or pass isolation='process' to accept a weaker sandbox (network and files reachable)."
        )
        return info
    info["isolation"] = "user namespaces"
    info["as"] = f"nobody (uid {SANDBOX_UID}) from root" if os.geteuid() == 0 else f"uid {os.geteuid()} (rootless)"
    return info


def namespaces_available() -> bool:
    return support()["isolation"] is not None


def run(files: dict[str, str | bytes], argv: list[str], stdin: str | None = None, limits: Limits = Limits(),
        isolation: str = "namespaces", channel: bool = False, read_only: tuple[str, ...] = (),
        executables: tuple[str, ...] = (), channel_bytes: int = 4 << 20, fds: tuple[int, ...] = ()) -> Result:
    """Write ``files`` (text or bytes) into a fresh working directory and run ``argv`` there,
    isolated and bounded. The names in ``executables`` are written with mode 755.

    ``isolation``: "namespaces" (default; refuses to run where unavailable) or "process" (an
    explicit opt-in to a weaker mode: limits and a process group only, network reachable).
    ``channel``: pass the program an extra pipe; its write end's descriptor number is in
    ``$SANDBOX_CHANNEL_FD`` and what it writes (up to ``channel_bytes``) comes back in
    ``Result.channel``.
    ``read_only``: extra host paths the program may read (e.g. an interpreter's prefix).
    ``fds``: open descriptors (pipe ends, say) the program inherits under the same numbers; this
    call closes its own copies once the program has started or failed to, so the other end sees
    end-of-file when the program's side is gone.
    """
    fds = tuple(fds)
    if isolation not in ("namespaces", "process"):
        _close(fds)
        raise ValueError(f"isolation must be 'namespaces' or 'process', got {isolation!r}")
    if isolation == "process":
        logger.warning("code sandbox running WITHOUT namespaces: the program can reach the network and "
                       "write wherever the current user can")
        return _run_process(_as_bytes(files), argv, stdin, limits, channel, executables, channel_bytes, fds)
    info = support()
    if info["isolation"] is None:
        _close(fds)
        raise SandboxUnavailable(f"cannot isolate programs here: {info['error']}")
    return _run_isolated(_as_bytes(files), argv, stdin, limits, channel, read_only, executables, channel_bytes, fds)


def _as_bytes(files: dict[str, str | bytes]) -> dict[str, bytes]:
    return {name: data if isinstance(data, bytes) else data.encode() for name, data in files.items()}


def _reachable_by_sandbox_user(path: str) -> bool:
    """Whether ``nobody`` can reach ``path`` (every directory above it searchable by others)."""
    parent = os.path.dirname(os.path.realpath(path))
    while True:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
        if parent in ("/", ""):
            return True
        parent = os.path.dirname(parent)


def _stage(path: str) -> str:
    """An empty directory (or file) a held path is bound onto inside a run's own namespace."""
    base = os.path.dirname(_mountpoint())
    stage = os.path.join(base, "held", hashlib.sha256(path.encode()).hexdigest()[:16])
    if not os.path.lexists(stage):
        os.makedirs(os.path.dirname(stage), mode=0o755, exist_ok=True)
        if os.path.isdir(path):
            os.makedirs(stage, mode=0o755, exist_ok=True)
        else:
            open(stage, "a").close()
    return stage


def _rlimits(limits: Limits) -> tuple[tuple[int, int], ...]:
    return ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, limits.processes))


def _run_isolated(files, argv, stdin, limits: Limits, channel: bool, read_only, executables=(),
                  channel_bytes: int = 4 << 20, fds: tuple[int, ...] = ()) -> Result:
    bounds = _bounds.RunBounds(limits.total_memory_bytes, limits.processes)
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    chan_r, chan_w = os.pipe() if channel else (None, None)
    ro, links = _isolate.host_layout(tuple(read_only))
    held = tuple((p, _stage(p)) for p in ro if p not in _isolate.READ_ONLY and not _reachable_by_sandbox_user(p)) \
        if os.geteuid() == 0 else ()
    plan = _isolate.Plan(mountpoint=_mountpoint(), files=files, executables=frozenset(executables), held=held,
                         disk_bytes=limits.disk_bytes, report_fd=report_w, read_only=ro, symlinks=links,
                         become=(SANDBOX_UID, SANDBOX_GID) if os.geteuid() == 0 else None,
                         rlimits=_rlimits(limits), cgroup_files=bounds.join_files, cap_last=_cap_last())
    env = dict(ENV, SANDBOX_CHANNEL_FD=str(chan_w)) if channel else ENV
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd="/", env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_isolate.preexec(plan), pass_fds=((chan_w,) if channel else ()) + fds)
    except (subprocess.SubprocessError, OSError) as err:
        _close(fds)
        os.close(report_w)
        why = _read_all(report_r).decode(errors="replace").strip()
        for fd in (chan_r, chan_w):
            if fd is not None:
                os.close(fd)
        bounds.close()
        raise SandboxUnavailable(f"the sandbox could not start: {why or err}") from None
    _close(fds)
    os.close(report_w)
    if chan_w is not None:
        os.close(chan_w)
    report = _read_all(report_r).decode(errors="replace").split()
    bounds.start(int(report[1]) if report[:1] == ["P"] else 0)
    return _collect(proc, stdin, limits, start, bounds, chan_r, channel_bytes)


def _collect(proc, stdin, limits: Limits, start: float, bounds, chan_r, channel_bytes: int = 4 << 20) -> Result:
    out, err = _Capped(proc.stdout, limits.output_bytes), _Capped(proc.stderr, limits.output_bytes)
    chan = _Capped(os.fdopen(chan_r, "rb", buffering=0), channel_bytes) if chan_r is not None else None
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
    timed_out = False
    try:
        proc.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    if bounds is not None:
        if timed_out:  # PID 1 of the run first: the kernel takes the rest, and our child reaps it
            bounds.kill_init()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        exceeded = bounds.close()
    else:
        exceeded = None
    _kill_group(proc)
    seconds = time.monotonic() - start
    stdout, stderr = out.text(), err.text()
    channel = b"" if chan is None else chan.bytes()
    timed_out = timed_out or (exceeded is None and _cpu_killed(proc.returncode, seconds, limits))
    return Result(None if timed_out else proc.returncode, stdout, stderr, timed_out,
                  bool(out.dropped or err.dropped or (chan and chan.dropped)), seconds, exceeded, channel)


_CPU_KILLS = {-signal.SIGKILL, 128 + signal.SIGKILL, -signal.SIGXCPU, 128 + signal.SIGXCPU}


def _cpu_killed(returncode: int | None, seconds: float, limits: Limits) -> bool:
    """Whether the kernel's CPU-time limit ended the run (SIGXCPU, then SIGKILL; 128+n when the run's
    init reports it). Which of the two clocks fires first depends on the machine's load, so both are a
    time-out: a stalled program gets one verdict on an idle machine and a busy one. Nothing else sends
    these signals to a run whose bounds held, and a run cannot have used its CPU time sooner than the
    CPU time split over every core."""
    return returncode in _CPU_KILLS and seconds >= limits.cpu_seconds / max(1, os.cpu_count() or 1)


def _run_process(files, argv, stdin, limits: Limits, channel: bool, executables=(),
                 channel_bytes: int = 4 << 20, fds: tuple[int, ...] = ()) -> Result:
    """The weaker, opt-in mode: a temporary directory, rlimits and a process group."""
    workdir = tempfile.mkdtemp(prefix=f"grpo-ext-run-{os.getpid()}-")
    chan_r, chan_w = os.pipe() if channel else (None, None)
    try:
        for name, data in files.items():
            with open(os.path.join(workdir, name), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(workdir, name), 0o755 if name in executables else 0o644)
        rlimits = _rlimits(limits)
        env = dict(ENV, HOME=workdir, TMPDIR=workdir)
        if channel:
            env["SANDBOX_CHANNEL_FD"] = str(chan_w)
        start = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=workdir, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=lambda: [resource.setrlimit(r, (v, v)) for r, v in rlimits],
            pass_fds=((chan_w,) if channel else ()) + fds)
        _close(fds)
        fds = ()
        if chan_w is not None:
            os.close(chan_w)
        return _collect(proc, stdin, limits, start, None, chan_r, channel_bytes)
    finally:
        _close(fds)
        shutil.rmtree(workdir, ignore_errors=True)


def _close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks = []
    with os.fdopen(fd, "rb", buffering=0) as f:
        for chunk in iter(lambda: f.read(4096), b""):
            chunks.append(chunk)
    return b"".join(chunks)


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

    def bytes(self) -> bytes:
        self.thread.join(timeout=5)
        return bytes(self.data)

    def text(self) -> str:
        return self.bytes().decode("utf-8", errors="replace")


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
