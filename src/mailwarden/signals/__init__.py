"""Signals: named, typed, pure functions of (Message, Context).

A signal is registered with `@signal("sender.freemail", bool)`; its level is the first segment of
its name (``message``, ``sender`` or ``recipient``) and its docstring says what it measures. Modules
in this package are discovered, not listed: add a module, decorate a function, done.

Values are computed lazily through `SignalValues`, so a scan computes only the signals its
detectors read.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from mailwarden.context import Context
from mailwarden.message import Message

Level = Literal["message", "sender", "recipient"]
LEVELS: tuple[Level, ...] = ("message", "sender", "recipient")
# A signal's value is one of these; tuple means a tuple of strings (domains, names, symbols).
SignalType = type[bool] | type[int] | type[float] | type[str] | type[tuple[str, ...]]
SignalFn = Callable[[Message, Context], Any]


@dataclass(frozen=True, slots=True)
class SignalSpec:
    name: str
    level: Level
    type: type
    fn: SignalFn
    doc: str

    @property
    def default(self) -> Any:
        """The neutral value, used when computing the signal failed."""
        return self.type()


REGISTRY: dict[str, SignalSpec] = {}
F = TypeVar("F", bound=SignalFn)


def signal(name: str, type_: type) -> Callable[[F], F]:
    """Register `fn` as the signal `name` returning `type_` (bool, int, float, str or tuple)."""
    level = name.partition(".")[0]
    if level not in LEVELS:
        raise ValueError(f"signal {name!r}: name must start with one of {LEVELS}")
    if type_ not in (bool, int, float, str, tuple):
        raise ValueError(f"signal {name!r}: unsupported type {type_!r}")

    def register(fn: F) -> F:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"signal {name!r} registered twice")
        doc = " ".join((fn.__doc__ or "").split())
        REGISTRY[name] = SignalSpec(name, level, type_, fn, doc)
        return fn

    return register


_discovered = False


def discover() -> dict[str, SignalSpec]:
    """Import every module under `mailwarden.signals` once, and return the registry."""
    global _discovered
    if not _discovered:
        for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
            importlib.import_module(info.name)
        _discovered = True
    return REGISTRY


class SignalError(Exception):
    pass


class SignalValues(Mapping[str, Any]):
    """The signals of one message, computed on first read and cached.

    A signal that raises yields its neutral value and is recorded in `errors`, so one bad signal
    never costs a verdict (the verdict lists it as a defect).
    """

    __slots__ = ("_cache", "ctx", "errors", "msg")

    def __init__(self, msg: Message, ctx: Context) -> None:
        self.msg = msg
        self.ctx = ctx
        self._cache: dict[str, Any] = {}
        self.errors: list[str] = []

    def __getitem__(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            pass
        spec = REGISTRY[name]
        try:
            value = spec.fn(self.msg, self.ctx)
        except Exception as exc:  # noqa: BLE001 - a signal bug must not cost the verdict
            self.errors.append(f"signal-error:{name}:{type(exc).__name__}")
            value = spec.default
        self._cache[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    def values_of(self, names: Sequence[str]) -> list[Any]:
        """The values of `names`, computed as needed: one call for many (a model's inputs)
        costs a fraction of reading them one by one."""
        cache = self._cache
        return [cache[n] if n in cache else self[n] for n in names]

    def computed(self) -> dict[str, Any]:
        return dict(self._cache)
