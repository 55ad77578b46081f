"""What the milter decides, apart from the milter library: one `Transaction` per SMTP message,
one `MilterCore` per process that scores it, logs it and answers with a `Reply`.

Nothing here imports pymilter, so the decisions are unit-tested by calling these methods
directly; `mailwarden.milter.server` maps libmilter's callbacks onto them.

Threads: libmilter runs one thread per MTA connection. Every scan runs on one scan thread
(engines and a SQLite baseline store are not shared across threads, and the GIL would serialise
them anyway), which also gives a deadline: a scan not done within `scan_timeout_s` is answered by
the error policy while it finishes in the background. Verdicts go to the service's verdict log
(its writer thread, group commit, fsync) through a small event loop thread, and the MTA gets its
answer only after the row is committed, as an HTTP client does.

Recipients of several tenants: the message is scored once per tenant (each with its own
baselines and policy), one verdict per tenant goes to the log, and the MTA gets the strictest
answer (reject > quarantine > tag > allow); `X-Mailwarden-Tenants` lists each tenant's action.

Metrics (`milter.metrics_port`): Prometheus text on http://127.0.0.1:PORT/metrics, the same
per-verdict series as the HTTP service plus the answers given to the MTA (`MilterMetrics`).

Error policy (`on_error`): `accept` (fail-open) delivers a message that could not be scored or
whose verdict could not be logged, with an `X-Mailwarden-Error` header saying why; `tempfail`
(fail-closed) answers 451 4.7.1 so the sending MTA retries. A `reject` verdict is carried out
even when the log is down: refusing mail never depends on the log.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mailwarden.baselines import BaselineStore, open_store
from mailwarden.engine import Engine
from mailwarden.milter.config import MilterSettings
from mailwarden.service.config import ServiceConfig, resolve
from mailwarden.service.log import LogUnavailable, VerdictLog, VerdictRow, new_id
from mailwarden.tenant import Tenant
from mailwarden.verdict import Verdict

if TYPE_CHECKING:
    from mailwarden.service.metrics import MilterMetrics

HEADER_PREFIX = "X-Mailwarden-"
log = logging.getLogger("mailwarden.milter")

ReplyAction = Literal["accept", "reject", "tempfail", "quarantine"]
SEVERITY = {"allow": 0, "tag": 1, "quarantine": 2, "reject": 3}  # of verdict actions


@dataclass(slots=True)
class Reply:
    """What to tell the MTA at end of message."""

    action: ReplyAction
    add_headers: list[tuple[str, str]] = field(default_factory=list)
    # Forged X-Mailwarden-* headers already in the message: name -> how many, all removed.
    remove_headers: dict[str, int] = field(default_factory=dict)
    code: str = ""  # SMTP reply for reject / tempfail
    xcode: str = ""
    text: str = ""
    quarantine_reason: str = ""
    verdict: Verdict | None = None  # the verdict carried out (the strictest tenant's)
    verdicts: list[Verdict] = field(default_factory=list)  # one per tenant scored
    verdict_id: str = ""
    error: str = ""  # why the error policy was applied, "" when it was not
    # what kind of error, for metrics: scan_timeout, log_unavailable, internal, callback;
    # or why it went unscored on purpose: no_tenant, oversize
    kind: str = ""


class Transaction:
    """One message as the MTA hands it over: envelope, headers, body chunks (bounded)."""

    __slots__ = (
        "_chunks",
        "_forged",
        "_seen",
        "client",
        "error",
        "header_bytes",
        "kept",
        "limit",
        "mail_from",
        "queue_id",
        "recipients",
    )

    def __init__(self, limit: int, client: str = "") -> None:
        self.limit = limit
        self.client = client
        self.mail_from = ""
        self.recipients: list[str] = []
        self.queue_id = ""
        self.error = ""  # a callback failed: the error policy answers at end of message
        self._chunks: list[bytes] = []
        self.kept = 0  # bytes buffered (at most `limit`)
        self._seen = 0  # bytes handed over, buffered or not
        self.header_bytes = 0
        self._forged: dict[str, int] = {}

    @property
    def size(self) -> int:
        """Bytes of the message the MTA handed over (reconstructed headers and body)."""
        return self._seen

    @property
    def truncated(self) -> bool:
        return self._seen > self.kept

    @property
    def forged(self) -> dict[str, int]:
        return dict(self._forged)

    def _keep(self, data: bytes) -> None:
        self._seen += len(data)
        room = self.limit - self.kept
        if room <= 0:
            return
        if len(data) > room:
            data = data[:room]
        self._chunks.append(data)
        self.kept += len(data)

    def header(self, name: str, value: bytes) -> None:
        """One header field; `value` as the MTA sent it (continuation lines kept)."""
        if name.lower().startswith(HEADER_PREFIX.lower()):
            key = name.lower()
            self._forged[key] = self._forged.get(key, 0) + 1
        value = value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if value[:1] not in (b" ", b"\t"):
            value = b" " + value
        line = name.encode("utf-8", "surrogateescape") + b":" + value + b"\r\n"
        self.header_bytes += len(line)
        self._keep(line)

    def end_of_headers(self) -> None:
        self._keep(b"\r\n")

    def body(self, chunk: bytes) -> None:
        self._keep(chunk)

    def raw(self) -> bytes:
        return b"".join(self._chunks)

    def release(self) -> None:
        """Drop the buffered message (abort, disconnect, or after the reply)."""
        self._chunks = []


def _ascii(text: str, limit: int = 200) -> str:
    """A header value that cannot break the header block: printable ASCII, one line."""
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return clean[:limit]


class _LogBridge:
    """The verdict log (asyncio API) driven from libmilter's threads: a private event loop."""

    def __init__(self, verdict_log: VerdictLog) -> None:
        self.log = verdict_log
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="mailwarden-log-loop", daemon=True
        )

    def open(self) -> None:
        self.log.open()
        self._thread.start()

    def append(self, rows: Sequence[VerdictRow], timeout_s: float) -> None:
        future = asyncio.run_coroutine_threadsafe(self.log.append(rows), self.loop)
        try:
            future.result(timeout=timeout_s)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise LogUnavailable("timeout", f"no commit within {timeout_s:g} s") from exc

    def close(self) -> None:
        self.log.close()
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class MilterCore:
    """The engines, the verdict log and the policy of one `mailwarden milter` process."""

    def __init__(
        self,
        config: ServiceConfig,
        origin: str = "service config",
        *,
        engines: dict[str, Engine] | None = None,
    ) -> None:
        self.config = config
        self.settings: MilterSettings = config.milter
        self.origin = origin
        self.tenants: dict[str, Tenant] = {}
        self.engines: dict[str, Engine] = dict(engines or {})
        self.store: BaselineStore | None = None
        self.default_tenant: str | None = None
        self._bridge = _LogBridge(
            VerdictLog(
                config.verdict_log.path,
                store_raw=config.verdict_log.store_raw,
                busy_timeout_s=config.verdict_log.busy_timeout_s,
                max_bytes=config.verdict_log.max_bytes,
            )
        )
        self._scanner = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="mailwarden-scan"
        )
        self.metrics: MilterMetrics | None = None
        self._opened = False

    # --- lifecycle ------------------------------------------------------------------------

    def open(self) -> None:
        """Load tenants, rules and engines, open the baselines and the verdict log (raises)."""
        from mailwarden.detectors.rules import RuleSet

        self.tenants, _ = resolve(self.config, self.origin)
        if not self.engines:
            rules = RuleSet.load(self.config.rule_dirs)
            if self.config.baselines is not None:
                self.store = open_store(self.config.baselines)
            self.engines = {
                tid: Engine(tenant, rules=rules, store=self.store, model=self.config.model)
                for tid, tenant in self.tenants.items()
            }
        wanted = self.settings.default_tenant
        if wanted is not None and wanted not in self.engines:
            raise ValueError(
                f"{self.origin}: milter.default_tenant: no tenant {wanted!r} "
                f"(tenants: {', '.join(sorted(self.engines))})"
            )
        self.default_tenant = wanted or (
            next(iter(self.engines)) if len(self.engines) == 1 else None
        )
        if self.settings.metrics_port is not None and self.metrics is None:
            try:
                from mailwarden.service.metrics import MilterMetrics
            except ImportError as exc:
                raise ValueError(
                    f"{self.origin}: milter.metrics_port needs prometheus-client: "
                    "pip install 'mailwarden[service]'"
                ) from exc
            self.metrics = MilterMetrics()
        self._bridge.open()
        self._opened = True

    def close(self) -> None:
        self._scanner.shutdown(wait=True, cancel_futures=True)
        self._bridge.close()
        if self.store is not None:
            self.store.close()
            self.store = None
        self._opened = False

    def __enter__(self) -> MilterCore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def verdict_log(self) -> VerdictLog:
        return self._bridge.log

    def transaction(self, client: str = "") -> Transaction:
        return Transaction(self.settings.max_scan_bytes, client)

    # --- the decision ---------------------------------------------------------------------

    def tenants_for(self, recipients: Sequence[str]) -> list[str]:
        """The tenants whose domains the recipients are in (in recipient order), else the
        default tenant, else none."""
        found: list[str] = []
        for recipient in recipients:
            domain = recipient.strip().strip("<>").rpartition("@")[2].lower()
            if not domain:
                continue
            for tid, tenant in self.tenants.items():
                if tid in self.engines and tid not in found and tenant.is_internal_domain(domain):
                    found.append(tid)
        if not found and self.default_tenant is not None:
            found.append(self.default_tenant)
        return found

    def decide(self, tx: Transaction) -> Reply:
        """Score, log and answer one message at end of message. Never raises."""
        started = time.perf_counter()
        try:
            reply = self._decide(tx)
        except Exception as exc:
            log.exception("milter: internal error")
            reply = self.failed(tx, f"internal error: {type(exc).__name__}", "internal")
        finally:
            tx.release()
        if self.metrics is not None:
            self._count(reply, time.perf_counter() - started)
        return reply

    def _count(self, reply: Reply, seconds: float) -> None:
        metrics = self.metrics
        assert metrics is not None
        metrics.replies.labels(reply.action).inc()
        metrics.decide_seconds.observe(seconds)
        for verdict in reply.verdicts:
            metrics.count_verdict(verdict)
        if reply.kind in ("no_tenant", "oversize"):
            metrics.unscored.labels(reply.kind).inc()
        elif reply.kind:
            metrics.errors.labels(reply.kind).inc()

    def _decide(self, tx: Transaction) -> Reply:
        settings = self.settings
        if tx.error:
            return self.failed(tx, tx.error, "callback")
        if tx.truncated and settings.oversize != "truncate":
            return self._oversize(tx)
        tenants = self.tenants_for(tx.recipients)
        if not tenants:
            return self._unscored(tx, "no tenant serves these recipients", "no_tenant")
        ids = [new_id() for _ in tenants]
        source = f"milter:{tx.queue_id or ids[0]}"
        raw = tx.raw()

        def scan_all() -> list[Verdict]:
            return [self.engines[t].scan(raw, source=source, learn=settings.learn) for t in tenants]

        future = self._scanner.submit(scan_all)
        try:
            verdicts = future.result(timeout=settings.scan_timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return self.failed(tx, f"scan timeout ({settings.scan_timeout_s:g} s)", "scan_timeout")
        if tx.truncated:
            defect = f"scan-truncated:{tx.kept}-of-{tx.size}-bytes"
            verdicts = [dataclasses.replace(v, defects=(*v.defects, defect)) for v in verdicts]
        rows = [self._row(i, t, v, raw) for i, t, v in zip(ids, tenants, verdicts, strict=True)]
        # the strictest answer wins; on a tie, the first recipient's tenant
        chosen = max(range(len(verdicts)), key=lambda k: (SEVERITY.get(verdicts[k].action, 0), -k))
        try:
            self._bridge.append(rows, settings.log_timeout_s)
        except LogUnavailable as exc:
            log.error("milter: verdicts %s not logged: %s", ", ".join(ids), exc)
            reply = self._unlogged(tx, verdicts[chosen], ids[chosen], f"verdict log {exc.reason}")
        else:
            reply = self._carry_out(tx, verdicts[chosen], ids[chosen])
        reply.verdicts = verdicts
        if len(tenants) > 1 and reply.action != "reject":
            listed = ", ".join(f"{t}={v.action}" for t, v in zip(tenants, verdicts, strict=True))
            reply.add_headers.append((HEADER_PREFIX + "Tenants", _ascii(listed, 900)))
        return reply

    def _row(self, verdict_id: str, tenant: str, verdict: Verdict, raw: bytes) -> VerdictRow:
        kept = raw if self.verdict_log.store_raw else None
        return VerdictRow.of(verdict_id, tenant, self.settings.name, verdict, kept)

    def headers(self, verdict: Verdict, verdict_id: str) -> list[tuple[str, str]]:
        top = sorted(verdict.findings, key=lambda f: -f.score)[: self.settings.top_symbols]
        symbols = ", ".join(f"{f.symbol}({f.score:g})" for f in top)
        found = [
            (HEADER_PREFIX + "Verdict", verdict.verdict),
            (HEADER_PREFIX + "Category", verdict.category or "none"),
            (HEADER_PREFIX + "Score", f"{verdict.score:.2f}"),
            (HEADER_PREFIX + "Action", verdict.action),
            (HEADER_PREFIX + "Symbols", _ascii(symbols, 900) or "none"),
            (HEADER_PREFIX + "Id", verdict_id),
        ]
        if verdict.defects:
            found.append((HEADER_PREFIX + "Defects", _ascii(", ".join(verdict.defects), 300)))
        return found

    def _carry_out(self, tx: Transaction, verdict: Verdict, verdict_id: str) -> Reply:
        headers = self.headers(verdict, verdict_id)
        reply = Reply(
            "accept",
            add_headers=headers,
            remove_headers=tx.forged,
            verdict=verdict,
            verdict_id=verdict_id,
        )
        if verdict.action == "reject":
            reply.action = "reject"
            reply.code, reply.xcode = "550", "5.7.1"
            what = verdict.category or verdict.verdict
            reply.text = _ascii(f"Message rejected as {what} (mailwarden {verdict_id})")
        elif verdict.action == "quarantine":
            reply.action = "quarantine"
            reply.quarantine_reason = _ascii(
                f"mailwarden {verdict.verdict} {verdict.category} score {verdict.score:.1f} "
                f"({verdict_id})"
            )
        return reply

    def _unlogged(self, tx: Transaction, verdict: Verdict, verdict_id: str, why: str) -> Reply:
        if verdict.action == "reject" or self.settings.on_error == "accept":
            reply = self._carry_out(tx, verdict, verdict_id)
            if reply.action != "reject":
                reply.add_headers.append((HEADER_PREFIX + "Error", _ascii(why)))
            reply.error, reply.kind = why, "log_unavailable"
            return reply
        return self.failed(tx, why, "log_unavailable")

    def failed(self, tx: Transaction, why: str, kind: str) -> Reply:
        """The error policy: deliver with X-Mailwarden-Error (accept) or 451 4.7.1 (tempfail)."""
        if self.settings.on_error == "accept":
            return Reply(
                "accept",
                add_headers=[(HEADER_PREFIX + "Error", _ascii(why))],
                remove_headers=tx.forged,
                error=why,
                kind=kind,
            )
        return Reply(
            "tempfail",
            code="451",
            xcode="4.7.1",
            text=_ascii(f"mailwarden could not check this message ({why}); try again later"),
            error=why,
            kind=kind,
        )

    def _unscored(self, tx: Transaction, why: str, kind: str) -> Reply:
        """Not an error of ours: the message is delivered unscored, and says why."""
        return Reply(
            "accept",
            add_headers=[(HEADER_PREFIX + "Error", _ascii(why))],
            remove_headers=tx.forged,
            error=why,
            kind=kind,
        )

    def _oversize(self, tx: Transaction) -> Reply:
        limit = self.settings.max_scan_bytes
        why = f"message over the {limit}-byte scan limit"
        policy = self.settings.oversize
        if policy == "tempfail":
            return Reply(
                "tempfail", code="452", xcode="4.3.4", text=_ascii(why), error=why, kind="oversize"
            )
        if policy == "reject":
            return Reply(
                "reject", code="552", xcode="5.3.4", text=_ascii(why), error=why, kind="oversize"
            )
        return self._unscored(tx, why, "oversize")  # skip


__all__ = ["HEADER_PREFIX", "MilterCore", "Reply", "Transaction"]
