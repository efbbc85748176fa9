"""Old import path of :mod:`rewards.code._harness`: importing it gives that same module object."""

import sys

from .code import _harness as _module

sys.modules[__name__] = _module
