"""Behavioral baselines: what each organisation's mail normally looks like, learned message by
message (score first, then learn) or rebuilt in batch from history with identical results.

    keys = message_keys(message, tenant)           # pure
    view = store.view(tenant.id, keys)             # I/O: one read -> BaselineView (ctx.baseline)
    ... score ...
    store.learn(observe(message, tenant, verdict.verdict, keys=keys))

Stores: `MemoryStore`, `SQLiteStore` (`open_store({"type": "sqlite", "path": ...})`).
"""

from mailwarden.baselines.memory import MemoryStore
from mailwarden.baselines.observation import (
    UNTRUSTED_VERDICTS,
    MessageKeys,
    Observation,
    message_keys,
    observe,
    payment_fingerprints,
)
from mailwarden.baselines.profiles import (
    COMMON_MIN_DAYS,
    COMMON_MIN_MESSAGES,
    WINDOW_DAYS,
    AddressUse,
    BaselineView,
    DomainProfile,
    PairHistory,
    PaymentUse,
    Prevalence,
    RecipientProfile,
    SenderProfile,
    empty_view,
)
from mailwarden.baselines.replay import header_date, replay_order
from mailwarden.baselines.sqlite import SQLiteStore
from mailwarden.baselines.store import (
    STORES,
    BaselineStore,
    MemoryStoreConfig,
    RecordStore,
    SQLiteStoreConfig,
    StoreConfig,
    open_store,
)

__all__ = [
    "COMMON_MIN_DAYS",
    "COMMON_MIN_MESSAGES",
    "STORES",
    "UNTRUSTED_VERDICTS",
    "WINDOW_DAYS",
    "AddressUse",
    "BaselineStore",
    "BaselineView",
    "DomainProfile",
    "MemoryStore",
    "MemoryStoreConfig",
    "MessageKeys",
    "Observation",
    "PairHistory",
    "PaymentUse",
    "Prevalence",
    "RecipientProfile",
    "RecordStore",
    "SQLiteStore",
    "SQLiteStoreConfig",
    "SenderProfile",
    "StoreConfig",
    "empty_view",
    "header_date",
    "message_keys",
    "observe",
    "open_store",
    "payment_fingerprints",
    "replay_order",
]
