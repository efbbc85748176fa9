"""The program's side of a split run (see ``rewards.code.split``): a sandboxed interpreter that loads
the program and answers calls from the test code's interpreter, nothing else.

    python -I _program.py REQUESTS_FD ANSWERS_FD      (files: _program.py, _wire.py, solution.py)

Nothing here is trusted: the program shares this interpreter and may replace any of it. Whatever
it sends is decoded strictly by the test side (``_wire``), and the verdict is made there, so this
file only has to serve an honest program well.

Messages are lines of JSON (values in ``_wire`` form). First, once loaded: ``{"names": {name:
form}}`` (plain values as values, modules as ``{"m": name}``, everything else as a reference) or
``{"load_error": type, "msg": text}``. Then, for each request ``{"id", "op", "t": target, ...}``
with target ``["n", name]`` (a top-level name) or ``["h", n]`` (a reference):
``call`` (``"a"``: arguments, ``"k"``: ``[[name, value], ...]``) answers ``{"id", "r": value,
"m": [argument after the call, or null]}`` (lists, dicts and sets come back, for
functions that work in place); ``get`` / ``set`` (``"n"``: attribute, ``"v"``: value) read or write
an attribute; a failure answers ``{"id", "e": exception type, "msg": text}``.
"""

import _thread
import os
import sys
import types
import typing
from queue import SimpleQueue

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _wire  # noqa: E402

TYPING = {name: getattr(typing, name) for name in ("List", "Dict", "Tuple", "Set", "FrozenSet", "Optional", "Union", "Any",
                                                   "Callable", "Iterable", "Iterator", "Sequence", "Generator", "Deque")}

MAX_HANDLES, MAX_NAME_BYTES = 1 << 16, 64 << 10
_IN_PLACE = (list, dict, set)


class Handles:
    """Objects the test side holds references to, kept alive here."""

    def __init__(self):
        self.objects, self.numbers = [], {}

    def add(self, obj):
        number = self.numbers.get(id(obj))
        if number is None:
            if len(self.objects) >= MAX_HANDLES:
                raise _wire.WireError("more than %d objects referenced" % MAX_HANDLES)
            number = self.numbers[id(obj)] = len(self.objects)
            self.objects.append(obj)
        return number

    def get(self, number):
        if not 0 <= number < len(self.objects):
            raise _wire.WireError("no object %d" % number)
        return self.objects[number]


def _send(fd, message):
    data = _wire.dumps(message)
    while data:
        data = data[os.write(fd, data):]


def _manifest(namespace, handles):
    names = {}
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            names[name] = {"m": value.__name__}
            continue
        try:
            form = _wire.to_wire(value, handles.add)
            if len(_wire.dumps(form)) > MAX_NAME_BYTES:
                form = {"h": handles.add(value)}
        except _wire.WireError:
            form = {"h": handles.add(value)}
        names[name] = form
    return names


def _answer(request, namespace, handles):
    kind, key = request["t"]
    if kind == "n" and key not in namespace:
        raise NameError("the program defines no %r" % key)
    target = namespace[key] if kind == "n" else handles.get(key)
    if request["op"] == "get":
        return {"r": _wire.to_wire(getattr(target, request["n"]), handles.add)}
    if request["op"] == "set":
        setattr(target, request["n"], _wire.from_wire(request["v"], handles.get))
        return {"r": None}
    args = [_wire.from_wire(a, handles.get) for a in request["a"]]
    kwargs = {name: _wire.from_wire(v, handles.get) for name, v in request["k"]}
    result = target(*args, **kwargs)
    return {"r": _wire.to_wire(result, handles.add),
            "m": [_wire.to_wire(a, handles.add) if type(a) in _IN_PLACE else None for a in args]}


def _serve(requests, fd):
    handles = Handles()
    module = types.ModuleType("solution")  # its `if __name__ == "__main__":` block does not run
    module.__dict__.update(TYPING)  # LeetCode's preloaded annotations (``List[int]``); the program may rebind them
    module.__file__ = "/work/solution.py"
    sys.modules["__main__"] = sys.modules["solution"] = module
    if os.path.exists("prompt.py"):  # the row's prompt first: the program was written after it
        try:  # (HumanEval/38's decode_cyclic calls the prompt's encode_cyclic); its faults are the row's
            with open("prompt.py") as f:
                exec(compile(f.read(), "prompt.py", "exec"), module.__dict__)
        except Exception:  # noqa: BLE001 - the test side runs the prompt too and reports it
            pass
    try:
        with open("solution.py") as f:
            source = f.read()
        exec(compile(source, "solution.py", "exec"), module.__dict__)
    except BaseException as err:  # noqa: BLE001 - the program's failure is the answer
        _send(fd, {"load_error": type(err).__name__, "msg": str(err)[:300]})
        return
    _send(fd, {"names": _manifest(module.__dict__, handles)})
    while True:
        line = requests.get()
        number = None
        try:
            request = _wire.loads(line)
            number = request["id"]
            answer = _answer(request, module.__dict__, handles)
        except BaseException as err:  # noqa: BLE001 - reported to the test side as the call's exception
            answer = {"e": type(err).__name__, "msg": str(err)[:300],
                      "b": [c.__name__ for c in type(err).__mro__ if c.__module__ == "builtins"][:8]}
        answer["id"] = number
        try:
            _send(fd, answer)
        except _wire.WireError as err:
            _send(fd, {"id": number, "e": "TypeError", "msg": "the answer cannot cross to the tests (a return value "
                       "and the arguments it refills: 4 MiB of plain data at most): %s" % str(err)[:200]})


def main():
    requests_fd, answers_fd = int(sys.argv[1]), int(sys.argv[2])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    requests = SimpleQueue()
    _thread.stack_size(64 << 20)  # deep recursion in solutions
    _thread.start_new_thread(_serve, (requests, answers_fd))
    pending = b""
    while True:
        chunk = os.read(requests_fd, 1 << 16)
        if not chunk:  # the test side is done (or gone): end the run, the program's threads included
            os._exit(0)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            requests.put(line)


if __name__ == "__main__":
    main()
