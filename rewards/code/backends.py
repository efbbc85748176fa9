"""Where the code rewards' programs run: this machine's sandbox or a sandbox service.

A backend compiles a program once (:meth:`Backend.prepare`) and runs it on one standard input
at a time (:meth:`Backend.execute`); each run comes back as a :class:`Run` whose ``status`` is

- ``ok``: the program exited 0 (its ``stdout`` is then compared by the reward, never here);
- ``compile_error``: the compile step (or the syntax check of an interpreted language) failed;
- ``runtime_error``: a non-zero exit, a signal, or a memory or process bound was hit;
- ``timeout``: the run passed its wall clock;
- ``service_error``: the *service* failed (refused connection, 5xx, no answer in time, a reply
  it could not have meant). The reward scores such a completion ``None``, never 0: a broken
  service is not the program's fault, and TRL leaves ``None`` out of the sum.

Backends:

``LocalBackend``
    :mod:`rewards.code.sandbox` on this machine. Compilation runs in the sandbox under
    :class:`rewards.code.languages.CompileLimits`; the compiled files come back through the sandbox's
    side channel and are written into each test run's fresh working directory.
``SandboxFusionBackend(url)``
    SandboxFusion's ``POST {url}/run_code`` (``{"code", "language", "stdin", "compile_timeout",
    "run_timeout"}`` -> ``{"status": "Success" | "Failed" | "SandboxError", "compile_result",
    "run_result"}``; each result has ``status`` ``Finished`` | ``Error`` | ``TimeLimitExceeded``,
    ``return_code``, ``stdout``). SandboxFusion has no C; its JavaScript is ``nodejs``.
``PistonBackend(url)``
    Piston's ``POST {url}/api/v2/execute`` (``{"language", "version", "files": [{"name",
    "content"}], "stdin", "compile_timeout", "run_timeout"}`` in milliseconds -> ``{"run":
    {"stdout", "code", "signal", "status"?}, "compile"?: {...}}``; Piston's language names are
    ``c++`` and ``javascript``; a 4xx reply with ``message`` is an error of the request).

Remote backends send one request per test case (both services compile within the request),
with up to ``retries`` further tries after a connection error, a time-out or a 5xx, waiting
``backoff * 2**try`` seconds between them; a 4xx is not retried. One request therefore takes at
most ``(retries + 1) * timeout + backoff * (2**retries - 1)`` seconds, and a batch finishes in
that time per case even when the service hangs. Failures are counted in ``stats``.

Remote backends run stdin/stdout tests only: call-based and assert-style tests need the local
harness, whose verdict travels over a channel the program cannot write (see ``rewards.code``).
"""

from __future__ import annotations

import io
import json
import logging
import shlex
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace

from . import languages, sandbox
from .languages import CompileLimits, Language

logger = logging.getLogger(__name__)

_BASH = "/bin/bash"  # packs the artifacts (bash, as dash cannot redirect to a descriptor above 9)


@dataclass(frozen=True)
class Run:
    status: str
    stdout: str = ""
    detail: str = ""  # compiler or service message, for logs


@dataclass(frozen=True)
class Prepared:
    """A program ready to run: its files (source and compiled artifacts) and how to run it."""

    language: Language
    code: str
    files: dict = field(default_factory=dict, compare=False)
    executables: tuple[str, ...] = ()


class Backend:
    name = "backend"
    remote = False

    def prepare(self, language: Language, code: str) -> Prepared | Run:
        """Compile (or check) once; a :class:`Run` when that already decides the outcome."""
        raise NotImplementedError

    def execute(self, prepared: Prepared, stdin: str) -> Run:
        raise NotImplementedError


