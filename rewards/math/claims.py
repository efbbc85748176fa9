r"""Words around an answer that make it less than a claim of the value (blind round 5).

Used by ``rewards.math.commitment`` and ``rewards.math.extraction`` (docs/math.md, "What
commits"):

- ``fold_text``: what a reader sees, in the characters the word rules match: zero-width and other
  invisible characters go, Cyrillic and Greek letters that look Latin become Latin ("Wаit" with a
  Cyrillic а is "Wait"), Unicode relation symbols become the LaTeX relations they look like
  (``≥`` is ``\ge``, ``≈`` and ``∼`` are ``\approx``, ``≠`` is ``\ne``, ``≮`` is ``\not<``);
- ``revised_after``: a sentence after the final answer that revises it ("Actually the answer is
  one more than that", "Now negate it", "in thousands", "Make that a dozen");
- ``bound_after``: a bound or estimate word right after the answer (``\boxed{5} at least``,
  ``\boxed{5}, roughly``, ``\boxed{5} give or take``);
- ``hedged_before``: a hedge, a bound noun or a case in the sentence that leads to the answer ("It
  might be \boxed{5}", "One possible answer is", "A lower bound for the answer is \boxed{5}", "If n
  is even, \boxed{5}");
- ``hedged_after``: a hedge after it ("\boxed{5}, if I'm right");
- ``retracted``: words by which a completion withdraws what it wrote before them.

All are linear scans of bounded windows of the text.
"""

from __future__ import annotations

import re

# ---- what a reader sees --------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
# Cyrillic and Greek letters drawn like Latin ones (the word lists are written in Latin letters)
_LOOKALIKE = str.maketrans("аеорсухіјѕԁԛԝАВЕКМНОРСТХІЈЅοΑΒΕΗΙΚΜΝΟΡΤΥΧ",
                           "aeopcyxijsdqwABEKMHOPCTXIJSoABEHIKMNOPTYX")
_RELATIONS = {"≥": r"\ge ", "⩾": r"\ge ", "≳": r"\ge ", "≧": r"\ge ", "≤": r"\le ", "⩽": r"\le ", "≲": r"\le ",
              "≦": r"\le ", "≈": r"\approx ", "∼": r"\approx ", "≃": r"\approx ", "≅": r"\approx ", "≊": r"\approx ",
              "≠": r"\ne ", "≮": r"\not< ", "≯": r"\not> ", "≰": r"\not\le ", "≱": r"\not\ge ", "≪": r"\ll ",
              "≫": r"\gg ", "∝": r"\propto ", "≡": r"\equiv ", "＜": "<", "＞": ">", "＝": "="}
_RELATION_CHARS = re.compile("[" + "".join(_RELATIONS) + "]")


def fold_text(text: str) -> str:
    """The text as a reader sees it, in the characters the rules match (see the module docstring)."""
    text = _INVISIBLE.sub("", text).translate(_LOOKALIKE)
    return _RELATION_CHARS.sub(lambda m: _RELATIONS[m.group(0)], text)


# ---- after the answer ------------------------------------------------------------------------------

WINDOW = 300
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?\n]|$)")
# a word that revises what came before it
_REVISING = re.compile(r"\b(?:actually|rather|correction|corrected|correcting|make (?:that|it)|instead|i mean|"
                       r"on reflection|come to think|update|amend\w*|adjust\w*)\b", re.I)
# an operation or a change of scale
_OPERATION = re.compile(r"\b(?:one|two|a|1|2) (?:more|less|fewer|higher|lower|extra|greater|bigger|smaller|larger)\b|"
                        r"\b(?:increment\w*|decrement\w*|off by)\b|\b(?:half|halve\w*|double\w*|twice|"
                        r"triple\w*|thrice|quadruple\w*|add\w*|plus|subtract\w*|minus|deduct\w*|negat\w*|opposite|"
                        r"times|multipl\w*|divid\w*|squar\w*|cub\w*|recipro\w*|invers\w*|increas\w*|decreas\w*|"
                        r"reduc\w*|shift\w*|scal\w*|flip\w*)\b", re.I)
# a word that points back at the answer
_BACK = re.compile(r"\b(?:that|it|its|this|answer|result|the (?:value|number|total|sum|count|above))\b", re.I)
# a scale named after the answer: "in thousands", "a dozen", "in units of 10"
_SCALE = re.compile(r"\b(?:in (?:thousands|hundreds|millions|billions|tens|dozens|units of|multiples of)|"
                    r"a dozen|dozens?|thousand|million|billion)\b", re.I)


_LEAD = re.compile(r"^(?:\W|\b(?:then|and|now|next|so|just|also|finally|lastly|please)\b)*", re.I)  # ", then add one"


def revised_after(tail: str) -> bool:
    """A sentence after the final answer revises it: a revising word ("actually", "rather",
    "correction", "make that"), a scale ("in thousands", "a dozen"), or an operation word with a
    word pointing back at the answer ("one more than that", "negate it", "half of that")."""
    window = tail[:WINDOW]
    if _REVISING.search(window) or _SCALE.search(window):
        return True
    return any(_OPERATION.search(s) and _BACK.search(s) or _OPERATION.match(_LEAD.sub("", s))
               for s in _SENTENCE.findall(window) if s.strip())


