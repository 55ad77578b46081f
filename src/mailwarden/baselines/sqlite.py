"""`SQLiteStore`: baselines in one embedded SQLite file (stdlib sqlite3, WAL).

One table of orjson records keyed by (tenant, key), WITHOUT ROWID so the primary key is the
table: a view is one indexed ``SELECT ... WHERE t = ? AND k IN (...)`` (statements cached by
sqlite3, no ORM), a learning batch one read of the keys it touches (none after a view: they are
cached) and one write: a single multi-row upsert (one statement is one atomic transaction, with no
BEGIN / COMMIT round trips: what makes ``commit_every=1`` affordable), or for large batches
``BEGIN IMMEDIATE`` + ``executemany`` + ``COMMIT``.

- Durable and restartable: every learning batch is one transaction, and learned Message-IDs are
  records written in that same transaction, so a process killed mid-learning leaves the store as
  of its last commit, and rerunning the history skips exactly what was committed.
- Concurrent readers: WAL lets any number of processes read (view) while one writes. Use one
  writer per file (several writers are serialised by ``BEGIN IMMEDIATE`` + busy timeout).
- ``synchronous=NORMAL`` (default) survives a process crash; ``FULL`` also survives power loss.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import orjson

from mailwarden.baselines.records import Record
from mailwarden.baselines.store import DEFAULT_BATCH, RecordStore

SCHEMA_VERSION = 1
_MAX_VARS = 500  # keys per SELECT (SQLite allows more; views need about ten)

_INSERT = "INSERT OR REPLACE INTO kv (t, k, v) VALUES "
_ROWS_PER_STATEMENT = 300  # 900 variables: under every SQLite build's limit (999 before 3.32)
_INSERT_ROWS: dict[int, str] = {}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    t TEXT NOT NULL,
    k TEXT NOT NULL,
    v BLOB NOT NULL,
    PRIMARY KEY (t, k)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreSchemaError(RuntimeError):
    """The file holds a baseline store of another schema version."""


class SQLiteStore(RecordStore):
    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "NORMAL",
        batch: int = DEFAULT_BATCH,
        commit_every: int = 1,
        cache_size: int = 20_000,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        if synchronous not in ("NORMAL", "FULL", "OFF"):
            raise ValueError(f"synchronous must be NORMAL, FULL or OFF, not {synchronous!r}")
        self.path = Path(path)
        self.batch = batch
        self.commit_every = commit_every
        self.cache_size = cache_size
        self._conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, cached_statements=512
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_SCHEMA)
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if row is None:
            self._conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        self._data_version = self._version()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            self._conn.close()
            raise StoreSchemaError(
                f"{self.path}: baseline store schema {row[0]}, this version reads {SCHEMA_VERSION}"
            )

    def _load(self, tenant: str, keys: list[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        execute = self._conn.execute
        for start in range(0, len(keys), _MAX_VARS):
            part = keys[start : start + _MAX_VARS]
            sql = f"SELECT k, v FROM kv WHERE t = ? AND k IN ({','.join('?' * len(part))})"
            for key, blob in execute(sql, (tenant, *part)):
                found[key] = orjson.loads(blob)
        return found

    def _save(self, tenant: str, changed: Mapping[str, Record]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO kv (t, k, v) VALUES (?, ?, ?)",
            [(tenant, key, orjson.dumps(record)) for key, record in changed.items()],
        )

    def _write(self, changed: Mapping[str, Mapping[str, Record]]) -> None:
        rows = [
            (tenant, key, orjson.dumps(record))
            for tenant, recs in changed.items()
            for key, record in recs.items()
        ]
        if not rows:
            return
        if len(rows) <= _ROWS_PER_STATEMENT:
            # One statement is one implicit transaction (atomic): no BEGIN / COMMIT round trips,
            # which is most of what a per-message commit (`commit_every=1`) costs.
            sql = _INSERT_ROWS.get(len(rows))
            if sql is None:
                sql = _INSERT_ROWS[len(rows)] = _INSERT + ",".join(["(?,?,?)"] * len(rows))
            self._conn.execute(sql, [value for row in rows for value in row])
            return
        with self._transaction():
            self._conn.executemany(_INSERT + "(?, ?, ?)", rows)

    def _version(self) -> int:
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _changed_elsewhere(self) -> bool:
        version = self._version()
        changed = version != self._data_version
        self._data_version = version
        return changed

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def counts(self, tenant: str) -> dict[str, int]:
        self.flush()
        rows = self._conn.execute(
            "SELECT substr(k, 1, 1), count(*) FROM kv WHERE t = ? GROUP BY 1", (tenant,)
        )
        return {kind: n for kind, n in rows}

    def dump(self, tenant: str) -> dict[str, Record]:
        self.flush()
        rows = self._conn.execute("SELECT k, v FROM kv WHERE t = ? ORDER BY k", (tenant,))
        return {key: orjson.loads(blob) for key, blob in rows}

    def flush(self) -> None:
        """Commit what is learned but not yet committed (see `commit_every`)."""
        super().flush()

    def close(self) -> None:
        try:
            self.flush()
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self._conn.close()