class LocalBackend(Backend):
    """Programs run in this machine's sandbox (:mod:`rewards.code.sandbox`)."""

    name = "local"

    def __init__(self, limits: sandbox.Limits, compile_limits: CompileLimits = CompileLimits(),
                 isolation: str = "namespaces", python_executable: str | None = None):
        self.limits, self.compile_limits = limits, compile_limits
        self.isolation, self.python_executable = isolation, python_executable

    def toolchain(self, language: Language) -> languages.Toolchain:
        return language.toolchain(self.python_executable if language.name == "python" else None)

    def run_limits(self, language: Language) -> sandbox.Limits:
        changes = {}
        if language.address_space:
            changes["memory_bytes"] = max(self.limits.memory_bytes, language.address_space)
        if language.processes:
            changes["processes"] = max(self.limits.processes, language.processes)
        return replace(self.limits, **changes)

    def prepare(self, language: Language, code: str, files: dict | None = None) -> Prepared | Run:
        """``files``: more files the program is compiled and run with (a grader, ``testlib.h``)."""
        tools = self.toolchain(language)
        files = {**(files or {}), language.source: code}
        if tools.compile is None:
            return Prepared(language, code, files)
        c = self.compile_limits
        limits = replace(self.limits, wall_seconds=c.wall_seconds, cpu_seconds=int(c.wall_seconds) + 1,
                         memory_bytes=max(8 << 30, self.limits.memory_bytes), total_memory_bytes=c.memory_bytes,
                         processes=max(64, self.limits.processes), disk_bytes=max(self.limits.disk_bytes, 2 * c.artifact_bytes),
                         file_bytes=max(self.limits.file_bytes, c.artifact_bytes))
        argv = list(tools.compile)
        if language.artifacts:  # pack what the compiler left into the side channel
            argv = [_BASH, "-c", f"{shlex.join(tools.compile)} && exec tar -cf - -- "
                                 f"{' '.join(language.artifacts)} >&\"$SANDBOX_CHANNEL_FD\""]
        result = sandbox.run(files, argv, limits=limits, isolation=self.isolation, read_only=tools.read_only,
                             channel=bool(language.artifacts), channel_bytes=c.artifact_bytes + (1 << 20))
        if result.timed_out:
            return Run("compile_error", detail=f"compilation passed {c.wall_seconds} s")
        if not result.ok:
            return Run("compile_error", detail=(result.stderr or result.stdout)[-2000:])
        if not language.artifacts:
            return Prepared(language, code, files)
        if result.truncated:
            return Run("compile_error", detail=f"compiled files over {c.artifact_bytes} bytes")
        try:
            members = _unpack(result.channel)
        except (tarfile.TarError, ValueError) as err:
            return Run("compile_error", detail=f"no compiled files ({err})")
        executables = tuple(name for name, (_, mode) in members.items() if mode & 0o111)
        return Prepared(language, code, {**files, **{n: data for n, (data, _) in members.items()}}, executables)

    def execute(self, prepared: Prepared, stdin: str) -> Run:
        tools = self.toolchain(prepared.language)
        result = sandbox.run(prepared.files, list(tools.run), stdin=stdin, limits=self.run_limits(prepared.language),
                             isolation=self.isolation, read_only=tools.read_only, executables=prepared.executables)
        if result.timed_out:
            return Run("timeout", result.stdout)
        if not result.ok:
            why = f"memory or process bound ({result.exceeded})" if result.exceeded else f"exit {result.returncode}"
            return Run("runtime_error", result.stdout, f"{why}: {result.stderr[-500:]}")
        return Run("ok", result.stdout)


def _unpack(data: bytes) -> dict[str, tuple[bytes, int]]:
    """Regular files of a tar stream (no paths, links or devices): name -> (bytes, mode)."""
    members = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for info in tar:
            if not info.isreg() or "/" in info.name or info.name in ("", ".", ".."):
                raise ValueError(f"unexpected entry {info.name!r} in the compiled files")
            members[info.name] = (tar.extractfile(info).read(), info.mode)
    if not members:
        raise ValueError("the compiler left nothing")
    return members


class ServiceError(RuntimeError):
    pass


