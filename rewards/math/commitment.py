r"""What makes an answer statement a commitment: the structure around it, not lists of words.

Used by ``rewards.math.extraction`` (see docs/math.md, "What commits"):

- ``strip_hidden``: struck-out and hidden content (``~~...~~``, ``<s>``, ``<del>``, ``\xcancel``,
  ``\sout``, ``\phantom``, markdown comments, HTML hidden by ``hidden`` / ``display:none`` /
  ``visibility:hidden`` / ``opacity:0`` / ``font-size:0``, white text) goes with its content;
- ``box_reading``: a box stands alone in its math span (text or a left side ending in ``=``
  before it, punctuation after it), or else the whole span, box unwrapped, is the answer
  (``x = -\boxed{5}`` is ``x = -5``);
- ``denied_before``: a negation or exclusion in the clause leading to the answer;
- ``word_after``: a value-changing word right after the answer (``\boxed{5} million``), or a
  percent (``\boxed{25} percent``);
- ``values_after``: every value stated after the final answer, which the comparison then
  requires to be the answer's own value (``\boxed{5} (6 is also plausible)`` has no answer).

All are linear scans of bounded windows of the text.
"""

from __future__ import annotations

import re

from .claims import bound_after, hedged_after, hedged_before, revised_after
from .normalise import REFUSAL_WORDS, drop_command, match_brace

MAX_VALUES_AFTER = 20  # more values than this after the final answer: it is not the end of the text
WINDOW = 300  # characters of context examined on each side of an answer statement

# ---- struck-out and hidden content -------------------------------------------------------------

_STRUCK = re.compile(r"~~.*?~~|<(s|strike|del)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_MD_COMMENT = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*$", re.M)  # [//]: # (...): never rendered
_HIDING_STYLE = re.compile(r"\bhidden\b|display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0*\.?0*\s*[;\"'>]"
                           r"|font-size\s*:\s*0*\.?0*(?:px|em|pt|rem|%)?\s*[;\"'>]|color\s*:\s*(?:white|transparent|"
                           r"#fff\b|#ffffff\b)", re.I)
_OPEN_TAG = re.compile(r"<([A-Za-z][\w-]*)\b([^<>]*)>")
_STRIKE_COMMANDS = ("cancel", "bcancel", "xcancel", "sout", "st", "strikeout", "phantom", "hphantom", "vphantom")
_WHITE_TEXT = re.compile(r"\\textcolor\s*\{\s*(?:white|transparent)\s*\}|\\color\s*\{\s*(?:white|transparent)\s*\}", re.I)


def _drop_hidden_elements(text: str) -> str:
    """HTML elements whose attributes hide them go with their content (nested tags of the same
    name counted; an unclosed one hides the rest of the text)."""
    out, pos = [], 0
    for m in _OPEN_TAG.finditer(text):
        if m.start() < pos or not _HIDING_STYLE.search(m.group(2)):
            continue
        out.append(text[pos:m.start()])
        tag, depth, i = m.group(1).lower(), 1, m.end()
        for t in re.finditer(rf"<(/?){re.escape(tag)}\b[^<>]*>", text[m.end():], re.I):
            depth += -1 if t.group(1) else 1
            if depth == 0:
                i = m.end() + t.end()
                break
        else:
            i = len(text)
        pos = i
    out.append(text[pos:])
    return "".join(out)


def _drop_white_text(text: str) -> str:
    r"""``\textcolor{white}{X}`` goes with X; ``\color{white}`` hides the rest of its group."""
    while (m := _WHITE_TEXT.search(text)) is not None:
        if m.group(0).startswith("\\textcolor"):
            brace = re.match(r"\s*\{", text[m.end():])
            end = match_brace(text, m.end() + brace.end() - 1) if brace else -1
            text = text[:m.start()] + (text[end:] if end > 0 else "")
            continue
        depth, i = 0, m.end()
        while i < len(text) and not (depth == 0 and text[i] in "$\n") and depth >= 0:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        text = text[:m.start()] + text[i - (1 if depth < 0 else 0):]
    return text


