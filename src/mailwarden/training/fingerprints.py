"""Neutralise the marks each corpus leaves on its messages, before the engine sees them.

A model trained on the shared corpora learns which corpus a message came from unless the
collectors' traces are removed first: `To: phishing@pot`, Microsoft 365 stamps, CRLF line endings,
`X-Folder`, `[USRP-users]`, `JavaMail.evans@thyme` message ids... (see shared/data/README.md).
`Neutralizer` rewrites the raw bytes so that every message looks as it would have looked arriving
at the tenant's own gateway, and `fingerprint_tokens` reads the header traces a source classifier
could use (see `mailwarden.training.check`, which proves the neutralisation works).

What is done, for every message whatever its source (no branch on the corpus, so the rewriting
cannot itself leave a per-source mark):

* Line endings: CRLF -> LF everywhere; an mbox ``From `` line is dropped.
* Collector mailboxes: addresses on a collector domain (``*@pot``, ``username@domain.com``,
  ``*@csmining.org``, ``*@spamassassin.taint.org``, ``zzzz@example.com``, the honeypot's free-mail
  inboxes...) are rewritten, in headers and in the body, to a mailbox of the tenant chosen
  deterministically per message (`mailboxes`), so a honeypot's "From: phishing@pot, To:
  phishing@pot" stays a message from the recipient to themselves. Base64 body parts are not
  rewritten (documented residue).
* Header block rebuilt from an allow-list, in one canonical order with canonical names: the
  headers a sender writes and a gateway reads (From, Sender, Reply-To, To, Cc, Subject, Date,
  Message-ID, In-Reply-To, References, MIME and bulk-mail headers). Everything else goes: the
  collectors' and mailbox stores' stamps (X-Spam-*, X-Folder, X-From, X-To, X-FileName, X-MS-*,
  X-Microsoft-*, X-SID-*, X-EOP*, X-Incoming*, X-Sender-IP, Status, X-Status, X-UID, X-Keywords,
  X-Mozilla-*, Content-Length, Lines, Delivered-To, X-Original-To, Resent-*, X-Virus-Scanned,
  X-Amavis*, ...), list-server stamps (X-Mailman-*, X-BeenThere, Errors-To, List-Help / -Post /
  -Subscribe / -Archive / -Owner, Archived-At), Bcc (no gateway sees it), and sender-side X-
  headers (X-Mailer, User-Agent, X-Priority, X-MimeOLE: era and mailer fingerprints no signal
  reads). A signal that starts reading a dropped header must add it to `KEEP` and rerun the
  fingerprint check.
* Received: the chain (whose length and host names say which collector relayed it) becomes one
  hop, ``from HOST (HOST [IP]) by mx.<tenant>``, from the originating hop the parser finds (the
  bottom-most public IP, or X-Originating-IP / X-Sender-IP), so the signals that read hops see
  the same IP and host as before. Enron's export has no Received at all: it gets the same hop,
  without an IP.
* Authentication-Results: kept, as real signal, but rewritten into one canonical header by the
  tenant's gateway with only spf / dkim / dmarc (and their smtp.mailfrom / header.d / header.from);
  Microsoft's ``compauth`` and its comments go (only phishing_pot has them, so they name the
  source, and no other gateway computes them). Received-SPF / ARC results are folded in the same
  way. `keep_auth=False` drops authentication entirely: only three corpora carry it at all, so its
  mere presence still says "phishing_pot, usrp or csdmc" (see the check's report).
* Return-Path: kept (rewritten like any address); synthesised from From where the export lost it
  (Enron), as a gateway always knows the envelope sender.
* Date: rewritten in one format; to the replay time when one is given (see `dataset`).
* Message-ID, In-Reply-To, References: each id hashed (threads still link up) on the sender's
  domain; ids minted by a collector (``@thyme``, Microsoft EOP) get the From domain instead.
* Display names Enron's export moved into X-From go back into From.
* Mailing lists: a subject tag naming the message's own list (``[USRP-users]``) is removed, as
  are Mailman footers ("____ / X mailing list / address / listinfo URL"). List-Id,
  List-Unsubscribe and Precedence stay: bulk mail is real, and several corpora have it.
* Decoded text (`scrub_text`, for the dataset's text column): the same address, footer and tag
  rewriting, which base64 and quoted-printable parts hide from the byte-level pass.

What is left, on purpose or for want of a way (`check` measures it): the sources differ in kind
— list mail, replies, Reply-To, which corpora carry authentication results at all, Enron's
export flattening everything to 7-bit text/plain and dropping In-Reply-To / References (so
`message.is_reply` is never true on the tenant's own mail), the senders' time zones, and lists
named in quoted text. The engine reads base64 bodies before their collector addresses are
rewritten (the text column does not).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Collection, Sequence
from datetime import datetime
from email.utils import format_datetime, formataddr

from mailwarden.domains import registrable
from mailwarden.message import AuthResult
from mailwarden.parse import auth, headers

# --- what marks a collector --------------------------------------------------------------------

# Mailboxes of the collectors (recipients rewritten to a tenant mailbox), by domain: the domain
# itself and any subdomain. example.com is where SpamAssassin's and CSDMC's redaction put them.
COLLECTOR_DOMAINS = (
    "pot",  # phishing_pot: phishing@pot, phish@pot, honey@pot
    "pot.org",
    "domain.com",  # nazario: username@domain.com, username@login.domain.com
    "monkey.org",  # nazario: jose@monkey.org (the collector's own inbox)
    "uninet.edu",  # nazario: the collector's other inboxes (josu@, umeet@)
    "thegeekempire.net",  # nazario: username@thegeekempire.net
    "spamassassin.taint.org",  # spamassassin: yyyy@, zzzz@, fork@ (redacted)
    "netnoteinc.com",  # spamassassin: yyyy@localhost.netnoteinc.com
    "example.com",  # spamassassin / csdmc2010 redaction: yyyy@example.com
    "csmining.org",  # csdmc2010
    "lfdr.de",  # usrp_list: the archive's subscription, lists+usrp-users@lfdr.de
)
# Honeypot inboxes on real free-mail domains (phishing_pot), rewritten as exact addresses.
COLLECTOR_ADDRESSES = (
    "phish.me.again@gmail.com",
    "math.kichuu@hotmail.com",
    "wbks4@protonmail.ch",
    "wpx@protonmail.com",
)
# Message-id domains minted by a collector, not by the sender: Enron's export, Microsoft EOP.
COLLECTOR_ID_DOMAINS = re.compile(r"(?:^thyme$|\.prod\.(?:protection\.)?outlook\.com$)", re.I)

# Header fields kept (lower-case -> canonical spelling), in the order they are written.
KEEP: dict[str, str] = {
    "return-path": "Return-Path",
    "received": "Received",
    "authentication-results": "Authentication-Results",
    "from": "From",
    "sender": "Sender",
    "reply-to": "Reply-To",
    "to": "To",
    "cc": "Cc",
    "subject": "Subject",
    "date": "Date",
    "message-id": "Message-ID",
    "in-reply-to": "In-Reply-To",
    "references": "References",
    "mime-version": "MIME-Version",
    "content-type": "Content-Type",
    "content-transfer-encoding": "Content-Transfer-Encoding",
    "content-disposition": "Content-Disposition",
    "list-id": "List-Id",
    "list-unsubscribe": "List-Unsubscribe",
    "list-unsubscribe-post": "List-Unsubscribe-Post",
    "precedence": "Precedence",
}
# Written by the neutraliser itself from the original fields, never copied.
_REBUILT = frozenset(("return-path", "received", "authentication-results", "date"))
_ID_FIELDS = frozenset(("message-id", "in-reply-to", "references"))
AUTH_METHODS = ("spf", "dkim", "dmarc")
_AUTH_PROPS = frozenset(("smtp.mailfrom", "header.d", "header.i", "header.from"))

_DOMAIN_ALT = "|".join(re.escape(d) for d in COLLECTOR_DOMAINS)
# Starts at the "@" (a literal prefix the regex engine searches fast); the local part is found
# by walking back. The domain must end there (no ".com" after "pot").
_COLLECTOR_DOMAIN = (
    rb"((?:[a-z0-9-]+\.)*(?:" + _DOMAIN_ALT.encode() + rb")(?:(?<=pot)(?:-[a-z0-9]+)+)?)"
    rb"(?![a-z0-9-]|\.[a-z0-9])"
)
_COLLECTOR_AT = re.compile(rb"@" + _COLLECTOR_DOMAIN, re.I)
_COLLECTOR_PCT = re.compile(rb"%40" + _COLLECTOR_DOMAIN, re.I)  # URL-encoded, in links
_LOCAL_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EXACT = re.compile(b"|".join(re.escape(a.encode()) for a in COLLECTOR_ADDRESSES), re.I)
_FOOTER = re.compile(
    rb"[> \t]*_{20,}[ \t]*\n(?:[> \t]*\n)*[^\n]{1,100}mailing list[^\n]*\n"
    rb"(?:(?:[> \t]*\n)*[^\n]*(?:@|https?://|[Uu]nsubscribe)[^\n]*(?:\n|$)){0,3}"
)
_FIELD_SPLIT = re.compile(r"\n(?![ \t])")
_ID = re.compile(r"<([^<>\s]+)>")
_LIST_NAME = re.compile(r"<?\s*([^.<>\s@]+)")


def normalise_newlines(raw: bytes) -> bytes:
    """CRLF (and lone CR before LF) -> LF; an mbox ``From `` separator line is dropped."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    if raw.startswith(b"From "):
        newline = raw.find(b"\n")
        raw = raw[newline + 1 :] if newline >= 0 else b""
    return raw