class RemoteBackend(Backend):
    """Common part of the HTTP backends: retries, back-off, a time-out per request, counters."""

    remote = True
    language_names: dict[str, str] = {}

    def __init__(self, url: str, timeout: float = 30.0, retries: int = 2, backoff: float = 0.5,
                 run_seconds: float = 5.0, compile_seconds: float = 30.0, memory_mb: int = 1024):
        if not url or not url.startswith(("http://", "https://")):
            raise ValueError(f"{self.name}: url must start with http:// or https://, got {url!r}")
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError(f"{self.name}: needs timeout > 0, retries >= 0 and backoff >= 0")
        self.url, self.timeout, self.retries, self.backoff = url.rstrip("/"), timeout, retries, backoff
        self.run_seconds, self.compile_seconds, self.memory_mb = run_seconds, compile_seconds, memory_mb
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def service_language(self, language: Language) -> str:
        if language.name not in self.language_names:
            raise ValueError(f"the {self.name} backend has no {language.name!r}; it runs "
                             f"{', '.join(sorted(self.language_names))}")
        return self.language_names[language.name]

    def prepare(self, language: Language, code: str) -> Prepared | Run:
        self.service_language(language)
        return Prepared(language, code)

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def post(self, path: str, payload: dict) -> dict:
        """POST JSON and return the JSON reply, retrying what may pass; ServiceError otherwise."""
        body = json.dumps(payload).encode()
        last = "no try"
        for attempt in range(self.retries + 1):
            if attempt:
                self._count("retries")
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url + path, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return json.loads(reply.read().decode())
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}: {err.read()[:300].decode(errors='replace')}"
                if err.code < 500:
                    break
            except (urllib.error.URLError, OSError, TimeoutError) as err:
                last = f"{type(err).__name__}: {getattr(err, 'reason', err)}"
            except json.JSONDecodeError:
                last = "the reply is not JSON"
        self._count("service_errors")
        logger.warning("%s: %s%s failed after %d tries: %s", self.name, self.url, path, attempt + 1, last)
        raise ServiceError(last)

    def execute(self, prepared: Prepared, stdin: str) -> Run:
        self._count("requests")
        try:
            return self.parse(self.post(self.path, self.request(prepared, stdin)))
        except ServiceError as err:
            return Run("service_error", detail=str(err))
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            self._count("service_errors")
            return Run("service_error", detail=f"unexpected reply ({type(err).__name__}: {err})")


class SandboxFusionBackend(RemoteBackend):
    name = "sandbox_fusion"
    path = "/run_code"
    language_names = {"python": "python", "cpp": "cpp", "java": "java", "javascript": "nodejs", "rust": "rust"}

    def request(self, prepared: Prepared, stdin: str) -> dict:
        return {"code": prepared.code, "language": self.service_language(prepared.language), "stdin": stdin,
                "compile_timeout": self.compile_seconds, "run_timeout": self.run_seconds,
                "memory_limit_MB": self.memory_mb}

    @staticmethod
    def parse(reply: dict) -> Run:
        status = reply["status"]
        if status == "SandboxError":
            raise ServiceError(f"SandboxError: {reply.get('message', '')}")
        compiled, ran = reply.get("compile_result"), reply.get("run_result")
        if compiled and (compiled["status"] != "Finished" or compiled.get("return_code") not in (0, None)):
            return Run("compile_error", detail=str(compiled.get("stderr") or "")[-2000:])
        if not ran:
            raise ValueError(f"status {status!r} without a run result")
        if ran["status"] == "TimeLimitExceeded":
            return Run("timeout", ran.get("stdout") or "")
        if ran["status"] != "Finished" or ran.get("return_code") != 0:
            return Run("runtime_error", ran.get("stdout") or "", str(ran.get("stderr") or "")[-500:])
        return Run("ok", ran.get("stdout") or "")


class PistonBackend(RemoteBackend):
    name = "piston"
    path = "/api/v2/execute"
    language_names = {"python": "python", "cpp": "c++", "c": "c", "java": "java", "javascript": "javascript",
                      "rust": "rust"}

    def request(self, prepared: Prepared, stdin: str) -> dict:
        return {"language": self.service_language(prepared.language), "version": "*",
                "files": [{"name": prepared.language.source, "content": prepared.code}], "stdin": stdin,
                "compile_timeout": int(self.compile_seconds * 1000), "run_timeout": int(self.run_seconds * 1000),
                "run_memory_limit": self.memory_mb << 20}

    @staticmethod
    def parse(reply: dict) -> Run:
        compiled, ran = reply.get("compile"), reply["run"]
        if compiled and (compiled.get("code") not in (0, None) or compiled.get("signal")):
            return Run("compile_error", detail=str(compiled.get("stderr") or "")[-2000:])
        stdout = ran.get("stdout") or ""
        if ran.get("status") == "TO":
            return Run("timeout", stdout)
        if ran.get("status") == "XX":
            raise ServiceError(f"internal error: {ran.get('message', '')}")
        if ran.get("code") != 0 or ran.get("signal"):
            return Run("runtime_error", stdout, str(ran.get("stderr") or "")[-500:])
        return Run("ok", stdout)


BACKENDS = {"local": LocalBackend, "sandbox_fusion": SandboxFusionBackend, "piston": PistonBackend}