_COMMENT = re.compile(r"(?<![\\\d])%.*$", re.M)  # every unescaped % not right after a digit (50% is a percent)
_HIDDEN = re.compile(r"\\iffalse\b.*?\\fi\b|\\begin\{comment\}.*?\\end\{comment\}|<!--.*?-->|```.*?```", re.S)


def strip_comments(text: str) -> str:
    """Text no reader sees as the answer: LaTeX comments (every ``%`` not escaped and not right
    after a digit, to the end of the line: ``50%`` and ``\\%`` are percents), ``\\iffalse ... \\fi``,
    ``comment`` environments, HTML comments and fenced code blocks."""
    return _COMMENT.sub("", _HIDDEN.sub(" ", text))


def strip_hidden(text: str) -> str:
    """The text without what a reader does not see or sees struck out."""
    text = _MD_COMMENT.sub("", _STRUCK.sub(" ", text))
    text = _drop_white_text(_drop_hidden_elements(text))
    for cmd in _STRIKE_COMMANDS:
        text = re.sub(rf"\\{cmd}\s+\{{", rf"\\{cmd}{{", text)
        text = drop_command(text, cmd)
    return text


# ---- a box alone in its math span ----------------------------------------------------------------

_DELIMS = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]|\\begin\{(?:align|equation|gather|eqnarray|multline)\*?\}"
                     r"|\\end\{(?:align|equation|gather|eqnarray|multline)\*?\}")
_CLOSERS = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
# the math around a box written outside delimiters: commands, numbers, operators, single letters
_RUN = r"(?:\\[A-Za-z]+|\\[{}|%]|\d+(?:\.\d+)?|[{}()\[\]^_+\-*/=<>!|'&]|(?<![A-Za-z])[A-Za-z](?![A-Za-z])|[ \t])*"
_RUN_BEFORE = re.compile(_RUN + r"$")
_RUN_AFTER = re.compile(_RUN)
_TEXT_GROUP = re.compile(r"\\(?:text|mathrm|textbf|mbox|textit|textrm|operatorname)\s*\{[^{}]*\}")
_SPACING = re.compile(r"\\[,;:! ]|\\q?quad\b|\\(?:displaystyle|textstyle|left\.|right\.)|&|\s")
_COMMITS_BEFORE = re.compile(r"(?:(?<![<>!:\\=])=|\\Rightarrow|\\implies|\\therefore|\\iff|\\to|\\longrightarrow|:)$")
_PUNCTUATION = re.compile(r"[.,;:?]*")


def _span_around(text: str, start: int, end: int) -> tuple[int, int, int] | None:
    """(inner start, inner end, end) of the math span holding text[start:end], or None."""
    open_tok, open_end = None, 0
    for m in _DELIMS.finditer(text, max(0, start - 5000), min(len(text), end + 5000)):
        tok = m.group(0)
        if open_tok is None:
            if tok in _CLOSERS or tok.startswith("\\begin"):
                open_tok, open_end = tok, m.end()
            continue
        closes = tok == _CLOSERS.get(open_tok) or (open_tok.startswith("\\begin") and tok.startswith("\\end"))
        if closes:
            if open_end <= start and m.start() >= end:
                return open_end, m.start(), m.end()
            if open_end > end:
                return None
            open_tok = None
    return None


