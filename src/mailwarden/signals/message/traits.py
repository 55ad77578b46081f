"""Traits of throwaway bulk senders, counted: no single one convicts, two together rarely lie.

A legitimate sender (a person, a business, its mailing platform) sends from a domain it named,
serves its images itself and links to its own site. Mass scam senders rotate machine-made domains,
hotlink images from free image hosts, hide links behind shorteners, write subjects in styled
Unicode letters and fail DMARC for the brand they put in the From line.
"""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._data import free_hosting
from mailwarden.signals.message import auth, bait, links, phrases
from mailwarden.signals.sender import identity, impersonation


def _traits(m: Message, ctx: Context) -> tuple[str, ...]:
    cached: tuple[str, ...] | None = m.derived.get("throwaway_traits")
    if cached is not None:
        return cached
    found: list[str] = []
    if identity.random_domain(m, ctx):
        found.append("machine-made sender domain")
    if identity.display_name_emoji(m, ctx):
        found.append("emoji in display name")
    if impersonation.brand_domain_mismatch(m, ctx):
        found.append("display name brand off its domain")
    if identity.suspicious_tld(m, ctx) or links.suspicious_tld(m, ctx):
        found.append("high-abuse TLD")
    if bait.styled_text(m, ctx):
        found.append("styled Unicode letters")
    if auth.dmarc_fail(m, ctx):
        found.append("DMARC fail")
    if m.links:
        if links.image_host_link(m, ctx):
            found.append("free image host")
        # shorteners and free hosting count behind HTML anchors only: people paste such links
        # into plain-text discussion, mass mailers hide their targets behind them
        html = [lk for lk in m.links[: links.MAX_LINKS] if lk.source in ("html", "form")]
        if any(lk.is_shortener for lk in html):
            found.append("URL shortener")
        if any(
            lk.host and free_hosting(lk.host.lower().strip("."), links._path(lk.href))
            for lk in html
        ):
            found.append("free hosting link")
    result = tuple(found)
    m.derived["throwaway_traits"] = result
    return result


@signal("message.throwaway_traits", tuple)
def throwaway_traits(m: Message, ctx: Context) -> tuple[str, ...]:
    """Which throwaway-bulk-sender traits the message shows (machine-made domain, free image
    host, shortener, abused TLD, free hosting, styled Unicode, emoji name, off-domain brand
    name, DMARC fail)."""
    return _traits(m, ctx)


@signal("message.throwaway_trait_count", int)
def throwaway_trait_count(m: Message, ctx: Context) -> int:
    """How many distinct throwaway-bulk-sender traits the message shows (see throwaway_traits)."""
    return len(_traits(m, ctx))


@signal("message.consumer_lure", bool)
def consumer_lure(m: Message, ctx: Context) -> bool:
    """Any consumer-scam bait: dating, diet pills, crypto, rewards, prizes or heavy marketing."""
    return (
        bait.dating_bait(m, ctx)
        or bait.diet_bait(m, ctx)
        or bait.crypto_bait(m, ctx)
        or bait.reward_bait(m, ctx)
        or phrases.prize_lure(m, ctx)
        or phrases.spam_phrases(m, ctx) >= 2
    )
