r"""Where a completion's answer is: the text it commits to, before any parsing.

``extract_answer(text)`` finds the answer a completion commits to, in priority order:

1. ``<answer>`` tags (inside them, the rules below apply to their content);
2. ``\boxed{}`` / ``\fbox{}``: the *last committed* box. A box revised later ("we try
   \boxed{3}, but that is wrong; the answer is \boxed{5}") is replaced by the later one: revising
   is not hedging. A hedge is several alternatives offered together as the final answer: boxes
   joined only by commas, "or", "and", "maybe", "perhaps", "either" ("\boxed{3} or \boxed{4}",
   "\boxed{3}. Or maybe \boxed{4}.") form one group, read as a list ("3, 4") that only a gold
   list or set of the same size can match. Boxes that say the same thing count once.
   ``all_boxes=True`` gives every distinct box as a list instead (a multi-part problem whose gold
   has several boxes);
3. ``####`` (GSM8K), to the end of its line;
4. the last "answer is" / "answer:" / "answer =", also in bold (``**Answer:** 5``), to the end
   of its sentence (so Minerva's ``Final Answer: The final answer is $7.78$. I hope it is
   correct.`` gives ``$7.78$``);
5. otherwise the last sentence's math: its ``$...$`` / ``\(...\)`` spans when they are joined only
   by "and", "or" and commas (several spans are several answers, a hedge as in 2.), else the last
   math span, bare expression or bracketed answer in the text (``\frac{10}{9}``, ``4 4/9``,
   ``\sqrt{3}/2``, ``7,425,000``, ``2,5``, ``.4``, ``[45 degrees]``), never digits glued to a
   word (``AZYUK2A``).

Text inside ``<think>`` never counts; an unclosed ``<think>`` means no answer yet. A doubled
backslash before a letter (``\\frac``, from JSON-escaped data) is read as one, in completions and
golds. ``gold_answer(gold)`` cuts a gold solution to its answer: its boxes (several boxes are a
list), its ``####`` part, what follows its last "answer is" (a gold written as a sentence), or
all of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .commitment import (RESTATED, answers_outside_think, box_reading, conditional, denied_before, questioned_after,
                         stands_alone, strip_comments, strip_hidden, values_after, withdrawn_after, word_after)
from .claims import fold_text, hedged_after, retracted, revised_after  # noqa: F401  (retracted: used by reward.py)
from .normalise import match_brace

_ANSWER_MARK = re.compile(r"answer\s*(?:\*\*|__)?\s*(?:is\b|:|=)\s*:?\s*(?:\*\*|__)?\s*", re.I)  # **Answer:** 5
_SENTENCE = re.compile(r"(?:[^\n.]|\.(?=\S))+")
_MATH_SPAN = re.compile(r"\$\$?([^$]{1,500})\$\$?|\\\((.{1,500}?)\\\)|\\\[(.{1,500}?)\\\]", re.S)
_SHORT_BOXED = re.compile(r"\\boxed\s+([^\s$]+)")
_ESCAPED = re.compile(r"(?<!\\)\\\\(?=[A-Za-z])")
_JOINER = re.compile(r"\s*(?:,|;|,?\s*\band\b|,?\s*\bor\b)?\s*", re.I)
# what may stand between boxes offered together: connectives, hedging words, punctuation, math delimiters
_HEDGE_GAP = re.compile(r"(?:[\s,;.:!?$]|\\[()\[\]]|\b(?:or|and|maybe|perhaps|possibly|either|else|alternatively)\b)*", re.I)
# a bare expression: LaTeX commands, numbers, operators, brackets and lone letters, with spaces between
# numbers: 7,425,000 and 1,000.99 (thousands), 2,5 (a decimal comma), .4, 3.25
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+,\d{1,2}(?![\d,])|\d+(?:\.\d+)?|(?<![\d.])\.\d+"
_EXPR = re.compile(r"(?:\\[A-Za-z]+|" + _NUMBER + r"|[{}()\[\]^_+\-*/=!|<>]|(?<![A-Za-z])[A-Za-z](?![A-Za-z])"
                   r"|\s(?=[\\\d{}()\[\]^_+\-*/=|<>]|[A-Za-z](?![A-Za-z])))+")


_BRACKETED = re.compile(r"\[\s*-?[\d.][^\[\]\n]{0,40}\]")  # [45 degrees]: a number and its words in brackets


def unescape(text: str) -> str:
    r"""``\\frac`` -> ``\frac``: a doubled backslash before a letter (JSON-escaped data); a row
    break ``\\`` before a space or a digit stays. Invisible characters, look-alike letters and
    Unicode relations are folded (``claims.fold_text``)."""
    return fold_text(_ESCAPED.sub(r"\\", text))


def _strip_think(text: str) -> str | None:
    close = text.rfind("</think>")
    if close >= 0:
        after = text[close + len("</think>") :]
        return None if "<think>" in after else after  # a second <think>, still open: no answer yet
    if "<think>" in text:
        return None  # still thinking: nothing has been committed to
    return text


_BOX_START = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BOX_BRACE = re.compile(r"[ \t]*\{")


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, contents) of every ``\\boxed{}`` / ``\\fbox{}`` (and ``\\boxed 5``), in order;
    one pass over the text (no search restarts from each box)."""
    out, pos = [], 0
    for m in _BOX_START.finditer(text):
        i = m.start()
        if i < pos:
            continue
        brace = _BOX_BRACE.match(text, m.end())
        if brace:
            end = match_brace(text, brace.end() - 1)
            if end < 0:
                return out
            out.append((i, end, text[brace.end() : end - 1]))
            pos = end
            continue
        short = _SHORT_BOXED.match(text, i)
        if short:
            out.append((i, short.end(), short.group(1)))
            pos = short.end()
    return out


