"""Sender, pair, recipient, thread and payment history signals (issue 3)."""

from __future__ import annotations

from mailwarden.baselines.observation import payment_fingerprints
from mailwarden.baselines.profiles import BaselineView
from mailwarden.context import Context
from mailwarden.domains import registrable
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._data import brands_owning, is_freemail
from mailwarden.tenant import normalise_name

# A sender's hour habits mean something only after this many dated messages.
MIN_MESSAGES_FOR_HOURS = 20
# An hour (with its neighbours) holding less than this share of a sender's mail is unusual.
UNUSUAL_HOUR_SHARE = 0.02
# Recipients who got this much mail, almost none of it from strangers, notice a stranger.
MIN_RECEIVED_FOR_HABIT = 50
RARE_FIRST_CONTACT_RATIO = 0.05
# A sender needs this much history before a new Reply-To is a change rather than a first sight.
MIN_MESSAGES_FOR_REPLY_TO = 3
# A reply into an unknown thread means something only where the store has watched a recipient's
# own mail (so the threads they had are learned) for at least this long before the message.
MIN_THREAD_HISTORY_DAYS = 30


def _view(ctx: Context) -> BaselineView | None:
    view = ctx.baseline
    return view if isinstance(view, BaselineView) else None


def _external(m: Message, ctx: Context) -> bool:
    return m.from_ is not None and not ctx.tenant.is_internal_domain(m.from_.domain)


@signal("sender.known", bool)
def known(m: Message, ctx: Context) -> bool:
    """The From address has sent the organisation mail before (not counting malicious mail)."""
    view = _view(ctx)
    return view is not None and view.sender.known


@signal("sender.first_contact", bool)
def first_contact(m: Message, ctx: Context) -> bool:
    """An external sender the organisation has never received from nor written to."""
    view = _view(ctx)
    if view is None or not _external(m, ctx):
        return False
    return not view.sender.known and not view.sender.is_solicited


@signal("sender.first_contact_recipient", bool)
def first_contact_recipient(m: Message, ctx: Context) -> bool:
    """No recipient of this message has had mail from this sender before."""
    view = _view(ctx)
    if view is None or not view.pairs:
        return False
    return all(pair.first_contact for pair in view.pairs)


@signal("sender.prevalence", str)
def prevalence(m: Message, ctx: Context) -> str:
    """How established the sender is: new, rare or common ("" without a baseline)."""
    view = _view(ctx)
    return view.sender.prevalence if view is not None else ""


@signal("sender.solicited", bool)
def solicited(m: Message, ctx: Context) -> bool:
    """Someone in the organisation has written to this sender address."""
    view = _view(ctx)
    return view is not None and view.sender.is_solicited


@signal("sender.seen_malicious", bool)
def seen_malicious(m: Message, ctx: Context) -> bool:
    """Mail from this address was judged malicious before."""
    view = _view(ctx)
    return view is not None and view.sender.malicious > 0


@signal("sender.domain_new", bool)
def domain_new(m: Message, ctx: Context) -> bool:
    """An external sender domain the organisation has never received from nor written to."""
    view = _view(ctx)
    if view is None or not _external(m, ctx):
        return False
    return not view.sender_domain.known and not view.sender_domain.is_solicited


@signal("sender.domain_solicited", bool)
def domain_solicited(m: Message, ctx: Context) -> bool:
    """The organisation has written to addresses at the sender's domain: a correspondent."""
    view = _view(ctx)
    return view is not None and view.sender_domain.is_solicited


@signal("sender.domain_age_days", int)
def domain_age_days(m: Message, ctx: Context) -> int:
    """Days since the sender domain first appeared in the organisation's mail (0 when new)."""
    view = _view(ctx)
    if view is None or view.now is None or view.sender_domain.first_seen is None:
        return 0
    return max(0, (view.now - view.sender_domain.first_seen).days)


@signal("sender.name_addresses", int)
def name_addresses(m: Message, ctx: Context) -> int:
    """How many different addresses the From display name has been used with before."""
    view = _view(ctx)
    if view is None:
        return 0
    return sum(not use.derived for use in view.name_addresses) + view.name_overflow


@signal("sender.name_of_internal_on_external", bool)
def name_of_internal_on_external(m: Message, ctx: Context) -> bool:
    """The display name is an internal colleague's (written with their address, or spelled by
    it: jeff.skilling@ for "Jeff Skilling"), but this address is external."""
    view = _view(ctx)
    if view is None or m.from_ is None or not _external(m, ctx):
        return False
    tenant = ctx.tenant
    return any(
        use.value != m.from_.addr and tenant.is_internal_domain(use.value.rpartition("@")[2])
        for use in view.name_addresses
    )


