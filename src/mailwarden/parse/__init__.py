"""Raw RFC 5322 bytes -> `Message`. `parse` never raises: bad input is data, not an exception.

Headers are split and unfolded here (exact order, every Received hop); the MIME structure is
walked with fast-mail-parser's lazy tree (`Message.parser == "fast"`), with the stdlib compat32
parser as a fallback when it raises (``"stdlib"``) and the headers alone as a last resort
(``"headers-only"``). Caps live in `mailwarden.parse.limits`.

Defect codes (`Message.defects`, de-duplicated, in the order found):

======================================  ========================================================
``empty-message``                       zero bytes
``not-mime``                            no header block at all (binary garbage, a bare body)
``8bit-header``                         raw non-ASCII bytes in the header block
``headers-too-large``                   no end of headers within ``MAX_HEADER_BYTES``
``too-many-headers``                    more than ``MAX_HEADERS`` fields (the rest ignored)
``no-from`` / ``bad-from``              From absent / present but with no readable address
``multiple-from``                       several From headers or several addresses in From
``no-date`` / ``bad-date``              Date absent / unreadable
``date-out-of-range``                   Date year outside 1970..2100 (``date`` is then None)
``no-message-id``                       Message-ID absent or empty
``missing-boundary``                    multipart without a boundary, or whose boundary never
                                        appears (its body is read as plain text)
``truncated``                           a multipart whose closing boundary never comes
``bad-base64``                          base64 that does not decode cleanly
``bad-quoted-printable``                "=" not followed by a hex pair or line break
``bad-transfer-encoding``               a multipart declaring base64/quoted-printable
``missing-header-separator``            a part's headers run into its body without a blank line
``unknown-charset``                     a charset label Python does not know (decoded as UTF-8,
                                        else Windows-1252/Latin-1)
``nesting-too-deep``                    MIME nesting over ``MAX_DEPTH`` (deeper parts ignored)
``too-many-parts``                      more than ``MAX_PARTS`` MIME parts (the rest ignored)
``message-too-large``                   over ``MAX_MESSAGE_BYTES``: headers and the first
                                        ``MAX_MESSAGE_BYTES`` of body parsed
``archive-bomb``                        a zip declaring huge sizes, ratios or entry counts
``attachment-unreadable``               an archive that claims to be a zip but does not open
``html-parse-failed``                   the HTML parser raised (html_text and links empty)
``fast-parser-failed:<Error>``          fast-mail-parser raised (stdlib fallback used)
``stdlib-parser-failed:<Error>``        the stdlib parser raised too (headers only)
``parse-error:<Error>``                 an unexpected fault; the Message has what was read
======================================  ========================================================
"""

from __future__ import annotations

from datetime import datetime

from mailwarden.message import Address, Attachment, Message
from mailwarden.parse import auth, headers, limits, mime, urls
from mailwarden.parse.attachments import make_attachment, message_attachment
from mailwarden.parse.html import HtmlInfo, parse_html

__all__ = ["parse"]

_WANTED = frozenset(
    (
        "subject", "from", "sender", "reply-to", "return-path", "to", "cc", "date", "message-id",
        "in-reply-to", "references", "received", "x-originating-ip", "x-sender-ip",
        "authentication-results", "received-spf", "arc-authentication-results", "content-type",
    )
)  # fmt: skip
_MIN_YEAR, _MAX_YEAR = 1970, 2100
# Header values kept as written even when they contain encoded-words: machine-generated blobs
# (Exchange anti-spam stamps run to kilobytes of "=?us-ascii?Q?...?=" and cost ~80 us to decode).
_OPAQUE = ("x-ms-", "x-microsoft-", "arc-seal", "arc-message-signature", "dkim-signature")
_MAX_DECODED_VALUE = 8192
_MAX_REFERENCES = 100


def parse(raw: bytes) -> Message:
    """Parse one message. Never raises; what could not be read is listed in `defects`."""
    try:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raw = str(raw).encode("utf-8", "surrogateescape")
        return _parse(bytes(raw))
    except Exception as exc:  # noqa: BLE001 - the contract: a Message, whatever the input
        return _empty(
            len(raw) if isinstance(raw, bytes) else 0, f"parse-error:{type(exc).__name__}"
        )


def _empty(size: int, defect: str) -> Message:
    return Message(
        headers=(), subject="", from_=None, sender=None, reply_to=(), return_path="", to=(),
        cc=(), date=None, message_id="", in_reply_to="", references=(), received=(),
        originating_ip="", auth=(), list_headers=(), text="", html_text="", html="", links=(),
        attachments=(), size=size, defects=(defect,), parser="headers-only",
    )  # fmt: skip


