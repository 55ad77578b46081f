"""Structure signals: subject, body size, threading, bulk headers, parse defects, script mix."""

from __future__ import annotations

import re

from mailwarden.baselines.observation import REPLY_PREFIX
from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal

# RE:/FW: and their translations: one pattern, shared with the baselines' thread subjects.
_REPLY_PREFIX = REPLY_PREFIX
_NON_ASCII_LETTERS = re.compile(r"[^\W\d_\x00-\x7f]")
_ASCII_LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_RATIO_CHARS = 4_000


@signal("message.subject", str)
def subject(m: Message, ctx: Context) -> str:
    """The decoded subject as written."""
    return m.subject


@signal("message.body_chars", int)
def body_chars(m: Message, ctx: Context) -> int:
    """Length of the visible body text, in characters."""
    return len(m.body_text)


@signal("message.is_reply", bool)
def is_reply(m: Message, ctx: Context) -> bool:
    """The message has In-Reply-To or References (it belongs to a thread)."""
    return bool(m.in_reply_to or m.references)


@signal("message.reply_without_thread", bool)
def reply_without_thread(m: Message, ctx: Context) -> bool:
    """Subject starts with RE:/FW:/AW:/TR:... but there is no In-Reply-To and no References."""
    return bool(_REPLY_PREFIX.match(m.subject)) and not (m.in_reply_to or m.references)


@signal("message.bulk", bool)
def bulk(m: Message, ctx: Context) -> bool:
    """Bulk mail: List-Unsubscribe or List-Id present, or Precedence: bulk / list / junk."""
    for name, _value in m.list_headers:
        if name.lower() in ("list-unsubscribe", "list-id"):
            return True
    if m.header("list-unsubscribe") or m.header("list-id"):
        return True
    return m.header("precedence").strip().lower() in ("bulk", "list", "junk")


@signal("message.defects", tuple)
def defects(m: Message, ctx: Context) -> tuple[str, ...]:
    """The parse defect codes of the message (bad-base64, nesting-too-deep, ...)."""
    return tuple(m.defects)


@signal("message.defect_count", int)
def defect_count(m: Message, ctx: Context) -> int:
    """Number of parse defects."""
    return len(m.defects)


@signal("message.language_non_ascii_ratio", float)
def language_non_ascii_ratio(m: Message, ctx: Context) -> float:
    """Share of non-ASCII letters among the body's letters (0..1), over its first 4,000 chars."""
    text = m.body_text[:_RATIO_CHARS]
    if text.isascii():
        return 0.0
    non_ascii = len(_NON_ASCII_LETTERS.findall(text))
    ascii_bytes = text.encode("ascii", "ignore")
    ascii_letters = len(ascii_bytes) - len(ascii_bytes.translate(None, _ASCII_LETTERS))
    total = non_ascii + ascii_letters
    return round(non_ascii / total, 4) if total else 0.0
