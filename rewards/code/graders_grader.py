"""The grader's side of a grader run (see ``rewards.code.graders``): a sandboxed interpreter that runs
the grader's entry file as ``__main__``, with the test input on stdin, and its stdout judged.

    python -I graders_grader.py READ_FD WRITE_FD CONTESTANT ENTRY GRADER_MODULE...

``CONTESTANT`` is the contestant's module name (``guess`` for ``guess.py``): importing it gives a
module whose functions are calls across the pipes to the contestant's interpreter, which holds
nothing of the grader. The contestant may call only the functions the grader's own modules
define (``GRADER_MODULE`` names; public names, defined there, not imported) and the functions the
grader passes it; it can read no variable and set none.

What happened is reported on the sandbox's channel (never given to the contestant), one line of
JSON per event: ``{"called": true}`` once the grader first calls the contestant, then
``{"status": "ok" | "contestant" | "grader", "detail": text}``: ``ok`` the grader finished
(exit status 0), ``contestant`` the contestant's side failed it (ended, closed its pipe, broke the
protocol, raised, or the grader failed after the contestant's answers), ``grader`` the grader
failed before it ever called the contestant (the jury's fault).
"""

import json
import os
import sys
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import graders_peer  # noqa: E402

_CHANNEL = int(os.environ["SANDBOX_CHANNEL_FD"])


def _report(**event):
    os.write(_CHANNEL, (json.dumps(event) + "\n").encode())


class ContestantModule(types.ModuleType):
    """The contestant's module as the grader sees it: its public names are the contestant's functions."""

    def __init__(self, name, peer):
        super().__init__(name)
        self.__dict__["_peer"] = peer

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return graders_peer.RemoteFunction(self.__dict__["_peer"], ["n", name])


def _lookup(modules, entry):
    def lookup(target):
        if type(target) is not list or len(target) != 3 or not all(type(t) is str for t in target[1:]):
            raise LookupError("not a function of the grader: %r" % (target,))
        _, module_name, name = target
        real = "__main__" if module_name == entry else module_name
        module = sys.modules.get(real) if module_name in modules else None
        function = getattr(module, "__dict__", {}).get(name)
        if name.startswith("_") or not isinstance(function, types.FunctionType) or function.__module__ != real:
            raise AttributeError("the grader has no public function %s.%s" % (module_name, name))
        return function
    return lookup


def _run(entry, peer):
    main = types.ModuleType("__main__")
    main.__file__ = os.path.abspath(entry + ".py")
    sys.modules["__main__"] = main
    with open(entry + ".py") as f:
        code = compile(f.read(), entry + ".py", "exec")
    exec(code, main.__dict__)


def main():
    read_fd, write_fd, contestant, entry, *others = sys.argv[1:]
    peer = graders_peer.Peer(int(read_fd), int(write_fd), _lookup({entry, *others}, entry), lend=True)
    first_call = peer.call

    def call(target, args):
        if not peer.calls:
            _report(called=True)
        return first_call(target, args)

    peer.call = call
    status, detail = "ok", ""
    try:
        hello = peer.receive()
        if hello["op"] != "ready":
            raise graders_peer.Violation("the contestant's module does not load: %s %s"
                                         % (str(hello.get("e"))[:100], str(hello.get("msg"))[:300]))
        sys.modules[contestant] = ContestantModule(contestant, peer)
        _run(entry, peer)
    except (graders_peer.Gone, graders_peer.Violation, graders_peer.Raised) as err:
        status, detail = "contestant", "%s: %s" % (type(err).__name__, err)
    except SystemExit as err:
        if err.code not in (None, 0):
            status, detail = ("contestant" if peer.calls else "grader"), "the grader exited with %r" % (err.code,)
    except BaseException as err:  # noqa: BLE001 - the grader's own failure: whose fault depends on the calls
        status = "contestant" if peer.calls else "grader"
        detail = "the grader raised %s" % "".join(traceback.format_exception_only(type(err), err)).strip()[:500]
    if peer.broken:  # the grader caught it, but the contestant's side failed the exchange
        status, detail = "contestant", peer.broken
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    _report(status=status, detail=detail)
    os._exit(0)


if __name__ == "__main__":
    main()
