"""A local HTTP server speaking the part of the Hugging Face Hub API that `HfApi.create_repo` and
`HfApi.upload_folder` use, recording what arrives. Files are offered the "regular" upload mode,
so their contents arrive inline (base64) in the commit. Point HF_ENDPOINT at `server.url`."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHub:
    def __init__(self, token: str = "hf_test_token", models: tuple[str, ...] = (), datasets: tuple[str, ...] = ()):
        self.token = token  # the one token the server accepts (whoami)
        self.known = {"models": set(models), "datasets": set(datasets)}  # ids repo_info finds
        self.repos: dict[str, dict] = {}  # repo id -> {"files": {path: bytes}, "commits": [message]}
        self.requests: list[tuple[str, str]] = []
        self.cards: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, code: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.split("?")[0]
                hub.requests.append(("POST", path))
                parts = path.strip("/").split("/")
                if path == "/api/repos/create":
                    req = json.loads(body)
                    repo = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
                    hub.repos.setdefault(repo, {"files": {}, "commits": [], "private": req.get("private")})
                    return self._reply(200, {"url": f"{hub.url}/{repo}", "name": repo})
                if path == "/api/validate-yaml":  # the model card's metadata is checked before the commit
                    hub.cards.append(json.loads(body))
                    return self._reply(200, {"errors": [], "warnings": []})
                if len(parts) >= 5 and parts[0] == "api" and parts[1] == "models" and parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                        "shouldIgnore": False} for f in files]})
                if len(parts) >= 5 and parts[0] == "api" and parts[1] == "models" and parts[4] == "commit":
                    repo = f"{parts[2]}/{parts[3]}"
                    if repo not in hub.repos:
                        return self._reply(404, {"error": f"repository {repo} not found"})
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "header":
                            hub.repos[repo]["commits"].append(item["value"]["summary"])
                        elif item["key"] == "file":
                            content = base64.b64decode(item["value"]["content"])
                            hub.repos[repo]["files"][item["value"]["path"]] = content
                    oid = f"{len(hub.repos[repo]['commits']):040x}"
                    return self._reply(200, {"commitUrl": f"{hub.url}/{repo}/commit/{oid}", "commitOid": oid})
                return self._reply(404, {"error": f"not implemented: POST {path}"})

            def do_GET(self):
                hub.requests.append(("GET", self.path))
                path = self.path.split("?")[0]
                parts = path.strip("/").split("/")
                if path == "/api/whoami-v2":
                    if self.headers.get("Authorization") != f"Bearer {hub.token}":
                        return self._reply(401, {"error": "Invalid credentials in Authorization header"})
                    return self._reply(200, {"type": "user", "name": "me", "auth": {}})
                if len(parts) == 4 and parts[0] == "api" and parts[1] in hub.known:
                    repo = f"{parts[2]}/{parts[3]}"
                    if repo in hub.known[parts[1]] or repo in hub.repos:
                        return self._reply(200, {"id": repo, "sha": "0" * 40, "siblings": []})
                    self.send_response(404)  # what the Hub says of a missing repo
                    self.send_header("X-Error-Code", "RepoNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._reply(404, {"error": f"not implemented: GET {self.path}"})

        return Handler
