"""The parent's side of the call-based harness: the signed report read back and values compared
with the expected outputs, which never enter the sandbox (see ``rewards.code``).

Comparison rule (:func:`same`), applied to plain values decoded from the program's report and to
expected values from the dataset: tuples are lists; sets are sets; ``bool`` is
not a number (``True`` != ``1``); an ``int`` and a ``float`` compare as numbers, and two numbers
that are not both ints are equal within a relative or absolute tolerance of 1e-9; NaN equals
nothing; strings, None, lists and dicts (str keys) compare exactly, element by element.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math


def normalise(value):
    """Tuples to lists, sets to frozensets of hashable elements, recursively."""
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return frozenset(_hashable(normalise(v)) for v in value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def decode(text: str):
    """A value the harness encoded (JSON, sets as ``{"__set__": [...]}``)."""
    def hook(obj):
        if set(obj) == {"__set__"} and isinstance(obj["__set__"], list):
            return frozenset(_hashable(normalise(v)) for v in obj["__set__"])
        return obj

    return json.loads(text, object_hook=hook)


def same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


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
