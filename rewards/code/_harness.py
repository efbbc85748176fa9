"""The harness for call-based tests, run inside the code sandbox (shipped there as a file; stdlib only).
(Assert-style tests do not run here: they run split, see ``rewards.code.split``.)

It reads its spec (JSON) on stdin, then closes stdin; loads the program; runs it and the checks on
a worker thread (so the program cannot install signal handlers); and forwards what the worker reports to the parent over the channel
pipe (``$SANDBOX_CHANNEL_FD``), each line signed (HMAC-SHA256) with a key that arrived in the spec
and lives only on the main thread. The parent decides every verdict; see ``rewards.code`` for the
threat model. Spec fields:

- ``fn_name``: call it with each of ``inputs`` (lists of arguments);
- ``program``, ``key`` (hex), ``case_seconds`` (time for one call).

Lines sent, in order: ``r I VALUE`` / ``e I ERROR`` per call; then ``fin`` from the worker when
it ran to its end (``x ERROR`` if loading raised); then ``t`` if the main thread gave up
waiting, and ``end`` once the worker thread has ended (or was given up on). Values are JSON:
tuples as lists, sets as ``{"__set__": [...]}``, long ints as ``{"__int__": "hex"}``; built-in types
(None, bool, int, float, str, list, tuple, dict with str keys, set, frozenset) and their subclasses
as the base value, at most 100 deep and 1 MiB.
"""

import _thread
import hashlib
import json
import os
import sys
import time
import types
import typing
from queue import Empty, SimpleQueue

TYPING = {name: getattr(typing, name) for name in ("List", "Dict", "Tuple", "Set", "FrozenSet", "Optional", "Union", "Any",
                                                   "Callable", "Iterable", "Iterator", "Sequence", "Generator", "Deque")}

_type, _len, _isinstance, _sorted = type, len, isinstance, sorted
_NoneType, _bool, _int, _float, _str = type(None), bool, int, float, str
_list, _tuple, _dict, _set, _frozenset = list, tuple, dict, set, frozenset
_sha256, _dumps, _write, _monotonic = hashlib.sha256, json.dumps, os.write, time.monotonic
_BLOCKED_EVENTS = frozenset({"sys._current_frames", "sys.settrace", "sys.setprofile", "gc.get_objects",
                             "gc.get_referrers", "gc.get_referents"})
_BLOCKED_MODULES = frozenset({"ctypes", "_ctypes", "cffi", "_cffi_backend"})
MAX_BYTES, MAX_DEPTH = 4 << 20, 100  # one return value's text; docs/code.md ("Verdicts")
TOTAL_BYTES = 16 << 20  # all the return values of one row together (the channel holds this much)


class Unsupported(Exception):
    pass


_BASES = (_bool, _int, _float, _str, _list, _tuple, _dict, _set, _frozenset)  # bool before int


def _plain_type(value):
    """The built-in type ``value`` is, or is a subclass of (a Counter is a dict), or None."""
    kind = _type(value)
    if kind is _NoneType or kind in _BASES:
        return kind
    for base in _BASES:
        if _isinstance(value, base):
            return base
    return None


def encode(value, depth=0, budget=None):
    """JSON text of a plain value. A subclass of a built-in type (``Counter``, ``namedtuple``,
    ``IntEnum``) is encoded as the base value it holds, read with the base type's own methods;
    an int of more digits than JSON text carries as ``{"__int__": "hex"}``."""
    budget = [MAX_BYTES] if budget is None else budget
    if depth > MAX_DEPTH:
        raise Unsupported("nesting deeper than %d" % MAX_DEPTH)
    kind = _plain_type(value)
    if kind is _NoneType:
        out = "null"
    elif kind is _bool:
        out = "true" if _int.__bool__(value) else "false"
    elif kind is _int:
        if _int.bit_length(value) > 12000:  # about 3600 digits: past what JSON text converts
            out = '{"__int__":"%s"}' % _int.__format__(value, "x")
        else:
            out = _int.__repr__(value)
    elif kind is _float:
        number = _float.__float__(value)
        out = "NaN" if number != number else "Infinity" if number == 1e309 else "-Infinity" if number == -1e309 \
            else _float.__repr__(number)
    elif kind is _str:
        out = _dumps(_str.__str__(value))
    elif kind is _list or kind is _tuple:
        items = _list.__iter__(value) if kind is _list else _tuple.__iter__(value)
        out = "[" + ",".join([encode(v, depth + 1, budget) for v in items]) + "]"
    elif kind is _set or kind is _frozenset:
        items = _set.__iter__(value) if kind is _set else _frozenset.__iter__(value)
        out = '{"__set__":[' + ",".join([encode(v, depth + 1, budget) for v in items]) + "]}"
    elif kind is _dict:
        parts = []
        for k, v in _list(_dict.items(value)):
            if _type(k) is not _str:
                raise Unsupported("dict key of type " + _type(k).__name__)
            parts.append(_dumps(k) + ":" + encode(v, depth + 1, budget))
        out = "{" + ",".join(parts) + "}"
    else:
        raise Unsupported(_type(value).__name__)
    budget[0] -= _len(out) if kind is not _list and kind is not _tuple and kind is not _set and kind is not \
        _frozenset and kind is not _dict else 2  # a container's items were counted as they were encoded
    if budget[0] < 0:
        raise Unsupported("return value over the limit (4 MiB each, 16 MiB for a row's values together)")
    return out


