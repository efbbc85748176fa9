"""Entry point of a bounded worker process (see ``rewards._bounded``): import the modules it is
told to preload, say "ready", then read pickled calls from one pipe and answer on another: one
reply per call, or one per item of an item-by-item request, as each item ends.
Standard output stays free for the called code's own prints."""

from __future__ import annotations

import importlib
import pickle
import sys
from multiprocessing.connection import Connection


def preload(modules: list[str]) -> None:
    """Import ``modules`` (names, e.g. ``sympy``); runs before the worker says it is ready, and as
    the unclocked warm-up call of :meth:`rewards._bounded.BoundedWorker.warm`."""
    for name in modules:
        importlib.import_module(name)


def serve(read_fd: int, write_fd: int, memory_bytes: int, modules: list[str]) -> None:
    if memory_bytes:
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ValueError, OSError):  # already lower than asked
            pass
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    try:
        preload(modules)
    except Exception as err:  # a missing module: the caller raises BoundedCrash with this text
        outbox.send(f"cannot preload: {type(err).__name__}: {err}")
        return
    outbox.send("ready")  # the caller's clock starts only after this, imports done
    while True:
        try:
            message = pickle.loads(inbox.recv_bytes())
        except EOFError:
            return
        if message[0] == "each":  # ("each", fn, [kwargs, ...]): one reply per item, in order
            _, fn, items = message
            for kwargs in items:
                _reply(outbox, fn, (), kwargs)
        else:  # ("call", fn, args, kwargs)
            _, fn, args, kwargs = message
            _reply(outbox, fn, args, kwargs)


def _reply(outbox: Connection, fn, args: tuple, kwargs: dict) -> None:
    try:
        reply = ("ok", fn(*args, **kwargs))
    except MemoryError:
        reply = ("err", "MemoryError: the worker's memory ceiling was reached")
    except Exception as err:  # reported to the caller, who decides what it scores
        reply = ("err", f"{type(err).__name__}: {err}")
    try:
        outbox.send(reply)
    except Exception as err:  # an unpicklable result
        outbox.send(("err", f"cannot send the result back: {type(err).__name__}: {err}"))

if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), [m for m in sys.argv[4].split(",") if m])
