"""The verdict log: every verdict and every feedback, in one embedded SQLite file (WAL).

What a row holds is what it takes to explain and replay the verdict: the verdict JSON exactly as
returned (with its id), the message's sha256, tenant, engine and rules versions, the time, the
token that asked, and, unless ``store_raw`` is off, the raw message (table ``messages``, keyed by
sha256, so a message sent twice is stored once).

Durability: a request is acknowledged only after its rows are committed with
``synchronous=FULL`` (the WAL is fsynced at every commit). Each worker process has one writer
thread that takes every row waiting in its queue and commits them in one transaction (group
commit): under light load that is one commit per request, under heavy load one fsync serves many.
Worker processes share the file through WAL; a writer waits ``busy_timeout_s`` for another's
lock. A commit that fails (locked, disk full, I/O error) is rolled back whole, so there is never a
half-written row, and every request in it gets `LogUnavailable` (HTTP 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from mailwarden.verdict import Verdict

SCHEMA_VERSION = 1
MAX_GROUP = 512  # rows per group commit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    received_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    verdict TEXT NOT NULL,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    score REAL NOT NULL,
    engine_version TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    token_name TEXT NOT NULL,
    verdict_json BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_tenant_time ON verdicts (tenant, received_at);
CREATE INDEX IF NOT EXISTS verdicts_by_sha256 ON verdicts (sha256);
CREATE TABLE IF NOT EXISTS messages (
    sha256 TEXT PRIMARY KEY,
    raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    verdict_id TEXT NOT NULL REFERENCES verdicts (id),
    tenant TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('false_positive', 'missed_attack')),
    note TEXT NOT NULL,
    token_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_verdict ON feedback (verdict_id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_INSERT_VERDICT = "INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_RAW = "INSERT OR IGNORE INTO messages VALUES (?, ?)"
# Feedback lands only on a verdict of the same tenant: one tenant can never annotate another's.
_INSERT_FEEDBACK = (
    "INSERT INTO feedback (id, verdict_id, tenant, label, note, token_name, created_at) "
    "SELECT ?, id, tenant, ?, ?, ?, ? FROM verdicts WHERE id = ? AND tenant = ?"
)


def new_id() -> str:
    """A UUIDv7: time-ordered (the log's ids sort by arrival), 74 random bits, unique across
    worker processes without coordination."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class LogUnavailable(Exception):
    """The log could not take or give a row (locked, disk full, I/O error, closed): HTTP 503."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"verdict log {reason}: {detail}")
        self.reason = reason  # locked | disk_full | io_error | closed | error
        self.detail = detail


@dataclass(frozen=True, slots=True)
class VerdictRow:
    id: str
    tenant: str
    received_at: str
    sha256: str
    verdict: str
    category: str
    action: str
    score: float
    engine_version: str
    rules_version: str
    schema_version: int
    token_name: str
    verdict_json: bytes
    raw: bytes | None  # None when raw messages are not stored

    @classmethod
    def of(
        cls, verdict_id: str, tenant: str, token_name: str, verdict: Verdict, raw: bytes | None
    ) -> VerdictRow:
        """The row for `verdict` (its JSON with the id first, as answered); `raw` None when
        raw messages are not kept."""
        return cls(
            id=verdict_id,
            tenant=tenant,
            received_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            sha256=verdict.sha256,
            verdict=verdict.verdict,
            category=verdict.category,
            action=verdict.action,
            score=verdict.score,
            engine_version=verdict.engine_version,
            rules_version=verdict.rules_version,
            schema_version=verdict.schema_version,
            token_name=token_name,
            verdict_json=orjson.dumps({"id": verdict_id, **verdict.to_dict()}),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    id: str
    verdict_id: str
    tenant: str
    label: str
    note: str
    token_name: str
    created_at: str


Row = VerdictRow | FeedbackRow


@dataclass(slots=True)
class _Job:
    rows: Sequence[Row]
    future: asyncio.Future[list[bool]]
    loop: asyncio.AbstractEventLoop


def unavailable(exc: BaseException) -> LogUnavailable:
    """Name what went wrong in words an operator acts on."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return LogUnavailable("locked", f"another process holds the lock ({exc})")
    if name == "SQLITE_FULL":
        return LogUnavailable("disk_full", f"the disk or the database is full ({exc})")
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY")):
        return LogUnavailable("io_error", f"{name}: {exc}")
    return LogUnavailable("error", f"{type(exc).__name__}: {exc}")


class VerdictLog:
    """The log of one worker process: a writer thread for appends, a reader for look-ups."""

    def __init__(
        self,
        path: Path,
        *,
        store_raw: bool = True,
        busy_timeout_s: float = 2.0,
        max_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.store_raw = store_raw
        self.busy_timeout_s = busy_timeout_s
        self.max_bytes = max_bytes
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._ready = threading.Event()
        self._open_error: BaseException | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=64,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if self.max_bytes is not None:
            (page_size,) = conn.execute("PRAGMA page_size").fetchone()
            conn.execute(f"PRAGMA max_page_count={max(1, self.max_bytes // page_size)}")
        return conn

    def open(self) -> None:
        """Create the file and schema if absent and start the writer; raises if unusable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = self._connect()
            try:
                conn.executescript(_SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
                (version,) = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise unavailable(exc) from exc
        if version != str(SCHEMA_VERSION):
            raise LogUnavailable("error", f"{self.path} holds verdict log schema {version}")
        self._reader = self._connect()
        self._thread = threading.Thread(target=self._write_loop, name="verdict-log", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise unavailable(self._open_error)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def writing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- writes -----------------------------------------------------------------------------

    async def append(self, rows: Sequence[Row]) -> list[bool]:
        """Commit `rows` durably (fsynced) together with whatever else is waiting, then return.

        One bool per row: False for feedback whose verdict does not exist for its tenant (the
        row is not written). Raises `LogUnavailable` when the commit failed: nothing was written.
        """
        if not self.writing:
            raise LogUnavailable("closed", "the verdict log is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        self._queue.put(_Job(rows, future, loop))
        return await future

    def _write_loop(self) -> None:
        try:
            conn = self._connect()

        except BaseException as exc:  # noqa: BLE001 - reported to open()
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        stop = False
        try:
            while not stop:
                job = self._queue.get()
                if job is None:
                    break
                jobs = [job]
                rows = len(job.rows)
                while rows < MAX_GROUP:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    jobs.append(more)
                    rows += len(more.rows)
                conn = self._commit(conn, jobs)
        finally:
            conn.close()
            # Whoever is still waiting hears that the log closed, instead of hanging.
            while True:
                try:
                    left = self._queue.get_nowait()
                except queue.Empty:
                    break
                if left is not None:
                    _settle(left, None, LogUnavailable("closed", "the verdict log closed"))

    def _commit(self, conn: sqlite3.Connection, jobs: list[_Job]) -> sqlite3.Connection:
        results: list[list[bool]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                results.append([self._insert(conn, row) for row in job.rows])
            conn.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - every waiter hears why
            error = unavailable(exc)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                # A connection that cannot even roll back is replaced; SQLite rolls the open
                # transaction back when it closes (and on the next open after a crash).
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
                with contextlib.suppress(sqlite3.Error):
                    conn = self._connect()
            for job in jobs:
                _settle(job, None, error)
            return conn
        for job, result in zip(jobs, results, strict=True):
            _settle(job, result, None)
        return conn

    def _insert(self, conn: sqlite3.Connection, row: Row) -> bool:
        if isinstance(row, VerdictRow):
            conn.execute(
                _INSERT_VERDICT,
                (
                    row.id,
                    row.tenant,
                    row.received_at,
                    row.sha256,
                    row.verdict,
                    row.category,
                    row.action,
                    row.score,
                    row.engine_version,
                    row.rules_version,
                    row.schema_version,
                    row.token_name,
                    row.verdict_json,
                ),
            )
            if row.raw is not None and self.store_raw:
                conn.execute(_INSERT_RAW, (row.sha256, row.raw))
            return True
        cursor = conn.execute(
            _INSERT_FEEDBACK,
            (
                row.id,
                row.label,
                row.note,
                row.token_name,
                row.created_at,
                row.verdict_id,
                row.tenant,
            ),
        )
        return cursor.rowcount == 1

    # --- reads (tenant-scoped: a verdict of another tenant does not exist) ------------------

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        if self._reader is None:
            raise LogUnavailable("closed", "the verdict log is not open")
        try:
            return self._reader.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise unavailable(exc) from exc

    def verdict(self, verdict_id: str, tenant: str) -> dict[str, Any] | None:
        """The verdict as returned when it was made, with ``received_at`` and its feedback."""
        rows = self._read(
            "SELECT verdict_json, received_at, sha256 IN (SELECT sha256 FROM messages) "
            "FROM verdicts WHERE id = ? AND tenant = ?",
            (verdict_id, tenant),
        )
        if not rows:
            return None
        blob, received_at, raw_stored = rows[0]
        record: dict[str, Any] = orjson.loads(blob)
        record["received_at"] = received_at
        record["raw_stored"] = bool(raw_stored)
        record["feedback"] = self.feedback(verdict_id, tenant)
        return record

    def feedback(self, verdict_id: str, tenant: str) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT id, label, note, token_name, created_at FROM feedback "
            "WHERE verdict_id = ? AND tenant = ? ORDER BY created_at, id",
            (verdict_id, tenant),
        )
        keys = ("id", "label", "note", "token_name", "created_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def raw(self, verdict_id: str, tenant: str) -> bytes | None:
        rows = self._read(
            "SELECT m.raw FROM verdicts v JOIN messages m ON m.sha256 = v.sha256 "
            "WHERE v.id = ? AND v.tenant = ?",
            (verdict_id, tenant),
        )
        return bytes(rows[0][0]) if rows else None

    def ping(self) -> None:
        """Raise `LogUnavailable` unless the log can be read and its writer is running."""
        self._read("SELECT 1 FROM meta LIMIT 1", ())
        if not self.writing:
            raise LogUnavailable("closed", "the verdict log writer stopped")


def _settle(job: _Job, result: list[bool] | None, error: BaseException | None) -> None:
    def settle() -> None:
        if job.future.done():  # the request gave up (timeout, disconnect)
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result or [])

    with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
        job.loop.call_soon_threadsafe(settle)