def squash(text: str) -> str:
    """Text without its spaces: boxes that differ only in spacing are the same box (whether two
    different texts say the same value is the comparison's business, never the text's)."""
    return re.sub(r"\s", "", text)


# a last sentence that does not commit: a refusal or a guess
_REFUSAL = re.compile(r"\b(?:(?:cannot|can't|can not|could not|couldn't|unable to|not able to)\s+(?:solve|determine|"
                      r"find|answer|compute|figure|work|do)|don't know|do not know|not sure|unsure|no idea|give up|"
                      r"gave up|i'm stuck|i am stuck)\b", re.I)  # anywhere: the text refuses
_GUESS = re.compile(r"\b(?:maybe|perhaps|possibly|i guess|probably|not|never|no|nobody|none|doubt\w*|unlikely|impossible|"
                    r"false|reject\w*|disagree\w*|cannot be|can't be|can not be)\b"
                    r"|\bisn't\b|\bwon't\b|\baren't\b|\bwasn't\b|\bdoesn't\b|\?\s*$", re.I)  # in the last sentence: a guess or a denial
_GSM8K_MARK = re.compile(r"####[ \t]*(?=[-+$\\(\[.\d])")  # "#### 12"; never a heading "#### Final Answer"


def _states_value(sentence: str) -> bool:
    """An "answer is" after a box replaces it only when it states a value (a digit, LaTeX, a
    number in words): "I checked that the answer is correct" leaves the box standing."""
    from .normalise import number_words

    words = sentence.strip().rstrip(".!")
    return bool(re.search(r"\d|\\|\$", sentence)) or (re.fullmatch(r"[A-Za-z -]+", words) is not None
                                                      and number_words(words) is not None)


def _one_or_list(answers: list[str]) -> str | None:
    """One answer, or several different ones joined as a list (duplicates counted once)."""
    distinct, seen = [], set()
    for a in (a.strip() for a in answers):
        if a and squash(a) not in seen:
            seen.add(squash(a))
            distinct.append(a)
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else ", ".join(distinct)


# what makes a later box a revision of an earlier one rather than an alternative to it
_REVISION = re.compile(r"\b(?:wrong|incorrect|mistake|error|actually|instead|correct\w*|fix\w*|revis\w*|recheck\w*|"
                       r"re-check\w*|wait|oops|but|however|redo|recomput\w*|again|in fact|rather|therefore|thus|hence|"
                       r"so|final\w*|answer|total|then|next|now|step|part|giv\w*|get|gets|obtain\w*|result\w*|simplif\w*)\b",
                       re.I)
MAX_HEDGE_GAP = 80  # characters: a longer stretch of text between two boxes is work, not an "or"