class Neutralizer:
    """`Neutralizer(tenant_domain, mailboxes)(raw, date=..., key=...)` -> neutralised bytes.

    `mailboxes`: tenant addresses a collector's recipient becomes; the one chosen is a pure
    function of `key` (the message's sha256) and the original address, so a build is
    reproducible and one collector inbox does not become one over-targeted employee.
    """

    def __init__(
        self, tenant_domain: str, mailboxes: Sequence[str] = (), *, keep_auth: bool = True
    ) -> None:
        self.tenant_domain = tenant_domain.lower()
        self.mailboxes = tuple(mailboxes) or (f"user@{self.tenant_domain}",)
        self.keep_auth = keep_auth
        self.gateway = f"mx.{self.tenant_domain}"
        self.failures = 0  # messages whose header block could only be copied, not rebuilt

    # --- addresses --------------------------------------------------------------------------
    def _mailbox(self, address: bytes, key: str) -> bytes:
        index = zlib.crc32(address.lower(), zlib.crc32(key.encode())) % len(self.mailboxes)
        return self.mailboxes[index].encode()

    def rewrite_addresses(self, data: bytes, key: str) -> bytes:
        """Every collector address in `data` -> a tenant mailbox (the same one per address)."""
        if b"@" in data:
            data = self._rewrite(data, _COLLECTOR_AT, key, b"@")
            data = _EXACT.sub(lambda m: self._mailbox(m.group(0), key), data)
        if b"%40" in data:
            data = self._rewrite(data, _COLLECTOR_PCT, key, b"%40")
        return data

    def _rewrite(self, data: bytes, pattern: re.Pattern[bytes], key: str, at: bytes) -> bytes:
        out: list[bytes] = []
        last = 0
        for match in pattern.finditer(data):
            start = match.start()
            while start > last and data[start - 1] in _LOCAL_CHARS:
                start -= 1
            if start == match.start():
                continue  # "@pot" with no local part: not an address
            address = data[start : match.start()] + b"@" + match.group(1)
            out += (data[last:start], self._mailbox(address, key).replace(b"@", at))
            last = match.end()
        out.append(data[last:])
        return b"".join(out)

    def scrub_text(self, text: str, key: str, list_id: str = "") -> str:
        """The same rewriting on decoded text (the dataset's text column): collector addresses,
        Mailman footers and the list's subject tag, which base64 and quoted-printable bodies
        hide from the byte-level pass."""
        data = self.rewrite_addresses(text.encode("utf-8", "surrogateescape"), key)
        data = _strip_footers(data)
        text = data.decode("utf-8", "surrogateescape")
        list_name = _list_name([list_id]) if list_id else ""
        return _strip_list_tag(text, list_name) if list_name else text

    # --- the message ------------------------------------------------------------------------
    def __call__(self, raw: bytes, *, date: datetime | None = None, key: str = "") -> bytes:
        raw = self.rewrite_addresses(normalise_newlines(raw), key)
        block, body_at = headers.split(raw)
        body = raw[body_at:] if body_at <= len(raw) else b""
        if not block:
            return b"\n" + _strip_footers(body)
        text = block.decode("utf-8", "surrogateescape")
        fields = _fields(text)
        try:
            out = self._header_block(fields, date)
        except Exception:  # noqa: BLE001 - never raise: copy the allowed fields as written
            self.failures += 1
            out = "\n".join(f"{KEEP[n]}:{raw}" for n, raw, _ in fields if n in KEEP)
        return out.encode("utf-8", "surrogateescape") + b"\n\n" + _strip_footers(body)

    def _header_block(self, fields: list[tuple[str, str, str]], date: datetime | None) -> str:
        by_name: dict[str, list[tuple[str, str]]] = {}
        for lname, raw_value, value in fields:
            by_name.setdefault(lname, []).append((raw_value, value))

        def values(name: str) -> list[str]:
            return [v for _, v in by_name.get(name, [])]

        lines: list[str] = []
        from_value = (values("from") or [""])[0]
        from_addrs = headers.addresses(from_value) if from_value else []
        from_addr = from_addrs[0] if from_addrs else None
        from_domain = from_addr.domain if from_addr else ""

        # Return-Path: as written, or the From address where the export lost it.
        return_path = values("return-path")
        if return_path:
            lines.append(f"Return-Path: {return_path[0]}")
        elif from_addr is not None and from_addr.addr:
            lines.append(f"Return-Path: <{from_addr.addr}>")

        # Received: one hop, from the originating host and IP the parser would find.
        hops = tuple(headers.hop(v) for v in values("received"))
        x_orig = (values("x-originating-ip") or values("x-sender-ip") or [""])[0]
        ip = headers.originating_ip(x_orig, hops)
        host = next((h.from_host for h in reversed(hops) if h.ip == ip and h.from_host), "")
        when = date if date is not None else _first_date(values("date"))
        stamp = f"; {format_datetime(when)}" if when is not None else ""
        if ip:
            source = f"from {host or 'unknown'} ({host or 'unknown'} [{ip}]) "
        elif host := next((h.from_host for h in reversed(hops) if h.from_host), ""):
            source = f"from {host} "
        else:
            source = ""
        lines.append(f"Received: {source}by {self.gateway} with ESMTP{stamp}")

        if self.keep_auth:
            results = auth.collect(
                values("authentication-results"),
                values("received-spf"),
                values("arc-authentication-results"),
            )
            canonical = _canonical_auth(results)
            if canonical:
                lines.append(f"Authentication-Results: {self.gateway}; {canonical}")

        list_name = _list_name(values("list-id"))
        for lname, canonical_name in KEEP.items():
            if lname == "date":
                date_line = self._date_line(values("date"), date)
                if date_line:
                    lines.append(date_line)
            if lname in _REBUILT:
                continue
            for raw_value, value in by_name.get(lname, []):
                if lname == "from":
                    written = _restore_display_name(raw_value, value, values("x-from"))
                elif lname in _ID_FIELDS:
                    written = " " + _hash_ids(value, from_domain)
                elif lname == "subject" and list_name:
                    written = _strip_list_tag(raw_value, list_name)
                else:
                    written = raw_value
                lines.append(f"{canonical_name}:{written}")
        return "\n".join(lines)

    @staticmethod
    def _date_line(original: list[str], date: datetime | None) -> str:
        if date is not None:
            return f"Date: {format_datetime(date)}"
        parsed = _first_date(original)
        if parsed is not None:
            return f"Date: {format_datetime(parsed)}"
        # Missing or unreadable stays so (a real defect), written as it was.
        return f"Date: {original[0]}" if original else ""


