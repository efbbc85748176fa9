"""The program of a completion: the last fenced code block tagged for the row's language (its name
or an alias, see :mod:`rewards.code.languages`); when no block is tagged for it, the last untagged
block (an untagged "example output" block after a tagged program is not the program).

Fences follow CommonMark's rule: a block opens with a line that starts with three or more backticks
or three or more tildes (``~~~python``; up to three spaces of indentation) and a tag, and closes only
at a line that starts (same indentation allowance) with at least as many of the same character and
holds nothing else but spaces (a ``~~~`` line is text inside a backtick block, and the reverse). A run of
backticks inside a line (``x = 1  # ```not a fence``` ``) is text of the block, and a fence that does
not start its line opens nothing. A block never closed is no block (a completion cut off inside
its program has no program: ``no_code``), unlike CommonMark, which runs it to the end of the text.
Lines end as CommonMark's do, at ``\n``, ``\r\n`` or ``\r``; the program's lines end at ``\n``."""

from __future__ import annotations

import re

from .languages import Language, fence_tags, get_language

_OPEN = re.compile(r" {0,3}(?:(`{3,})([^`\s]*)[^`]*|(~{3,})(\S*).*)")  # the opening line: fence, tag, the rest
_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_LINE_END = re.compile(r"\r\n|\r|\n")  # CommonMark's line endings (a chat client may send CRLF)


def blocks(text: str) -> list[tuple[str, str]]:
    """``(tag, body)`` of every fenced block of ``text``, in order (the rule above)."""
    out, lines, i = [], _LINE_END.split(text), 0
    while i < len(lines):
        opening = _OPEN.fullmatch(lines[i])
        i += 1
        if opening is None:
            continue
        fence, tag, body = opening.group(1) or opening.group(3), opening.group(2) or opening.group(4) or "", []
        while i < len(lines):
            closing = _CLOSE.fullmatch(lines[i])
            i += 1
            if closing is not None and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                out.append((tag, "".join(line + "\n" for line in body)))
                break
            body.append(lines[i - 1])
    return out


def extract_code(text: str, language: str | Language = "python") -> str | None:
    """The last fenced block tagged for ``language`` (a name or an alias), else the last untagged one, or None."""
    tags = fence_tags(language if isinstance(language, Language) else get_language(language))
    found = blocks(text)
    tagged = [body for tag, body in found if tag and tag.lower() in tags]
    untagged = [body for tag, body in found if tag == ""]
    return (tagged or untagged or [None])[-1]


def encodable(code: str) -> bool:
    """Whether the program can be written as UTF-8 (a lone surrogate such as ``\\ud800`` cannot:
    such a program does not compile)."""
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
