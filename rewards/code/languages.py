"""Programming languages the code rewards can run: one small description each, in a registry.

A :class:`Language` says how a program is written to disk, compiled (if at all) and run, with
argument lists in which the first word names a *tool* (``"g++"``, ``"java"``...) that
:meth:`Language.toolchain` finds on this machine. Everything runs inside :mod:`rewards.code.sandbox`;
the compile step gets its own limits (:class:`CompileLimits`) and its exit status decides what
counts as a compile error: a non-zero status (or a time-out) of the compile command. For
interpreted languages the compile step is the interpreter's own syntax check (``py_compile``,
``node --check``), so a syntax error is a compile error in every language.

Built in (when the tool is on the machine; ``grpo-ext sandbox check`` lists which work here):

======== ================================ ============================ =========================
name     aliases (fence tag, ``language``) compile                      run
======== ================================ ============================ =========================
python   py, python3                      python -m py_compile         python -I solution.py
cpp      c++, cc, cxx, g++                g++ -std=gnu++17 -O2         ./main
c        gcc                              gcc -std=gnu11 -O2 ... -lm   ./main
java     (class ``Main``, as judges want) javac Main.java              java ... -cp . Main
javascript js, node, nodejs               node --check main.js         node main.js
rust     rs                               rustc --edition 2021 -O      ./main
======== ================================ ============================ =========================

Add one in a few lines::

    from .languages import Language, register_language
    register_language(Language("go", aliases=("golang",), source="main.go",
                               compile=("go", "build", "-o", "main", "main.go"), artifacts=("main",),
                               run=("./main",)))

Compiled languages hand their ``artifacts`` (file names or shell globs in the working directory)
from the compile run to each test run; the compile run packs them with ``tar`` into the sandbox's
side channel, so nothing is written to the host's disk.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from . import sandbox

# Flags that let the JVM start under the sandbox's limits: few threads, a small heap and code cache.
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:ActiveProcessorCount=1",
             "-Xss64m", "-XX:ReservedCodeCacheSize=64m", "-XX:MaxMetaspaceSize=192m",
             "-XX:CompressedClassSpaceSize=64m", "-Xshare:auto")


@dataclass(frozen=True)
class CompileLimits:
    """Limits of a compile run (compilers need more than the programs they build)."""

    wall_seconds: float = 30.0
    memory_bytes: int = 2 << 30  # all the compiler's processes together
    artifact_bytes: int = 64 << 20  # the compiled files handed to the test runs


@dataclass(frozen=True)
class Toolchain:
    """A language's commands with their tools found on this machine."""

    compile: tuple[str, ...] | None
    run: tuple[str, ...]
    read_only: tuple[str, ...]  # host paths the sandbox must see (tools outside /usr and /opt)


@dataclass(frozen=True)
class Language:
    name: str
    source: str  # the file the program is written to
    run: tuple[str, ...]  # first word: a tool name, or ./file for a compiled artifact
    compile: tuple[str, ...] | None = None  # None: nothing to check before running
    artifacts: tuple[str, ...] = ()  # what the compile step leaves for the runs (besides the source)
    aliases: tuple[str, ...] = ()  # other names in fence tags and ``verification_info["language"]``
    address_space: int | None = None  # per-process address space when the runtime reserves a lot (JVM)
    processes: int | None = None  # processes + threads when the runtime needs more than the default
    locate: Callable[[str], str | None] | None = field(default=None, compare=False)  # tool -> path

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def toolchain(self, python: str | None = None) -> Toolchain:
        """The commands with absolute tool paths; raises :class:`LanguageUnavailable` when a tool
        is missing. ``python`` overrides the interpreter for Python."""
        return _toolchain(self, python)


class LanguageUnavailable(RuntimeError):
    pass


class UnknownLanguageError(ValueError):
    pass


_LANGUAGES: dict[str, Language] = {}
_ALIASES: dict[str, str] = {}


def register_language(language: Language, replace: bool = False) -> Language:
    """Make ``language`` usable by name and by its aliases (case-insensitive)."""
    names = [n.lower() for n in language.names]
    taken = [n for n in names if n in _ALIASES and _ALIASES[n] != language.name]
    if taken and not replace:
        raise ValueError(f"language names {taken} are already registered; pass replace=True to override")
    if language.name in _LANGUAGES and not replace:
        raise ValueError(f"language {language.name!r} is already registered; pass replace=True to override")
    _LANGUAGES[language.name] = language
    for n in names:
        _ALIASES[n] = language.name
    _toolchain.cache_clear()
    return language


