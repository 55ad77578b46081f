"""The parsed message: a frozen record of everything detectors may look at.

`mailwarden.parse.parse(raw)` builds it and never raises; what it could not read is listed in
`Message.defects` (short kebab-case codes such as ``bad-base64`` or ``nesting-too-deep``), and
defects are themselves signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: ``"Kenneth Lay" <klay@enron.com>``.

    `addr` is lower-cased; `domain` is the part after the last ``@`` (lower-cased, IDNA decoded to
    Unicode when it was punycode, so homoglyph checks see what a person sees); `registrable` is the
    registrable domain by the public suffix list (``mail.enron.com`` -> ``enron.com``).
    """

    name: str
    addr: str
    domain: str
    registrable: str
    local: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link found in HTML (``<a href>``, forms, images) or in plain text.

    `text` is what a reader sees (anchor text; empty for plain-text URLs). `text_domain` is the
    domain that text names, when it looks like a URL or host, so
    ``<a href="evil.ru">paypal.com</a>`` gives ``text_domain="paypal.com"`` and
    ``registrable="evil.ru"``.
    """

    href: str
    text: str
    host: str
    registrable: str
    scheme: str
    source: str  # "html" | "text" | "form" | "image"
    text_domain: str = ""
    is_ip: bool = False
    is_punycode: bool = False
    is_shortener: bool = False


@dataclass(frozen=True, slots=True)
class Attachment:
    """A non-body MIME part. The content itself is not kept, only what detectors need."""

    filename: str
    declared_type: str  # Content-Type as written, lower-cased
    sniffed_type: str  # from magic bytes: "pdf", "zip", "ole", "ooxml", "pe", "html", ... or ""
    size: int
    sha256: str
    extension: str  # lower-cased, without the dot, of the file name ("" when none)
    extension_mismatch: bool  # the name says one type, the bytes say another
    archive_members: tuple[str, ...] = ()  # names inside zip archives (not extracted)
    is_encrypted_archive: bool = False
    macro_capable: bool = False  # docm/xlsm/pptm, OLE documents with VBA storage, etc.
    is_message: bool = False  # an attached message/rfc822


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One method's result from Authentication-Results: ``dmarc=fail header.from=x.com``."""

    method: str  # spf | dkim | dmarc | compauth | arc | ...
    result: str  # pass | fail | softfail | neutral | none | temperror | permerror | ...
    properties: tuple[tuple[str, str], ...] = ()  # ("header.from", "x.com"), ("smtp.mailfrom", ...)


@dataclass(frozen=True, slots=True)
class Hop:
    """One Received header, newest first as in the message."""

    raw: str
    from_host: str
    by_host: str
    ip: str  # the connecting IP when the header names one, else ""
    date: datetime | None


@dataclass(frozen=True, slots=True)
class Message:
    """Everything the engine knows about one message. Text fields are decoded Unicode."""

    headers: tuple[tuple[str, str], ...]  # every header in order, names as written, values decoded
    subject: str
    from_: Address | None
    sender: Address | None
    reply_to: tuple[Address, ...]
    return_path: str  # the envelope sender address, lower-cased, "" when absent or "<>"
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None  # timezone-aware (UTC when the header had no zone); None if unreadable
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    received: tuple[Hop, ...]
    originating_ip: str  # the first external IP in the Received chain, or X-Originating-IP
    auth: tuple[AuthResult, ...]
    list_headers: tuple[tuple[str, str], ...]  # List-Id, List-Unsubscribe, ... as (name, value)
    text: str  # the plain-text body (first text/plain part, or HTML's visible text if none)
    html_text: str  # visible text of the HTML body ("" when there is no HTML part)
    html: str  # the raw HTML body, capped (see parse.limits)
    links: tuple[Link, ...]
    attachments: tuple[Attachment, ...]
    hidden_text: str = ""  # HTML text hidden by display:none, zero font size, white-on-white...
    html_forms: int = 0  # <form> elements in the HTML body
    html_form_actions: tuple[str, ...] = ()
    html_scripts: int = 0
    size: int = 0  # bytes of the raw message
    defects: tuple[str, ...] = ()
    parser: str = ""  # which parser produced it: "fast" | "stdlib" | "headers-only"
    # Values derived from the message once and shared by several signals (its searchable text,
    # word index, brand mention): a per-message cache, so it dies with the message.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def header(self, name: str) -> str:
        """The first value of header `name` (case-insensitive), or ""."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return ""

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    @property
    def body_text(self) -> str:
        """The text a reader sees: the plain part, or the HTML's visible text when there is none."""
        return self.text or self.html_text

    @property
    def searchable(self) -> str:
        """Subject and visible body, lower-cased, invisible characters removed, capped: what
        phrase signals and the text model read (`searchable_text`).

        Computed once per message (cached in `derived`), since every phrase signal reads it.
        """
        cached: str | None = self.derived.get("searchable")
        if cached is None:
            body = self.body_text[:SEARCHABLE_BODY_CHARS]
            cached = searchable_text(f"{self.subject}\n{body}")
            self.derived["searchable"] = cached
        return cached

    def auth_result(self, method: str) -> str:
        """The first result for `method` ("spf", "dkim", "dmarc", ...), or "" when absent."""
        for result in self.auth:
            if result.method == method:
                return result.result
        return ""

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc


# Phrase signals search this many characters of body: attack text sits near the top, and regex
# time grows with length (DESIGN.md: cap what you scan on the hot path).
SEARCHABLE_BODY_CHARS = 20_000

# Characters that render as nothing: zero-width spaces and joiners, soft hyphens, bidi marks,
# variation selectors, Unicode tags. Lures put them inside words ("Y\u200bour Secu\u200bre
# Docu\u200bment") so that word and phrase matching miss them.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]"
)


def searchable_text(text: str) -> str:
    """`text` as phrase signals and the text model read it: lower-cased, invisible characters
    removed (an ASCII text, most mail, skips the regex)."""
    text = text.lower()
    return text if text.isascii() else INVISIBLE.sub("", text)