def _balanced(s: str) -> bool:
    depth = 0
    for c in re.sub(r"\\[{}]", "", s):
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _context(text: str, start: int, end: int) -> tuple[str, str, int]:
    """(the math before the box, the math after it, where that math ends): in its span, or the
    run of math around it."""
    span = _span_around(text, start, end)
    if span is not None:
        before, after = text[max(span[0], start - WINDOW):start], text[end:min(span[1], end + WINDOW)]
        before, after = re.split(r"\\\\", before)[-1], re.split(r"\\\\", after)[0]  # one row of an align
        return before, after, span[2]
    line_start = max(text.rfind("\n", 0, start) + 1, start - WINDOW)
    before = _RUN_BEFORE.search(text[line_start:start])
    after = _RUN_AFTER.match(text[end:end + WINDOW])
    b, a = (before.group(0) if before else ""), (after.group(0) if after else "")
    b = re.sub(r"^\s*(?:[A-Za-z]\s+)+(?![=<>])", "", b)  # "a \\boxed{5}", "I \\boxed": one-letter words, not math
    return b, a, end + len(a)


def _alone(before: str, after: str) -> bool:
    """Nothing but text or a left side ending in ``=`` before, nothing but punctuation after."""
    b = _SPACING.sub("", _TEXT_GROUP.sub("", before))
    a = _SPACING.sub("", re.sub(r"\\text\s*\{[\s.,;:]*\}", "", after))
    return (not b or (_balanced(b) and bool(_COMMITS_BEFORE.search(b)))) and bool(_PUNCTUATION.fullmatch(a))


def stands_alone(text: str, start: int, end: int) -> bool:
    """The box text[start:end] has nothing around it in its math span but text, a left side ending
    in ``=``, and punctuation."""
    before, after, _ = _context(text, start, end)
    return _alone(before, after)


def box_reading(text: str, start: int, end: int, content: str) -> tuple[str | None, int, bool]:
    """(the answer, where its math ends, whether the box stands alone): the box's content when the box stands alone in its math
    span; else the whole span with the box unwrapped (``x = -\\boxed{5}`` -> ``x = -{5}``), or None
    when digits are glued to the box or the span is not balanced."""
    before, after, stop = _context(text, start, end)
    if _alone(before, after):
        return content, stop, True
    if re.search(r"\d\s*$", before) or re.match(r"\s*\d", after):
        return None, stop, False  # "\boxed{5}0", "1\boxed{5}": digits glued to the box, no one number
    lead = _TEXT_GROUP.sub("", before).lstrip()
    whole = f"{lead}{{{content}}}{after}".strip()
    return (whole if _balanced(whole) else None), stop, False


# ---- words before and after ------------------------------------------------------------------

_CLAUSE_BREAK = re.compile(r"[;:,\n]|\.(?!\d)|[!?]|\b(?:so|thus|hence|therefore|that|and)\b", re.I)
_DENIAL = re.compile(r"\b(?:not|no|never|cannot|can't|(?:anything|all|nothing|everything)\s+but|except\w*|other than|rather than|instead of|without|nor|"
                     r"neither|unless|besides|exclud\w*|far from|hardly|wrong|incorrect\w*|false)\b|n't\b", re.I)


_WITHDRAWAL = re.compile(r"\b(?:take (?:that|it|this|back)\b|withdraw\w*|retract\w*|scratch|ignore|disregard|cancel\w*|undo|"
                         r"strike|unsure|uncertain|doubt\w*|guess\w*|hmm+|wait|oops|reconsider\w*|second thoughts?|"
                         r"mistak\w*|err(?:or|ed)?|typo|misread|unless|otherwise|alternatively|perhaps|maybe|possibly|"
                         r"probably|plausibl\w*|likely|could|might)\b", re.I)


def withdrawn_after(tail: str) -> bool:
    """After the final answer, nothing may negate, doubt or withdraw: "\\boxed{5}. I take that back.",
    "\\boxed{5}. Hmm, not so sure." (a negation or a word of doubt in the text that follows it)."""
    window = tail[:WINDOW]
    return bool(_DENIAL.search(window) or _WITHDRAWAL.search(window) or revised_after(window)
                or hedged_after(window) or bound_after(window))


