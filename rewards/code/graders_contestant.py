"""The contestant's side of a grader run (see ``rewards.code.graders``): a sandboxed interpreter that
loads the contestant's module and answers the grader's calls to its functions.

    python -I graders_contestant.py READ_FD WRITE_FD CONTESTANT GRADER_MODULE...

Importing a ``GRADER_MODULE`` (``import grader``, ``from grader import ask``) gives a module whose
public names are calls to the grader's functions across the pipes; nothing of the grader's state
is here. Nothing in this interpreter is trusted: the contestant may replace any of it, and the
grader's side decodes what it sends strictly. Its stdout and stderr are not judged.
"""

import os
import sys
import threading
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import graders_peer  # noqa: E402


class GraderModule(types.ModuleType):
    def __init__(self, name, peer):
        super().__init__(name)
        self.__dict__["_peer"] = peer

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return graders_peer.RemoteFunction(self.__dict__["_peer"], ["n", self.__name__, name])


def _serve(peer, name):
    module = types.ModuleType(name)
    module.__file__ = os.path.abspath(name + ".py")
    sys.modules[name] = module

    def lookup(target):
        if type(target) is not list or len(target) != 2 or target[0] != "n" or type(target[1]) is not str:
            raise LookupError("not a function of the contestant: %r" % (target,))
        function = module.__dict__.get(target[1])
        if target[1].startswith("_") or not callable(function):
            raise AttributeError("the contestant's module defines no function %r" % target[1])
        return function

    peer.lookup = lookup
    try:
        with open(name + ".py") as f:
            exec(compile(f.read(), name + ".py", "exec"), module.__dict__)
    except BaseException as err:  # noqa: BLE001 - the contestant's failure is the answer
        peer.send({"op": "load_error", "e": type(err).__name__, "msg": str(err)[:300]})
        return
    peer.send({"op": "ready"})
    try:
        while True:  # the grader's calls, until it is done
            message = peer.receive()
            if message["op"] == "call":
                peer.serve(message)
    except graders_peer.Gone:
        return


def main():
    read_fd, write_fd, name, *modules = sys.argv[1:]
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    peer = graders_peer.Peer(int(read_fd), int(write_fd), None, lend=False)
    for grader in modules:
        sys.modules[grader] = GraderModule(grader, peer)
    threading.stack_size(64 << 20)  # deep recursion in solutions
    sys.setrecursionlimit(100000)
    worker = threading.Thread(target=_serve, args=(peer, name), daemon=True)
    worker.start()
    worker.join()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
