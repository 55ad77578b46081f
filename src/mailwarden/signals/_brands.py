"""Finding well-known brands named in a display name or in the text of a message."""

from __future__ import annotations

import re
from functools import lru_cache

from mailwarden.message import Message
from mailwarden.signals._data import BRANDS
from mailwarden.signals._lookalike import skeleton
from mailwarden.signals._text import scan

# Brand mentions are looked for in the subject and this much of the body: a brand named deep in
# a long thread or a footer is not what the message is about.
MENTION_BODY_CHARS = 2_000
_WINDOW = 60

# keyword -> brand id, for keywords matched anywhere
_KEYWORD_BRAND: dict[str, str] = {}
for _b in BRANDS.values():
    for _k in _b.keywords:
        _KEYWORD_BRAND.setdefault(_k, _b.id)
# display-only names -> brand id
_DISPLAY_BRAND: dict[str, str] = {}
for _b in BRANDS.values():
    for _k in _b.display:
        _DISPLAY_BRAND.setdefault(_k, _b.id)


def _alternation(words: list[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)  # longest first: "wells fargo" before "wells"
    return "|".join(re.escape(w).replace(r"\ ", r"[\s\-]*") for w in ordered)


_KEYWORDS_RX = re.compile(rf"(?<!\w)(?:{_alternation(list(_KEYWORD_BRAND))})(?!\w)")
# Anchor tokens: the first word of every keyword (bytes, as `scan` yields them), each with a
# regex of just the keywords that start with it, matched right at the anchor.
_ANCHORS: dict[bytes, tuple[str, re.Pattern[str]]] = {}
_by_first: dict[str, list[str]] = {}
for _k in _KEYWORD_BRAND:
    _first = re.split(r"[\s\-.&]", _k)[0] or _k
    _by_first.setdefault(_first, []).append(_k)
for _first, _kws in _by_first.items():
    _ANCHORS[_first.encode("utf-8")] = (_first, re.compile(rf"(?:{_alternation(_kws)})(?!\w)"))
_ANCHOR_SET = frozenset(_ANCHORS)

_SERVICE_WORDS = (
    "team|support|service|services|customer|customers|care|security|alert|alerts|notification|"
    "notifications|account|accounts|billing|online|bank|banking|card|cards|fraud|department|"
    "dept|center|centre|help|helpdesk|desk|no-?reply|do-?not-?reply|notice|notices|info|update|"
    "updates|verification|admin|administrator|mail|email|e-mail|message|messages|messaging|"
    "delivery|express|tracking|shipping|store|pay|payments?|id|inc|corp|corporation|llc|ltd|"
    "us|uk|usa|official|protection|premium|renewal|subscription|subscriptions|order|orders|"
    "receipt|receipts|invoice|invoices|sign|docs|documents?|drive|storage|cloud|quantum|view|"
    "my|choice|office|365|360|teams|web|app|access|mobile|wallet|the|of|and|for|&|global|"
    "international|group|community|rewards|membership|members|member|live|login|secure|"
    "safety|trust|compliance|business|voicemail|fax|scan|scanner|share|shared|files?|portal|"
    "system|systems|auto|automated|servicedesk|it|legal|review|verify|verified|antivirus|"
    "total|plus|pro|one|outlook|microsoft|windows|apple|google|amazon|prime|quickbooks"
)
_DISPLAY_RX = re.compile(
    rf"^(?:(?:{_SERVICE_WORDS})\s+)*(?P<name>{_alternation(list(_DISPLAY_BRAND))})"
    rf"(?:\s+(?:{_SERVICE_WORDS}))*$"
)
_NON_WORD = re.compile(r"[^\w&]+")


@lru_cache(maxsize=65536)
def display_brand(name: str) -> str:
    """The brand id a display name names ("PayPal Service", "Chase Online Alerts"); ""."""
    if not name:
        return ""
    text = name.lower() if name.isascii() else skeleton(name)
    found = _KEYWORDS_RX.search(text)
    if found:
        return _KEYWORD_BRAND.get(_norm(found.group(0)), "")
    words = " ".join(_NON_WORD.sub(" ", text).split())
    found = _DISPLAY_RX.match(words)
    if found:
        return _DISPLAY_BRAND.get(found.group("name"), "")
    return ""


def _norm(keyword: str) -> str:
    key = " ".join(keyword.replace("-", " ").split())
    if key in _KEYWORD_BRAND:
        return key
    compact = key.replace(" ", "")
    for k in (keyword, compact):
        if k in _KEYWORD_BRAND:
            return k
    # "geek-squad" style variants: compare without separators
    for k, _bid in _KEYWORD_BRAND.items():
        if k.replace(" ", "").replace("-", "") == compact.replace("-", ""):
            return k
    return key


def text_brand(m: Message) -> str:
    """The first brand named in the subject or the top of the body ("" none)."""
    cached: str | None = m.derived.get("text_brand")
    if cached is not None:
        return cached
    text, words = scan(m)
    limit = min(len(text), len(m.subject) + 1 + MENTION_BODY_CHARS)
    best_pos = limit
    best = ""
    for token in words & _ANCHOR_SET:
        anchor, rx = _ANCHORS[token]
        start = 0
        for _ in range(32):
            pos = text.find(anchor, start, best_pos)
            if pos < 0:
                break
            start = pos + len(anchor)
            if pos and text[pos - 1].isalnum():
                continue
            found = rx.match(text, pos)
            if found:
                best_pos = pos
                best = _KEYWORD_BRAND.get(_norm(found.group(0)), "")
                break
    m.derived["text_brand"] = best
    return best
