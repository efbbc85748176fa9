"""A subprocess bounded in time together with everything it starts: ``accelerate launch`` runs
the recipe in a child of its own, which a plain ``subprocess.run(timeout=...)`` would leave
running (holding the GPU) when it kills the launcher."""

from __future__ import annotations

import os
import signal
import subprocess


def run(cmd: list[str], timeout: float | None, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` in a new process group; at ``timeout`` seconds the whole group is killed
    and ``subprocess.TimeoutExpired`` raised."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
