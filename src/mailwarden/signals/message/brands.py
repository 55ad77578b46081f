"""Brand signals: a well-known brand is named, and whether the message really comes from it."""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._brands import display_brand, text_brand
from mailwarden.signals._data import is_brand_domain


@signal("message.brand_mention", str)
def brand_mention(m: Message, ctx: Context) -> str:
    """The brand (id, e.g. "paypal") named in the display name, subject or top of the body; ""."""
    if m.from_ is not None:
        found = display_brand(m.from_.name)
        if found:
            return found
    return text_brand(m)


@signal("message.brand_offdomain", bool)
def brand_offdomain(m: Message, ctx: Context) -> bool:
    """A brand is mentioned, but neither the sender nor any link is on that brand's own domains."""
    brand = brand_mention(m, ctx)
    if not brand:
        return False
    if m.from_ is not None and m.from_.domain and is_brand_domain(m.from_.domain, brand):
        return False
    for lk in m.links[:200]:
        if lk.host and lk.source != "image" and is_brand_domain(lk.host.lower(), brand):
            return False
    return True