# words right before the answer that make it a bound, an estimate or a relation, not the value
_NOT_EXACT = re.compile(r"(?:\b(?:at (?:least|most)|(?:more|less|fewer|greater|smaller|larger|bigger|higher|lower) than|"
                        r"up to|as (?:much|many|few|little) as|upwards of|in excess of|over|under|below|above|beyond|"
                        r"exceed\w*|within|minimum|maximum|min|max|approx\w*|about|around|roughly|nearly|almost|close to|"
                        r"near|circa|ca|some|like|on the order of|multiple of|divisible by|divisor of|factor of|power of|"
                        r"differ\w*(?: from)?|different from|distinct from|unequal to|bounded by|between|estimated?|"
                        r"ballpark|or so)\b|~|[<>]|\\(?:ge|geq|geqslant|le|leq|leqslant|approx|sim|simeq|cong|ne|neq|gtrsim|lesssim|"
                        r"ll|gg|propto|not\S*)(?![A-Za-z]))\s*(?:equal to|equals|of|:)?\s*$", re.I)
# a clause that supposes the value, a sentence that guesses it
_SUPPOSED = re.compile(r"\b(?:suppos\w*|assum\w*|let's say|let us say|imagine|pretend|hypothe\w*|"
                       r"if (?:the answer|it|this|that|the result) (?:is|were|was|be))\b", re.I)
_GUESSED = re.compile(r"\b(?:guess\w*|hunch|conjectur\w*|tentative\w*|provisional\w*|estimat\w*|my bet|"
                      r"ballpark)\b", re.I)
# words of doubt in the clause of the answer ("the answer is also possibly \\boxed{6}")
_DOUBTED = re.compile(r"\b(?:perhaps|maybe|possibly|probably|presumably|likely|alternatively|conceivably)\b", re.I)
_CONDITION = re.compile(r"\b(?:if|when|whenever|in case|otherwise|else|for (?:odd|even|positive|negative))\b", re.I)
_CONTRAST = re.compile(r"\b(?:but|however|yet|instead|actually|though|although|whereas)\b", re.I)
_SENTENCE_BREAK = re.compile(r"\.(?!\d)|[!?\n]")


def denied_before(text: str, start: int) -> bool:
    """The answer at text[start] is not a claim of the value: a negation or exclusion ("cannot be
    \\boxed{5}"), a bound, estimate or relation ("at least \\boxed{5}", "approximately
    \\boxed{5}", "a multiple of \\boxed{5}") in the clause that leads to it, or a supposition or
    guess ("Suppose the answer is \\boxed{5}", "My guess: \\boxed{5}"), a hedge or a bound noun
    ("It might be \\boxed{5}", "A lower bound is \\boxed{5}": ``claims.hedged_before``) in its sentence."""
    window = re.sub(r"\$|\\[()\[\]]", " ", text[max(0, start - WINDOW):start])
    breaks = list(_CLAUSE_BREAK.finditer(window))
    clause = window[breaks[-1].end():] if breaks else window
    sentences = list(_SENTENCE_BREAK.finditer(window))
    sentence = window[sentences[-1].end():] if sentences else window
    return bool(_DENIAL.search(clause) or _NOT_EXACT.search(clause) or _SUPPOSED.search(clause)
                or _unanswered(_GUESSED, sentence) or _unanswered(_DOUBTED, sentence)
                or hedged_before(clause, sentence, _unanswered))


def _unanswered(words: re.Pattern, sentence: str) -> bool:
    """A guess or doubt in the sentence that no "but", "however", "actually" ... answers after it:
    "My guess: \\boxed{5}", not "My guess was 4, but checking gives \\boxed{5}"."""
    found = list(words.finditer(sentence))
    return bool(found) and not _CONTRAST.search(sentence, found[-1].end())


def conditional(text: str, start: int) -> bool:
    """The sentence leading to text[start] states a condition ("if n is odd, \\boxed{6}"): two boxes
    of different values under conditions are answers by cases, a hedge."""
    window = text[max(0, start - WINDOW):start]
    sentences = list(_SENTENCE_BREAK.finditer(window))
    return bool(_CONDITION.search(window[sentences[-1].end():] if sentences else window))