def _fields(text: str) -> list[tuple[str, str, str]]:
    """(lower-case name, raw value with its folding, unfolded stripped value) per field."""
    out: list[tuple[str, str, str]] = []
    for field in _FIELD_SPLIT.split(text):
        name, colon, value = field.partition(":")
        if not colon:
            continue
        name = name.rstrip(" \t")
        if not name or " " in name:
            continue
        out.append((name.lower(), value, value.replace("\n", "").strip()))
    return out


def _first_date(values: list[str]) -> datetime | None:
    if not values or not values[0].strip():
        return None
    date = headers.parse_date(values[0])
    if date is None or not 1970 <= date.year <= 2100:
        return None
    return date


def _canonical_auth(results: Sequence[AuthResult]) -> str:
    clauses: list[str] = []
    for method in AUTH_METHODS:
        result = next((r for r in results if r.method == method), None)
        if result is None:
            continue
        props = " ".join(
            f"{k}={v}" for k, v in result.properties if k in _AUTH_PROPS and v and " " not in v
        )
        clauses.append(f"{method}={result.result}" + (f" {props}" if props else ""))
    return "; ".join(clauses)


def _hash_ids(value: str, from_domain: str) -> str:
    ids = _ID.findall(value)
    if not ids:
        return value
    return " ".join(f"<{_hash_id(i, from_domain)}>" for i in ids)


