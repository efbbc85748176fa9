"""Run a function in a child process with a hard time limit and a memory ceiling.

Signal-based timeouts (``signal.alarm``) work only on the main thread and cannot interrupt C code
such as big-integer arithmetic inside sympy. Here the work runs in a persistent child process
(``python -m grpo_ext.rewards._worker``); the caller waits on a pipe, and a call that overruns its limit
gets the child's whole process group killed (SIGKILL). This works from any thread, inside an
asyncio loop and in processes launched by accelerate or DeepSpeed.

What the limit measures. A check's budget is the worker's *own* time: wall-clock time minus the
time the worker sat runnable in the kernel's run queue waiting for a CPU (Linux's
``/proc/<pid>/schedstat``). On an idle machine the two are the same; on a loaded one (a training
step keeping every core busy) the wait is the machine's doing, not the input's, and is not charged
to the check. Time the call spends sleeping or blocked is charged, so a call that hangs on a lock
or a socket still ends at its limit. Every call also has a wall-clock ceiling (``WALL_CEILING`` x
the limit): a time-out there is reported with ``cause="machine"``, one at the budget with
``cause="input"``. Where schedstat is missing (other kernels, other systems) the budget is plain
wall-clock time.

Nothing slow happens inside the clock: a worker imports the modules named in ``preload`` before it
says it is ready, and the clock of a call starts after that. A worker killed for a time-out or a
crash is replaced at once by a spare that starts importing while the caller carries on, so the next
call finds it warm (a time-out never makes the next call pay for imports).

The child is a fresh interpreter, not a fork: it never copies a parent's torch threads or CUDA
state, and (unlike multiprocessing's spawn) never re-imports the caller's ``__main__``. Calls are
serialised with cloudpickle, so rewards defined in a script or notebook ship by value. Inside a
child, :func:`in_worker` is true and nested bounded calls run inline, since the outer limit applies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

DEFAULT_MEMORY_BYTES = 4 << 30  # address-space ceiling of a worker: 4 GiB
STARTUP_TIMEOUT = 120.0  # seconds for a new worker to import its preloads and say it is ready (not counted in call limits)
WALL_CEILING = 10.0  # a call ends after this many times its limit of wall-clock time, however busy the machine


class BoundedTimeout(TimeoutError):
    """The call ran past its limit; the worker was killed.

    ``cause``: ``"input"`` when the call used its whole budget of its own time, ``"machine"`` when
    the wall-clock ceiling came first because the machine gave the worker too little CPU.
    """

    def __init__(self, message: str, cause: str = "input", own_seconds: float = 0.0, wall_seconds: float = 0.0):
        super().__init__(message)
        self.cause, self.own_seconds, self.wall_seconds = cause, own_seconds, wall_seconds


class BoundedCrash(RuntimeError):
    """The worker died (out of memory, a signal) or the function raised."""


def in_worker() -> bool:
    return os.environ.get("GRPO_EXT_IN_WORKER") == "1"


def _sched(pid: int) -> tuple[int, int, str] | None:
    """The main thread's (nanoseconds on a CPU, nanoseconds runnable but waiting for one, state
    letter), or None where the kernel does not say (no ``/proc/<pid>/schedstat``)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            on_cpu, waited = (int(x) for x in f.read().split()[:2])
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return on_cpu, waited, state


