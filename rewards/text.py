"""Helpers shared by rewards: the text of a completion, plain or conversational."""

from __future__ import annotations


def completion_text(completion) -> str:
    """A completion's text: a string as is, or the content of the last message of a message list.

    TRL passes conversational completions as ``[{"role": "assistant", "content": "..."}]``;
    content may itself be a list of parts (``{"type": "text", "text": "..."}``).
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        content = completion[-1].get("content", "") if isinstance(completion[-1], dict) else completion[-1]
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content or "")
    if completion is None or completion == []:
        return ""
    raise TypeError(f"cannot read the text of a completion of type {type(completion).__name__}")
