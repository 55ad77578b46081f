"""`mailwarden milter`: libmilter (pymilter) callbacks mapped onto `MilterCore`.

pymilter is the `milter` extra; it is imported only in `run()` and `MailwardenMilter`'s module
attribute lookup, so `mailwarden` and `mailwarden.milter.core` import without it.

The callbacks that only feed data (envelope, headers, body) are negotiated as "no reply":
Postfix streams them without waiting for an answer, and the milter answers once, at end of
message. Connect, HELO, DATA and unknown-command callbacks are not asked for at all.
"""

from __future__ import annotations

import contextlib
import grp
import importlib.util
import logging
import os
import signal
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import ValidationError

from mailwarden.milter.config import MilterSettings
from mailwarden.milter.core import MilterCore, Reply, Transaction
from mailwarden.service.config import (
    ServiceConfig,
    ServiceConfigError,
    load_or_demo,
    resolve,
)
from mailwarden.service.log import LogUnavailable, VerdictLog

if TYPE_CHECKING:
    from mailwarden.service.metrics import MilterMetrics

log = logging.getLogger("mailwarden.milter")
F = TypeVar("F", bound=Callable[..., int])


class MilterUnavailable(RuntimeError):
    """The milter cannot start: pymilter is missing or the verdict log cannot be opened."""


def missing() -> str | None:
    if importlib.util.find_spec("Milter") is None:
        return (
            "`mailwarden milter` needs the milter extra (pymilter, which builds against "
            "libmilter: apt-get install libmilter-dev): pip install 'mailwarden[milter]'"
        )
    return None


