"""C++ graders run apart from the contestant: two programs, joined by pipes, from stubs generated
from the task header (CMS's "Communication" style).

The task header (the grader's ``.h`` files) declares the functions; those a grader ``.cpp`` file
defines are the grader's (the contestant calls them, ``ask``), the others are the contestant's
(``find``). The grader's program is its own ``.cpp`` files plus :func:`grader_stub`, which
defines the contestant's functions as calls over the pipes; the contestant's program is its
code plus :func:`contestant_stub`, whose ``main`` answers those calls and which defines the
grader's functions as calls back. Each runs in its own sandbox: the contestant's process holds
none of the grader's memory, and only the values the header declares cross, as text.

Types that cross: ``void`` (results), ``bool``, ``char``, ``int``, ``long``, ``long long``,
``double``, ``std::string`` and ``std::vector`` of the integer types, by value or ``const &``.
A header with any other declaration is refused (the row scores ``None`` with the reason).

Messages, one per line on each pipe (descriptors 40 in, 41 out on both sides):
``C <function number> <arguments>`` and ``R <value>``; a string is ``<length>:<bytes>``, a vector
``<length> <items>``. The grader's side writes ``called`` to the sandbox's channel before its
first call into the contestant and ``gone`` when the contestant's side ended or sent what does
not parse (then exits), so :func:`rewards.code.graders.verdict` can tell whose fault a failure is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCALARS = {"bool": "long long", "char": "long long", "int": "long long", "long": "long long",
            "long long": "long long", "double": "double"}
_VECTORS = ("int", "long", "long long")
_DECL = re.compile(r"([\w:<>\s]+?)\s*\b(\w+)\s*\(([^()]*)\)\s*;")
IN_FD, OUT_FD = 40, 41
STUB_GRADER, STUB_CONTESTANT = "grpo_grader_stub.cpp", "grpo_contestant_stub.cpp"


class Unsupported(ValueError):
    pass


@dataclass(frozen=True)
class Function:
    name: str
    result: str  # its kind (see _type)
    params: tuple[str, ...]  # their kinds
    declared: tuple[str, ...]  # the parameters' types as the header writes them (for the same signature)


def _type(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("const", "").replace("&", "")).strip()
    text = text.replace("std::", "").replace("signed ", "")
    if text in _SCALARS or text in ("void", "string"):
        return text
    match = re.fullmatch(r"vector ?< ?(int|long|long long) ?>", text)
    if match:
        return f"vector<{match.group(1)}>"
    raise Unsupported(f"the type {text!r} cannot cross between the grader and the contestant")


def _declared(param: str) -> str:
    """A parameter's type without its name (``const std::vector<int>& v`` -> ``const std::vector<int>&``)."""
    try:
        _type(param)
        return param  # no name (``long long``)
    except Unsupported:
        return re.sub(r"\s*\b\w+\s*$", "", param)


def declarations(header: str) -> list[Function]:
    """The functions a task header declares (comments and preprocessor lines skipped)."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", header, flags=re.S)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    out = []
    for result, name, params in _DECL.findall(text):
        declared = tuple(_declared(p.strip()) for p in params.split(",") if p.strip() and p.strip() != "void")
        out.append(Function(name, _type(result), tuple(_type(p) for p in declared), declared))
    if not out:
        raise Unsupported("the task header declares no function")
    return out


def split(functions: list[Function], grader_sources: list[str]) -> tuple[list[Function], list[Function]]:
    """(the grader's functions, the contestant's): the grader's are those its sources define."""
    text = "\n".join(grader_sources)
    mine = [f for f in functions if re.search(rf"\b{re.escape(f.name)}\s*\([^;{{]*\)\s*(const\s*)?\{{", text)]
    theirs = [f for f in functions if f not in mine]
    if not theirs:
        raise Unsupported("the grader defines every function the header declares: none is the contestant's")
    return mine, theirs


