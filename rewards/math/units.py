"""The words an answer may carry after its value and still be that value: units and the nouns of a count.

Docs: docs/math.md, "Units: an allow-list". A word after the number is dropped only when it is
listed here (its plural folded); any other word keeps the answer from being the bare value, since
the words a policy can add after a number include ones that change it: a scale ("kilo", "bn",
"tens"), a sign ("debt", "loss", "BC"), an operation ("halved", "square"), a bound ("max", "tops").
A list that names what is allowed can be wrong only by refusing; a list of what is forbidden is
wrong each time the policy finds a word it lacks.
"""

from __future__ import annotations

_SI = "m cm mm km nm um dm g kg mg ug l ml cl dl s ms us ns h hr hrs min mins sec secs j kj w kw mw v mv a ma " \
      "hz khz mhz ghz n kn pa kpa mol k c f b kb mb gb tb bit bits byte bytes ohm ohms"
_LENGTH = "meter metre centimeter centimetre millimeter millimetre kilometer kilometre nanometer micrometer " \
          "inch inches foot feet ft yard yd yards mile mi miles in"
_AREA_VOLUME = "sq square_units unit units liter litre milliliter millilitre gallon gal quart pint cup cups " \
               "teaspoon tablespoon ounce oz fluid cc acre acres hectare ha"
_MASS = "gram kilogram milligram pound lb lbs ton tons tonne tonnes"
_TIME = "second minute hour day week month year decade century millennium seconds minutes hours days weeks " \
        "months years yr yrs"
_ANGLE = "degree degrees deg radian radians rad"
_MONEY = "dollar dollars cent cents usd eur euro euros pound pence penny pennies yen yuan rupee rupees " \
         "rs peso pesos franc francs"
_MOTION = "mph kph kmh rpm knot knots"
_TEMPERATURE = "celsius fahrenheit kelvin"
# nouns of a count: what word problems count (the value is the number of them)
_COUNTS = (
    "way ways person persons people student students child children kid kids boy boys girl girls man men woman "
    "women adult adults friend friends member members player players team teams worker workers employee "
    "employees customer customers guest guests teacher teachers class classes family families visitor visitors "
    "apple orange banana pear peach lemon cherry grape strawberry fruit marble ball cookie candy candies sweet "
    "chocolate cake cupcake muffin pie pizza slice sandwich egg book page notebook pencil pen crayon sticker card "
    "stamp coin bill toy doll block brick box bag basket bottle can jar cup plate bowl glass shirt sock shoe hat "
    "dress car truck bus bike bicycle wheel tire train plane boat seat chair table desk room house building floor "
    "window door tree flower plant seed leaf rose tulip dog cat bird fish cow pig sheep goat horse chicken duck "
    "rabbit animal pet insect bug spider ant bee legs leg eye ear hand finger toe step stair lap mile game match "
    "round point goal question problem answer test quiz lesson chapter song video movie ticket item object piece "
    "part thing number numbers integer integers digit digits letter letters word words sentence line lines "
    "side sides edge edges vertex vertices vertice face faces angle angles triangle triangles square squares "
    "rectangle rectangles circle circles cube cubes sphere shape shapes tile tiles path paths route routes "
    "arrangement arrangements combination combinations permutation permutations outcome outcomes solution "
    "solutions pair_of roll rolls flip flips draw draws move moves turn turns time times_unit hour_unit "
    "batch batches pack packs box_unit carton cartons dozen_unit gift gifts prize prizes vote votes")
UNIT_WORDS = frozenset(" ".join((_SI, _LENGTH, _AREA_VOLUME, _MASS, _TIME, _ANGLE, _MONEY, _MOTION, _TEMPERATURE,
                                 _COUNTS)).split()) - {"square_units", "pair_of", "times_unit", "hour_unit",
                                                        "box_unit", "dozen_unit"}
# never units, although some are nouns a count could use: each changes what the number says
_NOT_UNITS = frozenset("square cube time times sq cubic cu".split())
_AREA_WORDS = frozenset("square sq cubic cu".split())  # only before a unit: "5 square units", not "5 square"


def is_unit(word: str, before_unit: bool = False) -> bool:
    """True when ``word`` (a trailing ``.`` or exponent already dropped) may follow a value without
    changing it: a listed unit or count noun, or the plural of one (``-s``, ``-es``, ``-ies``);
    "square" / "cubic" only when a unit follows (``before_unit``)."""
    w = word.lower()
    if w in _AREA_WORDS:
        return before_unit
    if w in _NOT_UNITS:
        return False
    forms = {w, w[:-1] if w.endswith("s") else w, w[:-2] if w.endswith("es") else w,
             w[:-3] + "y" if w.endswith("ies") else w}
    return any(f in UNIT_WORDS for f in forms)
