"""Running an interactor and a contestant at once, each in its own sandbox, joined by pipes.

::

    interactor's stdout --> relay (a thread here) --> contestant's stdin
    contestant's stdout ----------------------------> interactor's stdin

The relay forwards what the interactor writes until the contestant's end of that pipe is gone,
then reads on and drops it, until the interactor ends. So an interactor never sees a broken pipe
on its stdout: a right program that exits after its last read does not kill (SIGPIPE) or fail
(EPIPE, Python's BrokenPipeError) an interactor that writes a last line after it, and that
interactor goes on to its verdict. A contestant that closes its input or exits before the last
question gains nothing: the interactor's questions go nowhere and its next read of the
contestant's output meets end of input, a verdict against the contestant.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from . import sandbox

_BASH = "/bin/bash"


def run_connected(contestant: dict, interactor: dict, isolation: str) -> tuple[sandbox.Result, sandbox.Result]:
    """Run two sandboxed programs at once, each one's stdout piped into the other's stdin (the
    interactor's through the relay). Each side is ``sandbox.run``'s keyword arguments; each run
    closes our copies of its pipe ends, so when one side ends the other reads end of input."""
    to_contestant_r, to_contestant_w = os.pipe()
    from_interactor_r, from_interactor_w = os.pipe()
    to_interactor_r, to_interactor_w = os.pipe()
    relay = threading.Thread(target=_relay, args=(from_interactor_r, to_contestant_w), daemon=True)
    relay.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(sandbox.run, **_piped(contestant, to_contestant_r, to_interactor_w), isolation=isolation)
            b = pool.submit(sandbox.run, **_piped(interactor, to_interactor_r, from_interactor_w), isolation=isolation)
            return a.result(), b.result()
    finally:
        relay.join()


def _relay(source: int, target: int) -> None:
    """Copy ``source`` to ``target`` until ``source`` ends; once ``target`` is broken, drop the rest."""
    broken = False
    try:
        while chunk := os.read(source, 1 << 16):
            while chunk and not broken:
                try:
                    chunk = chunk[os.write(target, chunk):]
                except OSError:  # EPIPE: the contestant is gone or closed its input
                    broken = True
    finally:
        os.close(source)
        os.close(target)


def _piped(side: dict, read_fd: int, write_fd: int) -> dict:
    """``side`` with its argv run with ``read_fd`` as stdin and ``write_fd`` as stdout."""
    redirect = f'exec "$@" <&{read_fd} >&{write_fd} {read_fd}<&- {write_fd}>&-'
    return dict(side, argv=[_BASH, "-c", redirect, "piped", *side["argv"]], fds=(read_fd, write_fd))
