"""Who the sender says they are: From, Reply-To, Return-Path, and what kind of domain it is."""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from functools import lru_cache

from mailwarden.context import Context
from mailwarden.domains import registrable
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._data import abused_tld, is_freemail
from mailwarden.signals.message.auth import dmarc_failed, spf_failed

_EMAIL_IN_TEXT = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


def _from_addr(m: Message) -> str:
    return m.from_.addr.lower() if m.from_ is not None and "@" in m.from_.addr else ""


def _from_registrable(m: Message) -> str:
    if m.from_ is None or not m.from_.domain:
        return ""
    return (m.from_.registrable or registrable(m.from_.domain)).lower()


@signal("sender.address", str)
def address(m: Message, ctx: Context) -> str:
    """The From address, lower-cased ("" when missing)."""
    return _from_addr(m)


@signal("sender.domain", str)
def domain(m: Message, ctx: Context) -> str:
    """The From domain (IDN decoded)."""
    return m.from_.domain.lower() if m.from_ is not None else ""


@signal("sender.registrable", str)
def registrable_domain(m: Message, ctx: Context) -> str:
    """The registrable domain of the From address (mail.enron.com -> enron.com)."""
    return _from_registrable(m)


@signal("sender.display_name", str)
def display_name(m: Message, ctx: Context) -> str:
    """The From display name as written."""
    return m.from_.name if m.from_ is not None else ""


@signal("sender.missing", bool)
def missing(m: Message, ctx: Context) -> bool:
    """There is no usable From address."""
    return not _from_addr(m) or m.from_ is None or not m.from_.domain


@signal("sender.freemail", bool)
def freemail(m: Message, ctx: Context) -> bool:
    """The From domain is a free-mail provider (gmail, outlook/hotmail, yahoo, gmx, mail.ru...)."""
    return m.from_ is not None and bool(m.from_.domain) and is_freemail(m.from_.domain)


@signal("sender.internal", bool)
def internal(m: Message, ctx: Context) -> bool:
    """The From domain is one of the tenant's domains."""
    return (
        m.from_ is not None
        and bool(m.from_.domain)
        and ctx.tenant.is_internal_domain(m.from_.domain)
    )


@lru_cache(maxsize=65536)
def _public_ip(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.strip("[]")).is_global
    except ValueError:
        return False


def _authenticated_as_tenant(m: Message, ctx: Context) -> bool:
    """DMARC passed, or a DKIM signature of a tenant domain passed."""
    for r in m.auth:
        if r.method == "dmarc" and r.result == "pass":
            return True
        if r.method == "dkim" and r.result == "pass":
            for key, value in r.properties:
                if key in ("header.d", "header.i") and ctx.tenant.is_internal_domain(
                    value.lstrip("@").rpartition("@")[2]
                ):
                    return True
    return False


@signal("sender.internal_spoof", bool)
def internal_spoof(m: Message, ctx: Context) -> bool:
    """From is a tenant domain, but SPF/DMARC failed or it came unauthenticated via outside hops."""
    if not internal(m, ctx):
        return False
    if spf_failed(m) or dmarc_failed(m):
        return True
    if _authenticated_as_tenant(m, ctx):
        return False
    trusted = ctx.tenant.trusted_forwarders
    for hop in m.received:
        if not hop.ip or not _public_ip(hop.ip):
            continue
        host = hop.from_host.lower().strip(".")
        if host and (
            ctx.tenant.is_internal_domain(host)
            or any(host == t or host.endswith("." + t) for t in trusted)
        ):
            continue
        return True
    return False


def _addresses_in_name(m: Message) -> list[str]:
    if m.from_ is None or "@" not in m.from_.name:
        return []
    return [a.lower().strip(".") for a in _EMAIL_IN_TEXT.findall(m.from_.name)]


@signal("sender.display_name_has_address", bool)
def display_name_has_address(m: Message, ctx: Context) -> bool:
    """The display name contains an email address."""
    return bool(_addresses_in_name(m))


@signal("sender.display_name_address_mismatch", bool)
def display_name_address_mismatch(m: Message, ctx: Context) -> bool:
    """The display name contains an email address other than the real From address."""
    real = _from_addr(m)
    return any(a != real for a in _addresses_in_name(m))


