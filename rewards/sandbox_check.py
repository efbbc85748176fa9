"""Old import path of :mod:`rewards.code.sandbox_check`: importing it gives that same module object."""

import sys

from .code import sandbox_check as _module

sys.modules[__name__] = _module
