"""The code sandbox, attacked for real: each attack must fail inside, leave the host as it was and
leave nothing behind (no processes of the sandbox user, no working directories)."""

import os
import socket
import threading
import time
from pathlib import Path

import pytest

import rewards
from rewards import sandbox
from rewards.code import extract_code, outputs_match, parse_tests

if not sandbox.namespaces_available():
    if os.environ.get("CI"):
        pytest.fail("the code sandbox needs root and unshare; CI must provide them", pytrace=False)
    pytest.skip("namespaces unavailable (not root?): sandbox tests need them", allow_module_level=True)


def sandbox_processes() -> list[str]:
    out = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == sandbox.SANDBOX_UID:
                out.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def workdirs() -> list[str]:
    base = Path(sandbox._base_dir())  # noqa: SLF001
    return sorted(p.name for p in base.iterdir() if p.name.startswith("run-"))


@pytest.fixture
def clean_host():
    before = workdirs()
    yield
    deadline = time.monotonic() + 5
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == [], "a sandboxed process outlived its run"
    assert workdirs() == before, "a working directory was left behind"


def fenced(code: str) -> str:
    return f"Here is my solution:\n```python\n{code}\n```\n"


def score(code: str, test_code: str = "pass", **params) -> float:
    fn = rewards.get("code_execution", wall_seconds=params.pop("wall_seconds", 3.0), **params)
    return fn(completions=[fenced(code)], verification_info=[{"language": "python", "test_code": test_code}])[0]


