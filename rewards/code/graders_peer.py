"""One side of a grader run (see ``rewards.code.graders``): calls to the other interpreter and back,
as lines of JSON over two pipes. Shipped as a file into both sandboxes (standard library and
``_wire`` only).

Messages: ``{"op": "call", "t": target, "a": [value, ...]}`` (``target``: ``["n", module,
name]``, a function a module defines, or ``["h", n]``, a function the grader lent by reference),
answered by ``{"op": "ret", "r": value}`` or ``{"op": "err", "e": type, "msg": text}``; while
it waits for its answer a side serves the other's calls (the contestant's ``guess`` may call the
grader's ``ask``, which may call back). Values are ``_wire`` forms: only the grader side may lend
functions (``lend``); anything that is not plain data from the contestant is refused.
"""

import builtins
import os

import _wire


class Gone(Exception):
    """The other side ended (or closed its pipe) while this one waited for it."""


class Violation(Exception):
    """The other side sent something that is not a message of the protocol."""


class Raised(Exception):
    """The function called on the other side raised: ``args`` = (type name, message)."""


def _exception(name, text):
    """The other side's exception: a built-in exception type as itself (a grader may catch the
    contestant's ``ValueError``), any other as :class:`Raised`."""
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, Warning):
        try:
            return kind(text)
        except Exception:  # noqa: BLE001 - a type that needs other arguments
            pass
    return Raised(name, text)


class RemoteFunction:
    """A function that lives on the other side; calling it sends the call and waits."""

    def __init__(self, peer, target):
        self._peer, self._target = peer, target

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise TypeError("functions of the other side take positional arguments only")
        return self._peer.call(self._target, args)

    def __repr__(self):
        return "<function %s across the grader boundary>" % ".".join(map(str, self._target[1:]))


class Peer:
    """``lookup(target) -> function`` serves the other side's calls; ``lend``: whether functions may
    be passed to the other side by reference (the grader's side only)."""

    def __init__(self, read_fd, write_fd, lookup, lend):
        self.read_fd, self.write_fd, self.lookup, self.lend = read_fd, write_fd, lookup, lend
        self.pending, self.lent, self.calls = b"", [], 0
        self.broken = None  # why the other side failed the protocol (kept even if the caller catches it)

    def _fail(self, error):
        self.broken = self.broken or "%s: %s" % (type(error).__name__, error)
        return error

    # -- framing ------------------------------------------------------------------------------
    def send(self, message):
        data = _wire.dumps(message)
        try:
            while data:
                data = data[os.write(self.write_fd, data):]
        except OSError as err:  # EPIPE: the other side is gone
            raise self._fail(Gone("the other side closed its pipe (%s)" % err)) from None

    def receive(self):
        while b"\n" not in self.pending:
            if len(self.pending) > _wire.MAX_BYTES:
                raise self._fail(Violation("a message longer than %d bytes" % _wire.MAX_BYTES))
            try:
                chunk = os.read(self.read_fd, 1 << 16)
            except OSError as err:
                raise self._fail(Gone("the other side's pipe failed (%s)" % err)) from None
            if not chunk:
                raise self._fail(Gone("the other side ended"))
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        try:
            message = _wire.loads(line)
        except _wire.WireError as err:
            raise self._fail(Violation(str(err))) from None
        if type(message) is not dict or message.get("op") not in ("call", "ret", "err", "ready", "load_error"):
            raise self._fail(Violation("not a message of the protocol: %r" % (line[:80],)))
        return message

    # -- values -------------------------------------------------------------------------------
    def encode(self, value):
        return _wire.to_wire(value, self._lend)

    def decode(self, form):
        return _wire.from_wire(form, self._borrow)

    def _lend(self, obj):
        if not (self.lend and callable(obj)):
            raise _wire.WireError("only plain data crosses to the grader, not %s" % type(obj).__name__)
        self.lent.append(obj)
        return len(self.lent) - 1

    def _borrow(self, number):
        if self.lend:  # the grader's side: the contestant lends nothing
            raise _wire.WireError("the contestant cannot pass references")
        return RemoteFunction(self, ["h", number])

    # -- calls --------------------------------------------------------------------------------
    def call(self, target, args):
        """Call ``target`` on the other side with ``args``; serves its calls meanwhile."""
        self.calls += 1
        self.send({"op": "call", "t": target, "a": [self.encode(a) for a in args]})
        while True:
            message = self.receive()
            if message["op"] == "call":
                self.serve(message)
            elif message["op"] == "ret":
                try:
                    return self.decode(message.get("r"))
                except _wire.WireError as err:
                    raise self._fail(Violation(str(err))) from None
            elif message["op"] == "err":
                raise _exception(str(message.get("e"))[:100], str(message.get("msg"))[:300])
            else:
                raise self._fail(Violation("%s in the middle of a call" % message["op"]))

    def serve(self, message):
        """Answer one call of the other side (its function's value, or the exception it raised)."""
        try:
            target = message.get("t")
            if type(target) is list and len(target) == 2 and target[0] == "h" and type(target[1]) is int:
                if not (self.lend and 0 <= target[1] < len(self.lent)):
                    raise LookupError("no function %r" % (target[1],))
                function = self.lent[target[1]]
            else:
                function = self.lookup(target)
            args = message.get("a")
            if type(args) is not list:
                raise TypeError("arguments must be a list")
            result = function(*[self.decode(a) for a in args])
            answer = {"op": "ret", "r": self.encode(result)}
        except (Gone, Violation):  # the exchange itself is broken: nothing to answer on
            raise
        except Exception as err:  # noqa: BLE001 - the call's exception is the answer
            answer = {"op": "err", "e": type(err).__name__, "msg": str(err)[:300]}
        self.send(answer)
