"""String clean-up of an extracted answer before parsing: pure text, linear time, no sympy.

Removes what carries no mathematical meaning in an answer (``$``, ``\\left``, spacing commands,
``\\displaystyle``, units and trailing words), unifies spellings (``\\dfrac`` -> ``\\frac``,
unicode operators), and unwraps ``\\text{}``-like commands.
"""

from __future__ import annotations

import re

from .units import is_unit

# Words the parser understands; never stripped as units.
MATH_WORDS = frozenset(
    "pi sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh ln log exp sqrt inf infinity oo "
    "and or i e".split()
)
_TEXT_COMMANDS = ("text", "textbf", "textit", "textrm", "textnormal", "textsf", "mathrm", "mathbf", "mathit", "mbox",
                  "operatorname", "mathsf")
_REMOVE = (
    r"\displaystyle", r"\textstyle", r"\left.", r"\right.", r"\left", r"\right", r"\bigl", r"\bigr",
    r"\Bigl", r"\Bigr", r"\big", r"\Big", r"\!", r"\,", r"\;", r"\:", r"\quad", r"\qquad",
    r"\$", r"\limits", r"\nolimits",
)
_REPLACE = {
    r"\dfrac": r"\frac", r"\tfrac": r"\frac", r"\cfrac": r"\frac", r"\dbinom": r"\binom", r"\tbinom": r"\binom",
    r"\%": "%", "^{\\circ}": "°", "^\\circ": "°", r"\degree": "°", r"\lvert": "|", r"\rvert": "|",
    r"\vert": "|", r"\lbrace": r"\{", r"\rbrace": r"\}", r"\fbox": r"\boxed", "\u2248": r"\approx ",
    r"\cdots": r"\ldots", r"\dots": r"\ldots", "...": r"\ldots ", "\u2026": r"\ldots ",
    "\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/", "\u03c0": r"\pi ",
    "\u221e": r"\infty ", "\u221a": r"\sqrt", "\u2264": r"\le ", "\u2265": r"\ge ", "\u2260": r"\ne ",
    "\u222a": r"\cup ", "\u2205": r"\emptyset ", "\u00a0": " ", "~": " ",
}
_UNIT_TAIL = re.compile(r"(?:(?<=[\d}\)\]°%.])|\s)\s*([a-zA-Z]{2,}\.?|[a-zA-Z]{2,}\^?\{?[23]\}?)\s*$")
_RATE_TAIL = re.compile(r"\s+([a-zA-Z]{1,6})\s*/\s*([a-zA-Z]{1,6})(?:\^?\{?2\}?)?\.?\s*$")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_THOUSANDS_SPACE = re.compile(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_MIXED = re.compile(r"(-?)(\d+)\s+(\d+)\s*/\s*(\d+)")  # 4 4/9; a proper fraction only (11 6/6 is not 12)
_ARRAY = re.compile(r"\\begin\{array\}\{[^{}]*\}")  # a matrix written as an array: drop its column spec
_BRACKETED_MATRIX = re.compile(r"\[\s*(\\begin\{pmatrix\}.*\\end\{pmatrix\})\s*\]", re.S)
_CONNECTIVES = re.compile(r"\s+(?:and|or)\s+|\s*\\(?:text)?(?:and|or)\b\s*|(?<=[)\]}])\s*(?:and|or)\s*(?=[(\[{\\])")
_NOT_EQUAL = re.compile(r"(?<=[A-Za-z)}\]\s])!=")  # x != 3 (but 3!=6 is a factorial)
_BRACKETED = re.compile(r"\[([^\[\],]*)\]")  # [45 degrees], [5]: one answer in brackets
_WORDS_THEN_NUMBER = re.compile(r"[A-Za-z][A-Za-z -]{2,}\((-?[\d.,]+)\)")  # forty-five (45)
_NUMBER_THEN_WORDS = re.compile(r"(-?[\d.,]+)\s*\([A-Za-z][A-Za-z -]{2,}\)")  # 42 (forty-two)
_OVERLINE = re.compile(r"(-?)(\d*)\.(\d*)\\(?:overline|bar)\{(\d{1,50})\}")  # 0.\overline{3}, 0.1\overline{6}
_NOT_RELATION = re.compile(r"\\not\s*=")  # \not= is \ne; any other \not stays (the parser refuses it)
# words that change what an answer says: never dropped as units or trailing words
REFUSAL_WORDS = frozenset(
    "not no never wrong incorrect false untrue impossible none nothing neither nor isn't isnt aren't is are was "
    "be approximately approx about around roughly nearly almost maybe perhaps possibly probably likely unlikely "
    "guess unsure sure least most more less than over under above below either or and but except only if "
    "unknown undefined cannot can't don't idk wait actually incorrectly "
    # words that change the value: a scale, an operation, a fraction of it, a direction
    "thousand thousands hundred hundreds million millions billion billions trillion trillions dozen dozens "
    "squared cubed inverse reciprocal negative positive tenth tenths hundredth hundredths "
    "thousandth thousandths half halves third thirds quarter quarters fourth fourths fifth fifths short fewer "
    "extra plus minus times off ago lakh crore k grand score scores gross doubled double twice triple tripled "
    "thrice unless hardly nah ish nope except "
    # operations and counts written as words: "5 factorial" is 120, "5 pairs" 10 things
    "factorial factorials pair pairs couple couples fold times cube cubes root roots power powers percent "
    "percentage pct".split()) | frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety".split())
MAX_UNIT_WORDS = 3
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_NUMBER_WORDS.update({w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_BOLD = re.compile(r"^(?:\*\*|__)|(?:\*\*|__)$")  # **42**: markdown bold around an answer


def _repeating(m: re.Match) -> str:
    """``0.1\\overline{6}`` -> ``(1/6)``: a repeating decimal as the exact fraction it is."""
    sign, whole, fixed, rep = m.groups()
    num = int(whole + fixed + rep or "0") - int(whole + fixed or "0")
    den = 10 ** len(fixed) * (10 ** len(rep) - 1)
    return f"{sign}({num}/{den})"


def _spelled(text: str, digits: str) -> bool:
    words = re.sub(r"-?\d[\d.,]*|[()]", " ", text).strip()
    try:
        return number_words(words) == int(digits.replace(",", ""))
    except ValueError:
        return False


def match_brace(s: str, start: int) -> int:
    """Index just past the ``}`` closing the ``{`` at ``start``, or -1 if unbalanced."""
    depth = 0
    for i in range(start, len(s)):
        c = s[i]
        if c == "\\":
            continue
        if c == "{" and (i == 0 or s[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or s[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def unwrap_command(s: str, command: str, sep: str = "") -> str:
    r"""Replace every ``\command{X}`` by ``sep + X``; unbalanced ones are left as they are."""
    token = "\\" + command + "{"
    out, pos = [], 0
    while True:
        i = s.find(token, pos)
        if i < 0:
            out.append(s[pos:])
            return "".join(out)
        end = match_brace(s, i + len(token) - 1)
        if end < 0:
            out.append(s[pos:])
            return "".join(out)
        out.append(s[pos:i] + sep + s[i + len(token) : end - 1])
        pos = end


def number_words(text: str) -> int | None:
    """The whole number that ``text`` spells ("five", "forty-two", "one hundred and five"), or None."""
    words = re.split(r"[\s-]+", text.strip().lower().replace(" and ", " "))
    if not words or not all(w in _NUMBER_WORDS or w in _SCALES for w in words) or words[0] in _SCALES:
        return None
    total, current = 0, 0
    for w in words:
        if w in _NUMBER_WORDS:
            current += _NUMBER_WORDS[w]
        elif w == "hundred":
            current *= 100
        else:
            total, current = total + current * _SCALES[w], 0
    return total + current


def units_of(s: str) -> tuple[str, list[str]]:
    """(the answer without its trailing unit words, those words): at most MAX_UNIT_WORDS words of
    two letters or more, each a listed unit or count noun (``units.is_unit``: an allow-list); any
    other word ("5 is wrong", "5 at most", "5 kilo") keeps all the words, and the answer then does
    not parse; never an integral's "dx"."""
    if "\\int" in s:
        return s, []
    words: list[str] = []
    rate = _RATE_TAIL.search(s)  # "5 m/s", "60 km/h": a unit over a unit, both listed
    if rate and rate.start() > 0 and is_unit(rate.group(1)) and is_unit(rate.group(2)) and (
            max(len(rate.group(1)), len(rate.group(2))) > 1 or rate.group(1, 2) == ("m", "s")):  # not "5 a/b"
        words, s = [f"{rate.group(1)}/{rate.group(2)}".lower()], s[: rate.start()].rstrip()
    for _ in range(MAX_UNIT_WORDS + 1):
        m = _UNIT_TAIL.search(s)
        if not m or m.group(1).rstrip(".^{}23").lower() in MATH_WORDS or m.start() == 0:
            break
        word = m.group(1).rstrip(".").lower()
        base = re.sub(r"\^?\{?[23]\}?$", "", word)
        if word == "per" and words and "/" not in words[0]:  # "5 miles per hour"
            words.insert(0, word)
            s = s[: m.start()].rstrip()
            continue
        if word in REFUSAL_WORDS or not is_unit(base, before_unit=bool(words)) or len(words) == MAX_UNIT_WORDS \
                or s[: m.start()].rstrip().endswith(","):
            return s, []  # a word that is not a listed unit may change the value ("5 kilo", "5 debt")
        words.insert(0, word)
        s = s[: m.start()].rstrip()
    return s, words


def drop_command(s: str, command: str) -> str:
    r"""Remove every ``\command{X}`` with its argument; unbalanced ones are left as they are."""
    token = "\\" + command + "{"
    out, pos = [], 0
    while (i := s.find(token, pos)) >= 0:
        end = match_brace(s, i + len(token) - 1)
        if end < 0:
            break
        out.append(s[pos:i])
        pos = end
    out.append(s[pos:])
    return "".join(out)


def strip_units(s: str) -> str:
    """Drop trailing unit words ("5 cm", "12 dollars", "3 sq. units"), see ``units_of``."""
    return units_of(s)[0]


def normalize(s: str) -> str:
    """Canonical text of one answer, ready for the tokenizer."""
    return normalize_with_units(s)[0]


def normalize_with_units(s: str) -> tuple[str, list[str]]:
    """``normalize``'s text and the unit words it dropped (lower case, plural folded)."""
    s = re.sub(r"\s+", " ", s).strip()  # first: every later pattern sees single spaces (linear time)
    spelled = number_words(s.rstrip(".")) if re.fullmatch(r"[A-Za-z][A-Za-z -]*\.?", s) else None
    if spelled is not None:
        return str(spelled), []
    for cmd in ("boxed", "fbox"):
        s = unwrap_command(s, cmd)
    s = s.replace("\\[", "").replace("\\]", "").replace("\\(", "").replace("\\)", "")
    s = re.sub(r"(\d),\\!\s*(?=\d{3})", r"\1,", s)  # 11,\! 111,\! 100: thousands written with \!
    s = _ARRAY.sub(r"\\begin{pmatrix}", s).replace("\\end{array}", "\\end{pmatrix}")
    s = re.sub(r"(?<=\d)\{,\}(?=\d{3}(?!\d))", "", s)  # 1{,}000: a thousands separator
    s = re.sub(r"(?<=\d)\{,\}(?=\d)", ".", s)  # 1{,}2: a decimal comma as LaTeX typesets it
    s = s.replace("{,}", "")
    s = re.sub(r"[\ufe00-\ufe0f\u200b-\u200d\u2060\ufeff]", "", s)  # variation selectors, zero-width: no meaning
    s = re.sub(r"(?<=\d)\\[,;:!]\s*(?=\d{3}(?!\d))", "", s)  # 1\,000: a thousands space
    s = re.sub(r"(?<=\d)\\[,;:!]\s*(?=\d)", " ", s)  # 6\,1: two numbers side by side, never 61
    for old in _REMOVE:
        s = s.replace(old, "")
    for old, new in _REPLACE.items():
        s = s.replace(old, new)
    s = re.sub(r"(?<!\\)\\ ", " ", s.replace("$", ""))  # "\ " is a space, "\\ " a row break
    s = re.sub(r"\s+", " ", s)
    for cmd in ("phantom", "hphantom", "vphantom", "cancel", "bcancel", "xcancel", "sout"):
        s = drop_command(s, cmd)  # hidden or crossed-out content is not part of the answer
    s = re.sub(r"\\(?:text)?color\{[A-Za-z!0-9]*\}", "", s)  # \color{red}{5}: the colour goes, 5 stays
    for cmd in _TEXT_COMMANDS:
        s = unwrap_command(s, cmd, sep=" ")
    s = re.sub(r"\\?\{\s*([^{}]*?)\s*\\choose\s*([^{}]*?)\s*\}", r"\\binom{\1}{\2}", s)
    s = re.sub(r"\s+", " ", s)
    s = _CONNECTIVES.sub(",", s).replace(";", ",")  # "(1, 2); (3, 4)": a semicolon separates answers too
    s = _BRACKETED_MATRIX.sub(r"\1", s)  # \left[ \begin{array} ... \right] is one matrix
    s = _NOT_EQUAL.sub(r"\\ne ", s)
    s = re.sub(r"(?<=[\d}])\s*(?:per ?cent|percent)\b", "%", s, flags=re.I)  # "25 percent" is 25%
    s = _NOT_RELATION.sub(r"\\ne ", s)
    s = _OVERLINE.sub(_repeating, s)
    s = re.sub(r"\s+", " ", s).strip().rstrip(".").strip()
    s = re.sub(r"(?<!\\)\\+$", "", s).strip()  # a stray trailing backslash ("5\\" in a dataset)
    s = re.sub(r"^(?:\\\\\s*)+|(?:\s*\\\\)+$", "", s).strip()  # a row break before or after the answer
    m = re.fullmatch(r"(-?\d*\.\d*[1-9]\d*)\s*\\ldots", s)
    if m and len(m.group(1).replace("-", "").replace(".", "").lstrip("0")) >= 4:
        s = m.group(1)  # "0.3333...": a decimal that goes on, read as the decimal it writes (see compare)
    s = _BOLD.sub("", s).strip()
    m = _BRACKETED.fullmatch(s)
    if m:
        s = m.group(1).strip()
    m = _WORDS_THEN_NUMBER.fullmatch(s) or _NUMBER_THEN_WORDS.fullmatch(s)
    if m and _spelled(s, m.group(1)):  # forty-five (45): the words must spell the same number
        s = m.group(1).strip()
    spelled = number_words(s) if re.fullmatch(r"[A-Za-z][A-Za-z -]*", s) else None
    if spelled is not None:
        s = str(spelled)  # "five": a number written in words
    s, units = units_of(s)
    m = _NUMBER_THEN_WORDS.fullmatch(s)
    if units and m and _spelled(s, m.group(1)):  # "5 (five) apples": the words spell it, then its unit
        s = m.group(1).strip()
    s = re.sub(r"^[a-zA-Z]\s*\\in\s*", "", s)  # "x \in [2, 5]" -> "[2, 5]"
    if s.startswith(("€", "£", "¥")):
        s = s[1:].strip()
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif _THOUSANDS_SPACE.fullmatch(s):
        s = s.replace(" ", "")
    m = _MIXED.fullmatch(s)
    if m and int(m.group(3)) < int(m.group(4)):
        sign, whole, num, den = m.groups()
        s = f"{sign}({whole}+{num}/{den})"
    return s, [re.sub(r"(?<=[a-z]{2})s$", "", u) for u in units]
