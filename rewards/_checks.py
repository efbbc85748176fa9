"""Old import path of :mod:`rewards.code._checks`: importing it gives that same module object."""

import sys

from .code import _checks as _module

sys.modules[__name__] = _module