@signal("sender.name_new_address", bool)
def name_new_address(m: Message, ctx: Context) -> bool:
    """A display name known with other addresses (or spelled by one) arrives from a new one."""
    view = _view(ctx)
    if view is None or m.from_ is None or not view.name_addresses:
        return False
    return all(use.value != m.from_.addr for use in view.name_addresses)


@signal("sender.name_new_domain", bool)
def name_new_domain(m: Message, ctx: Context) -> bool:
    """A display name known with other addresses arrives from a domain none of them used: a
    name borrowed by another domain, not a sender rotating addresses inside its own (airline
    and retail newsletters send each issue from a fresh address on the same domain)."""
    view = _view(ctx)
    if view is None or m.from_ is None or not view.name_addresses:
        return False
    if any(use.value == m.from_.addr for use in view.name_addresses):
        return False
    return all(
        registrable(use.value.rpartition("@")[2]) != m.from_.registrable
        for use in view.name_addresses
    )


@signal("sender.address_new_name", bool)
def address_new_name(m: Message, ctx: Context) -> bool:
    """A known address now uses a display name it never used before."""
    view = _view(ctx)
    if view is None or m.from_ is None or not view.sender.known or not view.sender.names:
        return False
    name = normalise_name(m.from_.name)
    return bool(name) and name not in view.sender.names


@signal("sender.reply_to_new", bool)
def reply_to_new(m: Message, ctx: Context) -> bool:
    """A sender with history now sets a Reply-To address it never used before."""
    view = _view(ctx)
    if view is None or m.from_ is None or view.sender.messages < MIN_MESSAGES_FOR_REPLY_TO:
        return False
    used = set(view.sender.reply_tos)
    return any(r.addr != m.from_.addr and r.addr not in used for r in m.reply_to)


@signal("sender.reply_to_unknown", bool)
def reply_to_unknown(m: Message, ctx: Context) -> bool:
    """Replies go to an address the organisation never received from nor wrote to."""
    view = _view(ctx)
    if view is None or not view.reply_to:
        return False
    return any(not p.known and not p.is_solicited for p in view.reply_to)


def _imitated(host: str, view: BaselineView, ctx: Context) -> str:
    """The correspondent domain `host` imitates; never for the organisation's own domains, a
    free-mail provider's or a brand's own (theirs are real, whatever they resemble). Nor when
    the correspondent is itself a free-mail provider or a brand: a near copy of hotmail.com or
    excite.com is brand lookalike business (and mostly spam), not a partner impersonated."""
    if not host or ctx.tenant.is_internal_domain(host) or is_freemail(host) or brands_owning(host):
        return ""
    found = view.correspondents.lookalike(host)
    if found and (is_freemail(found) or brands_owning(found)):
        return ""
    return found


@signal("sender.lookalike_correspondent", str)
def lookalike_correspondent(m: Message, ctx: Context) -> str:
    """The domain the organisation corresponds with (wrote to, or had safe mail from on 3+ days)
    that the From domain imitates, not being one itself: typo, homoglyph, added word; ""."""
    view = _view(ctx)
    if view is None or m.from_ is None:
        return ""
    return _imitated(m.from_.domain, view, ctx)


@signal("sender.reply_to_lookalike_correspondent", str)
def reply_to_lookalike_correspondent(m: Message, ctx: Context) -> str:
    """The correspondent domain a Reply-To domain imitates (as sender.lookalike_correspondent
    for From); ""."""
    view = _view(ctx)
    if view is None:
        return ""
    own = m.from_.addr if m.from_ is not None else ""
    for rt in m.reply_to:
        if rt.addr != own:
            found = _imitated(rt.domain, view, ctx)
            if found:
                return found
    return ""


@signal("message.link_lookalike_correspondent", str)
def link_lookalike_correspondent(m: Message, ctx: Context) -> str:
    """The correspondent domain a link's host imitates (``acme-logistics-pay.com`` for an
    invoice portal of ``acme-logistics.com``), as sender.lookalike_correspondent; ""."""
    view = _view(ctx)
    if view is None or not m.links:
        return ""
    for host in dict.fromkeys(link.host for link in m.links if not link.is_ip):
        found = _imitated(host, view, ctx)
        if found:
            return found
    return ""


@signal("message.link_outside_correspondents", int)
def link_outside_correspondents(m: Message, ctx: Context) -> int:
    """Distinct link domains that are neither the organisation's own, a correspondent's, a
    brand's nor a free-mail provider's: places it has never done business with. Judged only
    where a recipient's own mail has been learned for 30+ days (before that, every domain is a
    stranger)."""
    view = _view(ctx)
    if view is None or not m.links or not _watched_long_enough(view):
        return 0
    strangers = {
        link.registrable
        for link in m.links
        if link.registrable
        and link.registrable not in view.correspondents
        and not ctx.tenant.is_internal_domain(link.registrable)
        and not brands_owning(link.registrable)
        and not is_freemail(link.registrable)
    }
    return len(strangers)