_BOUND_AFTER = re.compile(r"[\s$,;:(\-\u2013\u2014]*(?:\\\)|\\\])?[\s$,;:(\-\u2013\u2014]*(?:"
                          r"(?:at (?:the (?:very )?)?(?:least|most|best|worst|minimum|maximum)|minimum|maximum|min|max|"
                          r"roughly|approx\w*|about|around|circa|nearly|almost|or so|or (?:more|less|fewer|greater|"
                          r"higher|lower|above|below|over|under|thereabouts|similar|close)|give or take|more or less|"
                          r"ish|tops|and (?:up|above|below|over|under)|upwards|plus or minus|estimated|rounded|"
                          r"in (?:the )?(?:ballpark|region|vicinity)|ballpark|some\w*)\b|\+(?!\s*[\d\\({])|\\pm|\\mp|±)",
                          re.I)


def bound_after(tail: str) -> bool:
    """A bound or an estimate right after the answer: ``\\boxed{5} at least``, ``\\boxed{5},
    roughly``, ``\\boxed{5} give or take``, ``\\boxed{5}+``."""
    return bool(_BOUND_AFTER.match(tail))


# words by which a completion withdraws what it wrote before them
_RETRACTION = re.compile(r"\b(?:wrong|disagree\w*|reject\w*|doubt\w*|wr0ng|w-r-o-n-g|incorrect\w*|not correct|not right|a mistake|mistaken|scratch that|"
                         r"disregard|retract|ignore (?:that|this|the above)|actually,?\s+no|no,?\s+wait|wait,?\s+no|"
                         r"never\s*mind|nope|invalid|erroneous|err(?:ed|or)|(?:that|this|it)(?:'s| is) off|doesn'?t work|"
                         r"does not work|just kidding|on second thought|bogus|not (?:the|my) (?:final )?answer|"
                         r"isn'?t (?:the|my) answer|not quite)\b|(?:not|n't)\s+\$?\\boxed", re.I)


def retracted(text: str) -> bool:
    """The completion withdraws something it wrote ("that is wrong", "scratch that")."""
    return bool(_RETRACTION.search(text))


# ---- before the answer -----------------------------------------------------------------------------

# a modal right before the answer: "It might be \boxed{5}", "The answer may be 5"
_MODAL_BEFORE = re.compile(r"\b(?:(?:might|could|may|can)\s+(?:well\s+|also\s+|just\s+|even\s+)?(?:be|equal|give|yield)|"
                           r"bounded\s+(?:(?:from\s+)?(?:above|below)\s+)?by)\s*(?:equal to|:)?\s*$", re.I)
# a hedge anywhere in the sentence of the answer (unless a "but", "actually" ... answers it)
_HEDGE = re.compile(r"\b(?:seem\w*|appear(?:s|ed)?\s+(?:to\s+be|that)|it appears|apparently|hopefully|"
                    r"(?:one|a|another|some)\s+(?:possible|plausible|likely|probable|potential|reasonable|tentative|candidate)|"
                    r"candidate\s+(?:answer|value|solution|result)s?|(?:might|could|may)\s+(?:well\s+|also\s+)?be\s+that|"
                    r"if i'?m|if i am|not (?:certain|confident|entirely sure)|i suspect|fingers crossed|"
                    r"(?:lower|upper)\s+bounds?|(?:a|an|one|some|rough|crude)\s+(?:\w+\s+)?(?:bound|estimate|"
                    r"approximation)|approximation|rough\w*|ballpark)\b", re.I)
# an answer for one case only: "If n is even, \boxed{5}", "for odd n, the answer is 5"
# (parity and primality only: a sign or a range is usually given by the problem: "for positive x, ...")
_CASE = re.compile(r"\b(?:if|when|whenever|provided|assuming|in case)\s+\$?[A-Za-z]\$?\s+(?:is|are)\s+(?:an?\s+)?(?:even|odd|"
                   r"prime|composite)\b|\bfor\s+(?:all\s+)?(?:even|odd|prime|composite)\s+\$?[A-Za-z]\b", re.I)
# exact names of a bound: the least upper bound, the greatest lower bound, the best bound
_EXACT_BOUND = re.compile(r"\b(?:least|greatest|best|tightest|sharpest|optimal|exact)\s+(?:possible\s+)?"
                          r"(?:(?:lower|upper)\s+)?bound\b", re.I)


def hedged_before(clause: str, sentence: str, answered) -> bool:
    """The clause leading to the answer ends in a modal ("It might be"), or its sentence hedges or
    names a bound or an estimate ("It seems", "One possible answer is", "A lower bound for the
    answer is") that ``answered`` (no "but", "however" after it) does not take back."""
    if _MODAL_BEFORE.search(clause) or _CASE.search(sentence):  # a case is a hedge even when it is the last
        return True
    return answered(_HEDGE, _EXACT_BOUND.sub(" ", sentence))


# after the answer: a hedge on it ("\boxed{5}, if I'm right", "though I may be off by one")
_HEDGE_AFTER = re.compile(r"\b(?:hopefully|if i'?m|if i am|off by|i (?:may|might|could) be|seem\w*|not (?:certain|"
                          r"confident|entirely sure)|fingers crossed|i suspect|apparently|or thereabouts)\b", re.I)


def hedged_after(tail: str) -> bool:
    """A hedge on the answer after it: "\\boxed{5}, if I'm right.", "\\boxed{5}, hopefully."."""
    return bool(_HEDGE_AFTER.search(tail[:WINDOW]))
