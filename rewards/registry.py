"""Reward registry: names resolve to ready reward callables.

A reward follows TRL's contract::

    fn(prompts, completions, completion_ids, **dataset_columns) -> list[float | None]

``completions`` is a list of strings, or of message lists for conversational data. ``None`` in the
result means "not applicable" (TRL turns it into NaN and skips it when summing rewards).

Three kinds of object can be registered:

- a function: ``rewards.get(name, **params)`` binds ``params`` to its keyword parameters;
- a callable class: ``rewards.get(name, **params)`` returns ``cls(**params)``;
- a factory (``register(name, factory=True)``): ``rewards.get(name, **params)`` returns
  ``factory(**params)``, which must itself be a reward callable.

Every reward handed out is a :class:`Reward`: it passes the callee only the dataset columns its
signature declares (or all of them when it takes ``**kwargs``), raises :class:`MissingColumnError`
naming the reward and the column when a declared column is absent, and checks the length of the
result. A reward may also declare columns chosen at construction time with a ``required_columns``
attribute (for example ``math_accuracy(gold_column="solution")``).

Names resolve in this order: ``"package.module:attr"`` imports lazily; a registered name; an entry
point of the group ``grpo_ext.rewards`` whose name matches (loaded only then).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

ENTRY_POINT_GROUP = "grpo_ext.rewards"
# Keyword arguments TRL passes that are not dataset columns. A reward receives one only if it
# declares it by name.
CORE_ARGS = ("prompts", "completions", "completion_ids")
TRAINER_ARGS = ("trainer_state", "log_extra", "log_metric", "environments")
_NOT_COLUMNS = frozenset(CORE_ARGS + TRAINER_ARGS)


class RewardError(ValueError):
    """Base class of the registry's errors."""


class UnknownRewardError(RewardError, KeyError):
    def __str__(self) -> str:  # KeyError would print the message in quotes
        return self.args[0]


class DuplicateRewardError(RewardError):
    pass


class RewardSignatureError(RewardError, TypeError):
    pass


class MissingColumnError(RewardError, KeyError):
    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class _Entry:
    name: str
    target: Any
    kind: str  # "function" | "class" | "factory"
    doc: str
    itemwise: bool = False


@dataclass(frozen=True)
class _Params:
    """What a reward callable declares: the columns it needs, may use, and whether it takes all."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    takes_all: bool
    wants: tuple[str, ...]  # of CORE_ARGS + TRAINER_ARGS, the ones it names


_REGISTRY: dict[str, _Entry] = {}


def _first_line(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph, on one line."""
    paragraph = " ".join(line.strip() for line in (doc or "").strip().split("\n\n")[0].splitlines())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


def inspect_reward(fn: Callable, name: str, bound: Sequence[str] = ()) -> _Params:
    """Read a reward's parameters, raising :class:`RewardSignatureError` if it cannot be called
    the way TRL calls rewards (all by keyword, ``completions`` among them)."""
    if not callable(fn):
        raise RewardSignatureError(f"reward {name!r}: {fn!r} is not callable")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as err:
        raise RewardSignatureError(f"reward {name!r}: cannot read its signature ({err})") from err
    required, optional, wants, takes_all = [], [], [], False
    for p in sig.parameters.values():
        if p.name in bound:
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise RewardSignatureError(
                f"reward {name!r}: parameter {p.name!r} is positional-only, but rewards are "
                "called with keyword arguments; remove the '/' from its signature"
            )
        if p.kind is p.VAR_KEYWORD:
            takes_all = True
        elif p.kind is p.VAR_POSITIONAL:
            continue
        elif p.name in _NOT_COLUMNS:
            wants.append(p.name)
        elif p.default is p.empty:
            required.append(p.name)
        else:
            optional.append(p.name)
    if "completions" not in wants and not takes_all:
        raise RewardSignatureError(
            f"reward {name!r}: its signature {sig} has no 'completions' parameter; a reward is "
            "called as fn(prompts=..., completions=..., completion_ids=..., **columns)"
        )
    extra = getattr(fn, "required_columns", ())
    required += [c for c in extra if c not in required]
    return _Params(tuple(required), tuple(optional), takes_all, tuple(wants))


