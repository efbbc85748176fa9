"""The program of a completion: the last fenced code block tagged for the row's language (its name
or an alias, see :mod:`rewards.code.languages`) or untagged."""

from __future__ import annotations

import re

from .languages import Language, fence_tags, get_language

_FENCE = re.compile(r"```([A-Za-z0-9_+#-]*)[^\n]*\n(.*?)```", re.S)


def extract_code(text: str, language: str | Language = "python") -> str | None:
    """The last fenced block tagged for ``language`` (a name, an alias, or untagged), or None."""
    tags = fence_tags(language if isinstance(language, Language) else get_language(language))
    blocks = [body for tag, body in _FENCE.findall(text) if tag.lower() in tags or tag == ""]
    return blocks[-1] if blocks else None


def encodable(code: str) -> bool:
    """Whether the program can be written as UTF-8 (a lone surrogate such as ``\\ud800`` cannot:
    such a program does not compile)."""
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
