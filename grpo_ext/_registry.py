"""A named registry shared by the KL estimators and the advantage modes: duplicate names raise,
an unknown name's error lists the closest names and all valid ones."""

from __future__ import annotations

import difflib
from typing import Generic, TypeVar

T = TypeVar("T")


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if (doc or "").strip() else ""


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what  # e.g. "kl_estimator", used in messages
        self.items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        if name in self.items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self.items[name] = item

    def get(self, name: str) -> T:
        if name not in self.items:
            close = difflib.get_close_matches(name, self.items, n=3, cutoff=0.4)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"unknown {self.what} {name!r}.{hint} Choose one of: {', '.join(self.items)}")
        return self.items[name]

    def docs(self) -> dict[str, str]:
        return {name: item.doc for name, item in self.items.items()}
