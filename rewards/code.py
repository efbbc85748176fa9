"""Code-execution rewards: run the completion's program against tests in the local sandbox.

The program is the last fenced code block in the configured language (```` ```python ````; a
block with no language tag counts too). Python is the only language supported for now.

Tests come from the dataset column ``verification_info``, a mapping or its JSON text::

    {"language": "python", "test_cases": [{"input": "1 2\\n", "output": "3\\n"}, ...]}
        stdin/stdout tests: each line compared after trimming trailing whitespace; extra or
        missing lines fail (a final newline is not a line).
    {"language": "python", "test_code": "assert add(1, 2) == 3"}
        assert-style: the test code runs after the program in the same file; exit 0 passes.

``code_execution`` scores the share of tests passed; ``code_execution_binary`` 1.0 only when all
pass. A completion without a code block scores 0.0. Programs run in parallel (``concurrency``),
each test under the sandbox's limits (see ``rewards.sandbox``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rewards import sandbox
from rewards.registry import register
from rewards.text import completion_text

LANGUAGES = {"python": ("py", "python", "python3")}
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)


def extract_code(text: str, language: str = "python") -> str | None:
    """The last fenced block tagged with ``language`` (or untagged), or None."""
    tags = LANGUAGES[language]
    blocks = [body for tag, body in _FENCE.findall(text) if tag.lower() in tags or tag == ""]
    return blocks[-1] if blocks else None


@dataclass(frozen=True)
class Tests:
    language: str
    cases: tuple[tuple[str, str], ...] = ()
    test_code: str | None = None

    @property
    def count(self) -> int:
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
    cases, code = info.get("test_cases"), info.get("test_code")
    if (cases is None) == (code is None):
        raise ValueError(f"{where} needs exactly one of 'test_cases' and 'test_code'")
    if code is not None:
        if not isinstance(code, str) or not code.strip():
            raise ValueError(f"{where}: 'test_code' must be non-empty text")
        return Tests(language, test_code=code)
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{where}: 'test_cases' must be a non-empty list")
    parsed = []
    for j, case in enumerate(cases):
        if not isinstance(case, Mapping) or not isinstance(case.get("input", ""), str) or not isinstance(case.get("output"), str):
            raise ValueError(f"{where}: test case {j} needs text 'output' (and optional text 'input'), got {case!r}")
        parsed.append((case.get("input", ""), case["output"]))
    return Tests(language, cases=tuple(parsed))


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def outputs_match(got: str, expected: str) -> bool:
    return _lines(got) == _lines(expected)


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
        self.limits = sandbox.Limits(wall_seconds=wall_seconds, cpu_seconds=max(1, int(wall_seconds) + 1),
                                     memory_bytes=memory_bytes)
        self.python_executable = python_executable

    def _runs(self, code: str, tests: Tests):
        """(files, argv, stdin, expected output or None) for each test."""
        python = self.python_executable or sandbox.default_python()
        if tests.test_code is not None:
            return [({"main.py": f"{code}\n\n{tests.test_code}\n"}, [python, "-I", "main.py"], None, None)]
        return [({"main.py": code}, [python, "-I", "main.py"], stdin, expected) for stdin, expected in tests.cases]

    def _run_one(self, job) -> bool:
        files, argv, stdin, expected = job
        result = sandbox.run(files, argv, stdin=stdin, limits=self.limits, isolation=self.isolation)
        return result.ok and (expected is None or outputs_match(result.stdout, expected))

    def __call__(self, completions, verification_info) -> list[float]:
        all_tests = [parse_tests(info, i) for i, info in enumerate(verification_info)]  # fail before running
        codes = [extract_code(completion_text(c), self.language) for c in completions]
        jobs, owner = [], []
        for i, (code, tests) in enumerate(zip(codes, all_tests, strict=True)):
            if code is not None:
                for job in self._runs(code, tests):
                    jobs.append(job)
                    owner.append(i)
        with ThreadPoolExecutor(self.concurrency) as pool:
            passed = list(pool.map(self._run_one, jobs))
        counts = [0] * len(completions)
        for i, ok in zip(owner, passed):
            counts[i] += ok
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
