"""The tests of a code problem, read from the row layouts code-RL datasets use.

:func:`parse_tests` turns one ``verification_info`` value (a mapping or its JSON text) into
:class:`Tests`; every error names the row. Its keys:

``language``
    The row's language, by name or alias (``python``, ``cpp``/``c++``, ``c``, ``java``,
    ``javascript``/``js``, ``rust``/``rs``; see :mod:`rewards.code.languages`). Default ``python``.
exactly one of
    ``test_cases``: ``[{"input": str, "output": str}, ...]`` (``input`` optional; a ``type`` or
    ``testtype`` key, if present, must say stdin: ``stdin``, ``stdin_stdout``);
    ``input_output``: the APPS / TACO object (or its JSON text): ``{"inputs": [...], "outputs":
    [...]}`` for stdin/stdout (an input or output given as a list of lines is joined with
    newlines), plus ``"fn_name"`` for call-based problems, where, as APPS grades, an expected
    output that is a one-element list also accepts its element;
    ``fn_name`` with ``inputs`` and ``outputs``: call-based (Python only);
    ``test_code``: assert-style test code (Python only): ``assert`` statements, HumanEval's
    ``def check(candidate)`` with the function's name in ``entry_point``, or ``unittest.TestCase``
    classes; run in an interpreter of its own (see :mod:`rewards.code.split`).
``compare`` (optional)
    ``lines`` (default): the output equals the expected one line by line after trimming
    trailing whitespace (a final newline is not a line; extra or missing lines fail).
    ``tokens``: the whitespace-separated tokens agree one by one: an expected integer (digits, an
    optional sign) only as an equal integer (``007`` is 7; ``7.0`` and ``7e0`` are not), an expected
    decimal within ``|got - expected| <= 1e-6 * max(1, |expected|)`` (for problems whose judge
    allows an error), any other token exactly.

Whole datasets are converted to a ``verification_info`` column by
:func:`rewards.code.judge_datasets.convert_dataset` (the layouts of APPS, TACO, CodeContests,
open-r1's sets); this module imports nothing from the judged-problem modules.

Rows with a checker, an interactor, subtasks or a grader are read by :mod:`rewards.code.judge_rows`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass

from . import _checks
from .compare import COMPARISONS, TOKEN_TOLERANCE, number as _number, outputs_match  # noqa: F401 - re-exported
from .languages import UnknownLanguageError, get_language

FLOAT_TOLERANCE = TOKEN_TOLERANCE
STDIN_TYPES = ("stdin", "stdin_stdout", "stdio")


class RowFormatError(ValueError):
    pass


@dataclass(frozen=True)
class Tests:
    language: str
    cases: tuple[tuple[str, str], ...] = ()  # stdin/stdout
    fn_name: str | None = None  # call-based
    inputs: tuple = ()
    outputs: tuple = ()
    unwrap_single: bool = False  # APPS: an expected [x] also accepts x
    test_code: str | None = None  # assert-style, run by rewards.code.split
    entry_point: str | None = None  # assert-style: the function check(candidate) is called with
    prompt: str | None = None  # assert-style: the row's own code (HumanEval's prompt), run with the test code
    compare: str | None = None  # None: the reward's setting

    @property
    def count(self) -> int:
        if self.fn_name is not None:
            return len(self.inputs)
        return len(self.cases) if self.test_code is None else 1

    @property
    def harnessed(self) -> bool:
        return self.fn_name is not None or self.test_code is not None


def _load(value, what: str):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise RowFormatError(f"{what} is not valid JSON: {err}") from None
    return value


def parse_tests(info, row: int, default_language: str = "python") -> Tests:
    """Validate one ``verification_info`` value; errors name the row and what is wrong. A row that
    does not name its language is in ``default_language``."""
    where = f"verification_info of row {row}"
    info = _load(info, where)
    if not isinstance(info, Mapping):
        raise RowFormatError(f"{where} must be a mapping, got {type(info).__name__}")
    try:
        language = get_language(info.get("language") or default_language).name
    except UnknownLanguageError as err:
        raise RowFormatError(f"{where}: {err}") from None
    compare = info.get("compare")
    if compare is not None and compare not in COMPARISONS:
        raise RowFormatError(f"{where}: 'compare' must be one of {COMPARISONS}, got {compare!r}")
    given = [k for k in ("test_cases", "input_output", "test_code", "fn_name") if info.get(k) is not None]
    if len(given) != 1:
        raise RowFormatError(f"{where} needs exactly one of 'test_cases', 'input_output', 'test_code' and 'fn_name' "
                             f"(with 'inputs' and 'outputs'), got {given or 'none'}")
    kind = given[0]
    if kind in ("test_code", "fn_name") and language != "python":
        raise RowFormatError(f"{where}: {kind!r} tests are Python only; for {language} give stdin/stdout 'test_cases'")
    if kind == "test_code":
        return _assert_style(info["test_code"], info.get("entry_point"), where, info.get("prompt"))
    if kind == "fn_name":
        return _call_based(info, where, unwrap_single=False, compare=compare)
    if kind == "input_output":
        return _input_output(_load(info["input_output"], f"{where}: 'input_output'"), language, where, compare)
    return Tests(language, cases=_stdin_cases(_load(info["test_cases"], f"{where}: 'test_cases'"), where),
                 compare=compare)


def _stdin_cases(cases, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(cases, list) or not cases:
        raise RowFormatError(f"{where}: 'test_cases' must be a non-empty list")
    parsed = []
    for j, case in enumerate(cases):
        if not isinstance(case, Mapping) or not isinstance(case.get("input", ""), str) \
                or not isinstance(case.get("output"), str):
            raise RowFormatError(f"{where}: test case {j} needs text 'output' (and optional text 'input'), "
                                 f"got {_short(case)}")
        kind = case.get("type", case.get("testtype", "stdin"))
        if kind not in STDIN_TYPES:
            raise RowFormatError(f"{where}: test case {j} is of type {kind!r}; only stdin/stdout cases "
                                 f"({', '.join(STDIN_TYPES)}) are read from 'test_cases'")
        parsed.append((case.get("input", ""), case["output"]))
    return tuple(parsed)


def _text(value, what: str) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value) + "\n"
    if not isinstance(value, str):
        raise RowFormatError(f"{what} must be text or a list of lines, got {_short(value)}")
    return value


def _input_output(io, language: str, where: str, compare: str) -> Tests:
    if not isinstance(io, Mapping):
        raise RowFormatError(f"{where}: 'input_output' must be a mapping with 'inputs' and 'outputs'")
    inputs, outputs = io.get("inputs"), io.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs or len(inputs) != len(outputs):
        raise RowFormatError(f"{where}: 'input_output' needs non-empty lists 'inputs' and 'outputs' of equal length")
    if io.get("fn_name"):
        if language != "python":
            raise RowFormatError(f"{where}: call-based tests ('fn_name') are Python only")
        return _call_based(io, where, unwrap_single=True, compare=compare)
    cases = tuple((_text(i, f"{where}: inputs[{j}]"), _text(o, f"{where}: outputs[{j}]"))
                  for j, (i, o) in enumerate(zip(inputs, outputs)))
    return Tests(language, cases=cases, compare=compare)


def _assert_style(code, entry_point, where: str, prompt=None) -> Tests:
    if not isinstance(code, str) or not code.strip():
        raise RowFormatError(f"{where}: 'test_code' must be non-empty text")
    if entry_point is not None and (not isinstance(entry_point, str) or not entry_point.isidentifier()):
        raise RowFormatError(f"{where}: 'entry_point' must be the name of the program's function, got {entry_point!r}")
    try:
        ast.parse(code)
    except (SyntaxError, ValueError) as err:
        raise RowFormatError(f"{where}: 'test_code' is not valid Python: {err}") from None
    if prompt is not None and not isinstance(prompt, str):
        raise RowFormatError(f"{where}: 'prompt' must be the Python text the program completes, got {_short(prompt)}")
    return Tests("python", test_code=code, entry_point=entry_point, prompt=prompt or None)


def _call_based(info: Mapping, where: str, unwrap_single: bool, compare: str) -> Tests:
    name, inputs, outputs = info["fn_name"], info.get("inputs"), info.get("outputs")
    if not isinstance(name, str) or not name.isidentifier():
        raise RowFormatError(f"{where}: 'fn_name' must be a Python identifier, got {name!r}")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs or len(inputs) != len(outputs):
        raise RowFormatError(f"{where}: call-based tests need non-empty lists 'inputs' and 'outputs' of equal length")
    for j, args in enumerate(inputs):
        if not isinstance(args, list):
            raise RowFormatError(f"{where}: inputs[{j}] must be the list of arguments, got {_short(args)}")
    try:
        expected = tuple(_checks.normalise(o) for o in outputs)
    except (TypeError, ValueError) as err:
        raise RowFormatError(f"{where}: an expected output cannot be compared ({err})") from None
    return Tests("python", fn_name=name, inputs=tuple(inputs), outputs=expected, unwrap_single=unwrap_single,
                 compare=compare)


def _short(value, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# -- output comparison: the one rule, rewards.code.compare (outputs_match, number) ------------------