def prepare(
    config_path: Path | None,
    *,
    socket: str | None = None,
    on_error: str | None = None,
    log_path: Path | None = None,
    check_extra: bool = True,
    check_log: bool = True,
) -> tuple[ServiceConfig, str]:
    """The checked config with command-line overrides, and its name (raises on a bad one)."""
    if check_extra and (problem := missing()):
        raise MilterUnavailable(problem)
    config, origin, _ = load_or_demo(config_path, "unused-by-the-milter")
    settings: dict[str, Any] = {}
    if socket is not None:
        settings["socket"] = socket
    if on_error is not None:
        settings["on_error"] = on_error
    update: dict[str, Any] = {}
    if settings:
        try:
            update["milter"] = MilterSettings.model_validate(
                {**config.milter.model_dump(), **settings}
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"milter.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            )
            raise ServiceConfigError(f"{origin}: {problems}") from exc
    path = log_path if log_path is not None else config.verdict_log.path
    update["verdict_log"] = config.verdict_log.model_copy(update={"path": path.resolve()})
    config = config.model_copy(update=update)
    resolve(config, origin)
    if not check_log:
        return config, origin
    verdict_log = VerdictLog(config.verdict_log.path, busy_timeout_s=10.0)
    try:
        verdict_log.open()
    except (LogUnavailable, OSError) as exc:
        raise MilterUnavailable(
            f"cannot open the verdict log {config.verdict_log.path}: {exc}"
        ) from exc
    finally:
        verdict_log.close()
    return config, origin


def postfix_snippet(settings: MilterSettings) -> str:
    """The main.cf lines that connect Postfix to this milter with the same error policy."""
    where = settings.socket
    if where.startswith("inet:"):
        port, _, host = where[5:].partition("@")
        where = f"inet:{host}:{port}"
    elif where.startswith("local:"):
        where = "unix:" + where[6:]
    default_action = "accept" if settings.on_error == "accept" else "tempfail"
    content = max(30, int(settings.scan_timeout_s + settings.log_timeout_s) + 10)
    return "\n".join(
        [
            "# /etc/postfix/main.cf (then: postfix reload)",
            f"smtpd_milters = {where}",
            "non_smtpd_milters = $smtpd_milters",
            "milter_protocol = 6",
            f"milter_default_action = {default_action}",
            "milter_connect_timeout = 10s",
            "milter_command_timeout = 30s",
            f"milter_content_timeout = {content}s",
        ]
    )


def _milter_base() -> Any:
    import Milter

    return Milter


def make_milter_class(core: MilterCore) -> Any:
    """The `Milter.Base` subclass libmilter instantiates once per MTA connection."""
    Milter = _milter_base()

    def noreply(func: F) -> F:  # typed wrappers of pymilter's (untyped) decorators
        return cast(F, Milter.noreply(func))

    def as_bytes(func: F) -> F:
        return cast(F, Milter.decode("bytes")(func))

    class MailwardenMilter(Milter.Base):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.tx: Transaction | None = None

        def _tx(self) -> Transaction:
            if self.tx is None:  # headers without MAIL FROM: still score what comes
                self.tx = core.transaction()
            return self.tx

        @noreply
        def envfrom(self, mail_from: str, *params: str) -> int:
            if self.tx is not None:
                self.tx.release()
            self.tx = core.transaction()
            self.tx.mail_from = mail_from
            return int(Milter.CONTINUE)

        @noreply
        def envrcpt(self, recipient: str, *params: str) -> int:
            with contextlib.suppress(Exception):
                self._tx().recipients.append(recipient)
            return int(Milter.CONTINUE)

        # Bytes, not text: a header that is not UTF-8 goes to the engine as it came.
        @noreply
        @as_bytes
        def header(self, name: str, value: bytes) -> int:
            try:
                self._tx().header(name, value)
            except Exception as exc:  # noqa: BLE001 - end of message applies the policy
                self._tx().error = f"header callback failed: {type(exc).__name__}"
            return int(Milter.CONTINUE)

        @noreply
        def eoh(self) -> int:
            with contextlib.suppress(Exception):
                self._tx().end_of_headers()
            return int(Milter.CONTINUE)

        @noreply
        def body(self, chunk: bytes) -> int:
            try:
                self._tx().body(chunk)
            except Exception as exc:  # noqa: BLE001 - end of message applies the policy
                self._tx().error = f"body callback failed: {type(exc).__name__}"
            return int(Milter.CONTINUE)

        def eom(self) -> int:
            tx = self._tx()
            self.tx = None
            with contextlib.suppress(Exception):
                tx.queue_id = self.getsymval("i") or ""
            reply = core.decide(tx)
            try:
                return self._apply(reply)
            except Exception:
                log.exception("milter: could not apply %s", reply.action)
                fallback = core.failed(tx, "could not modify the message", "modify")
                if core.metrics is not None:
                    core.metrics.errors.labels("modify").inc()
                if fallback.action == "tempfail":
                    self.setreply(fallback.code, fallback.xcode, fallback.text)
                    return int(Milter.TEMPFAIL)
                return int(Milter.ACCEPT)

        def _apply(self, reply: Reply) -> int:
            if reply.action in ("reject", "tempfail"):
                self.setreply(reply.code, reply.xcode, reply.text)
                return int(Milter.REJECT if reply.action == "reject" else Milter.TEMPFAIL)
            for name, count in reply.remove_headers.items():
                for index in range(count, 0, -1):
                    self.chgheader(name, index, "")
            for name, value in reply.add_headers:
                self.addheader(name, value)
            if reply.action == "quarantine":
                self.quarantine(reply.quarantine_reason)
            return int(Milter.ACCEPT)

        def abort(self) -> int:  # the client went away or sent RSET mid-message
            if self.tx is not None:
                self.tx.release()
                self.tx = None
            return int(Milter.CONTINUE)

        def close(self) -> int:
            if self.tx is not None:
                self.tx.release()
                self.tx = None
            return int(Milter.CONTINUE)

    return MailwardenMilter


def _open_socket(milter: Any, settings: MilterSettings) -> None:
    milter.setconn(settings.socket)
    milter.settimeout(settings.timeout_s)
    path: Path | None = None
    if settings.socket.startswith(("unix:", "local:")):
        path = Path(settings.socket.partition(":")[2])
        path.parent.mkdir(parents=True, exist_ok=True)
    milter.opensocket(True)
    if path is not None and path.exists() and stat.S_ISSOCK(path.stat().st_mode):
        if settings.socket_group is not None:
            os.chown(path, -1, grp.getgrnam(settings.socket_group).gr_gid)
        path.chmod(settings.socket_mode)


def run(config: ServiceConfig, origin: str) -> None:
    """Serve until SIGTERM / SIGINT (libmilter stops its threads and returns)."""
    Milter = _milter_base()
    from Milter import milter

    # libmilter stops cleanly on SIGTERM / SIGINT / SIGHUP by waiting for them in its own
    # thread; block them here, before any thread exists (the scan and log threads inherit the
    # mask), or a signal lands on a Python thread and kills the process without cleanup.
    stops = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    core = MilterCore(config, origin)
    try:
        core.open()
        Milter.factory = make_milter_class(core)
        milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.QUARANTINE)
        milter.set_envfrom_callback(lambda ctx, *b: ctx.getpriv().envfrom_bytes(*b))
        milter.set_envrcpt_callback(lambda ctx, *b: ctx.getpriv().envrcpt_bytes(*b))
        milter.set_header_callback(lambda ctx, f, v: ctx.getpriv().header_bytes(f, v))
        milter.set_eoh_callback(lambda ctx: ctx.getpriv().eoh())
        milter.set_body_callback(lambda ctx, chunk: ctx.getpriv().body(chunk))
        milter.set_eom_callback(lambda ctx: ctx.getpriv().eom())
        milter.set_abort_callback(lambda ctx: ctx.getpriv().abort())
        milter.set_close_callback(Milter.close_callback)
        milter.set_connect_callback(Milter.connect_callback)
        milter.register(
            "mailwarden",
            data=lambda ctx: ctx.getpriv().data(),
            unknown=lambda ctx, cmd: ctx.getpriv().unknown(cmd),
            negotiate=Milter.negotiate_callback,
        )
        _open_socket(milter, config.milter)  # after register(), as libmilter wants
        if core.metrics is not None:
            serve_metrics(core.metrics, config.milter)
        announce(config, origin)
        milter.main()
    finally:
        core.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if config.milter.socket.startswith(("unix:", "local:")):
            with contextlib.suppress(OSError):
                os.unlink(config.milter.socket.partition(":")[2])


def serve_metrics(metrics: MilterMetrics, settings: MilterSettings) -> None:
    """Prometheus text on http://metrics_host:metrics_port/metrics (a daemon thread)."""
    from prometheus_client import start_http_server

    assert settings.metrics_port is not None
    start_http_server(settings.metrics_port, settings.metrics_host, registry=metrics.registry)


def announce(config: ServiceConfig, origin: str) -> None:
    settings = config.milter
    fail = "fail-open" if settings.on_error == "accept" else "fail-closed"
    metrics = (
        f"\nmailwarden: metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics"
        if settings.metrics_port is not None
        else ""
    )
    print(
        f"mailwarden: milter on {settings.socket} ({origin}; {fail}; tenants: "
        f"{', '.join(t.file.name if t.file else 'demo' for t in config.tenants)})\n"
        f"mailwarden: verdict log {config.verdict_log.path}{metrics}",
        file=sys.stderr,
        flush=True,
    )


__all__ = [
    "MilterUnavailable",
    "make_milter_class",
    "missing",
    "postfix_snippet",
    "prepare",
    "run",
]


def _main() -> None:  # python -m mailwarden.milter.server CONFIG (used by the tests)
    config, origin = prepare(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    run(config, origin)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    _main()
