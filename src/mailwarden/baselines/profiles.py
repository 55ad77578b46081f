"""What a baseline lookup returns: frozen profiles, and the `BaselineView` of one message.

Every profile is a plain frozen record built by the store before signals run (I/O at the edge),
so signals stay pure functions of ``(Message, Context)`` and read ``ctx.baseline``. An unknown
sender, domain or pair is an *empty* profile (zero counts, no dates), never None: a first-time
sender is normal, not an error.

Dates are timezone-aware UTC datetimes, or None when nothing dated was learned (messages with a
missing or impossible Date still count, but move no dates, windows, active days or hours).
"Recent" counts cover the last `WINDOW_DAYS` (13 whole weeks, see `records.WINDOW_WEEKS`) before
the message being scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mailwarden.baselines.correspondents import NO_CORRESPONDENTS, Correspondents

Prevalence = Literal["new", "rare", "common"]

# Prevalence buckets, by messages learned from a sender that were not judged malicious:
# new = none; common = at least COMMON_MIN_MESSAGES messages on at least COMMON_MIN_DAYS days
# (one burst of mail on a single day does not make a sender common); rare = anything between.
COMMON_MIN_MESSAGES = 5
COMMON_MIN_DAYS = 2
WINDOW_DAYS = 91  # 13 weeks: the "recent" window of every *_recent count
# A domain the organisation corresponds with: one it has written to (any address there), or
# one that sent it mail judged safe on at least this many distinct UTC days (a single burst,
# or one newsletter, does not make a correspondent; three days of ordinary mail does).
CORRESPONDENT_MIN_SAFE_DAYS = 3


def prevalence(messages: int, active_days: int) -> Prevalence:
    if messages <= 0:
        return "new"
    if messages >= COMMON_MIN_MESSAGES and active_days >= COMMON_MIN_DAYS:
        return "common"
    return "rare"


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """One address as a sender (known-good history only) and as a correspondent of the org."""

    address: str
    messages: int = 0  # learned, not judged malicious
    messages_recent: int = 0  # of those, in the recent window
    malicious: int = 0  # "seen but bad": judged malicious, never part of the history above
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    active_days: int = 0  # distinct UTC days with at least one message
    distinct_recipients: int = 0
    solicited: int = 0  # messages the organisation (an internal sender) wrote to this address
    first_solicited: datetime | None = None
    names: tuple[str, ...] = ()  # normalised display names used with this address (first few)
    reply_tos: tuple[str, ...] = ()  # Reply-To addresses used (first few; the sender excluded)
    hours: tuple[
        int, ...
    ] = ()  # 24 buckets of send hour in the sender's own UTC offset; () if none

    @property
    def known(self) -> bool:
        return self.messages > 0

    @property
    def is_solicited(self) -> bool:
        return self.solicited > 0

    @property
    def prevalence(self) -> Prevalence:
        return prevalence(self.messages, self.active_days)


@dataclass(frozen=True, slots=True)
class PairHistory:
    """sender -> recipient: how often the sender wrote to them, and whether they answer."""

    sender: str
    recipient: str
    messages: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    replies: int = 0  # messages the recipient wrote to the sender (the reverse pair's count)

    @property
    def first_contact(self) -> bool:
        return self.messages == 0

    @property
    def replied(self) -> bool:
        """The recipient has written to the sender: a two-way relationship."""
        return self.replies > 0


@dataclass(frozen=True, slots=True)
class DomainProfile:
    """A sender registrable domain: a correspondent or vendor of the organisation, or not yet."""

    domain: str
    messages: int = 0
    messages_recent: int = 0
    malicious: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    distinct_senders: int = 0
    solicited: int = 0  # messages the organisation wrote to addresses at this domain
    first_solicited: datetime | None = None
    safe_days: int = 0  # distinct UTC days it sent mail judged safe (outside domains only)
    correspondent: bool = False  # written to, or safe mail on CORRESPONDENT_MIN_SAFE_DAYS days

    @property
    def known(self) -> bool:
        return self.messages > 0

    @property
    def is_solicited(self) -> bool:
        return self.solicited > 0


@dataclass(frozen=True, slots=True)
class RecipientProfile:
    """One recipient: how much mail they get, how much of it was safe, how often from strangers."""

    address: str
    received: int = 0  # every learned message to them, malicious included
    received_recent: int = 0
    safe: int = 0  # of those, judged safe
    safe_recent: int = 0
    first_contact: int = 0  # not-malicious messages from a sender who never wrote to them before
    roles: tuple[str, ...] = ()  # from the tenant: vip, finance, hr, it, executive_assistant
    internal: bool = False
    sent: int = 0  # messages learned FROM this address (not malicious): its own mail is seen
    first_sent: datetime | None = None  # the first dated one

    @property
    def safe_ratio(self) -> float | None:
        return self.safe / self.received if self.received else None

    @property
    def safe_ratio_recent(self) -> float | None:
        return self.safe_recent / self.received_recent if self.received_recent else None

    @property
    def first_contact_ratio(self) -> float | None:
        return self.first_contact / self.received if self.received else None


@dataclass(frozen=True, slots=True)
class AddressUse:
    """One address a display name was used with.

    `derived`: the name was never written as a display name with this address; it is the name
    an organisation address spells (``jeff.skilling@`` -> "jeff skilling", see
    `observation.derived_name`), learned from its mail sent without a display name. Then
    `messages` is 0 and `first_seen` is when it was first learned so.
    """

    value: str
    messages: int
    first_seen: datetime | None
    last_seen: datetime | None
    derived: bool = False


@dataclass(frozen=True, slots=True)
class PaymentUse:
    """Payment details (fingerprinted) sent from a domain: ``routing:3f2a...``."""

    fingerprint: str  # "<kind>:<salted hash>", kind in iban | account | routing | sortcode | swift
    messages: int
    first_seen: datetime | None
    last_seen: datetime | None
    sender: str  # the address that first sent it

    @property
    def kind(self) -> str:
        return self.fingerprint.partition(":")[0]


@dataclass(frozen=True, slots=True)
class BaselineView:
    """Everything behavioral signals need for ONE message, fetched in one call before they run."""

    sender: SenderProfile
    sender_domain: DomainProfile
    pairs: tuple[PairHistory, ...] = ()  # one per recipient (To + Cc, deduplicated), in order
    recipients: tuple[RecipientProfile, ...] = ()  # same order as `pairs`
    # addresses the From display name has used (then those it is derived from, `derived`)
    name_addresses: tuple[AddressUse, ...] = ()
    name_overflow: int = 0  # further addresses that name used, past the kept ones
    reply_to: tuple[SenderProfile, ...] = ()  # history of each Reply-To address (not the sender)
    payments: tuple[PaymentUse, ...] = ()  # payment fingerprints seen from the sender's domain
    now: datetime | None = None  # the message's Date the recent windows are relative to
    already_learned: bool = False  # this Message-ID was learned before (a rescan): the view
    # then includes the message itself
    # The message claims to continue a thread (`MessageKeys.claims_reply`). With In-Reply-To /
    # References: True when one of those messages was learned as history (the organisation had
    # that thread), False when none was (or only as malicious mail). With only a RE:/FW:
    # subject: True when a conversation with that subject was learned with the same outside
    # party (see `observation.thread_subject`), else False; None for such a subject on mail
    # that stays inside the organisation. None when it claims no thread. Meaningful where the
    # organisation's own mail is learned (see `RecipientProfile.first_sent`).
    thread_known: bool | None = None
    # The domains the organisation corresponds with, as they stood before this message (a
    # snapshot: learning later does not change it); `.lookalike(host)` names the one `host`
    # imitates.
    correspondents: Correspondents = field(default=NO_CORRESPONDENTS, compare=False)

    @property
    def address_names(self) -> tuple[str, ...]:
        """The display names the From address has used."""
        return self.sender.names

    @property
    def hours(self) -> tuple[int, ...]:
        """The sender's send-hour histogram (24 buckets), () when nothing dated was learned."""
        return self.sender.hours

    def pair(self, recipient: str) -> PairHistory | None:
        for pair in self.pairs:
            if pair.recipient == recipient:
                return pair
        return None


def empty_view(sender: str = "", domain: str = "", now: datetime | None = None) -> BaselineView:
    return BaselineView(SenderProfile(sender), DomainProfile(domain), now=now)
