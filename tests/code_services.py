"""Local stand-ins for the sandbox services the code rewards can use: SandboxFusion's
``POST /run_code`` and Piston's ``POST /api/v2/execute``. Each runs the program it is sent in this
machine's sandbox (rewards.code.backends.LocalBackend) and answers in the service's own format.

    with StandIn("piston") as service:            # answers like the real service
        reward = CodeExecution(backend="piston", url=service.url)
    StandIn("sandbox_fusion", fail=True)          # every request: HTTP 500
    StandIn("piston", fail_first=2)               # the first two requests: HTTP 500, then normal
    StandIn("piston", hang=30)                    # holds every request 30 s before answering
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from grpo_ext.rewards.code import sandbox
from grpo_ext.rewards.code.backends import LocalBackend, Run
from grpo_ext.rewards.code.languages import CompileLimits, UnknownLanguageError, get_language

PATHS = {"sandbox_fusion": "/run_code", "piston": "/api/v2/execute"}


def _execute(language_name: str, code: str, stdin: str, run_seconds: float, compile_seconds: float) -> Run:
    language = get_language(language_name)
    backend = LocalBackend(sandbox.Limits(wall_seconds=run_seconds, cpu_seconds=int(run_seconds) + 1),
                           CompileLimits(wall_seconds=compile_seconds))
    prepared = backend.prepare(language, code)
    return prepared if isinstance(prepared, Run) else backend.execute(prepared, stdin)


def sandbox_fusion_reply(request: dict) -> tuple[int, dict]:
    try:
        run = _execute(request["language"], request["code"], request.get("stdin") or "",
                       float(request.get("run_timeout", 10)), float(request.get("compile_timeout", 10)))
    except UnknownLanguageError as err:
        return 200, {"status": "SandboxError", "message": str(err), "compile_result": None, "run_result": None}
    compiled = {"status": "Finished", "return_code": 0, "stdout": "", "stderr": "", "execution_time": 0.1}
    if run.status == "compile_error":
        return 200, {"status": "Failed", "message": "", "run_result": None,
                     "compile_result": {**compiled, "return_code": 1, "stderr": run.detail}}
    result = {"status": "Finished", "return_code": 0, "stdout": run.stdout, "stderr": "", "execution_time": 0.1}
    if run.status == "timeout":
        result.update(status="TimeLimitExceeded", return_code=None)
    elif run.status == "runtime_error":
        result.update(return_code=1, stderr=run.detail)
    return 200, {"status": "Success" if run.status == "ok" else "Failed", "message": "",
                 "compile_result": compiled, "run_result": result}


def piston_reply(request: dict) -> tuple[int, dict]:
    files = request.get("files") or []
    if not files or "content" not in files[0]:
        return 400, {"message": "files is required as an array"}
    try:
        run = _execute(request["language"], files[0]["content"], request.get("stdin") or "",
                       request.get("run_timeout", 3000) / 1000, request.get("compile_timeout", 10000) / 1000)
    except UnknownLanguageError:
        return 400, {"message": f"{request['language']}-{request.get('version')} runtime is unknown"}
    stage = {"stdout": "", "stderr": "", "output": "", "code": 0, "signal": None}
    reply = {"language": request["language"], "version": "0.0.0"}
    if run.status == "compile_error":
        return 200, {**reply, "compile": {**stage, "code": 1, "stderr": run.detail},
                     "run": {**stage, "code": None, "stdout": ""}}
    ran = {**stage, "stdout": run.stdout, "output": run.stdout}
    if run.status == "timeout":
        ran.update(code=None, signal="SIGKILL", status="TO", message="Time limit exceeded")
    elif run.status == "runtime_error":
        ran.update(code=1, stderr=run.detail)
    return 200, {**reply, "run": ran}


REPLIES = {"sandbox_fusion": sandbox_fusion_reply, "piston": piston_reply}


class StandIn:
    def __init__(self, api: str, fail: bool = False, fail_first: int = 0, hang: float = 0.0):
        self.api, self.fail, self.fail_first, self.hang = api, fail, fail_first, hang
        self.requests = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()  # a held request ends with the stand-in, running nothing
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                with owner._lock:
                    owner.requests += 1
                    number = owner.requests
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != PATHS[owner.api]:
                    return self._send(404, {"message": f"no route {self.path}"})
                if owner.hang and owner._closed.wait(owner.hang):
                    return  # closed while holding the request: no program runs after the test
                if owner.fail or number <= owner.fail_first:
                    return self._send(500, {"message": "internal server error"})
                code, reply = REPLIES[owner.api](json.loads(body))
                self._send(code, reply)

            def _send(self, code: int, reply: dict):
                data = json.dumps(reply).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (hang)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed.set()
        self.server.shutdown()
        self.server.server_close()