def _hash_id(message_id: str, from_domain: str) -> str:
    domain = message_id.rpartition("@")[2].lower()
    if not domain or "@" not in message_id or COLLECTOR_ID_DOMAINS.search(domain):
        domain = from_domain or "localhost"
    digest = hashlib.blake2b(message_id.encode("utf-8", "surrogateescape"), digest_size=10)
    return f"{digest.hexdigest()}@{domain}"


_XFROM_TAIL = re.compile(r"\s*<[^<>]*>\s*$")


def xfrom_name(x_from: str) -> str:
    """The display name in an Enron X-From (``Koenig, Colleen </O=ENRON/OU=NA/...>``,
    ``"Jo Doe" <jo@x.com>@ENRON``), or "" when it holds only an address."""
    name = x_from.strip()
    for _ in range(3):
        name = _XFROM_TAIL.sub("", name)
        if name.upper().endswith("@ENRON"):
            name = name[: -len("@ENRON")]
    name = name.strip().strip('"').strip()
    if not name or "@" in name or "<" in name or len(name) > 80:
        return ""
    return name


def _restore_display_name(raw_value: str, value: str, x_from: list[str]) -> str:
    """Enron's export keeps names in X-From, not in From: put them back."""
    if not x_from or "<" in value or "(" in value or "," in value or "@" not in value:
        return raw_value
    name = xfrom_name(x_from[0])
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in X-From: leave From as it was
        return raw_value
    if not name:
        return raw_value
    return " " + formataddr((name, value.strip()), charset="utf-8")


