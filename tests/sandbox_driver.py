"""Runs the code sandbox as whoever starts it (the tests start it as an unprivileged user).

Reads one JSON request on stdin and prints one JSON answer:
    {"op": "support"}
    {"op": "run", "files": {...}, "argv": [...], "stdin": str | null, "limits": {...}, "channel": bool}
    {"op": "reward", "completions": [...], "verification_info": [...], "params": {...}}
Only the standard library and this repository are imported, so /usr/bin/python3 can run it.
"""

import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grpo_ext.rewards import code  # noqa: E402
from grpo_ext.rewards.code import sandbox  # noqa: E402


def main() -> None:
    request = json.loads(sys.stdin.read())
    if request["op"] == "support":
        answer = sandbox.support()
    elif request["op"] == "run":
        argv = [sandbox.default_python() if a == "{python}" else a for a in request["argv"]]
        result = sandbox.run(request["files"], argv, stdin=request.get("stdin"),
                             limits=sandbox.Limits(**request.get("limits", {})), channel=request.get("channel", False))
        answer = dataclasses.asdict(result)
        answer["channel"] = result.channel.decode(errors="replace")
    else:
        reward = code.CodeExecution(**request.get("params", {}))
        answer = reward(completions=request["completions"], verification_info=request["verification_info"])
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
