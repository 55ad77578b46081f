"""Lookalike sender domains: a From domain that imitates the organisation's or a brand's."""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._lookalike import brand_lookalike, tenant_lookalike


@signal("sender.lookalike_tenant", str)
def lookalike_tenant(m: Message, ctx: Context) -> str:
    """The tenant domain the From domain imitates (typo, homoglyph, tenant name embedded); ""."""
    if m.from_ is None or not m.from_.domain:
        return ""
    return tenant_lookalike(ctx.tenant.domains, m.from_.domain)


@signal("sender.lookalike_brand", str)
def lookalike_brand(m: Message, ctx: Context) -> str:
    """The brand (id) the From domain imitates, never the brand's own domains; ""."""
    if m.from_ is None or not m.from_.domain:
        return ""
    return brand_lookalike(m.from_.domain)