class BoundedWorker:
    """One child process that runs calls one at a time, each with a hard time limit.

    ``preload``: module names the worker imports before it is ready (outside every call's clock).
    Thread-safe: concurrent callers queue on a lock. Use several workers for parallelism.
    """

    def __init__(self, memory_bytes: int | None = DEFAULT_MEMORY_BYTES, preload: Sequence[str] = ()):
        self.memory_bytes = memory_bytes
        self.preload: tuple[str, ...] = tuple(preload)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._send = self._recv = None
        self._ready = False
        self.restarts = 0

    def _spawn(self) -> None:
        """Start a child; it imports its preloads while the caller goes on (see :meth:`_await_ready`)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ, GRPO_EXT_IN_WORKER="1", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        cmd = [sys.executable, "-m", f"{__package__}._worker", str(to_child_r), str(from_child_w), str(self.memory_bytes or 0),
               ",".join(self.preload)]
        self._proc = subprocess.Popen(
            cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self._ready = False

    def _await_ready(self) -> None:
        if self._proc is None:
            self._spawn()
        if self._ready:
            return
        try:
            if not self._recv.poll(STARTUP_TIMEOUT):
                self._kill()
                raise BoundedCrash(f"worker did not start within {STARTUP_TIMEOUT:.0f} s")
            message = self._recv.recv()
        except (EOFError, OSError):
            self._kill()
            raise BoundedCrash("worker exited while starting; see its stderr above") from None
        if message != "ready":
            self._kill()
            raise BoundedCrash(f"worker failed to start: {message}")
        self._ready = True

    def _kill(self) -> None:
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait(timeout=10)
            self._send.close()
            self._recv.close()
        self._proc = self._send = self._recv = None
        self._ready = False

    def _replace(self) -> None:
        """Kill the child and start a spare at once, so it is warm by the next call."""
        self._kill()
        self.restarts += 1
        self._spawn()

    def _wait(self, timeout: float, name: str) -> None:
        """Wait for the reply, charging the call its own time only; raise BoundedTimeout past the
        budget or the wall-clock ceiling.

        The kernel adds a wait for a CPU to the worker's account only when the wait ends, so a
        worker still waiting looks as if it had used that time itself: a time-out at the budget is
        declared only once the worker is seen running (its CPU time moves) or blocked (not "R")."""
        pid, start = self._proc.pid, time.monotonic()
        first = _sched(pid)
        ceiling, slice_ = timeout * WALL_CEILING, 0.02
        while True:
            wall = time.monotonic() - start
            now = _sched(pid) if first is not None else None
            own = wall - (now[1] - first[1]) / 1e9 if now is not None else wall
            if wall >= ceiling:
                self._time_out(name, timeout, "machine", own, wall)
            if own < timeout:
                if self._recv.poll(max(0.001, min(timeout - own, ceiling - wall))):
                    return
                continue
            if self._recv.poll(slice_ if now is not None else 0):
                return
            later = _sched(pid) if now is not None else None
            if later is None or later[2] != "R" or later[0] != now[0]:  # running, or blocked: its own time
                own = time.monotonic() - start - ((later[1] - first[1]) / 1e9 if later is not None else 0.0)
                if own >= timeout:
                    self._time_out(name, timeout, "input", own, time.monotonic() - start)

    def _time_out(self, name: str, timeout: float, cause: str, own: float, wall: float) -> None:
        self._replace()
        raise BoundedTimeout(f"{name} ran past {timeout:.3g} s ({cause}: {own:.2f} s of its own time, "
                             f"{wall:.2f} s on the clock)", cause, own, wall)

    def call(self, fn: Callable, args: tuple = (), kwargs: dict | None = None, *, timeout: float) -> Any:
        """``fn(*args, **kwargs)`` in the worker; raises BoundedTimeout or BoundedCrash."""
        payload = cloudpickle.dumps(("call", fn, args, kwargs or {}))
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:
                self._replace()
            try:
                self._await_ready()
                self._send.send_bytes(payload)
                self._wait(timeout, getattr(fn, "__name__", type(fn).__name__))
                status, value = self._recv.recv()
            except BoundedTimeout:  # a TimeoutError, hence an OSError: not a crash
                raise
            except (EOFError, OSError) as err:
                self._replace()
                raise BoundedCrash(f"worker died ({type(err).__name__})") from None
            if status == "err":
                raise BoundedCrash(value)
            return value

    def call_each(self, fn: Callable, items: Sequence[dict], *, timeout: float, name: str = "") -> list[tuple[str, Any]]:
        """``fn(**item)`` for each item in order, in one request, each item under its own limit.

        One ``(status, value)`` per item that ended: ``("ok", result)``, ``("err", message)`` for an
        exception (the worker goes on with the next item), and, last, ``("timeout", BoundedTimeout)``
        or ``("crash", message)`` when an item ran out of time or the worker died; the worker is then
        replaced and the items after it did not run (the list is shorter than ``items``)."""
        payload = cloudpickle.dumps(("each", fn, list(items)))
        name = name or getattr(fn, "__name__", type(fn).__name__)
        out: list[tuple[str, Any]] = []
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:
                self._replace()
            try:
                self._await_ready()
                self._send.send_bytes(payload)
                for _ in items:  # each item's clock starts when the one before it answered
                    self._wait(timeout, name)
                    out.append(self._recv.recv())
            except BoundedTimeout as err:  # _wait replaced the worker
                out.append(("timeout", err))
            except BoundedCrash as err:  # the worker did not start
                out.append(("crash", str(err)))
            except (EOFError, OSError) as err:
                self._replace()
                out.append(("crash", f"worker died ({type(err).__name__})"))
        return out

    def warm(self, modules: Sequence[str]) -> None:
        """Make sure the worker has imported ``modules``, outside any call's clock; later
        replacements import them before they are ready."""
        new = tuple(m for m in modules if m not in self.preload)
        if not new:
            return
        from ._worker import preload

        self.preload += new
        with self._lock:
            if self._proc is None:
                return  # the next start imports them
            try:
                self._await_ready()
                self._send.send_bytes(cloudpickle.dumps(("call", preload, (list(new),), {})))
                if not self._recv.poll(STARTUP_TIMEOUT):
                    raise OSError("warm-up took too long")
                status, value = self._recv.recv()
            except (EOFError, OSError) as err:
                self._replace()
                raise BoundedCrash(f"worker died while importing {new} ({err})") from None
            if status == "err":
                raise BoundedCrash(f"cannot preload {new}: {value}")

    def close(self) -> None:
        with self._lock:
            self._kill()

    def __del__(self):
        try:
            self._kill()
        except Exception:  # interpreter shutdown: nothing left to clean up with
            pass


_shared: dict[int, BoundedWorker] = {}
_shared_lock = threading.Lock()


def shared_worker() -> BoundedWorker:
    """A process-wide worker (one per OS process, recreated after fork)."""
    pid = os.getpid()
    with _shared_lock:
        if pid not in _shared:
            _shared.clear()
            _shared[pid] = BoundedWorker()
        return _shared[pid]


def run_bounded(fn: Callable, *args, timeout: float, preload: Sequence[str] = (), **kwargs) -> Any:
    """``fn(*args, **kwargs)`` with a hard time limit; inline when already inside a worker.
    ``preload``: modules ``fn`` needs, imported by the worker outside the clock."""
    if in_worker():
        return fn(*args, **kwargs)
    worker = shared_worker()
    worker.warm(preload)
    return worker.call(fn, args, kwargs, timeout=timeout)