_COMMON = r"""#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <unistd.h>
using std::string; using std::vector;
static FILE* grpo_in = fdopen(%(in)d, "r");
static FILE* grpo_out = fdopen(%(out)d, "w");
[[noreturn]] static void grpo_gone();
static void grpo_w(long long v) { std::fprintf(grpo_out, " %%lld", v); }
static void grpo_w(double v) { std::fprintf(grpo_out, " %%.17g", v); }
static void grpo_w(const string& v) { std::fprintf(grpo_out, " %%zu:", v.size()); std::fwrite(v.data(), 1, v.size(), grpo_out); }
template <class T> static void grpo_w(const vector<T>& v) { std::fprintf(grpo_out, " %%zu", v.size()); for (const T& x : v) grpo_w((long long)x); }
static void grpo_r(long long& v) { if (std::fscanf(grpo_in, " %%lld", &v) != 1) grpo_gone(); }
static void grpo_r(double& v) { if (std::fscanf(grpo_in, " %%lf", &v) != 1) grpo_gone(); }
static void grpo_r(string& v) {
    size_t n; if (std::fscanf(grpo_in, " %%zu:", &n) != 1 || n > (64u << 20)) grpo_gone();
    v.resize(n); if (n && std::fread(&v[0], 1, n, grpo_in) != n) grpo_gone();
}
template <class T> static void grpo_r(vector<T>& v) {
    size_t n; if (std::fscanf(grpo_in, " %%zu", &n) != 1 || n > (16u << 20)) grpo_gone();
    v.resize(n); for (T& x : v) { long long y; grpo_r(y); x = (T)y; }
}
template <class T> static T grpo_get() { T v; grpo_r(v); return v; }
static void grpo_serve(int id);
static int grpo_tag() { char t; if (std::fscanf(grpo_in, " %%c", &t) != 1) grpo_gone(); return t; }
static void grpo_wait() {  // until the answer's tag; the other side's calls served meanwhile
    for (;;) { int t = grpo_tag(); if (t == 'R') return; if (t != 'C') grpo_gone(); int id; if (std::fscanf(grpo_in, " %%d", &id) != 1) grpo_gone(); grpo_serve(id); }
}
static void grpo_end() { std::fputc('\n', grpo_out); if (std::fflush(grpo_out) != 0) grpo_gone(); }
"""


def _wire_type(t: str) -> str:
    return _SCALARS.get(t, t)


def _forwarders(functions: list[Function], numbers: dict[str, int], before: str) -> str:
    """Definitions that send each call to the other side and wait for its value."""
    out = []
    for f in functions:
        params = ", ".join(f"{d} a{k}" for k, d in enumerate(f.declared))
        sends = "".join(f" grpo_w(({_wire_type(t)})a{k});" if t in _SCALARS else f" grpo_w(a{k});"
                        for k, t in enumerate(f.params))
        body = f"{before} std::fprintf(grpo_out, \"C %d\", {numbers[f.name]});{sends} grpo_end(); grpo_wait();"
        if f.result == "void":
            out.append(f"void {f.name}({params}) {{{body} }}")
        else:
            out.append(f"{f.result} {f.name}({params}) {{{body} return ({f.result})grpo_get<{_wire_type(f.result)}>(); }}")
    return "\n".join(out) + "\n"


def _server(functions: list[Function], numbers: dict[str, int]) -> str:
    """``grpo_serve``: read a call's arguments, call the function here, answer its value."""
    cases = []
    for f in functions:
        args = ", ".join(f"({t})grpo_get<{_wire_type(t)}>()" if t in _SCALARS else f"grpo_get<{t}>()" for t in f.params)
        if f.result == "void":
            call = f"{f.name}({args}); std::fputs(\"R\", grpo_out);"
        else:
            call = f"auto v = {f.name}({args}); std::fputs(\"R\", grpo_out); grpo_w(({_wire_type(f.result)})v);"
        cases.append(f"    case {numbers[f.name]}: {{ {call} grpo_end(); return; }}")
    return ("static void grpo_serve(int id) {\n    switch (id) {\n" + "\n".join(cases) +
            "\n    default: grpo_gone();\n    }\n}\n")


def _prototypes(functions: list[Function]) -> str:
    return "".join(f"{f.result} {f.name}({', '.join(f.declared)});\n" for f in functions)


def stubs(header: str, grader_sources: list[str]) -> tuple[str, str]:
    """(the grader's stub, the contestant's stub) for this task header and grader."""
    functions = declarations(header)
    mine, theirs = split(functions, grader_sources)
    numbers = {f.name: k for k, f in enumerate(functions)}
    common = _COMMON % {"in": IN_FD, "out": OUT_FD}
    grader = (common + _prototypes(mine) +
              "static bool grpo_called = false;\n"
              "static void grpo_note(const char* s) { const char* fd = std::getenv(\"SANDBOX_CHANNEL_FD\");\n"
              "    if (fd) { ssize_t n = write(std::atoi(fd), s, __builtin_strlen(s)); (void)n; } }\n"
              "[[noreturn]] static void grpo_gone() { grpo_note(\"gone\\n\"); std::fflush(stdout); _exit(0); }\n"
              + _forwarders(theirs, numbers, "if (!grpo_called) { grpo_called = true; grpo_note(\"called\\n\"); }")
              + _server(mine, numbers))
    contestant = (common + _prototypes(theirs) +
                  "[[noreturn]] static void grpo_gone() { _exit(0); }\n"
                  + _forwarders(mine, numbers, "") + _server(theirs, numbers) +
                  "int main() { for (;;) { int id; if (grpo_tag() != 'C' || std::fscanf(grpo_in, \" %d\", &id) != 1) "
                  "grpo_gone(); grpo_serve(id); } }\n")
    return grader, contestant