@pytest.fixture
def listener():
    """A TCP server on the host's loopback; records whatever connects."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    got, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                got.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], got
    stop.set()
    thread.join()
    server.close()


def test_network_connection_is_refused(clean_host, listener):
    port, got = listener
    code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\ns.sendall(b'pwned')"
    assert score(code) == 0.0
    time.sleep(0.3)
    assert got == []
    assert score(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
                 wall_seconds=3, isolation="process") == 1.0, "the listener works: the weaker mode reaches it"


def test_name_resolution_fails(clean_host):
    assert score("import socket\nsocket.getaddrinfo('pypi.org', 443)") == 0.0


def test_parent_environment_is_invisible(clean_host, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    monkeypatch.setenv("WANDB_API_KEY", "wandb_secret")
    result = sandbox.run({"main.py": "import os\nprint(sorted(os.environ))"}, [sandbox.default_python(), "main.py"])
    assert result.ok and "HF_TOKEN" not in result.stdout and "WANDB" not in result.stdout
    assert score("import os\nassert os.environ.get('HF_TOKEN')") == 0.0


def test_cannot_write_or_delete_outside_its_directory(clean_host, tmp_path):
    victim_dir = Path("/var/lib") / f"grpo-ext-victim-{os.getpid()}"
    victim_dir.mkdir(mode=0o777, exist_ok=True)
    os.chmod(victim_dir, 0o777)
    keep = victim_dir / "keep.txt"
    keep.write_text("precious")
    os.chmod(keep, 0o666)
    tmp_file = tmp_path / "also.txt"
    tmp_file.write_text("precious")
    try:
        for target in (victim_dir / "new.txt", "/etc/evil", "/tmp/evil", "/dev/shm/evil", "/root/evil"):
            assert score(f"open({str(target)!r}, 'w').write('x')") == 0.0, target
        assert score(f"import os\nos.remove({str(keep)!r})") == 0.0
        assert score(f"import os\nos.remove({str(tmp_file)!r})") == 0.0
        assert keep.read_text() == "precious" and tmp_file.read_text() == "precious"
        assert not (victim_dir / "new.txt").exists() and not Path("/tmp/evil").exists()
        assert score("open('mine.txt', 'w').write('ok')\nassert open('mine.txt').read() == 'ok'") == 1.0
    finally:
        keep.unlink()
        victim_dir.rmdir()


def test_fork_bomb(clean_host):
    start = time.monotonic()
    assert score("import os\nwhile True:\n    os.fork()") == 0.0
    assert time.monotonic() - start < 10


def test_memory_bomb(clean_host):
    result = sandbox.run({"main.py": "x = []\nwhile True:\n    x.append(bytearray(64 << 20))"},
                         [sandbox.default_python(), "main.py"], limits=sandbox.Limits(memory_bytes=256 << 20))
    assert not result.ok and "MemoryError" in result.stderr


def test_infinite_loop_and_sleep_time_out(clean_host):
    for code in ("while True:\n    pass", "import time\ntime.sleep(10**6)"):
        start = time.monotonic()
        result = sandbox.run({"main.py": code}, [sandbox.default_python(), "main.py"], limits=sandbox.Limits(wall_seconds=1))
        assert result.timed_out and result.returncode is None
        assert time.monotonic() - start < 5


def test_output_flood_is_truncated(clean_host):
    result = sandbox.run({"main.py": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)"},
                         [sandbox.default_python(), "main.py"], limits=sandbox.Limits(wall_seconds=1))
    assert result.truncated and len(result.stdout) == 64 << 10


def test_background_process_does_not_outlive_the_run(clean_host):
    code = ("import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
            "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(1000)\n")
    result = sandbox.run({"main.py": code}, [sandbox.default_python(), "main.py"])
    assert result.ok  # the program itself exits at once; its children die with it (clean_host checks)


def test_killing_the_parent_fails(clean_host):
    host_pid = os.getpid()
    code = f"import os, signal\nos.kill({host_pid}, signal.SIGKILL)"
    assert score(code) == 0.0  # the host's PID is not even visible
    assert score("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nassert False") == 0.0


def test_os_system_is_contained(clean_host):
    assert score("import os\nassert os.system('echo pwned > /tmp/pwned') == 0") == 0.0
    assert not Path("/tmp/pwned").exists()
    assert score("import os\nassert os.system('id -u | grep -qx 0') == 0") == 0.0  # not root inside


def test_ctypes_cannot_regain_privileges(clean_host):
    assert score("import ctypes\nassert ctypes.CDLL(None).setuid(0) == 0") == 0.0
    assert score("import ctypes\nlibc = ctypes.CDLL(None)\nassert libc.unshare(0x40000000) == 0") == 0.0  # CLONE_NEWNET


# -- correctness -------------------------------------------------------------------------------

ADD = "a, b = map(int, input().split())\nprint(a + b)"
IO = {"language": "python", "test_cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10"},
                                           {"input": "-1 1\n", "output": "0  \n\n"}]}


@pytest.mark.parametrize("code, share", [
    (ADD, 1.0),                                                   # all pass (trailing whitespace ignored)
    ("a, b = map(int, input().split())\nprint(a + b if a > 0 else 99)", 2 / 3),
    ("print('wrong')", 0.0),
    ("def broken(:\n    pass", 0.0),                              # syntax error
    ("a, b = map(int, input().split())\nprint(a + b)\nprint('extra')", 0.0),   # extra line
    ("a, b = map(int, input().split())\nprint(a, '+', b, '=', a + b)", 0.0),   # wrong format
])
def test_stdin_stdout_scoring(clean_host, code, share):
    fn = rewards.get("code_execution")
    assert fn(completions=[fenced(code)], verification_info=[IO]) == [pytest.approx(share)]


def test_test_code_mode_and_binary(clean_host):
    info = {"language": "python", "test_code": "assert add(1, 2) == 3\nassert add(-1, 1) == 0"}
    good, bad = fenced("def add(a, b):\n    return a + b"), fenced("def add(a, b):\n    return a - b")
    assert rewards.get("code_execution")(completions=[good, bad, "no code"], verification_info=[info] * 3) == [1.0, 0.0, 0.0]
    partial = fenced("a, b = map(int, input().split())\nprint(a + b if a > 0 else 99)")
    assert rewards.get("code_execution_binary")(completions=[fenced(ADD), partial], verification_info=[IO, IO]) == [1.0, 0.0]


def test_per_test_timeout_fails_only_that_test(clean_host):
    code = "a, b = map(int, input().split())\nwhile a == 5:\n    pass\nprint(a + b)"
    fn = rewards.get("code_execution", wall_seconds=1.0)
    assert fn(completions=[fenced(code)], verification_info=[IO]) == [pytest.approx(2 / 3)]


def test_many_programs_in_parallel_in_order(clean_host):
    completions = [fenced(f"print({i})") for i in range(8)]
    infos = [{"language": "python", "test_cases": [{"input": "", "output": f"{i if i % 3 else -1}\n"}]} for i in range(8)]
    out = rewards.get("code_execution", concurrency=4)(completions=completions, verification_info=infos)
    assert out == [0.0 if i % 3 == 0 else 1.0 for i in range(8)]


def test_json_text_rows_are_accepted(clean_host):
    import json

    assert rewards.get("code_execution")(completions=[fenced(ADD)], verification_info=[json.dumps(IO)]) == [1.0]


@pytest.mark.parametrize("info, message", [
    ("{not json", "row 1 is not valid JSON"),
    ({"language": "cobol", "test_code": "x"}, "row 1: language 'cobol' is not supported"),
    ({"language": "python"}, "row 1 needs exactly one of"),
    ({"language": "python", "test_cases": []}, "row 1: 'test_cases' must be a non-empty list"),
    ({"language": "python", "test_cases": [{"input": "1"}]}, "row 1: test case 0 needs text 'output'"),
    (["a"], "row 1 must be a mapping"),
])
def test_malformed_rows_name_the_row(info, message):
    fn = rewards.get("code_execution")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        fn(completions=[fenced(ADD)] * 2, verification_info=[IO, info])


def test_extract_code_takes_the_last_python_block():
    text = "```python\nfirst\n```\n```bash\nls\n```\n```py\nsecond\n```\n```\nthird\n```"
    assert extract_code(text) == "third\n"
    assert extract_code("```bash\nls\n```") is None


def test_outputs_match_rules():
    assert outputs_match("1\n2  \n", "1\n2")
    assert not outputs_match("1\n2\n3", "1\n2")
    assert not outputs_match("1", "1\n2")
    assert not outputs_match(" 1", "1")  # leading whitespace counts
    assert parse_tests({"test_cases": [{"output": "1"}]}, 0).cases == (("", "1"),)


def test_weaker_mode_must_be_chosen_explicitly():
    with pytest.raises(ValueError, match="isolation must be"):
        sandbox.run({"main.py": ""}, ["true"], isolation="none")