def _hmac(key, message):
    block = key.ljust(64, b"\0")
    inner = _sha256(bytes(b ^ 0x36 for b in block) + message).digest()
    return _sha256(bytes(b ^ 0x5C for b in block) + inner).hexdigest()


def _audit(event, args):
    if event in _BLOCKED_EVENTS or event.startswith("ctypes."):
        raise RuntimeError("blocked in the sandbox: " + event)
    if event == "import" and args and args[0] in _BLOCKED_MODULES:
        raise ImportError("blocked in the sandbox: import " + args[0])
    if event == "object.__setattr__" and _len(args) > 1 and args[1] == "__code__":
        raise RuntimeError("blocked in the sandbox: replacing a function's code")


def _non_dumpable():
    """Keep other processes (and /proc/self/mem) out of this process's memory."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    except (ImportError, OSError, AttributeError):
        pass
    for name in [m for m in sys.modules if m.split(".")[0] in _BLOCKED_MODULES]:
        del sys.modules[name]  # so that importing them again raises the audit event


def _start(work):
    """Start ``work`` on a thread; returns ``done(timeout) -> bool`` that the runtime, not Python, settles."""
    _thread.stack_size(64 << 20)  # deep recursion in solutions
    if hasattr(_thread, "start_joinable_thread"):  # Python 3.13+
        handle = _thread.start_joinable_thread(work)
        return lambda timeout: (handle.join(timeout), handle.is_done())[1]
    box = SimpleQueue()

    def target():
        sentinel = _thread._set_sentinel()  # released by the runtime when this thread ends, if held:
        sentinel.acquire()  # held here (as threading holds it); unheld, done() read "ended" at once
        box.put(sentinel)
        work()

    _thread.start_new_thread(target, ())
    lock = box.get()
    return lambda timeout: lock.acquire(timeout=timeout)


def _load(source, name):
    module = types.ModuleType(name)
    module.__dict__.update(TYPING)  # LeetCode's preloaded annotations (``List[int]``); the program may rebind them
    module.__file__ = "/work/solution.py"
    sys.modules["__main__"] = sys.modules[name] = module
    exec(compile(source, "solution.py", "exec"), module.__dict__)
    return module.__dict__


def _callable(namespace, name):
    if name in namespace and callable(namespace[name]):
        return namespace[name]
    solution = namespace.get("Solution")
    if _isinstance(solution, _type) and hasattr(solution, name):  # LeetCode style
        return getattr(solution(), name)
    raise NameError("the program defines no function %r (nor Solution.%s)" % (name, name))


def _worker(spec, put):
    def run():
        try:
            # programs load as a module (their `if __name__ == "__main__":` block does not run)
            namespace = _load(spec["program"], "solution")
            function = _callable(namespace, spec["fn_name"])
            left = TOTAL_BYTES
            for i, args in enumerate(spec["inputs"]):
                try:
                    text = encode(function(*args), budget=[min(MAX_BYTES, left)])
                    left -= _len(text)
                    put("r %d %s" % (i, text))
                except Unsupported as err:
                    put("e %d unsupported %s" % (i, err))
                except BaseException as err:  # noqa: BLE001 - the program's failure is a result
                    put("e %d %s" % (i, _type(err).__name__))
            put("fin")
        except BaseException as err:  # noqa: BLE001
            put("x %s" % _type(err).__name__)

    return run


def main():
    spec = json.loads(sys.stdin.buffer.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    key, fd = bytes.fromhex(spec.pop("key")), int(os.environ.pop("SANDBOX_CHANNEL_FD"))
    sequence = [0]

    def send(payload):
        sequence[0] += 1
        message = ("%d %s" % (sequence[0], payload)).encode()
        _write(fd, _hmac(key, message).encode() + b" " + message + b"\n")

    _non_dumpable()
    sys.addaudithook(_audit)
    reports, acks = SimpleQueue(), SimpleQueue()

    def report(item):  # the worker goes on once the main thread has sent it (an exit in the next call keeps it)
        reports.put(item)
        acks.get()

    done = _start(_worker(spec, report))
    deadline = _monotonic() + spec["case_seconds"]
    while True:
        try:
            item = reports.get(timeout=max(0.0, deadline - _monotonic()))
        except Empty:
            if done(0):
                break
            send("t")
            break
        if _type(item) is not _str:
            send("x tampered")
            break
        send(item)
        acks.put(None)
        if item.startswith("r ") or item.startswith("e "):
            deadline = _monotonic() + spec["case_seconds"]
        if item == "fin" or item.startswith("x "):
            if not done(spec["case_seconds"]):
                send("t")
                break
            while not reports.empty():
                send(reports.get())
            break
    send("end")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
