"""Old import path of :mod:`rewards.code._isolate`: importing it gives that same module object."""

import sys

from .code import _isolate as _module

sys.modules[__name__] = _module
