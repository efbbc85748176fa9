"""Old import path of :mod:`rewards.code._bounds`: importing it gives that same module object."""

import sys

from .code import _bounds as _module

sys.modules[__name__] = _module
