"""Out-of-band contact: phone numbers (callback scams) and crypto wallets (extortion, scams)."""

from __future__ import annotations

import re

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._text import PHRASE_CHARS, Phrases, scan

# Phone-number-like strings. Separators are required (a bare 10-digit run is more often an order
# or invoice number), except after "+". A cheap candidate scan (it starts with a character class,
# so the regex engine skips letters at C speed) finds digit clusters; the full pattern then runs
# on each short candidate only.
_CANDIDATE = re.compile(r"[+(\d][\d \t().\-]{6,24}\d")
_PHONE = re.compile(
    r"(?:"
    r"\+\d{1,3}[ .\-]?\(?\d{1,4}\)?(?:[ .\-]?\d{2,4}){2,4}"  # +44 20 7946 0958, +1-888-...
    r"|(?:1[ .\-])?\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}"  # (888) 555-1234, 1-888-555-1234
    r"|\(\d{3}\)\d{3}[ .\-]?\d{4}"  # (888)555-1234
    r"|\(\d{2}\) ?\d{4,5}[ .\-]\d{4}"  # (11) 98765-4321
    r"|0800[ .\-]?\d{3}[ .\-]?\d{3,4}"  # 0800 123 4567
    r"|1[ .\-]?8(?:00|33|44|55|66|77|88)[ .\-]?\d{3}[ .\-]?\d{4}"  # 1 800 5551234
    r")"
)
# Dates that look like phones: 2023-09-19
_NOT_PHONE = re.compile(r"^(?:19|20)\d\d[.\-/]\d\d[.\-/]\d\d$")


def phone_numbers_in(text: str) -> list[str]:
    """Distinct phone numbers (last 10 digits) in `text`."""
    out: dict[str, None] = {}
    for cand in _CANDIDATE.finditer(text):
        start = cand.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "._-/"):
            continue
        end = cand.end()
        if end < len(text) and (text[end].isalnum() or text[end] in "-/"):
            continue
        for found in _PHONE.finditer(cand.group(0)):
            raw = found.group(0)
            if _NOT_PHONE.match(raw):
                continue
            digits = "".join(c for c in raw if c.isdigit())
            if 7 <= len(digits) <= 15:
                out[digits[-10:]] = None
    return list(out)


_PHONE_MEMO: tuple[Message | None, int] = (None, 0)


def _phone_count(m: Message) -> int:
    global _PHONE_MEMO
    memo = _PHONE_MEMO
    if memo[0] is m:
        return memo[1]
    text, _words = scan(m)
    n = len(phone_numbers_in(text))
    _PHONE_MEMO = (m, n)
    return n


@signal("message.phone_numbers", int)
def phone_numbers(m: Message, ctx: Context) -> int:
    """Number of distinct phone-number-like strings in the subject and top of the body."""
    return _phone_count(m)


CALL_LANGUAGE = Phrases(
    "call calling contact helpline hotline dial reach toll authorize authorise authorized "
    "recognize recognise cancel cancellation refund dispute support ligue ligar llame llamar "
    "anrufen make place request initiate order",
    r"call (?:us|now|toll[- ]?free|customer|support|helpline|this number|immediately|billing|"
    r"the number|the (?:toll[- ]?free|helpline|support|billing|customer)|our (?:toll[- ]?free|"
    r"helpline|support|customer|billing|team|help ?desk|number))",
    r"(?:contact|reach|call|dial|phone) (?:our|the) (?:support|billing|help ?desk|customer|"
    r"service|cancellation|refund|dispute|fraud|security) ?(?:team|department|center|centre|"
    r"desk|line|service|support)?",
    r"if (?:you|u) (?:did not|didn'?t|do not|don'?t) (?:authori[sz]e|make|place|recogni[sz]e|"
    r"request|initiate|order)",
    r"to (?:cancel|dispute|stop|reverse) (?:this|the|your) (?:order|transaction|charge|"
    r"payment|subscription|renewal|purchase)",
    r"(?:cancel|cancellation|refund)(?:,| or| and)? (?:please )?(?:call|contact|dial|reach)",
    r"(?:ligue|ligar) (?:para|agora)",
    r"(?:llame|llamar) (?:al|ahora)",
    r"rufen sie (?:uns )?an",
)


@signal("message.callback_phone", bool)
def callback_phone(m: Message, ctx: Context) -> bool:
    """A phone number together with call language (call us, if you did not authorize, to cancel)."""
    return _phone_count(m) > 0 and CALL_LANGUAGE.found(m)


# Each starts with a literal or a character class and checks what precedes it afterwards, so the
# regex engine can skip ahead to candidates instead of trying every position.
_BTC_LEGACY = re.compile(r"[13](?<![A-Za-z0-9][13])[a-km-zA-HJ-NP-Z1-9]{25,34}(?![A-Za-z0-9])")
_BTC_BECH32 = re.compile(r"bc1(?<![a-z0-9]bc1)[ac-hj-np-z02-9]{25,87}(?![a-z0-9])")
_ETH = re.compile(r"0x(?<![A-Za-z0-9]0x)[a-fA-F0-9]{40}(?![A-Za-z0-9])")
WALLET_WORDS = Phrases(
    "btc bitcoin wallet ethereum eth usdt crypto cryptocurrency",
    r"(?:btc|bitcoin|ethereum|eth|usdt|crypto|cryptocurrency|litecoin|monero|xmr) "
    r"(?:wallet|address|addr)(?: is| id)?",
    r"wallet address",
)


# A legacy (base58) address is only looked for when the text talks about paying or sending:
# the scan for it costs ~4 ns per character on digit-heavy text.
_LEGACY_GATE = frozenset(
    w.encode()
    for w in [
        "bitcoin",
        "bitcoins",
        "btc",
        "wallet",
        "crypto",
        "cryptocurrency",
        "address",
        "send",
        "pay",
        "payment",
        "transfer",
        "amount",
        "deposit",
    ]
)


def _looks_base58(candidate: str) -> bool:
    """A legacy address mixes upper case, lower case and digits; hex digests and ids do not."""
    return (
        any(c.isupper() for c in candidate)
        and any(c.islower() for c in candidate)
        and any(c.isdigit() for c in candidate[1:])
    )


@signal("message.crypto_wallet", bool)
def crypto_wallet(m: Message, ctx: Context) -> bool:
    """A bitcoin / ethereum wallet address appears, or "BTC address" / "bitcoin wallet" language."""
    if WALLET_WORDS.found(m):
        return True
    text = m.body_text[:PHRASE_CHARS]
    if _ETH.search(text) or _BTC_BECH32.search(text):
        return True
    _lower, words = scan(m)
    if words.isdisjoint(_LEGACY_GATE):
        return False
    return any(_looks_base58(found.group(0)) for found in _BTC_LEGACY.finditer(text))