def questioned_after(text: str, end: int) -> bool:
    """The sentence holding the answer ending at text[end] is a question ("Is the answer
    \\boxed{5}?", "\\boxed{5}?"): a question proposes a value, it does not claim it."""
    m = _SENTENCE_BREAK.search(text, end, min(len(text), end + WINDOW))
    return bool(m and m.group(0) == "?")


_WORD_AFTER = re.compile(r"[ \t$]*(?:\\\)|\\\])?[ \t$]*(\\%|%|[A-Za-z]+(?:[ \t]+cent\b)?)")


def word_after(text: str, end: int) -> str:
    """``"percent"`` when a percent follows the answer, ``"value"`` when a word that changes its
    value does (``\\boxed{5} million``, ``\\boxed{5} factorial``), else ``""``."""
    m = _WORD_AFTER.match(text, end)
    if not m:
        return ""
    word = m.group(1).lower()
    if word in ("\\%", "%", "percent", "per cent", "pct"):
        return "percent"
    if RESTATED.match(text, m.start(1)):
        return ""  # "\\boxed{5} is the answer.": the answer named as what it is
    return "value" if word in REFUSAL_WORDS else ""


# the answer named as what it is, to the end of its sentence: "\\boxed{5} is the only solution."
_NAMES = r"only|unique|final|required|desired|correct|exact|minimum|maximum|least|greatest|smallest|largest|total|possible"
RESTATED = re.compile(r"(?:is|are)\s+(?:the|our|my)\s+(?:(?:" + _NAMES + r")\s+)*(?:solution|answer|value|result|root|"
                      r"number|total|sum|count|area|length|probability|" + _NAMES + r")s?\s*(?:[.!]|$)", re.I)


_TAIL_SPAN = re.compile(r"\$\$?([^$]{1,500})\$\$?|\\\((.{1,500}?)\\\)|\\\[(.{1,500}?)\\\]", re.S)
_NUM = r"-?\d+(?:[.,]\d+)*"
_TAIL_NUMBER = re.compile(r"(?<![A-Za-z\d.^_\\])" + _NUM + r"(?:\s*[-+*/=^]\s*" + _NUM + r")*(?:\\?%)?(?![A-Za-z\d])|(?<![A-Za-z])(?:two|three|four|five|six|"
                          r"seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|zero)(?![A-Za-z])",
                          re.I)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S)


def values_after(tail: str) -> list[str] | None:
    """Every value the text after the final answer states: math spans that hold a digit, other
    ``<answer>`` contents, bare numbers and number words. None: more than MAX_VALUES_AFTER."""
    from .normalise import number_words

    found: list[str] = []
    rest = _ANSWER_TAG.sub(lambda m: found.append(m.group(1)) or " ", tail)
    rest = re.sub(r"\\(?:boxed|fbox)\s*\{", "{", rest)

    def span(m: re.Match) -> str:
        inner = next(g for g in m.groups() if g is not None)
        if re.search(r"\d", inner):
            found.append(inner)
        return " "

    rest = _TAIL_SPAN.sub(span, rest)
    for m in _TAIL_NUMBER.finditer(rest):
        word = m.group(0)
        found.append(str(number_words(word)) if word[-1].isalpha() else word)
        if len(found) > MAX_VALUES_AFTER:
            return None
    return found if len(found) <= MAX_VALUES_AFTER else None


def answers_outside_think(text: str) -> list[str]:
    """``<answer>`` blocks written before the last ``</think>`` but outside every think block:
    committed answers too (``<answer>5</answer><think>x</think><answer>6</answer>`` states 5 and 6)."""
    close = text.rfind("</think>")
    if close < 0:
        return []
    head = re.sub(r"<think>.*?</think>", " ", text[:close + len("</think>")], flags=re.S)
    return [m.group(1) for m in _ANSWER_TAG.finditer(strip_hidden(head))]
