"""Build `Message` records directly, without the parser: `make_message(subject=..., body=...)`."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailwarden.domains import registrable, to_unicode
from mailwarden.message import Address, Attachment, AuthResult, Hop, Link, Message


def addr(spec: str) -> Address:
    """'Dana Whitfield <dana@gmail.com>' or 'dana@gmail.com' -> Address."""
    name, _, rest = spec.rpartition("<")
    mailbox = (rest.rstrip(">") if rest else spec).strip().lower()
    name = name.strip().strip('"')
    local, _, domain = mailbox.rpartition("@")
    domain = to_unicode(domain)
    return Address(name, mailbox, domain, registrable(domain) if domain else "", local)


def link(href: str, text: str = "", source: str = "html", **kw: Any) -> Link:
    scheme, _, rest = href.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].lower()
    defaults: dict[str, Any] = {
        "host": host,
        "registrable": registrable(to_unicode(host)),
        "scheme": scheme.lower(),
        "is_punycode": "xn--" in host,
    }
    defaults.update(kw)
    return Link(href=href, text=text, source=source, **defaults)


def attachment(filename: str, **kw: Any) -> Attachment:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    fields: dict[str, Any] = {
        "declared_type": "application/octet-stream",
        "sniffed_type": "",
        "size": 1000,
        "sha256": "0" * 64,
        "extension": ext,
        "extension_mismatch": False,
    }
    fields.update(kw)
    return Attachment(filename=filename, **fields)


def auth(**results: str) -> tuple[AuthResult, ...]:
    """auth(spf="fail", dmarc="fail") -> AuthResult records."""
    return tuple(AuthResult(method, result) for method, result in results.items())


def hop(from_host: str, ip: str) -> Hop:
    return Hop(f"from {from_host} ([{ip}])", from_host, "mx.example.com", ip, None)


def make_message(
    *,
    subject: str = "Quarterly numbers",
    body: str = "Hi Priya,\n\nThe Q3 numbers are attached for review.\n\nThanks,\nMarcus",
    sender: str | None = "Marcus Chen <marcus.chen@example.com>",
    to: tuple[str, ...] = ("Priya Raman <priya.raman@example.com>",),
    cc: tuple[str, ...] = (),
    reply_to: tuple[str, ...] = (),
    **overrides: Any,
) -> Message:
    """A plain internal message; keyword arguments override any `Message` field."""
    fields: dict[str, Any] = {
        "headers": (),
        "subject": subject,
        "from_": addr(sender) if sender else None,
        "sender": None,
        "reply_to": tuple(addr(a) for a in reply_to),
        "return_path": "",
        "to": tuple(addr(a) for a in to),
        "cc": tuple(addr(a) for a in cc),
        "date": None,
        "message_id": "<1@example.com>",
        "in_reply_to": "",
        "references": (),
        "received": (),
        "originating_ip": "",
        "auth": (),
        "list_headers": (),
        "text": body,
        "html_text": "",
        "html": "",
        "links": (),
        "attachments": (),
    }
    fields.update(overrides)
    return Message(**fields)


@contextlib.contextmanager
def milter_running(folder: Path, milter: str, token: str) -> Iterator[tuple[Path, int]]:
    """A real `mailwarden milter` process for the demo tenant, configured by the YAML flow
    mapping `milter` (which names its unix socket, returned), until the block ends."""
    socket = Path(milter.split("unix:", 1)[1].split("'", 1)[0])
    (folder / "service.yml").write_text(
        "tenants:\n"
        f"  - tokens: [{{name: t, sha256: '{token}'}}]\n"
        "verdict_log: {path: verdicts.sqlite}\n"
        f"milter: {milter}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mailwarden.milter.server", str(folder / "service.yml")],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "milter.err").open("wb"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not socket.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not socket.exists():
            pytest.fail(f"the milter did not start: {(folder / 'milter.err').read_text()}")
        yield socket, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
