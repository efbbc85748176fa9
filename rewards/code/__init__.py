"""Code-execution rewards: run a completion's program against a row's tests in a sandbox.

One job per module:

- ``languages``: the languages a program can be written in (a registry: toolchain, compile, run);
- ``rows``: a dataset row's tests (stdin/stdout, call-based, assert-style) and output comparison;
- ``compare``: the one comparison rule (outputs: lines, tokens; values), every path uses it;
- ``outcomes``: the outcomes of a completion and their scores (``None`` only for faults of the row or jury);
- ``extract``: the program of a completion (its last fenced block);
- ``_checks``: the parent's side of the call-based harness (signed reports read back);
- ``_harness``: the script that loads a program in the sandbox for call-based tests;
- ``split``, ``_program``, ``_testside``, ``_testplan``, ``_testpure``, ``_testcases``, ``_testexec``, ``_wire``:
  assert-style tests, run split;
- ``sandbox``: one bounded, isolated run on this machine (``_isolate``: namespaces, new root and
  privileges in the child; ``_bounds``: memory, process and time limits on a whole run);
- ``sandbox_check``: attacks run against the sandbox (``grpo-ext rewards check-sandbox``);
- ``backends``: where programs run (this machine, or a sandbox service over HTTP);
- ``reward``: ``CodeExecution`` and the registered ``code_execution`` / ``code_execution_binary``.
- ``judge_rows``, ``judge_datasets``, ``checkers``, ``judge``: judged problems (a checker, an interactor, subtasks, a
  grader): their rows, the verdicts and checker library, and running them (docs/judges.md).

The design, the verdict specification, the threat model and measured costs are in docs/code.md.
"""

from .reward import (
    HARNESS,
    OUTCOMES,
    CodeExecution,
    CodeExecutionBinary,
    CodeExecutionShare,
    RowFormatError,
    Tests,
    _call_passes,
    _harness_outcome,
    extract_code,
    outputs_match,
    parse_tests,
)
from .backends import BACKENDS, Backend, LocalBackend, Prepared, Run
from .languages import CompileLimits, Language, fence_tags, get_language

__all__ = ["BACKENDS", "HARNESS", "OUTCOMES", "Backend", "CodeExecution", "CodeExecutionBinary", "CodeExecutionShare",
           "CompileLimits", "Language", "LocalBackend", "Prepared", "RowFormatError", "Run", "Tests", "extract_code",
           "fence_tags", "get_language", "outputs_match", "parse_tests"]
