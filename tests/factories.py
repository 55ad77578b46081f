"""Build `Message` records directly, without the parser: `make_message(subject=..., body=...)`."""

from __future__ import annotations

from typing import Any

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
