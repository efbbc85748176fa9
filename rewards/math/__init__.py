r"""Math answers: extraction from a completion and equivalence checking with sympy.

One job per module:

- ``extraction``: where the answer is (``<answer>`` tags, ``\boxed{}``, ``####``, "answer is", the
  last number) and the gold solution's answer part;
- ``normalise``: answer text clean-up, no sympy;
- ``parse`` (with ``parse_forms``: functions, integrals, matrices): a recursive-descent parser
  from answer text to sympy objects (never ``sympify`` or ``eval`` on model text);
- ``objects``: what the parser produces (sequences, equations, relations, matrices, percentages)
  and arithmetic that refuses oversized work;
- ``compare``: the equivalence rules; ``sets``: the sets that intervals and inequalities describe;
- ``reward``: ``verify``, ``score``, ``explain`` (each check in a warm worker process under a hard
  limit of its own time; a time-out is reported, not scored as wrong) and the registered
  ``math_accuracy``.
"""

from .extraction import extract_answer, gold_answer
from .reward import DEFAULT_TIMEOUT, MAX_ANSWER_CHARS, Check, MathAccuracy, _check, explain, score, verify

__all__ = ["DEFAULT_TIMEOUT", "MAX_ANSWER_CHARS", "Check", "MathAccuracy", "explain", "extract_answer", "gold_answer",
           "score", "verify", "_check"]
