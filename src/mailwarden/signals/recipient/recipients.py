"""Who the message is addressed to, and what they do in the organisation."""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal


@signal("recipient.count", int)
def count(m: Message, ctx: Context) -> int:
    """Number of To + Cc recipients."""
    return sum(1 for a in m.recipients if a.addr)


@signal("recipient.undisclosed", bool)
def undisclosed(m: Message, ctx: Context) -> bool:
    """No To/Cc at all, or only "undisclosed-recipients"."""
    return all(not (a.addr and "undisclosed" not in a.addr.lower()) for a in m.recipients)


def _roles(m: Message, ctx: Context) -> set[str]:
    roles: set[str] = set()
    for a in m.recipients:
        if a.addr:
            person = ctx.tenant.person_by_address(a.addr)
            if person is not None:
                roles.update(person.roles)
    return roles


@signal("recipient.roles", tuple)
def roles(m: Message, ctx: Context) -> tuple[str, ...]:
    """Distinct roles (vip, finance, hr, ...) of the tenant people among the recipients, sorted."""
    return tuple(sorted(_roles(m, ctx)))


@signal("recipient.vip", bool)
def vip(m: Message, ctx: Context) -> bool:
    """A recipient is a tenant person with role vip."""
    return "vip" in _roles(m, ctx)


@signal("recipient.finance", bool)
def finance(m: Message, ctx: Context) -> bool:
    """A recipient has role finance."""
    return "finance" in _roles(m, ctx)


@signal("recipient.hr", bool)
def hr(m: Message, ctx: Context) -> bool:
    """A recipient has role hr."""
    return "hr" in _roles(m, ctx)


@signal("recipient.external_only", bool)
def external_only(m: Message, ctx: Context) -> bool:
    """There are recipients, and none is in the tenant's domains."""
    domains = [a.domain for a in m.recipients if a.addr and a.domain]
    return bool(domains) and not any(ctx.tenant.is_internal_domain(d) for d in domains)


@signal("recipient.to_sender", bool)
def to_sender(m: Message, ctx: Context) -> bool:
    """The sender's own address is among the recipients."""
    if m.from_ is None or not m.from_.addr:
        return False
    own = m.from_.addr.lower()
    return any(a.addr.lower() == own for a in m.recipients)
