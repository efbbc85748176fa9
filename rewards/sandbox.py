"""Old import path of :mod:`rewards.code.sandbox`: importing it gives that same module object."""

import sys

from .code import sandbox as _module

sys.modules[__name__] = _module