def _first_address(values: list[str], defects: list[str] | None) -> Address | None:
    if not values:
        return None
    found = headers.addresses(values[0])
    if defects is not None and (len(values) > 1 or len(found) > 1):
        defects.append("multiple-from")
    return found[0] if found else None


def _all_addresses(values: list[str]) -> tuple[Address, ...]:
    out: list[Address] = []
    for value in values:
        out.extend(headers.addresses(value))
    return tuple(out)


def _date(values: list[str], defects: list[str]) -> datetime | None:
    if not values or not values[0].strip():
        defects.append("no-date")
        return None
    date = headers.parse_date(values[0])
    if date is None:
        defects.append("bad-date")
    elif not _MIN_YEAR <= date.year <= _MAX_YEAR:
        defects.append("date-out-of-range")
        return None
    return date


def _structure(raw: bytes, defects: list[str]) -> tuple[list[mime.Leaf], str]:
    """Leaves of the MIME tree and the parser that produced them."""
    try:
        return mime.walk_fast(raw, defects), "fast"
    except mime.NeedsFallback:
        pass
    except Exception as exc:  # noqa: BLE001 - fast_mail_parser.ParseError and anything else
        detail = str(exc).lower()
        if "depth" in detail or "nesting" in detail:
            cut = mime.cut_nesting(raw)
            if cut is not None:
                defects.append("nesting-too-deep")
                raw = cut
                try:
                    return mime.walk_fast(raw, defects, salvage_empty=False), "fast"
                except Exception:  # noqa: BLE001
                    pass
        if "base64" in detail:
            defects.append("bad-base64")
        elif "quoted" in detail:
            defects.append("bad-quoted-printable")
        defects.append(f"fast-parser-failed:{type(exc).__name__}")
    try:
        return mime.walk_stdlib(raw, defects), "stdlib"
    except RecursionError:
        cut = mime.cut_nesting(raw)
        if cut is not None:
            defects.append("nesting-too-deep")
            try:
                return mime.walk_stdlib(cut, defects), "stdlib"
            except Exception as exc:  # noqa: BLE001
                defects.append(f"stdlib-parser-failed:{type(exc).__name__}")
        else:
            defects.append("stdlib-parser-failed:RecursionError")
    except Exception as exc:  # noqa: BLE001
        defects.append(f"stdlib-parser-failed:{type(exc).__name__}")
    return [], "headers-only"


