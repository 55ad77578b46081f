"""The milter without an MTA: its decisions (`MilterCore`), libmilter's callbacks (pymilter) with
a stand-in context, and a real `mailwarden milter` process spoken to over its unix socket by a
small MTA-side client of the milter protocol (peer disconnects, oversized and garbage input).

The Postfix end-to-end test is tests/test_milter_postfix.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from factories import milter_running
from mailwarden.engine import Engine
from mailwarden.milter.config import MilterSettings
from mailwarden.milter.core import MilterCore, Reply, Transaction
from mailwarden.service.config import ServiceConfig, demo_config
from mailwarden.tenant import Tenant, default_tenant
from mailwarden.verdict import Verdict

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "mailwarden" / "ruleset" / "samples"
HAM = SAMPLES / "ham_ceo_internal_update.eml"
QUARANTINED = SAMPLES / "credential_phishing_m365_mailbox_quota.eml"  # malicious, 9 points
REJECTED = SAMPLES / "credential_phishing_m365_password_expiry.eml"  # malicious, 24.5 points
GARBAGE = b"\x00\xff\xfe this is not a message at all \r\n\r\n\x1b[31m binary \xc3\x28 junk"
TO = "<dana.whitfield@example.com>"


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {"example": Engine(default_tenant())}


def config_for(tmp_path: Path, **milter: Any) -> ServiceConfig:
    config, _ = demo_config("mw_test-token-0123456789abcdef")
    log = config.verdict_log.model_copy(
        update={"path": tmp_path / "verdicts.sqlite", "busy_timeout_s": 0.2}
    )
    return config.model_copy(update={"verdict_log": log, "milter": MilterSettings(**milter)})


@contextlib.contextmanager
def opened(tmp_path: Path, engines: dict[str, Engine], **milter: Any) -> Iterator[MilterCore]:
    core = MilterCore(config_for(tmp_path, **milter), engines=engines)
    core.open()
    try:
        yield core
    finally:
        core.close()


def feed(core: MilterCore, raw: bytes, recipients: tuple[str, ...] = (TO,)) -> Transaction:
    """Hand `raw` over as an MTA does: envelope, one header at a time, end of headers, body."""
    tx = core.transaction("client.test")
    tx.mail_from = "<sender@outside.test>"
    tx.recipients.extend(recipients)
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    fields: list[tuple[str, bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append((name.decode("latin-1"), value.lstrip(b" ")))
        else:  # not a header at all: hand it over as the body
            body = line + b"\n" + body
    for name, value in fields:
        tx.header(name, value)
    tx.end_of_headers()
    body = body.replace(b"\n", b"\r\n")
    for start in range(0, len(body), 65535):
        tx.body(body[start : start + 65535])
    return tx


def logged(core: MilterCore) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(core.config.verdict_log.path) as conn:
        return conn.execute(
            "SELECT id, verdict, action, token_name FROM verdicts ORDER BY id"
        ).fetchall()


def headers(reply: Reply) -> dict[str, str]:
    return dict(reply.add_headers)


# --- the decision ---------------------------------------------------------------------------


def test_ham_is_accepted_with_headers_and_logged(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    with opened(tmp_path, engines) as core:
        reply = core.decide(feed(core, HAM.read_bytes()))
        assert reply.action == "accept"
        added = headers(reply)
        assert added["X-Mailwarden-Verdict"] == "safe"
        assert added["X-Mailwarden-Action"] == "allow"
        assert added["X-Mailwarden-Id"] == reply.verdict_id
        assert logged(core) == [(reply.verdict_id, "safe", "allow", "milter")]


def test_malicious_message_is_rejected_per_tenant_policy(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    with opened(tmp_path, engines) as core:
        reply = core.decide(feed(core, REJECTED.read_bytes()))
        assert (reply.action, reply.code, reply.xcode) == ("reject", "550", "5.7.1")
        assert "credential_phishing" in reply.text and reply.verdict_id in reply.text
        assert logged(core)[0][1:3] == ("malicious", "reject")


def test_quarantine_verdict_holds_the_message_with_headers(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    with opened(tmp_path, engines) as core:
        reply = core.decide(feed(core, QUARANTINED.read_bytes()))
        assert reply.action == "quarantine"
        assert reply.quarantine_reason.startswith("mailwarden malicious credential_phishing")
        added = headers(reply)
        assert added["X-Mailwarden-Category"] == "credential_phishing"
        assert float(added["X-Mailwarden-Score"]) >= 8
        assert added["X-Mailwarden-Symbols"].count("(") >= 1


def test_tenant_actions_decide_reject_or_tag(tmp_path: Path) -> None:
    base = default_tenant().model_dump()
    lenient = Tenant.model_validate(
        {**base, "actions": {"malicious": "tag"}, "thresholds": {"reject": 1000}}
    )
    with opened(tmp_path, {"example": Engine(lenient)}) as core:
        reply = core.decide(feed(core, QUARANTINED.read_bytes()))
        assert reply.action == "accept"
        assert headers(reply)["X-Mailwarden-Action"] == "tag"


def test_forged_mailwarden_headers_are_removed(tmp_path: Path, engines: dict[str, Engine]) -> None:
    raw = b"X-Mailwarden-Verdict: safe\r\nx-mailwarden-verdict: safe\r\n" + QUARANTINED.read_bytes()
    with opened(tmp_path, engines) as core:
        reply = core.decide(feed(core, raw))
        assert reply.remove_headers == {"x-mailwarden-verdict": 2}
        assert headers(reply)["X-Mailwarden-Verdict"] == "malicious"


def test_non_mime_garbage_gets_a_verdict(tmp_path: Path, engines: dict[str, Engine]) -> None:
    with opened(tmp_path, engines) as core:
        reply = core.decide(feed(core, GARBAGE))
        assert reply.action == "accept" and not reply.error
        assert "not-mime" in headers(reply)["X-Mailwarden-Defects"]
        # an empty transaction (no header, no body) too
        assert core.decide(core.transaction()).action == "accept"


def test_oversized_message_is_truncated_and_recorded(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    big = HAM.read_bytes() + b"A" * 200_000 + b"\r\n"
    with opened(tmp_path, engines, max_scan_bytes=16384) as core:
        tx = feed(core, big)
        assert tx.kept == 16384 and tx.size > 200_000
        reply = core.decide(tx)
        assert reply.action == "accept"
        assert "scan-truncated:16384-of-" in headers(reply)["X-Mailwarden-Defects"]
        assert tx.raw() == b""  # released after the reply


@pytest.mark.parametrize(
    ("policy", "action", "code"),
    [("tempfail", "tempfail", "452"), ("reject", "reject", "552"), ("skip", "accept", "")],
)
def test_oversize_policies(
    tmp_path: Path, engines: dict[str, Engine], policy: str, action: str, code: str
) -> None:
    with opened(tmp_path, engines, max_scan_bytes=4096, oversize=policy) as core:
        reply = core.decide(feed(core, HAM.read_bytes() + b"B" * 10_000))
        assert (reply.action, reply.code) == (action, code)
        assert "scan limit" in reply.error
        assert logged(core) == []


def test_recipient_of_no_tenant_is_delivered_unscored(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    other = Tenant(id="other", domains=("other.test",))
    both = {**engines, "other": Engine(other)}
    with opened(tmp_path, both) as core:
        core.tenants = {"example": default_tenant(), "other": other}
        core.default_tenant = None
        assert core.tenants_for(["<a@sub.other.test>"]) == ["other"]
        assert core.tenants_for(["<x@nowhere.test>", TO]) == ["example"]
        reply = core.decide(feed(core, HAM.read_bytes(), recipients=("<x@nowhere.test>",)))
        assert reply.action == "accept"
        assert headers(reply) == {"X-Mailwarden-Error": "no tenant serves these recipients"}


def test_recipients_of_two_tenants_get_a_verdict_each_and_the_strictest_answer(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    lenient = Tenant(id="lenient", domains=("lenient.test",), actions={"malicious": "tag"})
    both = {"lenient": Engine(lenient), **engines}
    with opened(tmp_path, both) as core:
        core.tenants = {"lenient": lenient, "example": default_tenant()}
        recipients = ("<ops@lenient.test>", TO)
        reply = core.decide(feed(core, QUARANTINED.read_bytes(), recipients=recipients))
        assert reply.action == "quarantine"  # example quarantines; lenient only tags
        assert [v.tenant for v in reply.verdicts] == ["lenient", "example"]
        assert headers(reply)["X-Mailwarden-Tenants"] == "lenient=tag, example=quarantine"
        assert headers(reply)["X-Mailwarden-Id"] == reply.verdict_id
        rows = logged(core)
        assert len(rows) == 2 and reply.verdict_id in {r[0] for r in rows}


def test_milter_metrics_count_answers_verdicts_and_errors(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    pytest.importorskip("prometheus_client")
    with opened(tmp_path, engines, metrics_port=9466) as core:
        assert core.metrics is not None
        core.decide(feed(core, HAM.read_bytes()))
        core.decide(feed(core, REJECTED.read_bytes()))
        core.decide(feed(core, HAM.read_bytes(), recipients=("<x@nowhere.test>",)))
        core.default_tenant = None
        core.decide(feed(core, HAM.read_bytes(), recipients=("<x@nowhere.test>",)))
        text = core.metrics.exposition().decode()
    assert 'mailwarden_milter_replies_total{action="accept"} 3.0' in text
    assert 'mailwarden_milter_replies_total{action="reject"} 1.0' in text
    assert 'mailwarden_milter_unscored_total{reason="no_tenant"} 1.0' in text
    assert 'mailwarden_verdicts_total{action="reject",category="credential_phishing"' in text
    assert "mailwarden_milter_decision_duration_seconds_count 4.0" in text


class SlowEngine:
    def __init__(self, engine: Engine, delay_s: float) -> None:
        self.engine = engine
        self.delay_s = delay_s

    def scan(self, raw: bytes, **kwargs: Any) -> Verdict:
        time.sleep(self.delay_s)
        return self.engine.scan(raw, **kwargs)


@pytest.mark.parametrize("on_error", ["accept", "tempfail"])
def test_scan_timeout_follows_the_error_policy(
    tmp_path: Path, engines: dict[str, Engine], on_error: str
) -> None:
    slow: dict[str, Any] = {"example": SlowEngine(engines["example"], 0.6)}
    with opened(tmp_path, slow, scan_timeout_s=0.1, on_error=on_error) as core:
        reply = core.decide(feed(core, HAM.read_bytes()))
        if on_error == "accept":
            assert reply.action == "accept"
            assert headers(reply)["X-Mailwarden-Error"] == "scan timeout (0.1 s)"
        else:
            assert (reply.action, reply.code, reply.xcode) == ("tempfail", "451", "4.7.1")
        assert logged(core) == []


class BrokenEngine:
    def scan(self, raw: bytes, **kwargs: Any) -> Verdict:
        raise RuntimeError("boom")


def test_engine_fault_follows_the_error_policy(tmp_path: Path) -> None:
    broken: dict[str, Any] = {"example": BrokenEngine()}
    with opened(tmp_path, broken, on_error="tempfail") as core:
        reply = core.decide(feed(core, HAM.read_bytes()))
        assert (reply.action, reply.code) == ("tempfail", "451")
        assert reply.error == "internal error: RuntimeError"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process's write lock on the verdict log."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("on_error", ["accept", "tempfail"])
def test_locked_verdict_log_follows_the_error_policy(
    tmp_path: Path, engines: dict[str, Engine], on_error: str
) -> None:
    with opened(tmp_path, engines, on_error=on_error) as core:
        with locked(core.config.verdict_log.path):
            reply = core.decide(feed(core, HAM.read_bytes()))
            rejected = core.decide(feed(core, REJECTED.read_bytes()))
        if on_error == "accept":
            assert reply.action == "accept"
            assert headers(reply)["X-Mailwarden-Verdict"] == "safe"
            assert headers(reply)["X-Mailwarden-Error"] == "verdict log locked"
        else:
            assert (reply.action, reply.code) == ("tempfail", "451")
        assert reply.error == "verdict log locked"
        assert rejected.action == "reject"  # refusing mail never waits on the log
        assert logged(core) == []
        # the log recovers once the lock is gone
        assert not core.decide(feed(core, HAM.read_bytes())).error
        assert len(logged(core)) == 1


def test_closed_verdict_log_follows_the_error_policy(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    with opened(tmp_path, engines, on_error="tempfail") as core:
        core.verdict_log.close()
        reply = core.decide(feed(core, HAM.read_bytes()))
        assert (reply.action, reply.error) == ("tempfail", "verdict log closed")


def test_callback_error_is_answered_at_end_of_message(
    tmp_path: Path, engines: dict[str, Engine]
) -> None:
    with opened(tmp_path, engines) as core:
        tx = feed(core, HAM.read_bytes())
        tx.error = "body callback failed: MemoryError"
        reply = core.decide(tx)
        assert headers(reply) == {"X-Mailwarden-Error": "body callback failed: MemoryError"}


def test_bad_milter_settings_fail_loudly() -> None:
    with pytest.raises(ValueError, match="not a milter socket"):
        MilterSettings(socket="/tmp/no-scheme.sock")
    with pytest.raises(ValueError, match="on_error"):
        MilterSettings(on_error="maybe")  # type: ignore[arg-type]
    assert MilterSettings(socket="inet:8890@127.0.0.1").socket == "inet:8890@127.0.0.1"


def test_unknown_default_tenant_fails_at_open(tmp_path: Path, engines: dict[str, Engine]) -> None:
    core = MilterCore(config_for(tmp_path, default_tenant="nobody"), engines=engines)
    with pytest.raises(ValueError, match=r"milter\.default_tenant: no tenant 'nobody'"):
        core.open()


def test_postfix_snippet_matches_the_error_policy() -> None:
    from mailwarden.milter.server import postfix_snippet

    closed = postfix_snippet(MilterSettings(socket="inet:8890@127.0.0.1", on_error="tempfail"))
    assert "smtpd_milters = inet:127.0.0.1:8890" in closed
    assert "milter_default_action = tempfail" in closed
    assert "milter_default_action = accept" in postfix_snippet(MilterSettings())


def test_milter_command_without_the_extra_or_with_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from mailwarden.cli import main
    from mailwarden.milter import server

    runner = CliRunner()
    monkeypatch.setattr(server, "missing", lambda: None)  # as if pymilter were installed
    result = runner.invoke(main, ["milter", "--socket", "nowhere"])
    assert result.exit_code == 2 and "milter.socket" in result.output
    monkeypatch.setattr(server, "missing", lambda: "needs the milter extra")
    result = runner.invoke(main, ["milter", "--log", str(tmp_path / "v.sqlite")])
    assert result.exit_code == 2 and "needs the milter extra" in result.output
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["milter", "--postfix", "--on-error", "tempfail"])
    assert result.exit_code == 0 and "milter_default_action = tempfail" in result.output
    assert list(tmp_path.iterdir()) == []  # printing the snippet creates no verdict log


# --- libmilter's callbacks (pymilter), with a stand-in context ------------------------------


class FakeContext:
    """Records what the milter asks libmilter to do."""

    def __init__(self) -> None:
        self.priv: Any = None
        self.calls: list[tuple[Any, ...]] = []

    def getpriv(self) -> Any:
        return self.priv

    def setpriv(self, priv: Any) -> None:
        self.priv = priv

    def getsymval(self, name: str) -> str | None:
        return "4ABCDE" if name == "i" else None

    def addheader(self, name: str, value: str, index: int) -> None:
        self.calls.append(("addheader", name, value))

    def chgheader(self, name: str, index: int, value: str) -> None:
        self.calls.append(("chgheader", name, index, value))

    def quarantine(self, reason: str) -> None:
        self.calls.append(("quarantine", reason))

    def setreply(self, code: str, xcode: str, *lines: str) -> None:
        self.calls.append(("setreply", code, xcode, *lines))


def run_callbacks(milter: Any, raw: bytes) -> int:
    milter.envfrom("<sender@outside.test>")
    milter.envrcpt(TO)
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    for line in head.split(b"\n"):
        name, _, value = line.partition(b":")
        milter.header(name.decode(), value.strip())
    milter.eoh()
    milter.body(body.replace(b"\n", b"\r\n"))
    return int(milter.eom())


def test_pymilter_callbacks_apply_the_reply(tmp_path: Path, engines: dict[str, Engine]) -> None:
    milter_module = pytest.importorskip("Milter", reason="pymilter (the milter extra) missing")
    from mailwarden.milter.server import make_milter_class

    with opened(tmp_path, engines) as core:
        cls = make_milter_class(core)
        # Only the data callbacks are asked for, all without replies (streamed by the MTA).
        # protocol_mask() holds the bits of the MTA's offer the milter turns down.
        mask = cls.protocol_mask()
        for skipped in ("P_NOCONNECT", "P_NOHELO", "P_NODATA", "P_NOUNKNOWN"):
            assert not mask & getattr(milter_module, skipped)
        for wanted in ("P_NOMAIL", "P_NORCPT", "P_NOHDRS", "P_NOEOH", "P_NOBODY"):
            assert mask & getattr(milter_module, wanted)
        for streamed in ("P_NR_HDR", "P_NR_BODY", "P_NR_EOH", "P_NR_MAIL", "P_NR_RCPT"):
            assert not mask & getattr(milter_module, streamed)

        ctx = FakeContext()
        milter = cls()
        milter._setctx(ctx)
        raw = b"X-Mailwarden-Verdict: safe\n" + QUARANTINED.read_bytes()
        assert run_callbacks(milter, raw) == milter_module.ACCEPT
        names = [call[1] for call in ctx.calls if call[0] == "addheader"]
        assert names[:2] == ["X-Mailwarden-Verdict", "X-Mailwarden-Category"]
        assert ("chgheader", "x-mailwarden-verdict", 1, "") in ctx.calls
        assert ctx.calls[-1][0] == "quarantine"
        assert logged(core)[-1][1:] == ("malicious", "quarantine", "milter")

        ctx.calls.clear()
        assert run_callbacks(milter, REJECTED.read_bytes()) == milter_module.REJECT
        assert ctx.calls[0][:3] == ("setreply", "550", "5.7.1")

        # a client that goes away mid-message: abort + close, nothing kept
        milter.envfrom("<sender@outside.test>")
        milter.header("Subject", b"half a message")
        assert milter.tx is not None
        milter.abort()
        milter.close()
        assert milter.tx is None


# --- a real milter process over its unix socket ---------------------------------------------

SMFIC_OPTNEG, SMFIC_CONNECT, SMFIC_HELO, SMFIC_MAIL, SMFIC_RCPT = b"OCHMR"
SMFIC_HEADER, SMFIC_EOH, SMFIC_BODY, SMFIC_BODYEOB, SMFIC_QUIT = b"LNBEQ"
FINAL = set(b"acrtyd")  # accept continue reject tempfail replycode discard


class MtaClient:
    """The MTA side of the milter protocol (version 6), no step skipped, every step answered."""

    def __init__(self, path: str, timeout_s: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout_s)
        self.sock.connect(path)

    def send(self, cmd: int, data: bytes = b"") -> None:
        self.sock.sendall(struct.pack(">I", len(data) + 1) + bytes([cmd]) + data)

    def read(self) -> tuple[int, bytes]:
        head = self._exactly(5)
        (size,) = struct.unpack(">I", head[:4])
        return head[4], self._exactly(size - 1)

    def _exactly(self, size: int) -> bytes:
        chunks = b""
        while len(chunks) < size:
            chunk = self.sock.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("milter closed the connection")
            chunks += chunk
        return chunks

    def ask(self, cmd: int, data: bytes = b"") -> list[tuple[int, bytes]]:
        """Send one command; return every packet up to and including the final answer."""
        self.send(cmd, data)
        answers = []
        while True:
            code, payload = self.read()
            answers.append((code, payload))
            if code in FINAL:
                return answers

    def start(self) -> None:
        self.send(SMFIC_OPTNEG, struct.pack(">III", 6, 0x1FF, 0))
        code, _ = self.read()
        assert code == ord("O")
        assert self.ask(
            SMFIC_CONNECT, b"client.test\x004" + struct.pack(">H", 2525) + b"127.0.0.1\x00"
        )[-1][0] == ord("c")
        assert self.ask(SMFIC_HELO, b"client.test\x00")[-1][0] == ord("c")

    def message(self, raw: bytes, *, finish: bool = True) -> list[tuple[int, bytes]]:
        self.ask(SMFIC_MAIL, b"<sender@outside.test>\x00")
        self.ask(SMFIC_RCPT, TO.encode() + b"\x00")
        head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        for line in head.split(b"\n"):
            name, _, value = line.partition(b":")
            self.ask(SMFIC_HEADER, name + b"\x00" + value.strip() + b"\x00")
        self.ask(SMFIC_EOH)
        body = body.replace(b"\n", b"\r\n")
        for start in range(0, len(body), 65535):
            self.ask(SMFIC_BODY, body[start : start + 65535])
        if not finish:
            return []
        return self.ask(SMFIC_BODYEOB)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send(SMFIC_QUIT)
        self.sock.close()


def added(answers: list[tuple[int, bytes]]) -> dict[str, str]:
    found = {}
    for code, payload in answers:
        if code == ord("h"):
            name, value, _ = payload.split(b"\x00")
            found[name.decode()] = value.decode()
    return found


@pytest.fixture(scope="module")
def milter_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    pytest.importorskip("Milter", reason="pymilter (the milter extra) is not installed")
    folder = tmp_path_factory.mktemp("milter")
    path = folder / "m.sock"
    settings = f"{{socket: 'unix:{path}', max_scan_bytes: 65536, timeout_s: 5}}"
    with milter_running(folder, settings, "0" * 64) as (socket_path, pid):
        yield str(socket_path), pid
    assert not path.exists(), "the milter left its socket behind"


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_real_milter_scores_over_its_socket(milter_process: tuple[str, int]) -> None:
    path, _ = milter_process
    client = MtaClient(path)
    try:
        client.start()
        answers = client.message(HAM.read_bytes())
        assert answers[-1][0] in (ord("a"), ord("c"))
        assert added(answers)["X-Mailwarden-Verdict"] == "safe"
        answers = client.message(REJECTED.read_bytes())  # same connection, next message
        assert answers[-1][0] == ord("y") and answers[-1][1].startswith(b"550 5.7.1")
        answers = client.message(GARBAGE)
        assert "not-mime" in added(answers)["X-Mailwarden-Defects"]
        answers = client.message(HAM.read_bytes() + b"C" * 300_000)  # over max_scan_bytes
        assert "scan-truncated:65536-of-" in added(answers)["X-Mailwarden-Defects"]
    finally:
        client.close()


def test_peer_disconnecting_mid_message_leaks_nothing(milter_process: tuple[str, int]) -> None:
    path, pid = milter_process
    warm = MtaClient(path)
    warm.start()
    warm.close()
    time.sleep(0.3)
    before = threads(pid)
    for _ in range(20):
        client = MtaClient(path)
        client.start()
        client.message(HAM.read_bytes() + b"D" * 100_000, finish=False)
        client.sock.close()  # gone mid-message: no end of body, no QUIT
    deadline = time.monotonic() + 10
    while threads(pid) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threads(pid) <= before
    client = MtaClient(path)  # and it still answers
    try:
        client.start()
        assert added(client.message(HAM.read_bytes()))["X-Mailwarden-Verdict"] == "safe"
    finally:
        client.close()
