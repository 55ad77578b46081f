"""Header block: split, unfold, decode (RFC 2047), addresses, dates, Received hops, message ids.

Everything here works on the raw header block with a few compiled regexes; the stdlib's heavier
machinery (`email.utils.getaddresses`, `parsedate_to_datetime`) is only called where the fast
path does not recognise the shape of a value. Nothing here raises on bad input.
"""

from __future__ import annotations

import binascii
import codecs
import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

from mailwarden.domains import is_ip, registrable, to_unicode
from mailwarden.message import Address, Hop
from mailwarden.parse import limits

# --- splitting the header block -------------------------------------------------------------

# Fields split at every newline not followed by whitespace (a fold); the name ends at the colon.
_FIELD_SPLIT = re.compile(r"\n(?![ \t])")
_NAME = re.compile(r"[!-9;-~]+")
_LOOKS_LIKE_HEADER = re.compile(rb"[!-9;-~]+[ \t]*:")


def split(raw: bytes) -> tuple[bytes, int]:
    """(header block, offset where the body starts). Skips an mbox ``From `` line."""
    start = 0
    if raw.startswith(b"From "):
        newline = raw.find(b"\n")
        start = len(raw) if newline < 0 else newline + 1
    if raw.startswith(b"\n", start):
        return b"", start + 1
    if raw.startswith(b"\r\n", start):
        return b"", start + 2
    limit = start + limits.MAX_HEADER_BYTES
    first_newline = raw.find(b"\n", start, limit)
    if first_newline > start and raw[first_newline - 1] == 0x0D:  # CRLF line endings
        crlf = raw.find(b"\r\n\r\n", start, limit)
        if crlf >= 0:
            return raw[start:crlf], crlf + 4
    lf = raw.find(b"\n\n", start, limit)
    crlf = raw.find(b"\n\r\n", start, lf if lf >= 0 else limit)
    if crlf >= 0:
        return raw[start:crlf], crlf + 3
    if lf >= 0:
        return raw[start:lf], lf + 2
    end = min(len(raw), limit)
    return raw[start:end], end


def looks_like_headers(raw: bytes) -> bool:
    return _LOOKS_LIKE_HEADER.match(raw, 5 if raw.startswith(b"From ") else 0) is not None


def fields(block: bytes, defects: list[str]) -> list[tuple[str, str]]:
    """Every header field as (name, unfolded raw value), in order; RFC 2047 not yet decoded.

    Lines that are not fields (no colon, a name with spaces) are skipped.
    """
    if block.isascii():
        text = block.decode("ascii")
    else:
        defects.append("8bit-header")
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            text = block.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    out: list[tuple[str, str]] = []
    for field in _FIELD_SPLIT.split(text):
        name, colon, value = field.partition(":")
        if not colon:
            continue
        name = name.rstrip(" \t")
        if not _NAME.fullmatch(name):
            continue
        if "\n" in value:
            value = value.replace("\n", "")
        out.append((name, value.strip()))
        if len(out) >= limits.MAX_HEADERS:
            defects.append("too-many-headers")
            break
    return out


# --- charsets and RFC 2047 ------------------------------------------------------------------

_CHARSET_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "ascii": "cp1252",  # mislabelled 8-bit text is far more often Windows-1252 than garbage
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "x-user-defined": "cp1252",
    "default": "cp1252",
}


