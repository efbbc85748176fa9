"""Old import path of :mod:`rewards.code.rows`: importing it gives that same module object."""

import sys

from .code import rows as _module

sys.modules[__name__] = _module
