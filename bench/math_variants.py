r"""Realistic answer variants for differential testing of math checkers (see bench_math_diff.py).

Each *seed* is a gold answer in the format of one dataset family (GSM8K ``#### n``, MATH
``\boxed{}`` solutions, AIME integers, olympiad expressions, sets and tuples, multiple-choice
letters) with the ways a model writes the same answer (``same``) and near misses (``differ``),
each with the convention that decides it. :func:`pairs` wraps every variant in the completion
formats models produce (boxed, "The answer is", GSM8K's ``####``, lm-eval's Minerva sentence,
``<think>`` blocks, bold "Answer:" lines) and yields (gold, completion, expected, convention).

All seeds and phrasings are written for this project; no case comes from another project's tests.

    python bench/math_variants.py --count      # how many pairs, by family
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

# -- completion formats ------------------------------------------------------------------------
TEMPLATES = {
    "boxed": "Putting the pieces together, the final answer is $\\boxed{{{a}}}$.",
    "boxed_display": "Collecting terms:\n\\[\n\\boxed{{{a}}}\n\\]",
    "answer_is": "After simplifying, the answer is ${a}$.",
    "answer_is_plain": "So the answer is {a}.",
    "hashes": "Each step adds up.\n#### {a}",
    "minerva": "Final Answer: The final answer is ${a}$. I hope it is correct.",
    "think": "<think>Let me try a few values first; 2 does not work.</think>\nThe answer is $\\boxed{{{a}}}$.",
    "bold": "We verify the result by substitution.\n\n**Answer:** {a}",
    "last_line": "Substituting back confirms it.\n\n${a}$",
    "heading": "### Final Answer\n\n\\( \\boxed{{{a}}} \\)",
    "final_colon": "Double-checking each case.\n\nThe final answer is: {a}",
    "revised": "A first attempt gives $\\boxed{{{w}}}$, but that drops a term. Correcting it, the answer is $\\boxed{{{a}}}$.",
}
# which formats each family's answers appear in (plain-text formats only where a bare number reads well)
FAMILY_TEMPLATES = {
    "gsm8k": ["answer_is_plain", "hashes", "boxed", "bold", "minerva", "think", "revised", "final_colon"],
    "math": ["boxed", "boxed_display", "answer_is", "minerva", "think", "last_line", "revised", "heading"],
    "aime": ["boxed", "answer_is_plain", "minerva", "bold", "revised", "final_colon"],
    "olympiad": ["boxed", "boxed_display", "answer_is", "think", "revised", "heading"],
    "choice": ["answer_is_plain", "boxed", "bold", "think"],
}


@dataclass(frozen=True)
class Seed:
    family: str
    gold: str  # as the dataset stores it
    same: tuple[tuple[str, str], ...]  # (variant, convention that makes it equal)
    differ: tuple[tuple[str, str], ...]  # (variant, convention that makes it different)


def _gsm8k(n: str, same: list[tuple[str, str]], differ: list[tuple[str, str]]) -> Seed:
    return Seed("gsm8k", f"She adds the amounts and gets the total.\n#### {n}", tuple(same), tuple(differ))


SEEDS = [
    # GSM8K: integers and money, thousands separators, units, currency
    _gsm8k("1250", [("1,250", "thousands comma"), ("1250 dollars", "unit word"), ("\\$1,250", "currency and comma"),
                    ("1250.00", "money with cents"), ("1\\,250", "thin-space thousands")],
           [("125", "a digit dropped"), ("12,500", "a digit added"), ("1,25", "a decimal comma is 1.25")]),
    _gsm8k("18", [("18", "same integer"), ("18 apples", "unit word"), ("\\$18", "currency"), ("18.0", "trailing .0")],
           [("81", "digits swapped"), ("19", "off by one"), ("1.8", "a decimal point")]),
    _gsm8k("7425000", [("7,425,000", "thousands commas"), ("7 425 000", "thousands spaces"),
                       ("\\$7,425,000", "currency and commas")],
           [("742500", "a digit dropped"), ("7,425", "thousands of the wrong size")]),
    _gsm8k("0.75", [(".75", "leading-dot decimal"), ("\\frac{3}{4}", "the same fraction"), ("75\\%", "a percentage of 1")],
           [("7.5", "a shifted decimal point"), ("0.57", "digits swapped")]),
    _gsm8k("-12", [("-12", "same integer"), ("-12 degrees", "unit word"), ("- 12", "a spaced sign")],
           [("12", "the sign dropped"), ("-21", "digits swapped")]),
    _gsm8k("1000.99", [("1,000.99", "thousands comma with cents"), ("\\$1,000.99", "currency, comma and cents")],
           [("1000.9", "a cent digit dropped"), ("100099", "the point dropped")]),
    # MATH: fractions, radicals, pi, expressions, intervals, tuples, degrees, text
    Seed("math", "Thus the probability is $\\boxed{\\frac{3}{8}}$.",
         (("\\dfrac{3}{8}", "dfrac is frac"), ("3/8", "slash fraction"), ("0.375", "the exact decimal"),
          ("\\frac38", "short frac arguments"), ("\\tfrac{3}{8}", "tfrac is frac")),
         (("\\frac{8}{3}", "the reciprocal"), ("0.37", "a two-digit rounding is not the value"), ("\\frac{3}{4}", "a different fraction"))),
    Seed("math", "So the length is $\\boxed{2\\sqrt{5}}$.",
         (("\\sqrt{20}", "the same radical unsimplified"), ("2 \\sqrt 5", "sqrt without braces"), ("4.4721", "a 5-digit rounding"),
          ("\\frac{10}{\\sqrt5}", "a rationalisable form")),
         (("\\sqrt{10}", "a different radical"), ("2\\sqrt{3}", "a different radicand"), ("4.47", "a 3-digit rounding"))),
    Seed("math", "The area is $\\boxed{\\frac{\\pi}{4}}$ square units.",
         (("\\frac{1}{4}\\pi", "the same product"), ("\\pi/4", "slash fraction"), ("0.25\\pi", "decimal coefficient"),
          ("0.785398", "a 6-digit rounding")),
         (("\\frac{\\pi}{2}", "a different multiple"), ("\\frac{1}{4}", "pi dropped"), ("0.79", "a 2-digit rounding"))),
    Seed("math", "Expanding, we get $\\boxed{x^2+5x+6}$.",
         (("(x+2)(x+3)", "factored form"), ("x^{2}+5x+6", "braced exponent"), ("6+5x+x^2", "terms reordered"),
          ("y = x^2 + 5x + 6", "a labelled expression")),
         (("x^2+5x-6", "a sign changed"), ("(x+2)(x-3)", "a different factor"), ("x^2+6x+5", "coefficients swapped"))),
    Seed("math", "Hence the solution set is $\\boxed{[-2, 7]}$.",
         (("-2 \\le x \\le 7", "the interval as an inequality"), ("x \\in [-2,7]", "membership"),
          ("\\left[-2, 7\\right]", "sized brackets")),
         (("(-2, 7)", "open ends"), ("[-2, 7)", "one open end"), ("-2 < x \\le 7", "a strict inequality"))),
    Seed("math", "The solutions are $\\boxed{(-\\infty, 1) \\cup (4, \\infty)}$.",
         (("x<1 \\text{ or } x>4", "a union as 'or'"), ("(-\\infty,1)\\cup(4,+\\infty)", "+infinity")),
         (("(1, 4)", "the complement"), ("(-\\infty, 1] \\cup [4, \\infty)", "closed ends"))),
    Seed("math", "The point is $\\boxed{(3, -4)}$.",
         (("(3,-4)", "spacing"), ("\\left( 3, -4 \\right)", "sized parentheses"), ("x=3, y=-4", "labelled coordinates")),
         (("(-4, 3)", "coordinates swapped"), ("(3, 4)", "a sign dropped"), ("\\{3, -4\\}", "a set is not a point"))),
    Seed("math", "The angle measures $\\boxed{30^\\circ}$.",
         (("30", "degrees without the sign"), ("30^{\\circ}", "braced degree sign"), ("30 degrees", "the word degrees")),
         (("60^\\circ", "a different angle"), ("3", "a digit dropped"))),
    Seed("math", "The day is $\\boxed{\\text{Tuesday}}$.",
         (("\\text{Tuesday}", "same text"), ("Tuesday", "bare text"), ("\\textbf{Tuesday}", "bold text")),
         (("\\text{Thursday}", "a different day"),)),
    Seed("math", "The matrix is $\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}$.",
         (("\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", "bmatrix"),
          ("\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right]", "array in brackets")),
         (("\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", "the transpose"),)),
    Seed("math", "So $k = \\boxed{-\\frac{5}{2}}$.",
         (("-\\frac52", "short frac"), ("\\frac{-5}{2}", "sign in the numerator"), ("-2.5", "exact decimal"),
          ("k = -\\frac{5}{2}", "labelled"), ("-2\\frac{1}{2}", "a negative mixed number")),
         (("\\frac{5}{2}", "sign dropped"), ("-\\frac{2}{5}", "the reciprocal"), ("-2 \\frac{5}{2}", "an improper 'mixed' form"))),
    Seed("math", "Therefore $a:b = \\boxed{3:5}$.",
         (("3:5", "same ratio"), ("\\frac{3}{5}", "a ratio as a fraction"), ("6:10", "a scaled ratio"), ("a:b=3:5", "labelled ratio")),
         (("5:3", "the reversed ratio"), ("3:4", "a different ratio"))),
    # AIME: integers 0-999, sometimes with leading zeros
    Seed("aime", "33", (("033", "leading zero of a 3-digit answer"), ("33", "same"), ("m+n=33", "labelled AIME sum")),
         (("330", "a digit added"), ("3", "a digit dropped"))),
    Seed("aime", "412", (("412", "same"), ("\\boxed{412}", "a box in the answer text"), ("412.", "a trailing full stop")),
         (("421", "digits swapped"), ("41", "a digit dropped"))),
    Seed("aime", "7", (("007", "three-digit AIME form"), ("7", "same")), (("70", "a digit added"), ("17", "a digit added"))),
    # olympiad: expressions, solution sets, inequalities, sequences
    Seed("olympiad", "$\\boxed{(1,2),(2,1)}$",
         (("(2,1),(1,2)", "a solution list in any order"), ("(1,2) \\text{ and } (2,1)", "joined by 'and'"),
          ("(x,y)=(1,2),(2,1)", "labelled solutions")),
         (("(1,2)", "a solution missing"), ("(1,2),(2,2)", "a wrong solution"))),
    Seed("olympiad", "$\\boxed{n = 2^k}$",
         (("2^k", "the labelled value"), ("n=2^{k}", "braced exponent")),
         (("2k", "a product, not a power"), ("k^2", "base and exponent swapped"))),
    Seed("olympiad", "$\\boxed{\\frac{\\sqrt{3}}{3}}$",
         (("\\frac{1}{\\sqrt{3}}", "rationalised form"), ("\\frac{\\sqrt3}{3}", "sqrt without braces"),
          ("\\frac{\\sqrt{3}}{3} \\approx 0.577", "exact value with its approximation"), ("0.57735", "a 5-digit rounding")),
         (("\\sqrt{3}", "the reciprocal"), ("0.58", "a 2-digit rounding"))),
    Seed("olympiad", "$\\boxed{f(x) = x^2}$",
         (("x^2", "the labelled function value"), ("f(x)=x^{2}", "braced exponent")),
         (("f(x) = x", "a different function"), ("x^3", "a different power"))),
    Seed("olympiad", "$\\boxed{1, 3, 5}$",
         (("\\{1, 3, 5\\}", "a set of the answers"), ("5, 3, 1", "any order"), ("1, 3 \\text{ and } 5", "joined by 'and'")),
         (("1, 3", "an answer missing"), ("1, 3, 5, \\ldots", "an infinite list"))),
    Seed("olympiad", "$\\boxed{x \\neq 2}$",
         (("x \\ne 2", "ne"), ("x != 2", "plain-text not-equal")), (("x = 2", "equal, not unequal"), ("x \\neq -2", "a sign"))),
    # a second batch, written before it was ever run
    _gsm8k("45", [("45 minutes", "unit word"), ("45.", "a full stop"), ("\\boxed{45}", "a box after ####"),
                  ("forty-five (45)", "words then the number in brackets")],
           [("4.5", "a decimal point"), ("54", "digits swapped")]),
    _gsm8k("2.50", [("2.5", "trailing zero of cents"), ("\\$2.50", "currency"), ("2\\frac{1}{2}", "a mixed number")],
           [("25", "the point dropped"), ("2.05", "a zero moved")]),
    _gsm8k("30", [("30\\%", "the asked percentage written with %"), ("30 percent", "the word percent")],
           [("0.3", "a fraction of 1 where the gold counts percent points"), ("3", "a digit dropped")]),
    Seed("math", "The product is $\\boxed{-\\frac{\\sqrt{2}}{2}}$.",
         (("-\\frac{1}{\\sqrt{2}}", "rationalised"), ("-\\frac{\\sqrt2}2", "short arguments"), ("-0.70711", "a 5-digit rounding"),
          ("\\frac{-\\sqrt{2}}{2}", "sign in the numerator")),
         (("\\frac{\\sqrt{2}}{2}", "sign dropped"), ("-\\sqrt{2}", "the denominator dropped"))),
    Seed("math", "So $z = \\boxed{3 - 4i}$.",
         (("3-4i", "spacing"), ("-4i + 3", "reordered"), ("z = 3 - 4i", "labelled")),
         (("3 + 4i", "the conjugate"), ("4 - 3i", "parts swapped"))),
    Seed("math", "The value is $\\boxed{\\log_2 5}$.",
         (("\\log_{2} 5", "braced base"), ("\\frac{\\ln 5}{\\ln 2}", "change of base"), ("\\log_2(5)", "parenthesised argument")),
         (("\\log_5 2", "base and argument swapped"), ("\\ln 5", "the base dropped"))),
    Seed("math", "The roots are $\\boxed{2 \\pm \\sqrt{3}}$.",
         (("2+\\sqrt3, 2-\\sqrt3", "both roots listed"), ("2-\\sqrt{3}, 2+\\sqrt{3}", "both roots, other order"),
          ("x = 2 \\pm \\sqrt{3}", "labelled")),
         (("2 + \\sqrt{3}", "one root only"), ("-2 \\pm \\sqrt{3}", "a sign"))),
    Seed("math", "We find $\\boxed{1.2 \\times 10^{5}}$.",
         (("120000", "the same number"), ("120,000", "thousands comma"), ("1.2e5", "e notation")),
         (("1.2 \\times 10^{4}", "an exponent off by one"), ("12000", "a zero dropped"))),
    Seed("math", "The sum is $\\boxed{\\frac{7}{3}}$.",
         (("2\\frac{1}{3}", "a mixed number"), ("2 1/3", "a mixed number in plain text"), ("\\frac{14}{6}", "unreduced"),
          ("2.3333", "a 5-digit rounding")),
         (("2.33", "a 3-digit rounding"), ("\\frac{3}{7}", "the reciprocal"), ("7 1/3", "a different mixed number"))),
    Seed("math", "The answer is $\\boxed{\\sin 30^\\circ}$ which is a half.",
         (("\\frac{1}{2}", "the value"), ("0.5", "the exact decimal"), ("\\cos 60^\\circ", "a co-function")),
         (("\\frac{\\sqrt{3}}{2}", "the cosine's value"), ("30", "the angle itself"))),
    Seed("olympiad", "$\\boxed{\\{(x, y) : x = y\\}}$",
         (("\\{(x,y) : x = y\\}", "spacing"),), (("\\{(x,y) : x = -y\\}", "a different relation"),)),
    Seed("olympiad", "$\\boxed{a = b = c}$",
         (("a=b=c", "spacing"),), (("a = b", "a condition missing"),)),
    Seed("olympiad", "$\\boxed{[2, +\\infty)}$",
         (("x \\ge 2", "the interval as an inequality"), ("[2, \\infty)", "infinity without sign"), ("x \\geq 2", "geq")),
         (("x > 2", "strict"), ("(2, \\infty)", "open end"), ("x \\le 2", "the other side"))),
    Seed("aime", "080", (("80", "the number without leading zero"), ("080", "same")), (("8", "a zero dropped"), ("800", "a zero added"))),
    # a third batch, written before it was ever run
    _gsm8k("42", [("42 cookies", "a count with its noun"), ("**42**", "a bold number"), ("\\$42.00", "currency with cents"),
                  ("42 (forty-two)", "the number then words")],
           [("24", "digits swapped"), ("4.2", "a decimal point"), ("420", "a zero added")]),
    _gsm8k("3600", [("3,600 seconds", "thousands comma and unit"), ("3.6 \\times 10^3", "scientific notation"),
                    ("60^2", "a power with that value")],
           [("360", "a zero dropped"), ("3,060", "a digit moved")]),
    Seed("math", "Hence $\\boxed{\\frac{\\sqrt{6}}{3}}$.",
         (("\\sqrt{\\frac{2}{3}}", "a root of the fraction"), ("\\frac{2}{\\sqrt{6}}", "an unrationalised form"),
          ("\\frac{\\sqrt6}{3}", "short sqrt")),
         (("\\frac{\\sqrt{6}}{2}", "a different denominator"), ("\\sqrt{\\frac{3}{2}}", "the reciprocal under the root"))),
    Seed("math", "The count is $\\boxed{1024}$.",
         (("2^{10}", "a power"), ("1,024", "thousands comma"), ("4^5", "another power"), ("2^{10} = 1024", "a worked value")),
         (("2^{11}", "an exponent off by one"), ("1000", "a round number"))),
    Seed("math", "So $\\boxed{\\frac{x+1}{x-1}}$.",
         (("(x+1)/(x-1)", "slash fraction with brackets"), ("\\frac{1+x}{x-1}", "terms reordered"),
          ("1 + \\frac{2}{x-1}", "partial fractions"), ("\\frac{-x-1}{1-x}", "both signs flipped")),
         (("\\frac{x-1}{x+1}", "the reciprocal"), ("x+1/x-1", "brackets dropped (a different expression)"))),
    Seed("math", "The percentage is $\\boxed{12.5\\%}$.",
         (("12.5\\%", "same"), ("12.5", "the percentage without its sign"), ("\\frac{1}{8}", "the fraction of one")),
         (("125\\%", "a shifted point"), ("1.25", "a shifted point without sign"))),
    Seed("olympiad", "$\\boxed{(1, 1, 1)}$",
         (("(a, b, c) = (1, 1, 1)", "labelled triple"), ("a = b = c = 1", "a chain naming every unknown")),
         (("(1, 1)", "a component missing"), ("(1, 1, 2)", "a wrong component"))),
    Seed("olympiad", "$\\boxed{k = 1 \\text{ or } k = 2}$",
         (("1, 2", "the values listed"), ("k \\in \\{1, 2\\}", "membership in the set"), ("k=2, k=1", "any order")),
         (("k = 1", "a value missing"), ("k \\in [1, 2]", "an interval, not two values"))),
    Seed("olympiad", "$\\boxed{\\text{No}}$",
         (("\\text{No}", "same"), ("No", "bare text"), ("\\text{no}", "case of a yes/no answer")),
         (("\\text{Yes}", "the other answer"),)),
    Seed("choice", "B", (("\\text{B}", "letter in text"), ("(B) 24", "letter and its option"), ("\\textbf{B}", "bold letter")),
         (("(D) 24", "another letter with the same option text"), ("A or B", "a hedge"))),
    # multiple choice
    Seed("choice", "C", (("C", "the letter"), ("(C)", "parenthesised letter"), ("\\textbf{(C)}", "bold letter"),
                         ("C) 12", "letter with its option text")),
         (("B", "a different letter"), ("B or C", "a hedge between letters"), ("(A), (B), (C), (D)", "every letter"))),
    Seed("choice", "(A)", (("A", "the letter"), ("\\text{(A)}", "letter in text")), (("D", "a different letter"),)),
]


def pairs(seed_value: int = 17, per_variant: int = 3) -> Iterator[dict]:
    """Every (gold, completion) pair: each variant in ``per_variant`` of its family's formats."""
    rng = random.Random(seed_value)
    for s in SEEDS:
        formats = FAMILY_TEMPLATES[s.family]
        wrong = s.differ[0][0]
        for variants, expected in ((s.same, True), (s.differ, False)):
            for variant, convention in variants:
                for name in rng.sample(formats, min(per_variant, len(formats))):
                    if name == "revised" and not expected:
                        continue  # a revision to a wrong answer is just a wrong answer: covered by other formats
                    completion = TEMPLATES[name].format(a=variant, w=wrong if expected else s.same[0][0])
                    yield {"family": s.family, "format": name, "gold": s.gold, "completion": completion,
                           "variant": variant, "expected": expected, "convention": convention}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", action="store_true")
    parser.parse_args()
    rows = list(pairs())
    print(len(rows), dict(Counter(r["family"] for r in rows)), dict(Counter(r["expected"] for r in rows)))


if __name__ == "__main__":
    main()
