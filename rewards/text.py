"""Helpers shared by rewards: the text of a completion, plain or conversational."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _content(content) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def completion_text(completion) -> str:
    """A completion's text: a string as is, or the model's own messages of a conversation, joined.

    TRL passes conversational completions as ``[{"role": "assistant", "content": "..."}]``;
    content may itself be a list of parts (``{"type": "text", "text": "..."}``). Only the model's
    own messages count, all of them (an answer split across two messages is read as one text): a
    message with another role (a tool's result, a user turn) is never read as the model's answer;
    a conversation with no model message has no text. Anything else (a number, an object) is
    no text either: it is logged and read as ``""``, so it scores as an empty answer and never
    makes a reward raise for the whole batch.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)) and completion:
        own = [m for m in completion if not isinstance(m, dict) or m.get("role", "assistant") == "assistant"]
        if not own:
            return ""
        return "\n\n".join(_content(m.get("content", "") if isinstance(m, dict) else m) for m in own)
    if completion is None or completion == []:
        return ""
    logger.warning("a completion of type %s holds no text: read as empty", type(completion).__name__)
    return ""