@signal("message.reply_thread_unknown", bool)
def reply_thread_unknown(m: Message, ctx: Context) -> bool:
    """Claims to continue a conversation (In-Reply-To/References, or a RE:/FW: subject) the
    organisation never had: none of the referenced messages, nor (without references) that
    subject with this party, was learned; judged only where a recipient's own mail has been
    learned for 30+ days."""
    view = _view(ctx)
    return view is not None and view.thread_known is False and _watched_long_enough(view)


def _watched_long_enough(view: BaselineView) -> bool:
    """A recipient's own mail has been learned for MIN_THREAD_HISTORY_DAYS before this one, so
    the conversations and partners the organisation has are in the baseline."""
    now = view.now
    return now is not None and any(
        r.internal
        and r.first_sent is not None
        and (now - r.first_sent).days >= MIN_THREAD_HISTORY_DAYS
        for r in view.recipients
    )


@signal("sender.unusual_hour", bool)
def unusual_hour(m: Message, ctx: Context) -> bool:
    """Sent at an hour this sender (with enough dated history) almost never writes at."""
    view = _view(ctx)
    if view is None or m.date is None or not view.hours:
        return False
    total = sum(view.hours)
    if total < MIN_MESSAGES_FOR_HOURS:
        return False
    hour = m.date.hour
    nearby = sum(view.hours[(hour + delta) % 24] for delta in (-1, 0, 1))
    return nearby / total < UNUSUAL_HOUR_SHARE


@signal("sender.internal_new_recipients", int)
def internal_new_recipients(m: Message, ctx: Context) -> int:
    """For an internal sender with history: recipients it has never written to before."""
    view = _view(ctx)
    if view is None or m.from_ is None or _external(m, ctx) or not view.sender.known:
        return 0
    return sum(1 for pair in view.pairs if pair.first_contact)


@signal("recipient.first_contact_unusual", bool)
def first_contact_unusual(m: Message, ctx: Context) -> bool:
    """A recipient who rarely gets mail from strangers gets it from a first-time sender."""
    view = _view(ctx)
    if view is None or not first_contact(m, ctx):
        return False
    return any(
        r.received >= MIN_RECEIVED_FOR_HABIT
        and (r.first_contact_ratio or 0.0) < RARE_FIRST_CONTACT_RATIO
        for r in view.recipients
    )


@signal("recipient.unsafe_share", float)
def unsafe_share(m: Message, ctx: Context) -> float:
    """The highest share of not-safe mail among the recipients' history (0 without history)."""
    view = _view(ctx)
    if view is None:
        return 0.0
    ratios = [r.safe_ratio for r in view.recipients if r.safe_ratio is not None]
    return round(1.0 - min(ratios), 3) if ratios else 0.0


@signal("recipient.never_replied", bool)
def never_replied(m: Message, ctx: Context) -> bool:
    """No recipient has ever written back to this sender (though it wrote to them before)."""
    view = _view(ctx)
    if view is None or not view.pairs:
        return False
    known_pairs = [p for p in view.pairs if not p.first_contact]
    return bool(known_pairs) and not any(p.replied for p in known_pairs)


def _fingerprints(m: Message, ctx: Context) -> tuple[str, ...]:
    cached: tuple[str, ...] | None = m.derived.get("payment_fingerprints")
    if cached is None:
        # The same salt the baseline learns with (the tenant id), so the hashes compare.
        cached = payment_fingerprints(m.searchable, ctx.tenant.id.encode())
        m.derived["payment_fingerprints"] = cached
    return cached


@signal("message.payment_details", int)
def payment_details(m: Message, ctx: Context) -> int:
    """How many bank details (IBAN, account, routing, sort code, SWIFT) the message gives."""
    return len(_fingerprints(m, ctx))


@signal("message.payment_details_changed", bool)
def payment_details_changed(m: Message, ctx: Context) -> bool:
    """Bank details of a kind this sender domain sent before, but not these ones."""
    view = _view(ctx)
    if view is None or not view.payments:
        return False
    seen = {p.fingerprint for p in view.payments}
    seen_kinds = {p.kind for p in view.payments}
    return any(
        fp not in seen and fp.partition(":")[0] in seen_kinds for fp in _fingerprints(m, ctx)
    )


@signal("message.payment_details_first", bool)
def payment_details_first(m: Message, ctx: Context) -> bool:
    """Bank details from a sender domain that never sent any before."""
    view = _view(ctx)
    return view is not None and not view.payments and bool(_fingerprints(m, ctx))