@signal("sender.reply_to_differs", bool)
def reply_to_differs(m: Message, ctx: Context) -> bool:
    """A Reply-To address is on another registrable domain than From."""
    own = _from_registrable(m)
    if not own:
        return False
    for rt in m.reply_to:
        if rt.domain:
            other = (rt.registrable or registrable(rt.domain)).lower()
            if other and other != own:
                return True
    return False


@signal("sender.reply_to_freemail", bool)
def reply_to_freemail(m: Message, ctx: Context) -> bool:
    """A Reply-To address is free-mail, and not the From address itself."""
    own = _from_addr(m)
    return any(rt.domain and is_freemail(rt.domain) and rt.addr.lower() != own for rt in m.reply_to)


@signal("sender.return_path_differs", bool)
def return_path_differs(m: Message, ctx: Context) -> bool:
    """The Return-Path (envelope sender) is on another registrable domain than From."""
    own = _from_registrable(m)
    rp = m.return_path.strip("<>").lower()
    if not own or "@" not in rp:
        return False
    return registrable(rp.rpartition("@")[2]) != own


@signal("sender.suspicious_tld", bool)
def suspicious_tld(m: Message, ctx: Context) -> bool:
    """The From domain is in a high-abuse TLD (xyz, top, click, tk, ...)."""
    return m.from_ is not None and bool(m.from_.domain) and abused_tld(m.from_.domain)


_DIGIT_RUN = re.compile(r"\d{6,}")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}")
_HEX = re.compile(r"[0-9a-f]{16,}")


@lru_cache(maxsize=65536)
def looks_random(local: str) -> bool:
    """A machine-made local part: long digit runs, hex ids, unpronounceable or random strings."""
    local = local.lower().split("+", 1)[0]
    if len(local) < 8:
        return False
    if _DIGIT_RUN.search(local) or _CONSONANT_RUN.search(local):
        return True
    if _HEX.search(local) and any(c.isdigit() for c in local):
        return True
    core = re.sub(r"[._\-]", "", local)
    transitions = sum(1 for a, b in itertools.pairwise(core) if a.isdigit() != b.isdigit())
    if transitions >= 4:
        return True
    if len(core) >= 12:
        counts: dict[str, int] = {}
        for c in core:
            counts[c] = counts.get(c, 0) + 1
        entropy = -sum(n / len(core) * math.log2(n / len(core)) for n in counts.values())
        vowels = sum(counts.get(v, 0) for v in "aeiouy") / len(core)
        if entropy > 3.6 and vowels < 0.25:
            return True
    return False


@signal("sender.random_local", bool)
def random_local(m: Message, ctx: Context) -> bool:
    """The From local part looks machine-generated (long digit runs, hex, high entropy)."""
    if m.from_ is None:
        return False
    local = m.from_.local or m.from_.addr.partition("@")[0]
    return looks_random(local)


@lru_cache(maxsize=65536)
def random_domain_label(reg: str) -> bool:
    """A registrable domain whose name is machine-made: letters and digits shuffled together."""
    label = reg.partition(".")[0]
    if len(label) < 7 or "-" in label or not label.isascii():
        return False
    digits = sum(c.isdigit() for c in label)
    if digits < 2 or len(label) - digits < 3:
        return False
    # "w737jjvqo8", "0ysydx9845": digits inside the name, not a year or a suffix ("shop2024")
    transitions = sum(1 for a, b in itertools.pairwise(label) if a.isdigit() != b.isdigit())
    return transitions >= 2


@signal("sender.random_domain", bool)
def random_domain(m: Message, ctx: Context) -> bool:
    """The From domain's name looks machine-generated (letters and digits shuffled, w737jjvqo8)."""
    own = _from_registrable(m)
    return bool(own) and random_domain_label(own)


def _has_emoji(text: str) -> bool:
    return any(
        "\U0001f300" <= c <= "\U0001faff" or "\u2600" <= c <= "\u27bf" or "\u2b00" <= c <= "\u2bff"
        for c in text
    )


@signal("sender.display_name_emoji", bool)
def display_name_emoji(m: Message, ctx: Context) -> bool:
    """The From display name carries emoji or pictographs (a bulk sender's eye-catcher)."""
    return m.from_ is not None and bool(m.from_.name) and _has_emoji(m.from_.name)
