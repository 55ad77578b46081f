"""Replaying history in time order, so no message is learned (or scored) after one from its future.

`replay_order` sorts messages by their Date header, read cheaply from the header block alone (no
MIME parse: sorting 48k messages must not cost a second full parse of each). The date is the one
`parse` would give: the first Date field, and None for a missing, unreadable or impossible one
(years outside 1970..2100, as in the corpora's 0102 and 3610).

Undated messages go last, in input order: they cannot be placed in time, and since they move no
dates, windows, active days or send hours (see `observation`), learning them last only adds their
counts; placing them first would make every later message look like it followed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from mailwarden.parse import headers

if TYPE_CHECKING:
    from mailwarden.baselines.store import BaselineStore
    from mailwarden.tenant import Tenant

T = TypeVar("T")

MIN_YEAR = 1970
MAX_YEAR = 2100


def header_date(raw: bytes) -> datetime | None:
    """The message's Date (aware), or None when missing, unreadable or outside 1970..2100."""
    block, _ = headers.split(raw)
    for name, value in headers.fields(block, []):
        if name.lower() == "date":
            if not value.strip():
                return None
            date = headers.parse_date(value)
            if date is None or not MIN_YEAR <= date.year <= MAX_YEAR:
                return None
            return date
    return None


def replay_order(items: Iterable[tuple[bytes, T]]) -> tuple[list[T], int]:
    """The payloads of ``(raw, payload)`` pairs in Date order (stable: equal dates keep input
    order), undated ones last; and how many were undated."""
    dated: list[tuple[datetime, int, T]] = []
    undated: list[T] = []
    for index, (raw, payload) in enumerate(items):
        when = header_date(raw)
        if when is None:
            undated.append(payload)
        else:
            dated.append((when, index, payload))
    dated.sort(key=lambda d: (d[0], d[1]))
    return [payload for _, _, payload in dated] + undated, len(undated)


def learn_as_safe(store: BaselineStore, raw: bytes, tenant: Tenant, sha256: str = "") -> bool:
    """Learn one message of trusted history as safe, without scoring it (``learn
    --assume-safe``, the rule samples' history). False when its Message-ID was learned before."""
    from mailwarden.baselines.observation import message_keys, observe
    from mailwarden.parse import parse

    message = parse(raw)
    keys = message_keys(message, tenant, sha256)
    return store.learn(observe(message, tenant, "safe", keys=keys))