@lru_cache(maxsize=512)
def codec_for(charset: str) -> str | None:
    """A Python text codec name for a MIME charset label, or None when unknown."""
    label = charset.strip().strip("\"'").lower()
    label = _CHARSET_ALIASES.get(label, label)
    if not label or len(label) > 40:
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    # bytes.decode refuses non-text codecs (base64, zlib, rot13...) anyway; say unknown early.
    if not getattr(info, "_is_text_encoding", True) or info.name in ("punycode", "idna"):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None = None) -> str:
    """Decode text bytes by their declared charset; never raises.

    Unknown charsets add ``unknown-charset`` and decode as UTF-8 when that is clean, else
    Latin-1 (which maps every byte, so nothing is lost).
    """
    if data.isascii():
        return data.decode("ascii")
    codec = codec_for(charset) if charset else "utf-8"
    if codec is None:
        if defects is not None:
            defects.append("unknown-charset")
        codec = "utf-8"
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    except Exception:  # noqa: BLE001 - a codec can fail in its own ways; text is still wanted
        codec = "utf-8"
    if codec == "utf-8":
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return data.decode(codec, errors="replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(?==\?)")


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2), match.group(3)
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
    try:
        if encoding in "bB":
            payload = payload.strip()
            data = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
        else:
            data = binascii.a2b_qp(payload.encode("latin-1", "replace"), header=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return decode_bytes(data, charset)


def decode_header(value: str) -> str:
    """Decode RFC 2047 encoded-words; leave anything that does not decode as written."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub(r"\1", value)  # whitespace between encoded words is not text
    return _ENCODED_WORD.sub(_decode_word, value)


# --- addresses ------------------------------------------------------------------------------

# Fast paths for the shapes nearly every header has; anything else goes to getaddresses.
_ANGLE = re.compile(r'\s*(?:"([^"\\]*)"|([^"<>,;:@()\\]*?))\s*<\s*([^<>\s@]*@[^<>\s@]+?)\s*>\s*')
_BARE = re.compile(r"\s*([^\s<>\"(),;:@]+@[^\s<>\"(),;:@]+)\s*")
_HARD = re.compile(r'["():;\\]')


@lru_cache(maxsize=8192)
def make_address(name: str, addr: str) -> Address:
    addr = addr.strip().strip("<>").lower()
    local, _, domain = addr.rpartition("@")
    if not _:
        local, domain = addr, ""
    domain = to_unicode(domain.strip(".[]"))
    name = decode_header(name).strip().strip('"').strip()
    return Address(
        name=name, addr=addr, domain=domain, registrable=registrable(domain), local=local
    )


def addresses(value: str) -> list[Address]:
    """Mailboxes in an address header (raw, undecoded value); groups are flattened."""
    if not value:
        return []
    out: list[Address] = []
    if not _HARD.search(value):
        for item in value.split(","):
            if not item.strip():
                continue
            angle = _ANGLE.fullmatch(item)
            if angle:
                out.append(make_address(angle.group(2) or "", angle.group(3)))
                continue
            bare = _BARE.fullmatch(item)
            if bare:
                out.append(make_address("", bare.group(1)))
                continue
            break
        else:
            return out
        out = []
    angle = _ANGLE.fullmatch(value)
    if angle:
        return [make_address(angle.group(1) or angle.group(2) or "", angle.group(3))]
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001 - the stdlib parser has raised on odd input before
        return []
    for name, addr in pairs:
        if addr and "@" in addr:
            out.append(make_address(name, addr))
    return out


def bare_address(value: str) -> str:
    """The address inside a Return-Path (``<a@b>`` -> ``a@b``); "" for ``<>`` or garbage."""
    value = value.strip()
    if value.startswith("<"):
        end = value.find(">")
        value = value[1:end] if end > 0 else value[1:]
    value = value.strip().lower()
    return value if "@" in value else ""


# --- dates ----------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE = re.compile(
    r"(\d{1,2})[ \t]+([A-Za-z]{3})[A-Za-z]*[ \t]+(\d{2,4})[ \t]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:[ \t]+([+-]\d{4}|[A-Za-z]{1,5}))?"
)
_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "edt": -4, "est": -5, "cdt": -5, "cst": -6,
          "mdt": -6, "mst": -7, "pdt": -7, "pst": -8}  # fmt: skip


@lru_cache(maxsize=64)
def _tz(offset_minutes: int) -> timezone:
    return UTC if offset_minutes == 0 else timezone(timedelta(minutes=offset_minutes))


def parse_date(value: str) -> datetime | None:
    """An aware datetime (UTC when the value names no zone), or None when unreadable."""
    match = _DATE.search(value)
    if match:
        day, mon, year, hour, minute, sec, zone = match.groups()
        month = _MONTHS.get(mon.lower())
        y = int(year)
        if len(year) == 2:
            y += 2000 if y < 50 else 1900
        elif len(year) == 3:
            y += 1900
        minutes = 0
        if zone:
            if zone[0] in "+-":
                minutes = int(zone[1:3]) * 60 + int(zone[3:5])
                if zone[0] == "-":
                    minutes = -minutes
            else:
                minutes = _ZONES.get(zone.lower(), 0) * 60
        if month and abs(minutes) < 24 * 60:
            try:
                return datetime(
                    y, month, int(day), int(hour), int(minute), int(sec or 0), tzinfo=_tz(minutes)
                )
            except ValueError:
                pass
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001 - TypeError/ValueError/IndexError all seen in the wild
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# --- Received -------------------------------------------------------------------------------

_RECV_FROM = re.compile(r"\s*from\s+([^\s;()]+)", re.IGNORECASE)
_RECV_BY = re.compile(r"by\s+([^\s;()]+)", re.IGNORECASE)
_IP_BRACKET = re.compile(r"\[(?:IPv6:)?([0-9a-fA-F:.]{3,45})\]")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def _by_clause(value: str, lower: str, pos: int) -> re.Match[str] | None:
    """The first "by <host>" at or after `pos` that starts a word."""
    while True:
        at = lower.find("by", pos)
        if at < 0:
            return None
        if at == 0 or lower[at - 1] in " \t)":
            found = _RECV_BY.match(value, at)
            if found is not None:
                return found
        pos = at + 2


def hop(value: str) -> Hop:
    from_host = by_host = ip = ""
    from_match = _RECV_FROM.match(value)
    from_end = 0
    if from_match:
        from_host = from_match.group(1).lower()
        from_end = from_match.end()
    by_match = _by_clause(value, value.lower(), from_end)
    if by_match:
        by_host = by_match.group(1).lower()
    if from_match:
        clause = value[from_match.start(1) : by_match.start() if by_match else len(value)]
        for candidate in _IP_BRACKET.findall(clause):
            if is_ip(candidate):
                ip = candidate.lower()
                break
        else:
            for candidate in _IPV4.findall(clause):
                if is_ip(candidate):
                    ip = candidate
                    break
    semi = value.rfind(";")
    date = parse_date(value[semi + 1 :]) if semi >= 0 else None
    return Hop(raw=value, from_host=from_host, by_host=by_host, ip=ip, date=date)


@lru_cache(maxsize=16384)
def is_public_ip(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.strip("[]")).is_global
    except ValueError:
        return False


def originating_ip(x_originating: str, hops: tuple[Hop, ...]) -> str:
    """X-Originating-IP / X-Sender-IP when valid, else the bottom-most public hop IP."""
    if x_originating:
        candidate = x_originating.strip().strip("[]").strip()
        if is_ip(candidate):
            return candidate.lower()
    for item in reversed(hops):
        if item.ip and is_public_ip(item.ip):
            return item.ip
    return ""


# --- message ids ----------------------------------------------------------------------------

_MSG_ID = re.compile(r"<([^<>\s]*)>")


def message_ids(value: str) -> list[str]:
    """Ids in Message-ID / In-Reply-To / References, without angle brackets."""
    found = _MSG_ID.findall(value)
    if found:
        return [item for item in found if item]
    return value.split()
