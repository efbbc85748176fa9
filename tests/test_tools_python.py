"""The ready ``python`` tool: model-written code runs in the code sandbox, never in the trainer's
process, bounded in time, memory and output, with no network and no host files; as root and as an
unprivileged user. Every attack below must fail inside the sandbox (and would show in the output
if it scored); the control shows the tool answers ordinary code."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from grpo_ext import tools
from grpo_ext.rewards.code import sandbox
from sandbox_modes import MODES, NOBODY, SYSTEM_PYTHON, clean_host, listener, rootless_available  # noqa: F401 - fixtures

if not sandbox.namespaces_available():
    if os.environ.get("CI"):
        pytest.fail(f"the code sandbox is unavailable: {sandbox.support()['error']}", pytrace=False)
    pytest.skip("user namespaces unavailable: sandbox tests need them", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
# what the unprivileged user runs: the tool from this repository, on the system Python (no torch needed)
AS_NOBODY = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom grpo_ext import tools\n"
             "request = json.loads(sys.stdin.read())\n"
             "print(json.dumps(tools.get('python', **request['options'])(request['code'])))")


class Tool:
    """``tools.get("python", **options)(code)`` as root in this process, or as uid 65534."""

    def __init__(self, mode: str):
        self.mode = mode
        if mode == "rootless" and (why := rootless_available()):
            pytest.skip(why)

    def __call__(self, code: str, **options) -> str:
        if self.mode == "root":
            return tools.get("python", **options)(code)
        proc = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", SYSTEM_PYTHON,
                               "-c", AS_NOBODY, str(ROOT)], input=json.dumps({"code": code, "options": options}),
                              capture_output=True, text=True, timeout=120, cwd="/", env={"PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture(params=MODES)
def python(request, clean_host):  # noqa: F811
    return Tool(request.param)


def test_control_answers_ordinary_code(python):
    assert python("print(sum(i * i for i in range(10)))\nprint(2 ** 100)") == "285\n1267650600228229401496703205376"


def test_errors_come_back_as_text(python):
    out = python("x = 1\nprint('before')\nraise ValueError('bad input 7')")
    assert out.startswith("before\n") and "ValueError: bad input 7" in out and out.endswith("[exit status 1]")


def test_no_network(python, listener):
    port, got = listener
    out = python(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                 "s.sendall(b'leak')\nprint('connected')")
    assert "connected" not in out and "Error" in out and got == []


def test_no_host_files(python):
    secret = Path("/var/tmp") / f"grpo-ext-tool-secret-{os.getpid()}"
    secret.write_text("precious")
    os.chmod(secret, 0o666)  # readable and writable by anyone: only the sandbox's mounts protect it
    target = Path("/var/tmp") / f"grpo-ext-tool-written-{os.getpid()}"
    try:
        out = python(f"import os\nprint(os.path.exists({str(secret)!r}), os.path.exists('/root'), "
                     f"os.path.exists('/home'))\nprint(open({str(secret)!r}).read())")
        assert out.startswith("False False False\n") and "FileNotFoundError" in out and "precious" not in out
        python(f"open({str(target)!r}, 'w').write('x')\nopen('/etc/evil', 'w').write('x')")
        assert not target.exists() and not Path("/etc/evil").exists() and secret.read_text() == "precious"
    finally:
        secret.unlink()


def test_trainer_process_is_out_of_reach(python):
    """The program sees none of the host's processes (the trainer's included) and none of its environment."""
    os.environ["GRPO_EXT_TOOL_SECRET"] = "s3cr3t"
    try:
        out = python("import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
                     "print(os.environ.get('GRPO_EXT_TOOL_SECRET'))")
    finally:
        del os.environ["GRPO_EXT_TOOL_SECRET"]
    pids, secret = out.splitlines()
    assert str(os.getpid()) not in pids.strip("[]").split(", ") and max(json.loads(pids)) < 10 and secret == "None"


def test_time_is_bounded(python):
    out = python("print('start', flush=True)\nwhile True:\n    pass", wall_seconds=1.0)
    assert out.startswith("start") and out.endswith("[timed out after 1 s]")


def test_memory_is_bounded(python):
    out = python("block = bytearray(600 << 20)\nprint('allocated', len(block))", memory_bytes=256 << 20)
    assert "allocated" not in out and ("MemoryError" in out or "limit exceeded" in out)


def test_output_is_bounded(python):
    out = python("import sys\nsys.stdout.write('x' * 5_000_000)", output_chars=300)
    assert out == "x" * 300 + "\n[output truncated]"


def test_registry():
    assert "python" in tools.available()
    fn = tools.get("python")
    assert fn.__name__ == "python" and callable(fn)
    with pytest.raises(ValueError, match="unknown tool 'pyton'. Did you mean 'python'"):
        tools.get("pyton")
    with pytest.raises(ValueError, match="already registered"):
        tools.register("python")(tools.python_tool)
    with pytest.raises(ValueError, match="wall_seconds, memory_bytes and output_chars must be > 0"):
        tools.get("python", wall_seconds=0)
    with pytest.raises(TypeError, match="a tool must be a registered name"):
        tools.resolve([42])


def test_trl_reads_its_schema():
    """TRL renders a tool from its signature and docstring; the tool's must convert."""
    from transformers.utils import get_json_schema

    schema = get_json_schema(tools.get("python"))
    assert schema["function"]["name"] == "python"
    assert schema["function"]["parameters"]["properties"]["code"]["type"] == "string"
    assert schema["function"]["parameters"]["required"] == ["code"]
