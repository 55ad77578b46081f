"""The one small interface every baseline store implements, and the typed config that opens one.

    store = open_store(StoreConfig.model_validate({"type": "sqlite", "path": "base.sqlite"}))
    view = store.view(tenant.id, keys)      # before scoring: one read
    store.learn(observation)                # after scoring
    store.learn_many(observations)          # rebuilding from history, batched

A store holds records (see `records`) per tenant and key; `RecordStore` implements the protocol
for any backend that can load and save records by key inside a transaction, so a new backend
(Redis) is `_load` + `_save` (+ `_transaction`, or `_write` for a one-shot atomic write such as
a Redis MULTI/EXEC) + a short name in `STORES`, with no caller touched.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from mailwarden.baselines import records
from mailwarden.baselines.correspondents import CorrespondentIndex, Correspondents
from mailwarden.baselines.observation import MessageKeys, Observation
from mailwarden.baselines.profiles import BaselineView

# Observations learned per transaction by `learn_many`: large enough that commit cost vanishes,
# small enough that a crash loses little (and a rerun skips what was committed, by Message-ID).
DEFAULT_BATCH = 2000


@runtime_checkable
class BaselineStore(Protocol):
    def view(self, tenant: str, keys: MessageKeys) -> BaselineView:
        """Everything known about one message's sender, recipients and names, in one read."""
        ...

    def learn(self, observation: Observation) -> bool:
        """Learn one message; False when its Message-ID was learned before."""
        ...

    def learn_many(self, observations: Iterable[Observation]) -> int:
        """Learn messages in order (as `learn` one by one would); returns how many were new."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class RecordStore:
    """A `BaselineStore` over any backend that loads and saves records by (tenant, key).

    Records read are kept decoded in a small cache that views and learning share (a view reads
    every key that learning the same message touches, so learning after a view reads nothing);
    learned records are written back when `commit_every` messages (`batch` in `learn_many`)
    have been learned, in one transaction that also holds their Message-IDs: all or nothing.
    A failure while learning drops everything not yet committed, as a rollback would.

    Each tenant's correspondent domains are kept indexed in memory (`CorrespondentIndex`),
    filled from the ``c:<i>`` log records once and then only with the entries the ``c:`` count
    (read by every view) says are new: those this store learned come from its cache, those
    another process committed are read by key. Views carry a snapshot of it.
    """

    batch: int = DEFAULT_BATCH  # observations per transaction in `learn_many`
    commit_every: int = 1  # observations per transaction in `learn`
    cache_size: int = 0  # records kept decoded after a commit (0: none)

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, records.Record]] = {}
        self._dirty: dict[str, set[str]] = {}
        self._pending = 0
        self._checked = False  # the cache was just checked against other writers (by a view)
        self._correspondents: dict[str, CorrespondentIndex] = {}

    # --- what a backend implements

    def _load(self, tenant: str, keys: list[str]) -> Mapping[str, records.Record]:
        raise NotImplementedError

    def _save(self, tenant: str, changed: Mapping[str, records.Record]) -> None:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Any]:
        """One commit of learned records happens inside it, all or nothing."""
        return nullcontext()

    def _write(self, changed: Mapping[str, Mapping[str, records.Record]]) -> None:
        """Write the changed records of every tenant, all or nothing (one transaction)."""
        with self._transaction():
            for tenant, recs in changed.items():
                self._save(tenant, recs)

    def _changed_elsewhere(self) -> bool:
        """True when another process may have written since the cache was filled."""
        return False

    # --- the protocol

    def view(self, tenant: str, keys: MessageKeys) -> BaselineView:
        self._checked = False  # a view always checks for other writers' commits
        cache = self._fetch(tenant, records.view_keys(keys))
        self._checked = True  # so learning this message next needs no second check
        return records.build_view(keys, cache, self._sync_correspondents(tenant, cache))

    def learn(self, observation: Observation) -> bool:
        return self._learn([observation], self.commit_every) == 1

    def learn_many(self, observations: Iterable[Observation]) -> int:
        learned = self._learn(observations, self.batch)
        self._commit()  # all of it committed when this returns
        return learned

    def flush(self) -> None:
        self._commit()

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the machinery

    def _sync_correspondents(
        self, tenant: str, cache: Mapping[str, records.Record]
    ) -> Correspondents:
        """The tenant's correspondents as the ``c:`` count in `cache` says they stand."""
        count = cache.get(records.C_COUNT) or 0
        index = self._correspondents.get(tenant)
        if index is None or count < len(index):  # first use, or the store was replaced
            index = self._correspondents[tenant] = CorrespondentIndex()
        if count > len(index):
            wanted = [records.c_key(i) for i in range(len(index), count)]
            missing = [key for key in wanted if cache.get(key) is None]
            found = self._load(tenant, missing) if missing else {}
            for key in wanted:
                domain = cache.get(key) or found.get(key)
                if not isinstance(domain, str):
                    break  # a gap (cannot happen: the log and its count commit together)
                index.add(domain)
        return Correspondents(index, len(index))

    def _fetch(self, tenant: str, keys: list[str]) -> dict[str, records.Record]:
        """The tenant's cache, holding every key in `keys` (None where absent)."""
        if self._checked:
            self._checked = False
        elif self._cache and not self._dirty and self._changed_elsewhere():
            self._cache.clear()
        cache = self._cache.setdefault(tenant, {})
        missing = [key for key in keys if key not in cache]
        if missing:
            found = self._load(tenant, missing)
            for key in missing:
                cache[key] = found.get(key)
        return cache

    def _learn(self, observations: Iterable[Observation], every: int) -> int:
        learned = 0
        try:
            for obs in observations:
                keys = records.learn_keys(obs)
                cache = self._fetch(obs.tenant, keys)
                touched = {key: cache[key] for key in keys if cache[key] is not None}
                if records.apply(obs, touched):
                    learned += 1
                    cache.update(touched)
                    self._dirty.setdefault(obs.tenant, set()).update(touched)
                self._pending += 1
                if self._pending >= every:
                    self._commit()
        except BaseException:
            self._rollback()
            raise
        return learned

    def _commit(self) -> None:
        if self._dirty:
            try:
                self._write(
                    {
                        tenant: {key: self._cache[tenant][key] for key in dirty}
                        for tenant, dirty in self._dirty.items()
                    }
                )
            except BaseException:
                self._rollback()
                raise
            self._dirty.clear()
        self._pending = 0
        if sum(map(len, self._cache.values())) > self.cache_size:
            self._cache.clear()

    def _rollback(self) -> None:
        self._cache.clear()
        self._dirty.clear()
        self._pending = 0
        self._correspondents.clear()