def _list_name(list_ids: list[str]) -> str:
    if not list_ids:
        return ""
    text = list_ids[0]
    inner = text[text.find("<") :] if "<" in text else text
    match = _LIST_NAME.match(inner.strip())
    return match.group(1).lower() if match else ""


def _strip_list_tag(raw_value: str, list_name: str) -> str:
    """Drop ``[USRP-users]`` from a subject when the tag is the message's own list."""

    def drop(match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        return "" if tag == list_name or list_name.startswith(tag) else match.group(0)

    return re.sub(r"\[([^\[\]\s]{2,40})\]\s?", drop, raw_value)


def _strip_footers(body: bytes) -> bytes:
    if b"mailing list" not in body:
        return body
    return _FOOTER.sub(b"\n", body)


# --- what a source classifier may read ---------------------------------------------------------

_MAILER_WORD = re.compile(r"[A-Za-z][A-Za-z .-]{1,30}")


def fingerprint_tokens(raw: bytes, tenant_domains: Collection[str] = ()) -> set[str]:
    """The traces a classifier could tell the source from, read from the raw bytes (the parser
    hides most of them): header names present, line-ending style, hop and field counts, whether
    the recipients are the tenant's (a collector's inbox is not), mailer family, whether the
    Message-ID was minted on the sender's domain and the shape of its left part, the Date
    format, a subject tag. Who the sender or the list is (domains, names) is the data itself,
    not a collector's mark, and is left out."""
    tokens: set[str] = set()
    head = raw[:65536]
    crlf = head.count(b"\r\n")
    lf = head.count(b"\n") - crlf
    tokens.add("eol=" + ("crlf" if crlf and not lf else "lf" if lf and not crlf else "mixed"))
    block, _ = headers.split(normalise_newlines(raw))
    fields = headers.fields(block, [])
    names = [name.lower() for name, _ in fields]
    tokens.update(f"hdr={n}" for n in names)
    tokens.add(f"hops={min(names.count('received'), 8)}")
    tokens.add(f"fields={min(len(fields) // 5, 12)}")
    values: dict[str, str] = {}
    for name, value in fields:
        values.setdefault(name.lower(), value)
    recipients = [
        address
        for name in ("to", "cc", "delivered-to", "x-original-to")
        for address in headers.addresses(values.get(name, ""))[:5]
    ]
    tenant = tuple(d.lower() for d in tenant_domains)
    if not recipients:
        tokens.add("rcpt=none")
    for address in recipients:
        domain = address.domain.lower()
        inside = any(domain == d or domain.endswith("." + d) for d in tenant)
        tokens.add("rcpt=tenant" if inside else "rcpt=external")
    mailer = values.get("x-mailer") or values.get("user-agent") or ""
    word = _MAILER_WORD.match(mailer.strip())
    tokens.add(f"mailer={word.group(0).strip().lower() if word else '-'}")
    ids = _ID.findall(values.get("message-id", ""))
    senders = headers.addresses(values.get("from", ""))
    if ids:
        local, _, rhs = ids[0].rpartition("@")
        own = registrable(senders[0].domain) if senders and senders[0].domain else ""
        tokens.add(f"msgid_on_sender_domain={bool(own) and registrable(rhs.lower()) == own}")
        tokens.add(f"msgid_local={_shape(local)}")
    date = values.get("date", "")
    tokens.add(f"date_comment={'(' in date}")
    tokens.add(f"date_weekday={date[:1].isalpha()}")
    tokens.add(f"subject_tag={'[' in values.get('subject', '')}")
    return tokens


def _shape(text: str) -> str:
    """``1619340.1075842508985.JavaMail.evans`` -> ``9.9.A.a``: the form of an id, not its value."""
    shape = re.sub(r"[0-9]+", "9", text[:40])
    shape = re.sub(r"[A-Z][A-Za-z]*", "A", shape)
    return re.sub(r"[a-z]+", "a", shape)
