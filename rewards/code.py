"""Code-execution rewards: run the completion's program against tests in the local sandbox.

The program is the last fenced code block in the configured language (```` ```python ````; a
block with no language tag counts too). Python is the only language supported for now.

Tests come from the dataset column ``verification_info``, a mapping or its JSON text::

    {"language": "python", "test_cases": [{"input": "1 2\\n", "output": "3\\n"}, ...]}
        stdin/stdout: one run per case; a case passes when the program exits 0 and its output
        equals the expected one line by line after trimming trailing whitespace (extra or missing
        lines fail; a final newline is not a line).
    {"language": "python", "fn_name": "add", "inputs": [[1, 2], [2, 2]], "outputs": [3, 4]}
        call-based (APPS / TACO / LiveCodeBench function-call problems): each input is the list of
        arguments; ``fn_name`` is a top-level function or a method of class ``Solution``. The
        return value is serialised in the sandbox and compared here by ``rewards._checks.same``
        (tuples are lists, ``True`` is not ``1``, floats within 1e-9). One run for all cases; a
        case that takes longer than ``wall_seconds`` fails it and every case after it.
    {"language": "python", "test_code": "assert add(1, 2) == 3"}
        assert-style: the test code runs after the program and scores 1.0 only when it runs to its
        end and every assertion it executes holds.

``code_execution`` scores the share of tests passed (assert-style code counts as one test);
``code_execution_binary`` 1.0 only when all pass. A completion without a code block scores 0.0.

Threat model (the program is written by a policy that is paid for passing): a verdict never
comes from the program's exit status or from anything it prints or writes. For call-based and
assert-style tests a harness (``rewards._harness``) loads the program and reports what it
observes over a separate pipe, one line per result, each signed with a per-run key that is
delivered on stdin, kept on the harness's main thread and never given to the program's thread;
the parent accepts a report only when every line is signed and in sequence and the harness says
the checks ran to their end. So early exits (``sys.exit``, ``os._exit``, ``SystemExit``,
``atexit``, ``sys.excepthook``, signal handlers, killing itself or its parent), fake results on
stdout, stderr, files or the pipe, and replaced builtins all score 0. Expected values are kept out
of the sandbox where the test format allows it: stdin/stdout outputs, call-based outputs, and in
test code the literal side of ``assert EXPR == LITERAL`` (also ``!=``, ``<``, ``in``, ``is None``
...) are compared here and never sent, so reading the test file, objects whose ``__eq__`` always
returns True (only exact built-in types can be sent) and tampering with the harness cannot
produce a passing value. Not covered: assertions whose expected value is computed inside the test
code (``assert f(x) == g(x)``, ``assert is_valid(f(x))``) are evaluated with the program in the
same interpreter, so a program that deliberately patches the modules the test code uses or walks
the interpreter's frames into the harness could make them pass; write such tests as literal
comparisons or call-based cases when it matters. The sandbox's own guarantees (no network, no
host files or processes, bounded memory, disk, processes and time) are in ``rewards.sandbox``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rewards import _checks, sandbox
from rewards.registry import register
from rewards.text import completion_text

LANGUAGES = {"python": ("py", "python", "python3")}
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
HARNESS = (Path(__file__).parent / "_harness.py").read_text()


def extract_code(text: str, language: str = "python") -> str | None:
    """The last fenced block tagged with ``language`` (or untagged), or None."""
    tags = LANGUAGES[language]
    blocks = [body for tag, body in _FENCE.findall(text) if tag.lower() in tags or tag == ""]
    return blocks[-1] if blocks else None


@dataclass(frozen=True)
class Tests:
    language: str
    cases: tuple[tuple[str, str], ...] = ()  # stdin/stdout
    fn_name: str | None = None  # call-based
    inputs: tuple = ()
    outputs: tuple = ()
    test_code: str | None = None  # assert-style, rewritten by rewards._checks.rewrite_tests
    checks: tuple[_checks.Check, ...] = ()

    @property
    def count(self) -> int:
        if self.fn_name is not None:
            return len(self.inputs)
        return len(self.cases) if self.test_code is None else 1


def parse_tests(info, row: int) -> Tests:
    """Validate one ``verification_info`` value; errors name the row and what is wrong."""
    where = f"verification_info of row {row}"
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where} is not valid JSON: {err}") from None
    if not isinstance(info, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(info).__name__}")
    language = info.get("language", "python")
    if language not in LANGUAGES:
        raise ValueError(f"{where}: language {language!r} is not supported; supported: {sorted(LANGUAGES)}")
    given = [k for k in ("test_cases", "test_code", "fn_name") if info.get(k) is not None]
    if len(given) != 1:
        raise ValueError(f"{where} needs exactly one of 'test_cases', 'test_code' and 'fn_name' "
                         f"(with 'inputs' and 'outputs'), got {given or 'none'}")
    if given == ["test_code"]:
        return _assert_style(info["test_code"], language, where)
    if given == ["fn_name"]:
        return _call_based(info, language, where)
    cases = info["test_cases"]
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{where}: 'test_cases' must be a non-empty list")
    parsed = []
    for j, case in enumerate(cases):
        if not isinstance(case, Mapping) or not isinstance(case.get("input", ""), str) or not isinstance(case.get("output"), str):
            raise ValueError(f"{where}: test case {j} needs text 'output' (and optional text 'input'), got {case!r}")
        parsed.append((case.get("input", ""), case["output"]))
    return Tests(language, cases=tuple(parsed))


def _assert_style(code, language: str, where: str) -> Tests:
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"{where}: 'test_code' must be non-empty text")
    try:
        rewritten, checks = _checks.rewrite_tests(code)
    except SyntaxError as err:
        raise ValueError(f"{where}: 'test_code' is not valid Python: {err}") from None
    return Tests(language, test_code=rewritten, checks=checks)


def _call_based(info: Mapping, language: str, where: str) -> Tests:
    name, inputs, outputs = info["fn_name"], info.get("inputs"), info.get("outputs")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{where}: 'fn_name' must be a Python identifier, got {name!r}")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs or len(inputs) != len(outputs):
        raise ValueError(f"{where}: call-based tests need non-empty lists 'inputs' and 'outputs' of equal length")
    for j, args in enumerate(inputs):
        if not isinstance(args, list):
            raise ValueError(f"{where}: inputs[{j}] must be the list of arguments, got {args!r}")
    return Tests(language, fn_name=name, inputs=tuple(inputs), outputs=tuple(_checks.normalise(o) for o in outputs))


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def outputs_match(got: str, expected: str) -> bool:
    return _lines(got) == _lines(expected)


def _call_passes(payloads: list[str], tests: Tests) -> int:
    """Cases passed, from a verified report of a call-based run (0 if it is out of order)."""
    passed = 0
    for i, line in enumerate(payloads):
        kind, _, rest = line.partition(" ")
        index, _, value = rest.partition(" ")
        if kind in ("t", "x", "fin", "end"):
            break
        if kind not in ("r", "e") or index != str(i) or i >= tests.count:
            return 0
        if kind == "r":
            try:
                passed += _checks.same(_checks.decode(value), tests.outputs[i])
            except (ValueError, RecursionError):
                return 0
    return passed


def _test_code_passes(payloads: list[str], tests: Tests) -> bool:
    """Whether a verified report of an assert-style run shows every executed check holding."""
    if payloads[-2:] != ["fin", "end"]:
        return False
    for line in payloads[:-2]:
        kind, _, rest = line.partition(" ")
        site, _, values = rest.partition(" ")
        if kind != "c" or not site.isdigit() or int(site) >= len(tests.checks):
            return False
        check = tests.checks[int(site)]
        try:
            operands = _checks.decode(values)
        except (ValueError, RecursionError):
            return False
        if check.sealed:
            if len(operands) != 1 or not _checks.holds(check.op, operands[0], check.expected):
                return False
        elif len(operands) != (1 if check.op in ("truthy", "falsy") else 2) or not _checks.holds(check.op, *operands):
            return False
    return True


class CodeExecution:
    """Share of tests passed by the last code block of the completion, run in the sandbox."""

    def __init__(self, language: str = "python", concurrency: int = 2, wall_seconds: float = 5.0,
                 memory_bytes: int = 1 << 30, isolation: str = "namespaces", binary: bool = False,
                 python_executable: str | None = None):
        if language not in LANGUAGES:
            raise ValueError(f"language {language!r} is not supported; supported: {sorted(LANGUAGES)}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.language, self.concurrency, self.isolation, self.binary = language, concurrency, isolation, binary
        self.wall_seconds = wall_seconds
        self.limits = sandbox.Limits(wall_seconds=wall_seconds, cpu_seconds=max(1, int(wall_seconds) + 1),
                                     memory_bytes=memory_bytes, total_memory_bytes=memory_bytes)
        self.python_executable = python_executable

    def _python(self) -> tuple[str, tuple[str, ...]]:
        python = self.python_executable or sandbox.default_python()
        return python, sandbox.interpreter_paths(python)

    def _stdin_case(self, code: str, stdin: str, expected: str) -> int:
        python, paths = self._python()
        result = sandbox.run({"solution.py": code}, [python, "-I", "solution.py"], stdin=stdin, limits=self.limits,
                             isolation=self.isolation, read_only=paths)
        return int(result.ok and outputs_match(result.stdout, expected))

    def _harnessed(self, code: str, tests: Tests) -> int:
        """Run call-based or assert-style tests under the harness; the number of tests passed."""
        python, paths = self._python()
        key = os.urandom(32)
        spec = {"key": key.hex(), "program": code, "case_seconds": self.wall_seconds,
                "mode": "call" if tests.fn_name else "test", "fn_name": tests.fn_name,
                "inputs": list(tests.inputs), "test_code": tests.test_code}
        calls = max(1, len(tests.inputs))
        limits = sandbox.Limits(**{**self.limits.__dict__, "wall_seconds": self.wall_seconds * (calls + 1) + 2,
                                   "cpu_seconds": self.limits.cpu_seconds * calls})
        result = sandbox.run({"harness.py": HARNESS}, [python, "-I", "harness.py"], stdin=json.dumps(spec),
                             limits=limits, isolation=self.isolation, channel=True, read_only=paths)
        payloads = _checks.signed_lines(result.channel, key)
        if not payloads or payloads[-1] != "end" or result.truncated:
            return 0
        return _call_passes(payloads, tests) if tests.fn_name else int(_test_code_passes(payloads, tests))

    def _jobs(self, code: str, tests: Tests):
        if tests.fn_name is not None or tests.test_code is not None:
            return [(self._harnessed, (code, tests))]
        return [(self._stdin_case, (code, stdin, expected)) for stdin, expected in tests.cases]

    def __call__(self, completions, verification_info) -> list[float]:
        all_tests = [parse_tests(info, i) for i, info in enumerate(verification_info)]  # fail before running
        codes = [extract_code(completion_text(c), self.language) for c in completions]
        jobs, owner = [], []
        for i, (code, tests) in enumerate(zip(codes, all_tests, strict=True)):
            if code is not None:
                for job in self._jobs(code, tests):
                    jobs.append(job)
                    owner.append(i)
        with ThreadPoolExecutor(self.concurrency) as pool:
            passed = list(pool.map(lambda job: job[0](*job[1]), jobs))
        counts = [0] * len(completions)
        for i, n in zip(owner, passed):
            counts[i] += n
        scores = [n / t.count for n, t in zip(counts, all_tests)]
        return [float(s == 1.0) for s in scores] if self.binary else scores


@register("code_execution")
class CodeExecutionShare(CodeExecution):
    """Share of tests passed by the completion's last code block, run in the local sandbox."""


@register("code_execution_binary")
class CodeExecutionBinary(CodeExecution):
    """1.0 when the completion's last code block passes every test in the local sandbox, else 0.0."""

    def __init__(self, **kwargs):
        super().__init__(binary=True, **kwargs)
