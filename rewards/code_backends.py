"""Old import path of :mod:`rewards.code.backends`: importing it gives that same module object."""

import sys

from .code import backends as _module

sys.modules[__name__] = _module
