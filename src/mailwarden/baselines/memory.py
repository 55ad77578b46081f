"""`MemoryStore`: baselines in a dict, for tests, benchmarks and single-process replays.

Records are kept as orjson text, not live dicts: a fraction of the memory, and a view can
never alias state that a later learn mutates.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from mailwarden.baselines.records import Record
from mailwarden.baselines.store import DEFAULT_BATCH, RecordStore


class MemoryStore(RecordStore):
    def __init__(self, batch: int = DEFAULT_BATCH) -> None:
        super().__init__()
        self.batch = batch
        self._data: dict[str, dict[str, str]] = {}

    def _load(self, tenant: str, keys: list[str]) -> dict[str, Record]:
        data = self._data.get(tenant)
        if not data:
            return {}
        found: dict[str, Record] = {}
        for key in keys:
            blob = data.get(key)
            if blob is not None:
                found[key] = orjson.loads(blob)
        return found

    def _save(self, tenant: str, changed: Mapping[str, Record]) -> None:
        data = self._data.setdefault(tenant, {})
        for key, record in changed.items():
            # decode(): a right-sized str; orjson's bytes keep a 4 KiB buffer each (tracemalloc)
            data[key] = orjson.dumps(record).decode()

    def counts(self, tenant: str) -> dict[str, int]:
        """How many records of each kind (``a``, ``p``, ``d``, ``n``, ``$``, ``m``) a tenant has."""
        self.flush()
        out: dict[str, int] = {}
        for key in self._data.get(tenant, {}):
            out[key[0]] = out.get(key[0], 0) + 1
        return out

    def dump(self, tenant: str) -> dict[str, Record]:
        """Every record of a tenant, decoded (for tests and comparisons)."""
        self.flush()
        return {k: orjson.loads(v) for k, v in sorted(self._data.get(tenant, {}).items())}
