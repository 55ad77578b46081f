"""`mailwarden milter` inline in a real Postfix (a private instance on 127.0.0.1, see
mailwarden.milter.lab), with swaks as the SMTP client: headers on delivered mail, a 5xx for a
rejected message, the hold queue for a quarantined one, and Postfix's own fail-open /
fail-closed behaviour when the milter is down or hangs.

Skips (with the reason) without Postfix, swaks, pymilter or root; .ci/run installs them.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import milter_running
from mailwarden.milter import lab

SAMPLES = Path(__file__).resolve().parents[1] / "src" / "mailwarden" / "ruleset" / "samples"
HAM = SAMPLES / "ham_ceo_internal_update.eml"
QUARANTINED = SAMPLES / "credential_phishing_m365_mailbox_quota.eml"
REJECTED = SAMPLES / "credential_phishing_m365_password_expiry.eml"
TO = "dana.whitfield@example.com"


def _skip_reason() -> str | None:
    if (reason := lab.unavailable()) is not None:
        return reason
    if shutil.which("swaks") is None:
        return "swaks is not installed (apt-get install swaks)"
    try:
        import Milter  # noqa: F401
    except ImportError:
        return "pymilter (the milter extra) is not installed"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


def swaks(port: int, data: Path | bytes) -> subprocess.CompletedProcess[str]:
    """Send one message; swaks exits 0 when it was accepted (24 on 5xx, 23 on 4xx at DATA)."""
    command = ["swaks", "--server", f"127.0.0.1:{port}", "--to", TO, "--from", "x@sender.test"]
    command += ["--timeout", "20", "--data", "-" if isinstance(data, bytes) else str(data)]
    stdin = data if isinstance(data, bytes) else b""
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(errors="replace"), ""
    )


def reply_to_data(result: subprocess.CompletedProcess[str]) -> str:
    """The server's last reply line (after DATA's end)."""
    lines = [line for line in result.stdout.splitlines() if line.startswith(("<-", "<**"))]
    return lines[-2] if len(lines) >= 2 else result.stdout


def mailwarden_headers(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    head = path.read_bytes().split(b"\n\n", 1)[0].decode(errors="replace")
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.lower().startswith("x-mailwarden-"):
            found.setdefault(name, []).append(value.strip())
    return found


@pytest.fixture(scope="module")
def milter_socket() -> Iterator[tuple[str, Path]]:
    """A running `mailwarden milter` (fail-open) for the demo tenant on a unix socket."""
    folder = Path(tempfile.mkdtemp(prefix="mailwarden-milter-"))
    folder.chmod(0o755)  # Postfix's smtpd (user postfix) reaches the socket in it
    path = folder / "milter.sock"
    settings = f"{{socket: 'unix:{path}', socket_group: postfix, on_error: accept}}"
    try:
        with milter_running(folder, settings, "1" * 64):
            yield f"unix:{path}", folder / "verdicts.sqlite"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postfix(milter_socket: tuple[str, Path]) -> Iterator[lab.PostfixLab]:
    with lab.PostfixLab(milter_socket[0], default_action="tempfail") as instance:
        yield instance


def test_delivered_mail_carries_the_verdict_headers(
    postfix: lab.PostfixLab, milter_socket: tuple[str, Path]
) -> None:
    before = len(postfix.delivered())
    result = swaks(postfix.port, HAM)
    assert result.returncode == 0, result.stdout
    delivered = postfix.wait_for(before + 1)
    assert len(delivered) == before + 1, postfix.output()[-3000:]
    found = mailwarden_headers(delivered[-1])
    assert found["X-Mailwarden-Verdict"] == ["safe"]
    assert found["X-Mailwarden-Action"] == ["allow"]
    assert found["X-Mailwarden-Score"] == ["0.00"]
    verdict_id = found["X-Mailwarden-Id"][0]
    with sqlite3.connect(milter_socket[1]) as conn:
        row = conn.execute(
            "SELECT verdict, action, token_name, tenant FROM verdicts WHERE id = ?", (verdict_id,)
        ).fetchone()
    assert row == ("safe", "allow", "milter", "example")


def test_malicious_mail_is_rejected_with_5xx(postfix: lab.PostfixLab) -> None:
    result = swaks(postfix.port, REJECTED)
    assert result.returncode != 0
    assert "550 5.7.1 Message rejected as credential_phishing" in reply_to_data(result)


def test_quarantined_mail_lands_in_the_hold_queue(postfix: lab.PostfixLab) -> None:
    before = len(postfix.held())
    result = swaks(postfix.port, QUARANTINED)
    assert result.returncode == 0, result.stdout  # accepted, then held
    held = postfix.wait_for(before + 1, what="held")
    assert len(held) == before + 1, postfix.output()[-3000:]
    assert "milter triggers HOLD action" in postfix.output()


def test_forged_headers_are_replaced_and_garbage_is_scored(postfix: lab.PostfixLab) -> None:
    before = len(postfix.delivered())
    forged = b"X-Mailwarden-Verdict: safe\r\n" + HAM.read_bytes()
    garbage = b"\x01\x02 no header here \xff\xfe\r\n\r\nbinary \x00 junk\r\n.\r\n"
    assert swaks(postfix.port, forged).returncode == 0
    assert swaks(postfix.port, garbage).returncode == 0
    delivered = postfix.wait_for(before + 2)
    assert len(delivered) == before + 2
    found = [mailwarden_headers(path) for path in delivered[-2:]]
    # One verdict each: the forged header is gone, and the garbage (to which Postfix adds only
    # Received, Date, From and Message-Id) got a verdict, not an error.
    assert [f["X-Mailwarden-Verdict"] for f in found] == [["safe"], ["safe"]]
    assert all("X-Mailwarden-Error" not in f for f in found)


@contextlib.contextmanager
def hung_milter(path: Path) -> Iterator[str]:
    """A milter that accepts connections and never answers."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o666)
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix:{path}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("default_action", ["accept", "tempfail"])
def test_milter_down_or_hung_follows_postfix_default_action(default_action: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mailwarden-hung-"))
    folder.chmod(0o755)
    try:
        with hung_milter(folder / "hung.sock") as hung:
            for milter in (f"unix:{folder}/nobody-listens.sock", hung):
                with lab.PostfixLab(
                    milter, default_action=default_action, milter_timeout_s=1
                ) as instance:
                    result = swaks(instance.port, HAM)
                    if default_action == "accept":  # fail-open: delivered, unscored
                        assert result.returncode == 0, result.stdout
                        delivered = instance.wait_for(1)
                        assert delivered, instance.output()[-3000:]
                        assert mailwarden_headers(delivered[0]) == {}
                    else:  # fail-closed: the sender is told to retry
                        assert result.returncode != 0
                        assert "451 4.7.1" in result.stdout
                        assert instance.delivered() == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)