def _offered_together(gap: str) -> bool:
    """Two boxes are offered together (a hedge) when the text between them is short and says
    nothing that revises: ``\\boxed{5} \\text{ or } \\boxed{6}``, ``(or \\boxed{6})``, ``/``, ``vs``,
    "if n is even ... if n is odd"."""
    seen = _INVISIBLE_GAP.sub("", gap)  # padding a reader does not see does not make a gap long
    return bool(_HEDGE_GAP.fullmatch(gap)) or (len(seen) <= MAX_HEDGE_GAP and not _REVISION.search(gap))


_INVISIBLE_GAP = re.compile(r"\s|\\[,;:! ]|\\q?quad\b|&nbsp;|[\u200b-\u200f\u2060\ufeff\u00a0\u3164\u2800]")
# an alternative named after the final answer, in any of these words, with a value beside it
_ALT_ANYWHERE = re.compile(r"\b(?:or|alternatively|otherwise|unless|also works|also valid|equally valid|both|too|though|"
                           r"if not|could (?:also )?be|might (?:also )?be|may (?:also )?be|another (?:possibility|option|"
                           r"answer|solution)|as well)\b", re.I)


def _alternative_after(rest: str) -> bool:
    """The text after the final answer offers another value ("\\boxed{5} (6 also works)", "The answer
    is 5. Or 6.", "<answer>5</answer> Hmm, could be 6 though.")."""
    window = rest[:200]
    return bool(_ALT_AFTER.match(window) or (_ALT_ANYWHERE.search(window) and re.search(r"\d|\\boxed", window)))


# an unboxed alternative beside the final box: "5 or \boxed{6}", "\boxed{5}, or 6", "Alternatively, 6."
_ALT_AFTER = re.compile(r"^[\s,;.:)$]*(?:\(?\s*(?:or|alternatively|otherwise)\b|(?:it\s+)?(?:could|might|may)\s+(?:also\s+)?be\b|"
                        r"another\s+(?:possibility|option|answer)|or\s+(?:maybe|possibly|perhaps)|\\text\{\s*\(?\s*or\b)",
                        re.I)
_ALT_BEFORE = re.compile(r"(?:[\d$*}]|\\\))\s*(?:\\text\{\s*or\s*\}|\bor\b|/|\\lor|\\vee)\s*\$?\s*$", re.I)


def _group(text: str, boxes: list[tuple[int, int, str]]) -> list[tuple[int, int, str]] | None:
    """The last group of boxes offered together, or None when an alternative stands beside it."""
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if not _offered_together(text[box[1] : group[0][0]]):
            break
        group.insert(0, box)
    after, before = text[group[-1][1] : group[-1][1] + 200], text[max(0, group[0][0] - 40) : group[0][0]]
    if _alternative_after(after) or _ALT_BEFORE.search(before):
        return None  # a box with an alternative beside it commits to neither
    return group


def _boxed(text: str, all_boxes: bool = False) -> str | None:
    """The last group of boxes offered together (see the module docstring), or every box."""
    boxes = _boxes(text)
    if all_boxes or not boxes:
        return _one_or_list([b[2] for b in boxes])
    group = _group(text, boxes)
    return None if group is None else _one_or_list([b[2] for b in group])


def _answer_is(text: str) -> str | None:
    found = _answer_is_at(text)
    return found[1] if found else None


def _answer_is_at(text: str) -> tuple[int, str] | None:
    """(where, the sentence after the last "answer is" / "answer:")."""
    last = None
    for last in _ANSWER_MARK.finditer(text):
        pass
    if last is None:
        return None
    m = _SENTENCE.match(text, last.end())
    return (last.start(), m.group(0).strip()) if m and m.group(0).strip() else None


def _after_hashes(text: str) -> tuple[int, str] | None:
    """GSM8K style: (where, the rest of the line after the last ``####`` that starts an answer)."""
    last = None
    for last in _GSM8K_MARK.finditer(text):
        pass
    if last is None:
        return None
    tail = text[last.end():].strip()
    return (last.start(), tail.splitlines()[0]) if tail else None


@dataclass(frozen=True)
class Extracted:
    """The answer a completion commits to (raw text, or None), and every value it states after
    that answer (each must be the answer's own value: docs/math.md, "What commits")."""

    answer: str | None
    after: tuple[str, ...] = ()


