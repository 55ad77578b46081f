"""The MIME structure walk: fast-mail-parser first, stdlib compat32 when it raises.

Both walkers flatten the tree into `Leaf` records (one per non-container part) iteratively, with
the depth and part-count caps of `limits`, so neither can blow the recursion limit however deep
the message nests. A ``message/rfc822`` part is one leaf: it is recorded, not descended into.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import errors as email_errors
from email.message import Message as StdMessage
from email.policy import compat32
from typing import Any

import fast_mail_parser

from mailwarden.parse import limits
from mailwarden.parse.headers import decode_header


@dataclass(slots=True)
class Leaf:
    content_type: str  # lower-cased type/subtype
    charset: str | None
    filename: str
    disposition: str  # lower-cased, "" when absent
    transfer_encoding: str  # lower-cased
    data: bytes
    is_message: bool = False
    inner_subject: str = ""


class NeedsFallback(Exception):
    """The fast walk met something it cannot represent; the stdlib walk should try."""


_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_NESTED_TYPE = re.compile(rb"^content-type:[ \t]*(?:multipart/|message/rfc822)", re.I | re.M)


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    if values is None:
        lname = name.lower()
        for key, vals in headers.items():
            if key.lower() == lname:
                values = vals
                break
    return values[0] if values else ""


def charset_of(content_type: str) -> str | None:
    match = _CHARSET.search(content_type)
    return match.group(1) if match else None


def cut_nesting(raw: bytes) -> bytes | None:
    """`raw` cut just before its (MAX_DEPTH+1)-th nested container header, or None if fewer."""
    for count, match in enumerate(_NESTED_TYPE.finditer(raw), 1):
        if count > limits.MAX_DEPTH:
            return raw[: match.start()]
    return None


def walk_fast(raw: bytes, defects: list[str], *, salvage_empty: bool = True) -> list[Leaf]:
    """Leaves via fast-mail-parser's lazy tree. Raises its ParseError subtypes, or NeedsFallback.

    A multipart with no parts (its boundary never appears) raises NeedsFallback so the stdlib can
    read its body as text, unless `salvage_empty` is False (a message we cut short ourselves).
    """
    root: Any = fast_mail_parser.parse_email_tree(raw, mode="lazy")
    leaves: list[Leaf] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    parts = 0
    while stack:
        node, depth = stack.pop()
        parts += 1
        if parts > limits.MAX_PARTS:
            defects.append("too-many-parts")
            break
        ctype = (node.content_type or "text/plain").lower()
        headers = node.headers
        if node.is_message:
            children = node.children
            subject = _first(children[0].headers, "Subject") if children else ""
            leaves.append(
                Leaf(ctype, None, node.filename or "", (node.disposition or "").lower(), "",
                     node.content or b"", True, decode_header(subject))
            )  # fmt: skip
            continue
        if ctype.startswith("multipart/"):
            children = node.children
            if not children:
                defects.append("missing-boundary")
                if salvage_empty:
                    raise NeedsFallback("multipart without parts")
                continue
            if depth >= limits.MAX_DEPTH:
                defects.append("nesting-too-deep")
                continue
            stack.extend((child, depth + 1) for child in reversed(children))
            continue
        content = node.content
        leaves.append(
            Leaf(
                ctype,
                charset_of(_first(headers, "Content-Type")),
                node.filename or "",
                (node.disposition or "").lower(),
                _first(headers, "Content-Transfer-Encoding").strip().lower(),
                content if content is not None else b"",
            )
        )
    return leaves


_STD_DEFECTS: dict[type[email_errors.MessageDefect], str] = {
    email_errors.NoBoundaryInMultipartDefect: "missing-boundary",
    email_errors.StartBoundaryNotFoundDefect: "missing-boundary",
    email_errors.MultipartInvariantViolationDefect: "missing-boundary",
    email_errors.CloseBoundaryNotFoundDefect: "truncated",
    email_errors.InvalidBase64PaddingDefect: "bad-base64",
    email_errors.InvalidBase64CharactersDefect: "bad-base64",
    email_errors.InvalidBase64LengthDefect: "bad-base64",
    email_errors.MissingHeaderBodySeparatorDefect: "missing-header-separator",
    email_errors.InvalidMultipartContentTransferEncodingDefect: "bad-transfer-encoding",
}


def _std_defects(part: StdMessage, defects: list[str]) -> None:
    for defect in getattr(part, "defects", ()):
        code = _STD_DEFECTS.get(type(defect))
        if code:
            defects.append(code)


def _std_filename(part: StdMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - RFC 2231 parameters can be arbitrarily broken
        return ""
    return decode_header(str(name))


def walk_stdlib(raw: bytes, defects: list[str]) -> list[Leaf]:
    """Leaves via the stdlib compat32 parser, which decodes leniently and records defects."""
    message = email.message_from_bytes(raw, policy=compat32)
    leaves: list[Leaf] = []
    stack: list[tuple[StdMessage, int]] = [(message, 0)]
    parts = 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > limits.MAX_PARTS:
            defects.append("too-many-parts")
            break
        _std_defects(part, defects)
        ctype = part.get_content_type().lower()
        payload = part.get_payload()
        disposition = (part.get_content_disposition() or "").lower()
        if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
            inner = payload[0] if isinstance(payload, list) and payload else None
            data = b""
            subject = ""
            if isinstance(inner, StdMessage):
                _std_defects(inner, defects)
                subject = decode_header(str(inner.get("Subject", "")))
                try:
                    data = inner.as_bytes()
                except Exception:  # noqa: BLE001 - regenerating a broken message can fail
                    data = b""
            leaves.append(
                Leaf(ctype, None, _std_filename(part), disposition, "", data, True, subject)
            )
            continue
        if part.is_multipart() and isinstance(payload, list):
            if depth >= limits.MAX_DEPTH:
                defects.append("nesting-too-deep")
                continue
            stack.extend(
                (child, depth + 1) for child in reversed(payload) if isinstance(child, StdMessage)
            )
            continue
        if ctype.startswith("multipart/"):
            ctype = "text/plain"  # a multipart without its boundary: its body is all there is
        decoded = part.get_payload(decode=True)
        data = decoded if isinstance(decoded, bytes) else b""
        try:
            charset = part.get_content_charset()
        except Exception:  # noqa: BLE001
            charset = None
        leaves.append(
            Leaf(
                ctype,
                charset,
                _std_filename(part),
                disposition,
                str(part.get("Content-Transfer-Encoding", "")).strip().lower(),
                data,
            )
        )
    return leaves


# Quoted-printable: "=" must start a hex escape or a soft line break.
_QP_SPELLINGS = (b"quoted-printable", b"Quoted-Printable", b"Quoted-printable", b"QUOTED-PRINTABLE")
_QP_BAD = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*\r?\n|[ \t]*$)")
_CTE = b"content-transfer-encoding"


def bad_quoted_printable(raw: bytes) -> bool:
    """Whether any quoted-printable body in `raw` has an "=" that is not a valid escape."""
    for spelling in _QP_SPELLINGS:
        at = raw.find(spelling)
        while at >= 0:
            line_start = raw.rfind(b"\n", 0, at) + 1
            if _CTE in raw[line_start:at].lower():
                body = raw.find(b"\n\n", at)
                body_crlf = raw.find(b"\n\r\n", at, body if body >= 0 else len(raw))
                start = body_crlf + 3 if body_crlf >= 0 else body + 2 if body >= 0 else -1
                if start >= 0:
                    end = raw.find(b"\n--", start, start + limits.MAX_QP_SCAN_BYTES)
                    if end < 0:
                        end = min(len(raw), start + limits.MAX_QP_SCAN_BYTES)
                    if _QP_BAD.search(raw, start, end):
                        return True
            at = raw.find(spelling, at + len(spelling))
    return False