class Reward:
    """A reward callable with TRL's contract, wrapping a user's function, instance or partial.

    Picklable whenever the wrapped callable is (module-level functions, partials of them and
    instances of module-level classes are).
    """

    def __init__(self, fn: Callable, name: str, bound: Sequence[str] = (), itemwise: bool = False):
        self.fn = fn
        self.name = self.__name__ = name
        self.params = inspect_reward(fn, name, bound)
        # scores each completion on its own (no batch statistics): a pool may call it item by item
        self.itemwise = bool(itemwise or getattr(fn, "itemwise", False) or getattr(getattr(fn, "func", None), "itemwise", False))

    def __repr__(self) -> str:
        return f"Reward({self.name!r}, {self.fn!r})"

    def select(self, columns: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments this reward receives from everything the trainer passes."""
        p = self.params
        for col in p.required:
            if col not in columns:
                have = sorted(k for k in columns if k not in _NOT_COLUMNS)
                raise MissingColumnError(
                    f"reward {self.name!r} needs the dataset column {col!r}, but the batch has "
                    f"only {have}; add the column to the dataset or rename it (e.g. "
                    f"dataset.rename_column(<old>, {col!r}))"
                )
        if p.takes_all:
            return dict(columns)
        keep = set(p.required) | set(p.optional) | set(p.wants)
        return {k: v for k, v in columns.items() if k in keep}

    def __call__(self, prompts=None, completions=None, completion_ids=None, **columns):
        if completions is None:
            raise TypeError(f"reward {self.name!r} was called without completions")
        columns.update(prompts=prompts, completions=completions, completion_ids=completion_ids)
        out = self.fn(**self.select(columns))
        return check_output(self.name, out, len(completions))


def check_output(name: str, out: Any, n: int) -> list[float | None]:
    """Validate a reward's return value: one float (or None) per completion."""
    if not isinstance(out, (list, tuple)):
        raise RewardError(f"reward {name!r} returned {type(out).__name__}; expected a list of {n} floats")
    if len(out) != n:
        raise RewardError(f"reward {name!r} returned {len(out)} values for {n} completions")
    result = []
    for i, v in enumerate(out):
        if v is not None and not isinstance(v, (int, float)):
            try:
                v = float(v)  # numpy and torch scalars
            except (TypeError, ValueError):
                raise RewardError(f"reward {name!r} returned {v!r} at index {i}; expected a float or None") from None
        result.append(None if v is None else float(v))
    return result


def register(name: str | None = None, *, factory: bool = False, itemwise: bool = False):
    """Decorator adding a reward function, callable class or (``factory=True``) factory under
    ``name`` (default: the object's ``__name__``). A duplicate name raises.

    ``itemwise=True`` declares that the reward scores each completion on its own, looking at no
    other completion of the batch: the reward runner may then call it one completion at a time,
    each under its own time limit. Without it, the runner calls it on the whole batch, as TRL does."""

    def deco(obj):
        key = name or obj.__name__
        kind = "factory" if factory else "class" if isinstance(obj, type) else "function"
        if kind == "function":
            inspect_reward(obj, key)
        elif kind == "class":
            inspect_reward(functools.partial(obj.__call__, None), key)
        if key in _REGISTRY and _REGISTRY[key].target is not obj:
            old = _REGISTRY[key].target
            raise DuplicateRewardError(
                f"reward name {key!r} is already registered by {old.__module__}.{old.__qualname__}; "
                "choose another name"
            )
        _REGISTRY[key] = _Entry(key, obj, kind, _first_line(obj.__doc__), itemwise or key in _ITEMWISE_BUILTINS)
        return obj

    return deco


def _entry_points():
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _import_path(path: str):
    module, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise UnknownRewardError(f"cannot load reward {path!r}: {err}") from err
    return obj


def _lookup(name: str) -> _Entry:
    _load_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        obj = _import_path(name)
        for entry in _REGISTRY.values():  # a decorated object keeps its registered kind
            if entry.target is obj:
                return entry
        kind = "class" if isinstance(obj, type) else "function"
        return _Entry(name, obj, kind, _first_line(getattr(obj, "__doc__", "")))
    for ep in _entry_points():
        if ep.name == name:
            obj = ep.load()  # importing may register it under this name
            if name not in _REGISTRY:
                register(name)(obj)
            return _REGISTRY[name]
    names = sorted(set(_REGISTRY) | {ep.name for ep in _entry_points()})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownRewardError(
        f"unknown reward {name!r}.{hint} Available: {', '.join(names)}. "
        "Register one with @rewards.register, or name it as 'package.module:function'."
    )


def get(name: str, **params) -> Reward:
    """Return the reward ``name`` ready to call, with ``params`` bound."""
    entry = _lookup(name)
    if entry.kind == "function":
        sig = inspect.signature(entry.target)
        for key in params:
            p = sig.parameters.get(key)
            if p is None and not any(q.kind is q.VAR_KEYWORD for q in sig.parameters.values()):
                raise RewardSignatureError(
                    f"reward {name!r} has no parameter {key!r}; its parameters are {list(sig.parameters)}"
                )
            if key in CORE_ARGS:
                raise RewardSignatureError(f"reward {name!r}: {key!r} is supplied by the trainer, not a parameter")
        fn = functools.partial(entry.target, **params) if params else entry.target
        return Reward(fn, entry.name, bound=tuple(params), itemwise=entry.itemwise)
    try:
        obj = entry.target(**params)
    except TypeError as err:
        raise RewardSignatureError(f"reward {name!r}: bad parameters {params}: {err}") from err
    return Reward(obj, entry.name, itemwise=entry.itemwise)


_SPEC = re.compile(r"^\s*([\w.:-]+)\s*(?:\((.*)\))?\s*$", re.S)


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``"soft_overlong(max_length=512, cache_length=128)"`` -> ``("soft_overlong", {...})``.

    Values are read as YAML scalars or flow collections (``3``, ``true``, ``[a, b]``, ``'text'``).
    """
    import yaml

    m = _SPEC.match(text)
    if not m:
        raise RewardError(f"cannot read reward spec {text!r}; write NAME or NAME(key=value, ...)")
    name, body = m.group(1), (m.group(2) or "").strip()
    if not body:
        return name, {}
    try:
        params = yaml.safe_load("{" + re.sub(r"(\w+)\s*=\s*", r"\1: ", body) + "}")
    except yaml.YAMLError as err:
        raise RewardError(f"cannot read the parameters of reward spec {text!r}: {err}") from None
    if not isinstance(params, dict):
        raise RewardError(f"cannot read the parameters of reward spec {text!r}")
    return name, params


_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def is_spec(text: str) -> bool:
    """Does this string name a reward here (registered, entry point, ``module:attr`` or with params)?"""
    m = _SPEC.match(text)
    if not m:
        return False
    name = m.group(1)
    return m.group(2) is not None or ":" in name or name in available()


def resolve(spec: str | dict | Callable) -> Callable:
    """One reward from a name or ``"name(key=value, ...)"``, a ``{"name": ..., **params}`` mapping,
    or a callable (returned unchanged)."""
    if isinstance(spec, str):
        name, params = parse_spec(spec)
        return get(name, **params)
    if isinstance(spec, dict):
        spec = dict(spec)
        if "name" not in spec:
            raise RewardError(f"reward spec {spec} has no 'name' key")
        name = spec.pop("name")
        return get(name, **spec.pop("params", {}), **spec)
    if callable(spec):
        return spec
    raise RewardError(f"cannot make a reward of {spec!r}; give a name, a mapping with 'name', or a callable")


def reward_model_id(spec: str) -> str | None:
    """The reward model a reward string names, or None for a registry reward: ``model:ID`` or
    ``model:./folder``, an existing local folder, or ``ORG/NAME`` (one slash, no spaces) name a
    reward model; a registered name, ``name(k=v)`` or ``module:attr`` a registry reward.
    Raises the registry's error for a string that is neither."""
    if spec.startswith("model:"):
        return spec[len("model:"):]
    if is_spec(spec):
        return None
    if os.path.isdir(spec) or _HUB_ID.match(spec):
        return spec
    resolve(spec)  # an unknown name: the registry's error, with the closest names
    return None


def available() -> dict[str, str]:
    """Registered names with one-line docs; entry points not yet loaded are listed by origin."""
    _load_builtins()
    out = {name: entry.doc for name, entry in _REGISTRY.items()}
    for ep in _entry_points():
        out.setdefault(ep.name, f"(entry point {ep.value}, not loaded yet)")
    return dict(sorted(out.items()))


def unregister(name: str) -> None:
    """Remove a name (for tests and interactive use)."""
    _REGISTRY.pop(name, None)


# The built-in rewards that score each completion on its own (the code rewards bound themselves,
# batch-wide, in their sandbox).
_ITEMWISE_BUILTINS = frozenset({"math_accuracy", "cosine_scaled", "answer_format", "think_format", "tag_count",
                                "soft_overlong", "repetition_penalty"})
_BUILTIN_MODULES = ("grpo_ext.rewards.math", "grpo_ext.rewards.format", "grpo_ext.rewards.shaping", "grpo_ext.rewards.code")


@functools.cache
def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
