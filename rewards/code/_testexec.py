"""Code the test code runs from text, on the test code's side of a split run (shipped with
``_testside.py``; standard library only; see docs/code.md, "Verdicts").

``exec``, ``eval`` and ``compile`` of a string read the program's names as the test code's own
statements do, and the asserts of that text record that they ran and whether they held
(``_testplan.held_text``), as the asserts of all-or-nothing code do: a failure the text catches
itself is still a failure. ``os._exit`` in the test code ends it as ``sys.exit`` does, so that the
row's own exit is not taken for a fault of the jury (the checks that did not run fail)."""

import ast
import builtins
import sys

import _testplan

_EXEC, _EVAL, _COMPILE = builtins.exec, builtins.eval, builtins.compile


def _held(source, mode):
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8")
    return _testplan.held_text(ast.parse(source, mode=mode)) if isinstance(source, str) else source


def entries(hold):
    """``{"exec", "eval", "compile"}`` for the test code's namespace; ``hold`` records an assert."""

    def scope(globals_, locals_):
        if globals_ is None:
            frame = sys._getframe(2)
            globals_, locals_ = frame.f_globals, frame.f_locals if locals_ is None else locals_
        if type(globals_) is dict:
            globals_.setdefault("__grpo_hold__", hold)
        return globals_, locals_

    def exec_(source, globals=None, locals=None, **kwargs):  # noqa: A002 - the built-in's own names
        globals, locals = scope(globals, locals)
        return _EXEC(_compile_held(source, "exec"), globals, locals, **kwargs)

    def eval_(source, globals=None, locals=None):  # noqa: A002
        globals, locals = scope(globals, locals)
        return _EVAL(_compile_held(source, "eval"), globals, locals)

    def compile_(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **kwargs):
        if flags & ast.PyCF_ONLY_AST:
            return _COMPILE(source, filename, mode, flags, dont_inherit, optimize, **kwargs)
        return _COMPILE(_held(source, mode), filename, mode, flags, dont_inherit, optimize, **kwargs)

    return {"exec": exec_, "eval": eval_, "compile": compile_}


def _compile_held(source, mode):
    return source if not isinstance(source, (str, bytes, bytearray)) else _COMPILE(_held(source, mode), "<string>", mode)


def exit_(code=0):
    """``os._exit`` for the test code: ends it as ``sys.exit`` does."""
    raise SystemExit(code)
