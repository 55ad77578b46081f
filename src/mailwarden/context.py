"""What a message is scored against, besides itself: the tenant and (later) behavioral baselines.

Signals take `(Message, Context)` and do no I/O; every lookup they need comes through here, so the
CLI, the service and Spark can each build a Context from their own stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailwarden.tenant import Tenant


@dataclass(frozen=True, slots=True)
class Context:
    tenant: Tenant
    # Behavioral baseline lookups (sender profile, pair history, recipient profile) for this
    # message; None when the engine runs without a baseline store. Behavioral signals read it and
    # return their neutral value when it is None.
    baseline: Any = None
    # The time the message is scored at, for replay: never the wall clock inside a signal.
    now: datetime | None = None
