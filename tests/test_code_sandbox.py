"""The code sandbox, attacked for real, as root and as an unprivileged user: each attack must fail
inside, leave the host as it was and leave nothing behind (no process, directory or cgroup)."""

import json
import os
import time
from pathlib import Path

import pytest

from grpo_ext.rewards.code import _bounds, sandbox
from sandbox_modes import MODES, Runner, clean_host, listener  # noqa: F401 - fixtures

if not sandbox.namespaces_available():
    if os.environ.get("CI"):
        pytest.fail(f"the code sandbox is unavailable: {sandbox.support()['error']}", pytrace=False)
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)



@pytest.fixture(params=MODES)
def box(request, clean_host):  # noqa: F811
    return Runner(request.param)


def test_support_reports_the_mode(box):
    info = box.support()
    assert info["isolation"] == "user namespaces" and info["error"] is None
    assert info["as"] == ("nobody (uid 65534) from root" if box.mode == "root" else "uid 65534 (rootless)")
    assert info["bounds"] == ("watchdog" if box.mode == "rootless" else _bounds.mode())


def test_network_is_unreachable(box, listener):
    port, got = listener
    result = box.run(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\ns.sendall(b'pwned')")
    assert not result.ok and "OSError" in result.stderr or "Error" in result.stderr
    time.sleep(0.3)
    assert got == []
    if box.mode == "root":  # the listener works: the weaker mode reaches it, so this test can fail
        weak = sandbox.run({"main.py": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"},
                           [sandbox.default_python(), "main.py"], isolation="process")
        assert weak.ok


def test_name_resolution_fails(box):
    result = box.run("import socket\nsocket.getaddrinfo('pypi.org', 443)")
    assert not result.ok and "gaierror" in result.stderr


def test_host_processes_are_invisible(box):
    program = ("import os, json\npids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
               "print(json.dumps({p: open(f'/proc/{p}/cmdline', 'rb').read().decode(errors='replace') for p in pids}))")
    result = box.run(program)
    assert result.ok, result.stderr
    seen = json.loads(result.stdout)
    assert list(seen) == ["1"], f"the program saw other processes: {seen}"  # only itself, as PID 1
    assert "main.py" in seen["1"] and "pytest" not in result.stdout and "setpriv" not in result.stdout
    assert box.run(f"import os\nos.kill({os.getpid()}, 0)").returncode != 0  # the host's PIDs do not exist inside


def test_parent_environment_is_invisible(box, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    result = box.run("import os\nprint(sorted(os.environ))\nprint(open('/proc/self/environ').read())",
                     env={"HF_TOKEN": "hf_secret_value", "WANDB_API_KEY": "wandb_secret"})
    assert result.ok and "HF_TOKEN" not in result.stdout and "WANDB" not in result.stdout
    assert "secret" not in result.stdout


def test_host_files_are_invisible_and_untouched(box):
    secret = Path("/var/tmp") / f"grpo-ext-secret-{os.getpid()}"
    secret.write_text("precious")
    os.chmod(secret, 0o666)  # world-readable and writable: only the mount layout protects it
    try:
        program = (f"import os\nfor path in ({str(secret)!r}, '/tmp', '/root', '/home', '/run', '/var', '/work/..'):\n"
                   "    print(path, os.path.exists(path))\n")
        result = box.run(program)
        assert result.ok
        assert f"{secret} False" in result.stdout and "/root False" in result.stdout and "/var False" in result.stdout
        for target in ("/etc/evil", "/usr/evil", "/evil", "/dev/evil", "/proc/evil", "/opt/evil", "/lib/evil"):
            attempt = box.run(f"open({target!r}, 'w').write('x')")
            assert not attempt.ok and "Error" in attempt.stderr, target
            assert not Path(target).exists()
        assert box.run("import os\nos.remove('/etc/hostname')").returncode != 0
        assert secret.read_text() == "precious" and Path("/etc/hostname").exists()
        assert box.run("open('mine.txt', 'w').write('ok')\nassert open('mine.txt').read() == 'ok'\n"
                       "open('/tmp/t', 'w').write('ok')").ok  # its own places stay writable
    finally:
        secret.unlink()


def test_memory_is_bounded_over_all_processes(box):
    # three processes of 400 MiB each, every one under the 1 GiB per-process limit, 1.2 GiB together
    program = ("import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        block = b'x' * (400 << 20)\n"
               "        print('held', flush=True)\n        time.sleep(2)\n        os._exit(0)\n"
               "for _ in range(3):\n    os.wait()\nprint('survived', flush=True)")
    result = box.run(program, total_memory_bytes=512 << 20, wall_seconds=8)
    assert result.exceeded == "memory", (result.stdout, result.stderr)
    assert result.stdout.count("held") < 3 or "survived" not in result.stdout


def test_watchdog_bounds_memory_as_root(clean_host, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GRPO_EXT_SANDBOX_BOUNDS", "watchdog")
    monkeypatch.setattr(_bounds, "mode", lambda: "watchdog")
    program = "import time\nblock = b'x' * (600 << 20)\ntime.sleep(3)\nprint('survived')"
    result = sandbox.run({"main.py": program}, [sandbox.default_python(), "main.py"],
                         limits=sandbox.Limits(total_memory_bytes=256 << 20, wall_seconds=8))
    assert result.exceeded == "memory" and "survived" not in result.stdout and not result.timed_out  # killed in its sleep


def test_disk_is_bounded(box):
    program = ("import os\ntotal = 0\nfor place in ('.', '/tmp', '/dev/shm'):\n    for i in range(70):\n"
               "        try:\n            with open(f'{place}/f{i}', 'wb') as f:\n                f.write(b'x' * (15 << 20))\n"
               "            total += 15 << 20\n        except OSError:\n            break\nprint(total)")
    result = box.run(program, disk_bytes=32 << 20, wall_seconds=20)
    assert result.ok, result.stderr
    assert int(result.stdout) <= 32 << 20  # all three places share one 32 MiB tmpfs


def test_process_count_is_bounded(box):
    program = ("import os, time\nn = 0\nfor _ in range(100):\n    try:\n        pid = os.fork()\n    except OSError:\n"
               "        break\n    if pid == 0:\n        time.sleep(1)\n        os._exit(0)\n    n += 1\nprint(n)")
    result = box.run(program, processes=16, wall_seconds=10)
    assert result.stdout.strip() and int(result.stdout) < 16


def test_fork_bomb(box):
    start = time.monotonic()
    result = box.run("import os\nwhile True:\n    os.fork()", wall_seconds=3)
    assert not result.ok and time.monotonic() - start < 30  # unbounded, it never ends; 30: slack for a loaded host


def test_per_process_memory(box):
    result = box.run("x = []\nwhile True:\n    x.append(bytearray(64 << 20))", memory_bytes=256 << 20)
    assert not result.ok and "MemoryError" in result.stderr


@pytest.mark.parametrize("program", ["while True:\n    pass", "import time\ntime.sleep(10**6)"])
def test_time_is_bounded(box, program):
    start = time.monotonic()
    result = box.run(program, wall_seconds=1)
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - start < 30  # unbounded, it never ends; 30: slack for a loaded host (pytest -n)


def test_output_flood_is_truncated(box):
    result = box.run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", wall_seconds=1)
    assert result.truncated and len(result.stdout) == 64 << 10


def test_daemons_do_not_outlive_the_run(box):
    program = ("import subprocess, os, time\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
               "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1000)\n    os._exit(0)\n"
               "time.sleep(0.2)\nprint('parent exits')")
    result = box.run(program)
    assert result.ok and "parent exits" in result.stdout  # clean_host then checks nothing is left


def test_killing_the_parent_and_host_processes_fails(box):
    host_pid = os.getpid()
    result = box.run(f"import os, signal\nos.kill({host_pid}, signal.SIGKILL)")
    assert result.returncode != 0 and "ProcessLookupError" in result.stderr
    box.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)")
    assert os.getpid() == host_pid  # still here


def test_no_way_back_to_privileges(box):
    program = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
               "print(libc.setuid(0), libc.unshare(0x40000000), libc.unshare(0x10000000), libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
               "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])")
    result = box.run(program)
    assert result.ok, result.stderr
    first, caps = result.stdout.split("\n")[:2]
    assert first.split()[1:] == ["-1", "-1", "-1"]  # no new namespaces (user ones included), no mounts
    assert int(caps, 16) == 0  # no capabilities at all
    assert box.run("import os\nassert os.system('id -u | grep -qx 0') != 0 or os.getuid() == 0").ok


def test_os_system_is_contained(box):
    result = box.run("import os\nprint(os.system('echo pwned > /etc/pwned'))")
    assert result.ok and result.stdout.strip() != "0"
    assert not Path("/etc/pwned").exists()


def test_weaker_mode_must_be_chosen_explicitly():
    with pytest.raises(ValueError, match="isolation must be"):
        sandbox.run({"main.py": ""}, ["true"], isolation="none")