def get_language(name: str) -> Language:
    """The language registered under ``name`` or one of its aliases."""
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise UnknownLanguageError(f"language {name!r} is not supported; supported: {', '.join(sorted(_LANGUAGES))} "
                                   f"(aliases: {', '.join(sorted(set(_ALIASES) - set(_LANGUAGES)))})")
    return _LANGUAGES[_ALIASES[key]]


def available() -> dict[str, Language]:
    return dict(_LANGUAGES)


def fence_tags(language: Language) -> tuple[str, ...]:
    """Fence tags that mark a block as this language (its names and aliases, lower case)."""
    return tuple(n.lower() for n in language.names)


def _which(tool: str) -> str | None:
    return shutil.which(tool, path=sandbox.ENV["PATH"]) or shutil.which(tool)


def _prefix(path: str) -> str | None:
    """The install prefix of a tool outside /usr and /opt (…/bin/tool -> …), to mount read-only."""
    real = os.path.realpath(path)
    if real.startswith(("/usr/", "/opt/", "/bin/", "/sbin/", "/lib")):
        return None
    return os.path.dirname(os.path.dirname(real))


@functools.cache
def _toolchain(language: Language, python: str | None) -> Toolchain:
    def resolve(argv: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if argv is None:
            return None
        tool = argv[0]
        if tool.startswith("./") or os.path.isabs(tool):
            return argv
        if tool == "python":
            found = python or sandbox.default_python()
        else:
            found = (language.locate or (lambda t: None))(tool) or _which(tool)
        if found is None:
            raise LanguageUnavailable(f"{language.name}: {tool!r} is not installed on this machine (not on PATH)")
        return (found, *argv[1:])

    compile_argv, run_argv = resolve(language.compile), resolve(language.run)
    tools = [argv[0] for argv in (compile_argv, run_argv) if argv and os.path.isabs(argv[0])]
    read_only = tuple(dict.fromkeys(p for p in map(_prefix, tools) if p))
    return Toolchain(compile_argv, run_argv, read_only)


@functools.cache
def _rust_sysroot() -> str | None:
    rustc = _which("rustc")
    if rustc is None:
        return None
    try:  # rustup's rustc is a proxy that needs $HOME; the real compiler lives in the sysroot
        out = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    sysroot = out.stdout.strip()
    return sysroot if out.returncode == 0 and os.path.isfile(os.path.join(sysroot, "bin", "rustc")) else None


def _locate_rustc(tool: str) -> str | None:
    sysroot = _rust_sysroot()
    return os.path.join(sysroot, "bin", "rustc") if tool == "rustc" and sysroot else None


PYTHON = register_language(Language(
    "python", source="solution.py", aliases=("py", "python3"),
    compile=("python", "-I", "-m", "py_compile", "solution.py"), run=("python", "-I", "solution.py")))
CPP = register_language(Language(
    "cpp", source="main.cpp", aliases=("c++", "cc", "cxx", "g++"), artifacts=("main",),
    compile=("g++", "-std=gnu++17", "-O2", "-pipe", "-o", "main", "main.cpp"), run=("./main",)))
C = register_language(Language(
    "c", source="main.c", aliases=("gcc",), artifacts=("main",),
    compile=("gcc", "-std=gnu11", "-O2", "-pipe", "-o", "main", "main.c", "-lm"), run=("./main",)))
JAVA = register_language(Language(
    "java", source="Main.java", artifacts=("*.class",),
    compile=("javac", "-encoding", "UTF-8", *("-J" + f for f in JVM_FLAGS), "Main.java"),
    run=("java", *JVM_FLAGS, "-Xmx512m", "-cp", ".", "Main"), address_space=4 << 30, processes=64))
JAVASCRIPT = register_language(Language(
    "javascript", source="main.js", aliases=("js", "node", "nodejs"),
    compile=("node", "--check", "main.js"), run=("node", "main.js"), address_space=4 << 30, processes=64))
RUST = register_language(Language(
    "rust", source="main.rs", aliases=("rs",), artifacts=("main",),
    compile=("rustc", "--edition", "2021", "-O", "-C", "strip=symbols", "-o", "main", "main.rs"), run=("./main",),
    locate=_locate_rustc))
