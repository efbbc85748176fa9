"""Run a function in a child process with a hard wall-clock limit and a memory ceiling.

Signal-based timeouts (``signal.alarm``) work only on the main thread and cannot interrupt C code
such as big-integer arithmetic inside sympy. Here the work runs in a persistent child process
(``python -m rewards._worker``); the caller waits on a pipe, and a call that overruns its limit
gets the child's whole process group killed (SIGKILL) and a fresh child started for the next call.
This works from any thread, inside an asyncio loop and in processes launched by accelerate or
DeepSpeed.

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
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

DEFAULT_MEMORY_BYTES = 4 << 30  # address-space ceiling of a worker: 4 GiB
STARTUP_TIMEOUT = 120.0  # seconds for a new worker to say it is ready (not counted in call limits)


class BoundedTimeout(TimeoutError):
    """The call ran past its wall-clock limit; the worker was killed."""


class BoundedCrash(RuntimeError):
    """The worker died (out of memory, a signal) or the function raised."""


def in_worker() -> bool:
    return os.environ.get("GRPO_EXT_IN_WORKER") == "1"


class BoundedWorker:
    """One child process that runs calls one at a time, each with a hard time limit.

    Thread-safe: concurrent callers queue on a lock. Use several workers for parallelism.
    """

    def __init__(self, memory_bytes: int | None = DEFAULT_MEMORY_BYTES):
        self.memory_bytes = memory_bytes
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._send = self._recv = None
        self.restarts = 0

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ, GRPO_EXT_IN_WORKER="1", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        cmd = [sys.executable, "-m", "grpo_ext.rewards._worker", str(to_child_r), str(from_child_w), str(self.memory_bytes or 0)]
        self._proc = subprocess.Popen(
            cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        try:
            if not self._recv.poll(STARTUP_TIMEOUT) or self._recv.recv() != "ready":
                raise BoundedCrash(f"worker did not start within {STARTUP_TIMEOUT:.0f} s")
        except (EOFError, OSError):
            self._kill()
            raise BoundedCrash("worker exited while starting; see its stderr above") from None

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

    def call(self, fn: Callable, args: tuple = (), kwargs: dict | None = None, *, timeout: float) -> Any:
        """``fn(*args, **kwargs)`` in the worker; raises BoundedTimeout or BoundedCrash."""
        payload = cloudpickle.dumps((fn, args, kwargs or {}))
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:
                self._kill()
                self.restarts += 1
            try:
                if self._proc is None:
                    self._start()
                self._send.send_bytes(payload)
                ready = self._recv.poll(timeout)
                status, value = self._recv.recv() if ready else (None, None)
            except (EOFError, OSError) as err:
                self._kill()
                raise BoundedCrash(f"worker died ({type(err).__name__})") from None
            if not ready:
                self._kill()
                raise BoundedTimeout(f"{getattr(fn, '__name__', type(fn).__name__)} ran past {timeout:.3g} s")
            if status == "err":
                raise BoundedCrash(value)
            return value

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


def run_bounded(fn: Callable, *args, timeout: float, **kwargs) -> Any:
    """``fn(*args, **kwargs)`` with a hard time limit; inline when already inside a worker."""
    if in_worker():
        return fn(*args, **kwargs)
    return shared_worker().call(fn, args, kwargs, timeout=timeout)
