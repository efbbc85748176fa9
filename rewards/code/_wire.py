"""Plain data across the boundary between a program and its test code (see ``rewards.code.split``).

Shipped as a file into both sandboxes of a split run (standard library only). A value crosses as
one line of JSON text; only exact built-in types keep their type:

- ``None``, ``bool``, ``int``, ``float`` (NaN and infinities included), ``str`` and ``list`` as JSON;
- ``tuple`` ``{"t": [...]}``, ``set`` ``{"s": [...]}``, ``frozenset`` ``{"f": [...]}``, ``dict``
  ``{"d": [[key, value], ...]}`` (any plain hashable keys), ``bytes`` ``{"b": "hex"}``, ``complex``
  ``{"c": [real, imag]}``;
- an ``int`` of more than about 3600 digits ``{"i": "hex"}`` (JSON text stops at 4300 digits);
- ``bytearray`` ``{"B": "hex"}``, ``fractions.Fraction`` ``{"q": [num, den]}``, ``decimal.Decimal``
  ``{"D": text}``, ``collections.deque`` ``{"Q": [...]}``;
- a subclass of one of these types (``Counter``, ``OrderedDict``, a ``namedtuple``, an ``IntEnum``)
  as the base value it holds, read with the base type's own methods;
- anything else ``{"h": n}``: a reference to an object that stays in the interpreter that owns
  it (the caller's ``handle`` decides what that means, or refuses).

Decoding is strict: any other shape, a key that is not hashable, nesting deeper than
``MAX_DEPTH`` or a line longer than ``MAX_BYTES`` is a :class:`WireError`, never a value.
"""

import json

MAX_DEPTH, MAX_BYTES = 100, 4 << 20
_SCALARS = (type(None), bool, int, float, str)


class WireError(ValueError):
    pass


_BASES = (bool, int, float, str, list, tuple, set, frozenset, dict, bytes, complex, bytearray)  # bool before int
_LONG_BITS = 12000  # about 3600 digits: past that an int crosses as hex (JSON text stops at 4300 digits)


def _base(value):
    """The built-in type ``value`` is an instance of (a subclass's base: a Counter is a dict), or None."""
    kind = type(value)
    if kind in _BASES or kind is type(None):
        return kind
    return next((base for base in _BASES if isinstance(value, base)), None)


def to_wire(value, handle, depth=0):
    """The JSON-ready form of ``value``; ``handle(obj) -> int`` names an object that is not plain
    data. A subclass of a built-in type crosses as the base value it holds (read with the base
    type's own methods, so the subclass's overrides play no part)."""
    if depth > MAX_DEPTH:
        raise WireError("nesting deeper than %d" % MAX_DEPTH)
    kind = _base(value)
    if kind is type(None):
        return None
    if kind is bool:
        return int.__bool__(value)
    if kind is int:
        return int.__index__(value) if int.bit_length(value) <= _LONG_BITS else {"i": int.__format__(value, "x")}
    if kind is float:
        return float.__float__(value)
    if kind is str:
        return str.__str__(value)
    if kind is list:
        return [to_wire(v, handle, depth + 1) for v in list.__iter__(value)]
    if kind is tuple:
        return {"t": [to_wire(v, handle, depth + 1) for v in tuple.__iter__(value)]}
    if kind is set or kind is frozenset:
        items = set.__iter__(value) if kind is set else frozenset.__iter__(value)
        return {"s" if kind is set else "f": [to_wire(v, handle, depth + 1) for v in items]}
    if kind is dict:
        return {"d": [[to_wire(k, handle, depth + 1), to_wire(v, handle, depth + 1)] for k, v in list(dict.items(value))]}
    if kind is bytes:
        return {"b": bytes.hex(value)}
    if kind is complex:
        return {"c": [complex.__getattribute__(value, "real"), complex.__getattribute__(value, "imag")]}
    return _library(value, kind, handle, depth)


def _library(value, kind, handle, depth):
    """Standard-library values that are plain data: ``Fraction``, ``Decimal``, ``bytearray``, ``deque``."""
    name = (getattr(type(value), "__module__", ""), getattr(type(value), "__qualname__", ""))
    if kind is bytearray:
        return {"B": bytes(value).hex()}
    if name == ("fractions", "Fraction"):
        return {"q": [to_wire(value.numerator, handle, depth + 1), to_wire(value.denominator, handle, depth + 1)]}
    if name == ("decimal", "Decimal"):
        return {"D": str(value)}
    if name == ("collections", "deque"):
        return {"Q": [to_wire(v, handle, depth + 1) for v in list(value)]}
    return {"h": handle(value)}


def dumps(message) -> bytes:
    """One line of JSON text (a message of plain JSON built from ``to_wire`` forms)."""
    try:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    except (ValueError, TypeError, RecursionError) as err:  # e.g. an int of more than 4300 digits
        raise WireError("cannot be sent: %s" % err) from None
    if len(data) > MAX_BYTES:
        raise WireError("message larger than %d bytes" % MAX_BYTES)
    return data


def loads(line: bytes):
    """A message (JSON text), or WireError."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError, UnicodeDecodeError) as err:
        raise WireError("not a message: %s" % str(err)[:100]) from None


def from_wire(form, handle, depth=0):
    """The value a ``to_wire`` form stands for; ``handle(n)`` gives the object a reference names."""
    if depth > MAX_DEPTH:
        raise WireError("nesting deeper than %d" % MAX_DEPTH)
    kind = type(form)
    if kind in _SCALARS:
        return form
    if kind is list:
        return [from_wire(v, handle, depth + 1) for v in form]
    if kind is not dict or len(form) != 1:
        raise WireError("not a value: %s" % kind.__name__)
    (tag, body), = form.items()
    try:
        if tag in ("t", "s", "f") and type(body) is list:
            items = [from_wire(v, handle, depth + 1) for v in body]
            return tuple(items) if tag == "t" else set(items) if tag == "s" else frozenset(items)
        if tag == "d" and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
            return {from_wire(k, handle, depth + 1): from_wire(v, handle, depth + 1) for k, v in body}
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "c" and type(body) is list and len(body) == 2 and all(type(x) in (int, float) for x in body):
            return complex(body[0], body[1])
        if tag == "B" and type(body) is str:
            return bytearray.fromhex(body)
        if tag == "q" and type(body) is list and len(body) == 2:
            import fractions
            num, den = (from_wire(v, handle, depth + 1) for v in body)
            if type(num) is int and type(den) is int and den > 0:
                return fractions.Fraction(num, den)
        if tag == "D" and type(body) is str and len(body) < 10000:
            import decimal
            return decimal.Decimal(body)
        if tag == "Q" and type(body) is list:
            import collections
            return collections.deque(from_wire(v, handle, depth + 1) for v in body)
        if tag == "i" and type(body) is str and len(body) < MAX_BYTES:
            return int(body, 16)
        if tag == "h" and type(body) is int:
            return handle(body)
    except WireError:
        raise
    except (TypeError, ValueError, ArithmeticError) as err:  # an unhashable element or key, bad hex, bad decimal
        raise WireError("not a value: %s" % str(err)[:100]) from None
    raise WireError("not a value: tag %r" % str(tag)[:20])


def refill(old, new):
    """Give ``old`` (a list, dict or set of the test code's) the contents ``new`` came back with."""
    if type(old) is not type(new):
        return
    if type(old) is list and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            if type(a) is type(b) and type(a) in (list, dict, set):
                refill(a, b)
            else:
                old[i] = b
    elif type(old) is list:
        old[:] = new
    else:
        old.clear()
        old.update(new)
