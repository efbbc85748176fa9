"""The parent's side of the call-based harness: the signed report read back and values compared
with the expected outputs, which never enter the sandbox (see ``rewards.code``).

Values are compared by :func:`rewards.code.compare.values_equal` (``same`` here), the rule every
path uses.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from .compare import hashable, normalise, values_equal  # noqa: F401 - normalise re-exported


def decode(text: str):
    """A value the harness encoded (JSON, sets as ``{"__set__": [...]}``, integers of more digits
    than JSON text carries as ``{"__int__": "hex"}``)."""
    def hook(obj):
        if set(obj) == {"__set__"} and isinstance(obj["__set__"], list):
            return frozenset(hashable(normalise(v)) for v in obj["__set__"])
        if set(obj) == {"__int__"} and isinstance(obj["__int__"], str):
            return int(obj["__int__"], 16)
        return obj

    return json.loads(text, object_hook=hook)


same = values_equal  # the one comparison rule (rewards.code.compare)


def signed_lines(data: bytes, key: bytes) -> list[str] | None:
    """The payloads of the harness's report in order, or None if any line is not signed by ``key``,
    is out of sequence or is malformed (a forged line anywhere voids the whole report)."""
    payloads = []
    for number, line in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n") else [b"!"], start=1):
        mac, _, message = line.partition(b" ")
        expected = hmac.new(key, message, hashlib.sha256).hexdigest().encode()
        seq, _, payload = message.partition(b" ")
        if not hmac.compare_digest(mac, expected) or seq != str(number).encode():
            return None
        payloads.append(payload.decode("utf-8", errors="replace"))
    return payloads