def _parse(raw: bytes) -> Message:
    defects: list[str] = []
    size = len(raw)
    if not raw:
        defects.append("empty-message")
    block, body_start = headers.split(raw)
    if len(block) >= limits.MAX_HEADER_BYTES:
        defects.append("headers-too-large")
    header_defects: list[str] = []
    fields = headers.fields(block, header_defects) if block else []
    if fields:
        defects.extend(header_defects)

    # One pass over the fields: decoded values in order, raw values of the ones we read.
    decoded: list[tuple[str, str]] = []
    wanted: dict[str, list[str]] = {}
    list_headers: list[tuple[str, str]] = []
    for name, value in fields:
        lname = name.lower()
        text = value
        if "=?" in value and len(value) <= _MAX_DECODED_VALUE and not lname.startswith(_OPAQUE):
            text = headers.decode_header(value)
        decoded.append((name, text))
        if lname in _WANTED:
            wanted.setdefault(lname, []).append(value)
        elif lname.startswith("list-"):
            list_headers.append((name, text))

    def get(name: str) -> list[str]:
        return wanted.get(name, [])

    # Structure.
    leaves: list[mime.Leaf]
    if raw and not fields and not headers.looks_like_headers(raw):
        defects.append("not-mime")
        leaves = [mime.Leaf("text/plain", None, "", "", "", raw[: limits.MAX_TEXT_CHARS * 4])]
        parser = "headers-only"
    elif not raw:
        leaves, parser = [], "headers-only"
    else:
        mime_raw = raw
        if size - body_start > limits.MAX_MESSAGE_BYTES:
            defects.append("message-too-large")
            cut = raw.rfind(b"\n", body_start, body_start + limits.MAX_MESSAGE_BYTES)
            mime_raw = raw[: cut + 1 if cut > body_start else body_start + limits.MAX_MESSAGE_BYTES]
        leaves, parser = _structure(mime_raw, defects)
        content_type = get("content-type")
        if content_type and content_type[0].lower().lstrip().startswith("multipart/"):
            boundary = _boundary(content_type[0])
            if boundary is None:
                defects.append("missing-boundary")
            elif b"--" + boundary.encode("latin-1", "replace") + b"--" not in mime_raw:
                defects.append("truncated")
        if any(leaf.transfer_encoding == "quoted-printable" for leaf in leaves) and (
            mime.bad_quoted_printable(mime_raw)
        ):
            defects.append("bad-quoted-printable")

    # Bodies and attachments.
    text = html = ""
    have_text = have_html = False
    attachments: list[Attachment] = []
    for leaf in leaves:
        if leaf.is_message:
            attachments.append(message_attachment(leaf.filename, leaf.data, leaf.inner_subject))
            continue
        ctype = leaf.content_type
        if (
            ctype in ("text/plain", "text/html")
            and leaf.disposition != "attachment"
            and not leaf.filename
        ):
            if ctype == "text/plain":
                if not have_text:
                    have_text = True
                    text = headers.decode_bytes(
                        leaf.data[: limits.MAX_TEXT_CHARS * 4], leaf.charset, defects
                    )[: limits.MAX_TEXT_CHARS]
                    if "\r" in text:
                        text = text.replace("\r\n", "\n")
            elif not have_html:
                have_html = True
                html = headers.decode_bytes(
                    leaf.data[: limits.MAX_HTML_CHARS * 4], leaf.charset, defects
                )[: limits.MAX_HTML_CHARS]
            continue
        attachments.append(
            make_attachment(headers.decode_header(leaf.filename), ctype, leaf.data, defects)
        )

    info = HtmlInfo()
    if html:
        try:
            info = parse_html(html)
        except Exception:  # noqa: BLE001 - lexbor on hostile markup
            defects.append("html-parse-failed")
            info = HtmlInfo()

    links = urls.LinkCollector()
    for href, shown in info.anchors:
        links.add(href, shown, "html")
    for action in info.form_actions:
        links.add(action, "", "form")
    for src in info.images:
        links.add(src, "", "image")
    if text:
        for url in urls.text_urls(text):
            links.add(url, "", "text")

    # Header fields.
    from_values = get("from")
    from_ = _first_address(from_values, defects)
    if not from_values:
        defects.append("no-from")
    elif from_ is None:
        defects.append("bad-from")
    date = _date(get("date"), defects)
    message_ids = headers.message_ids(get("message-id")[0]) if get("message-id") else []
    if not message_ids:
        defects.append("no-message-id")
    in_reply_to = headers.message_ids(get("in-reply-to")[0]) if get("in-reply-to") else []
    references: list[str] = []
    for value in get("references"):
        references.extend(headers.message_ids(value))
    hops = tuple(headers.hop(value) for value in get("received")[: limits.MAX_RECEIVED])
    x_originating = (get("x-originating-ip") or get("x-sender-ip") or [""])[0]
    return_path = get("return-path")
    subject = get("subject")

    return Message(
        headers=tuple(decoded),
        subject=headers.decode_header(subject[0]) if subject else "",
        from_=from_,
        sender=_first_address(get("sender"), None),
        reply_to=_all_addresses(get("reply-to")),
        return_path=headers.bare_address(return_path[0]) if return_path else "",
        to=_all_addresses(get("to")),
        cc=_all_addresses(get("cc")),
        date=date,
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=tuple(references[:_MAX_REFERENCES]),
        received=hops,
        originating_ip=headers.originating_ip(x_originating, hops),
        auth=auth.collect(
            get("authentication-results"), get("received-spf"), get("arc-authentication-results")
        ),
        list_headers=tuple(list_headers),
        text=text if have_text else info.text,
        html_text=info.text,
        html=html,
        links=tuple(links.links),
        attachments=tuple(attachments),
        hidden_text=info.hidden,
        html_forms=info.forms,
        html_form_actions=tuple(info.form_actions),
        html_scripts=info.scripts,
        size=size,
        defects=tuple(dict.fromkeys(defects)),
        parser=parser,
    )


def _boundary(content_type: str) -> str | None:
    lower = content_type.lower()
    at = lower.find("boundary")
    if at < 0:
        return None
    rest = content_type[at + 8 :].lstrip()
    if not rest.startswith("="):
        return None
    rest = rest[1:].lstrip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        value = rest[1:end] if end > 0 else rest[1:]
    else:
        value = rest.split(";", 1)[0].strip()
    return value or None
