"""Helpers shared by rewards: the text of a completion, plain or conversational."""

from __future__ import annotations


def completion_text(completion) -> str:
    """A completion's text: a string as is, or the content of the last message the model wrote.

    TRL passes conversational completions as ``[{"role": "assistant", "content": "..."}]``;
    content may itself be a list of parts (``{"type": "text", "text": "..."}``). Only the model's
    own messages count: a message with another role (a tool's result, a user turn) is never read
    as the model's answer; a conversation with no model message has no text.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        own = [m for m in completion if not isinstance(m, dict) or m.get("role", "assistant") == "assistant"]
        if not own:
            return ""
        content = own[-1].get("content", "") if isinstance(own[-1], dict) else own[-1]
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content or "")
    if completion is None or completion == []:
        return ""
    raise TypeError(f"cannot read the text of a completion of type {type(completion).__name__}")