_NONE = Extracted(None)
_ANSWER_BLOCK = re.compile(r"<answer>(.*?)</answer>", re.S)
_GLUED_BEFORE = re.compile(r"(?:[-+*/^_{(|\\\d]|\\[A-Za-z]+)\s*$")  # "-<answer>5</answer>": math glued to the tag
_GLUED_AFTER = re.compile(r"\s*[\^_!{(\d]")


def extract_answer(text: str, all_boxes: bool = False) -> str | None:
    """The answer a completion commits to, as raw text, or None. ``all_boxes``: every distinct
    box as a list, not only the last group."""
    return extract(text, all_boxes).answer


def extract(text: str, all_boxes: bool = False) -> Extracted:
    """``extract_answer`` with the values stated after the answer (see ``Extracted``)."""
    text = unescape(text)
    body = _strip_think(text)
    if body is None:
        return _NONE
    found = _extract_body(body, all_boxes)
    earlier = answers_outside_think(text)
    if found.answer is None or not earlier:
        return found
    return Extracted(found.answer, tuple(earlier) + found.after)  # each must be the answer's own value


def _extract_body(body: str, all_boxes: bool) -> Extracted:
    body = strip_hidden(strip_comments(body))
    close = body.rfind("</answer>")
    open_ = body.rfind("<answer>", 0, close if close >= 0 else len(body))
    if open_ >= 0:
        return _tagged(body, open_, close, all_boxes)
    return _committed(body, all_boxes)


def _tagged(body: str, open_: int, close: int, all_boxes: bool) -> Extracted:
    """The last ``<answer>`` block: withdrawn, glued to math or denied -> nothing; every other
    ``<answer>`` block and every value after it must say the same."""
    inner = body[open_ + len("<answer>") : close if close > open_ else len(body)]
    tail = body[close + len("</answer>"):] if close > open_ else ""
    if retracted(tail) or withdrawn_after(tail) or _alternative_after(tail) or denied_before(body, open_) \
            or questioned_after(tail, 0) \
            or _GLUED_BEFORE.search(body[max(0, open_ - 40):open_]) or _GLUED_AFTER.match(tail):
        return _NONE  # "<answer>5</answer> No, that is wrong.", "-<answer>5</answer>"
    others = [m.group(1) for m in _ANSWER_BLOCK.finditer(body[:open_])]
    after = values_after(tail)
    answer = (_boxed(inner, all_boxes) or _answer_is(inner) or inner).strip() or None
    if after is None or answer is None:
        return _NONE
    return Extracted(answer, tuple(others + after))


def _committed(body: str, all_boxes: bool) -> Extracted:
    """The last statement of an answer (a box, ``####``, "answer is"), unless the text after it
    withdraws it or states another value, or the clause before it denies it; without one, the
    last sentence's math, unless that sentence is a refusal or a guess."""
    boxes = _boxes(body)
    marks = [m for m in (_after_hashes(body), _answer_is_at(body)) if m]
    later = [m for m in marks if not boxes or m[0] > boxes[-1][1] and _states_value(m[1])]
    if later:  # "\boxed{5}. Wait, 5 is wrong. The answer is 6.": the later statement counts
        where, found = max(later)
        rest = body[where:]
        end = rest.find(found)
        tail = rest[end + len(found):]
        after = values_after(tail)
        if retracted(tail) or withdrawn_after(tail) or _alternative_after(tail) or denied_before(body, where) \
                or questioned_after(tail, 0) or after is None or hedged_after(found) or revised_after(found):
            return _NONE
        return Extracted(found.strip(), tuple(after))
    if boxes:
        return _box_answer(body, boxes, all_boxes)
    last_sentence = re.split(r"(?<=[.!?])\s+", body.strip())[-1]
    if _REFUSAL.search(body) or _GUESS.search(last_sentence):
        return _NONE
    found = _last_math(body)
    if found:  # "The total is 5 million.", "Roughly 5.", "5 at least": a word that changes the claim
        from .normalise import REFUSAL_WORDS

        at = body.rfind(found)
        tail = body[at + len(found):].lstrip(" $")
        if denied_before(body, at) or withdrawn_after(tail):
            return _NONE
        word = re.match(r"[A-Za-z']+", tail)
        if word and word.group(0).lower() in ("percent", "pct"):
            return Extracted(found + "\\%")  # "The increase is 40 percent."
        if word and word.group(0).lower() in REFUSAL_WORDS and not RESTATED.match(tail):
            return _NONE
    return Extracted(found)


