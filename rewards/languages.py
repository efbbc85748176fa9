"""Old import path of :mod:`rewards.code.languages`: importing it gives that same module object."""

import sys

from .code import languages as _module

sys.modules[__name__] = _module
