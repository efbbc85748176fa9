"""``grpo-ext sandbox check``: what isolation this machine gives, and a few attacks run live.

Each attack is a real program run in the sandbox; it is *contained* when the run shows the
attack failed (the evidence is what the program printed, its exit and the sandbox's report).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import sandbox


@dataclass(frozen=True)
class Attack:
    name: str
    program: str
    contained: Callable[[sandbox.Result], bool]
    limits: dict | None = None


def _host_listener() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server, server.getsockname()[1]


def attacks(port: int) -> list[Attack]:
    return [
        Attack("connect to a host port", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
               "print('connected')", lambda r: "connected" not in r.stdout),
        Attack("resolve a host name", "import socket\nsocket.getaddrinfo('pypi.org', 443)\nprint('resolved')",
               lambda r: "resolved" not in r.stdout),
        Attack("list host processes", "import os\nprint(len([p for p in os.listdir('/proc') if p.isdigit()]))",
               lambda r: r.stdout.strip() == "1"),
        Attack("read the parent's environment", "import os\nprint(sorted(os.environ))",
               lambda r: r.ok and "SECRET_PROBE" not in r.stdout),
        Attack("write outside its directory", "import os\nn = 0\nfor p in ('/etc/x', '/usr/x', '/x', '/dev/x'):\n"
               "    try:\n        open(p, 'w').write('x'); n += 1\n    except OSError:\n        pass\nprint(n)",
               lambda r: r.stdout.strip() == "0"),
        Attack("see host files", "import os\nprint([p for p in ('/root', '/home', '/run', '/var') if os.path.exists(p)])",
               lambda r: r.stdout.strip() == "[]"),
        Attack("regain privileges", "import ctypes\nlibc = ctypes.CDLL(None)\n"
               "print(libc.unshare(0x10000000), libc.unshare(0x40000000), libc.setuid(0))",
               lambda r: r.stdout.split()[:2] == ["-1", "-1"]),
        Attack("use 3 x 300 MiB in 3 processes (total bound 512 MiB)",
               "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        b = b'x' * (300 << 20)\n"
               "        time.sleep(1.5)\n        os._exit(0)\nfor _ in range(3):\n    os.wait()\nprint('all held')",
               lambda r: r.exceeded == "memory", {"total_memory_bytes": 512 << 20, "wall_seconds": 8}),
        Attack("fill the disk (bound 32 MiB)", "n = 0\ntry:\n    for i in range(100):\n"
               "        open(f'f{i}', 'wb').write(b'x' * (4 << 20)); n += 4\nexcept OSError:\n    pass\nprint(n)",
               lambda r: r.stdout.strip() != "" and int(r.stdout) <= 32, {"disk_bytes": 32 << 20}),
        Attack("fork bomb", "import os\nwhile True:\n    os.fork()", lambda r: not r.ok, {"wall_seconds": 2}),
        Attack("leave a daemon behind", "import subprocess\nsubprocess.Popen(['sleep', '299.5'], start_new_session=True)",
               lambda r: r.ok and not _running(b"sleep\0" + b"299.5\0")),
    ]


def verdict_attacks(isolation: str = "namespaces") -> list[tuple[str, str, float]]:
    """(name, completion, score) for early-exit hacks against ``code_execution``."""
    from .reward import CodeExecution

    info = {"language": "python", "test_code": "assert add(1, 2) == 3\nassert add(2, 2) == 4"}
    hacks = {"sys.exit(0) before the tests": "import sys\nsys.exit(0)",
             "os._exit(0) before the tests": "import os\nos._exit(0)",
             "atexit forces status 0": "import atexit, os\natexit.register(lambda: os._exit(0))\n"
                                       "def add(a, b):\n    return 0",
             "object equal to everything": "class A:\n    def __eq__(self, o):\n        return True\n"
                                           "def add(a, b):\n    return A()"}
    reward = CodeExecution(wall_seconds=3, isolation=isolation)
    completions = [f"```python\n{code}\n```" for code in hacks.values()]
    scores = reward(completions=completions, verification_info=[info] * len(hacks))
    return [(name, text, score) for (name, text), score in zip(hacks.items(), scores)]


# a program per built-in language that prints "ok": compiled and run in the sandbox by the check
SAMPLES = {
    "python": 'print("ok")',
    "cpp": '#include <iostream>\nint main() { std::cout << "ok" << std::endl; }',
    "c": '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }',
    "java": 'public class Main { public static void main(String[] a) { System.out.println("ok"); } }',
    "javascript": 'console.log("ok");',
    "rust": 'fn main() { println!("ok"); }',
}


def language_checks(isolation: str = "namespaces") -> list[tuple[str, bool, str]]:
    """(language, works, detail) for every registered language: its sample compiled and run in the
    sandbox (a language without a sample is only looked up)."""
    from . import languages
    from .backends import LocalBackend, Run

    backend = LocalBackend(sandbox.Limits(wall_seconds=20, cpu_seconds=20), isolation=isolation)
    rows = []
    for name, language in sorted(languages.available().items()):
        try:
            tools = language.toolchain()
        except languages.LanguageUnavailable as err:
            rows.append((name, False, str(err)))
            continue
        if name not in SAMPLES:
            rows.append((name, True, f"{tools.run[0]} found (no sample program to run)"))
            continue
        start = time.monotonic()
        ready = backend.prepare(language, SAMPLES[name])
        run = ready if isinstance(ready, Run) else backend.execute(ready, "")
        seconds = time.monotonic() - start
        works = run.status == "ok" and run.stdout.strip() == "ok"
        tool = (tools.compile or tools.run)[0]
        rows.append((name, works, f"{tool} ({seconds:.1f} s to build and run)" if works
                     else f"{tool}: {run.status} {run.detail.strip()[-300:]}"))
    return rows


def run_checks(print_fn=print, isolation: str = "namespaces") -> bool:
    """Print the machine's isolation and the live attacks; True when everything was contained.
    ``isolation="process"`` attacks the weaker opt-in mode instead (to see what it does not stop)."""
    info = sandbox.support()
    print_fn(f"isolation:  {info['isolation'] or 'NONE'}" + (f", as {info['as']}" if info["as"] else ""))
    print_fn(f"run bounds: {info['bounds']}")
    if isolation == "process":
        print_fn("attacking:  the weaker isolation='process' mode")
    elif info["isolation"] is None:
        print_fn(f"error:      {info['error']}")
        return False
    print_fn(f"python:     {sandbox.default_python()}")
    server, port = _host_listener()
    os.environ["SECRET_PROBE"] = "1"
    ok = True
    try:
        for attack in attacks(port):
            result = sandbox.run({"main.py": attack.program}, [sandbox.default_python(), "main.py"],
                                 limits=sandbox.Limits(**(attack.limits or {})), isolation=isolation)
            contained = attack.contained(result)
            ok &= contained
            print_fn(f"  {'contained' if contained else 'NOT CONTAINED':13s}  {attack.name}")
        for name, _, score in verdict_attacks(isolation):
            ok &= score == 0.0
            print_fn(f"  {'contained' if score == 0.0 else 'NOT CONTAINED':13s}  code_execution: {name} "
                     f"(score {score})")
    finally:
        os.environ.pop("SECRET_PROBE", None)
        server.close()
    print_fn("all attacks contained" if ok else "SOME ATTACKS WERE NOT CONTAINED")
    print_fn("languages (a sample compiled and run in the sandbox):")
    for name, works, detail in language_checks(isolation):
        print_fn(f"  {'works' if works else 'UNAVAILABLE':13s}  {name:11s} {detail}")
    return ok


def _running(cmdline: bytes) -> bool:
    """Whether a host process with exactly this command line exists (after a short grace period);
    any found is killed, so that checking the weaker mode leaves nothing behind either."""
    time.sleep(0.2)
    found = False
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and open(f"/proc/{pid}/cmdline", "rb").read() == cmdline:
                found = True
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    return found