def _box_answer(body: str, boxes: list[tuple[int, int, str]], all_boxes: bool) -> Extracted:
    """The final box group, read by its structure: each box must stand alone in its math span (a
    single box that does not is read with its span: ``x = -\\boxed{5}`` is ``x = -5``); no denial
    before it, no withdrawal, value-changing word or other value after it."""
    if all_boxes:
        if not all(stands_alone(body, s, e) for s, e, _ in boxes):
            return _NONE
        group = boxes
    else:
        group = _group(body, boxes)
        if group is None:
            return _NONE
    start, end = group[0][0], group[-1][1]
    earlier = [b for b in boxes if b[1] <= start and b[2].strip() not in {g[2].strip() for g in group}]
    if earlier and conditional(body, start) and any(conditional(body, b[0]) for b in earlier):
        return _NONE  # "if n is even, \boxed{5}; ... if n is odd, \boxed{6}": answers by cases
    if denied_before(body, start) or retracted(body[end:]) or withdrawn_after(body[end:]) or questioned_after(body, end):
        return _NONE  # "the answer cannot be \boxed{5}", "\boxed{5}. No, that is wrong.", "\boxed{5}?"
    if len(group) == 1:
        answer, stop, alone = box_reading(body, start, end, group[0][2])
    elif stands_alone(body, start, group[0][1]) and stands_alone(body, group[-1][0], end):
        answer, stop, alone = _one_or_list([b[2] for b in group]), end, True
    else:
        return _NONE  # a hedge of boxes glued to math
    word = word_after(body, end) if alone else ""
    if answer is None or word == "value":
        return _NONE  # "\boxed{5} million", "\boxed{5} factorial"
    if word == "percent" and len(group) == 1:
        answer = answer + "\\%"  # "$\boxed{25}$ percent" is 25%
        mark = re.match(r"[ \t$]*(?:\\%|%|per ?cent|pct)", body[end:], re.I)
        stop = max(stop, end + mark.end())
    after = values_after(body[stop:])
    return _NONE if after is None else Extracted(answer, tuple(after))


def _last_math(text: str) -> str | None:
    """The last sentence's joined math spans, or the last math span or bare expression."""
    spans = list(_MATH_SPAN.finditer(text))
    best, best_end = None, -1
    if spans:
        group = [spans[-1]]
        for m in reversed(spans[:-1]):  # spans joined only by connectives belong together
            if not _JOINER.fullmatch(text[m.end() : group[0].start()]):
                break
            group.insert(0, m)
        best = _one_or_list([next(g for g in m.groups() if g is not None) for m in group])
        best_end = spans[-1].end()
    for m in _EXPR.finditer(text):
        found = re.sub(r"^(?:[A-Za-z]\s+)+(?=[\d\\(])", "", m.group(0).strip().rstrip(".,;"))  # "a 3" -> "3"
        start, end = m.start() + len(m.group(0)) - len(m.group(0).lstrip()), m.start() + len(m.group(0).rstrip())
        glued = (start > 0 and text[start - 1].isalpha()) or (end < len(text) and text[end].isalnum())
        if m.end() > best_end and not glued and re.search(r"\d|\\[A-Za-z]", found) and found not in ("-", "="):
            best, best_end = found, m.end()
    for m in _BRACKETED.finditer(text):
        if m.end() >= best_end:
            best, best_end = m.group(0), m.end()
    return best.strip() if best else None


def gold_answer(gold: str) -> str:
    """The answer part of a gold solution: its boxes, its ``####`` part, what follows its last
    "answer is" / "answer:" (a gold written as a sentence), or all of it."""
    gold = unescape(str(gold))
    if "\\boxed" in gold or "\\fbox" in gold:
        return _boxed(gold, all_boxes=True) or gold
    if "####" in gold:
        return gold.rsplit("####", 1)[1].strip()
    return (_answer_is(gold) or gold).strip()