# --- config -----------------------------------------------------------------------------------


class MemoryStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["memory"] = "memory"


class SQLiteStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["sqlite"] = "sqlite"
    path: Path
    # NORMAL: a commit survives a process crash (WAL); FULL also survives power loss, slower.
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    batch: int = Field(default=DEFAULT_BATCH, ge=1)
    # Messages learned per commit by `learn` (scan): 1 = every scan durable at once.
    commit_every: int = Field(default=1, ge=1)


StoreConfig = Annotated[MemoryStoreConfig | SQLiteStoreConfig, Field(discriminator="type")]

# Short name -> "module:Class", imported only when used (a Redis store's client loads only then).
STORES: dict[str, str] = {
    "memory": "mailwarden.baselines.memory:MemoryStore",
    "sqlite": "mailwarden.baselines.sqlite:SQLiteStore",
}


def open_store(config: MemoryStoreConfig | SQLiteStoreConfig | Mapping[str, Any]) -> BaselineStore:
    """Open the store a typed config (or a ``{"type": ..., ...}`` mapping) names."""
    if isinstance(config, Mapping):
        from pydantic import TypeAdapter

        config = TypeAdapter(StoreConfig).validate_python(dict(config))
    module_name, _, class_name = STORES[config.type].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    options = config.model_dump(exclude={"type"})
    store: BaselineStore = cls(**options)
    return store
