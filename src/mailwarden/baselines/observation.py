"""What a baseline learns from one message, and the keys it looks up for it. Pure: no I/O.

`message_keys(message, tenant)` is what the engine needs *before* scoring (to fetch the
`BaselineView`); `observe(message, tenant, verdict, keys=...)` adds what is learned *after*
scoring (the verdict, the Message-ID for idempotence, send hour, payment fingerprints).

Bad input is data:
- a missing or impossible Date (the parser gives None for years outside 1970..2100): the message
  still counts (messages, recipients, names, payment details) but moves no dates, recent windows,
  active days or send hours; `problems` says ``no-date``;
- a missing or malformed From: nothing is learned about a sender (no sender, pair, domain or name
  history), recipients still count what they received; ``no-from`` / ``malformed-from``;
- malformed recipient or Reply-To addresses are dropped (``malformed-recipient``,
  ``malformed-reply-to``); duplicates in To + Cc count once.

Two things are derived from a message for the baseline beyond its addresses:
- a *derived name*: an organisation address without a display name whose local part is shaped
  like a person's name (``jeff.skilling``, ``mary_smith-jones``, ``ana.m.lopez``: 2-3 parts of
  letters joined by ``.`` or ``_``, no role words such as ``accounts.payable``) is learned as a
  weaker name of that address, normalised as display names are (``jeff skilling``);
- *thread subjects*: the subject without its RE:/FW: prefixes, hashed (salted with the tenant id)
  together with the outside party the conversation is with (the external sender's registrable
  domain; for the organisation's own mail, its external recipients' domains; none for mail
  that stays inside), so a reply with no In-Reply-To/References can still be matched to a
  conversation that party had.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from mailwarden.message import Address, Message
from mailwarden.tenant import Tenant, normalise_name

# What a recipient list may hold before the rest is ignored (a newsletter to 5,000 addresses
# must not cost 5,000 pair updates per message).
MAX_RECIPIENTS = 50
MAX_REPLY_TO = 3
MAX_PAYMENT_FINGERPRINTS = 8
MAX_THREAD_REFS = 4
MAX_THREAD_SCOPES = 4  # parties a thread subject is learned for (see `thread_subjects`)

_BAD_ADDRESS_CHARS = re.compile(r"[\s<>()\[\],;:\"\\]")


@dataclass(frozen=True, slots=True)
class MessageKeys:
    """The lookup keys of one message: who wrote to whom, under which name, when."""

    sender: str  # From address, lower-cased; "" when missing or malformed
    sender_domain: str
    sender_registrable: str
    sender_name: str  # normalised display name ("" when none)
    sender_internal: bool  # From is in one of the tenant's domains
    recipients: tuple[str, ...]  # To + Cc, deduplicated, well-formed only
    recipient_registrables: tuple[str, ...]
    recipient_roles: tuple[tuple[str, ...], ...]  # tenant roles per recipient
    recipient_internal: tuple[bool, ...]
    reply_to: tuple[str, ...]  # Reply-To addresses other than the sender
    when: datetime | None  # the Date, UTC; None when missing or impossible
    message_id: str = ""  # idempotence key: Message-ID, else "sha256:<raw hash>"; "" = none
    problems: tuple[str, ...] = ()
    # Message-IDs this message answers: In-Reply-To, then the newest References (a few)
    thread: tuple[str, ...] = ()
    # The message says it continues a conversation: it has In-Reply-To / References, or its
    # subject starts with RE:/FW: (or a translation)
    claims_reply: bool = False
    # Its conversation (subject without prefixes) with each outside party, salted hashes; ()
    # for mail that stays inside the organisation
    thread_subjects: tuple[str, ...] = ()
    # For an organisation sender without a display name: the name its address spells ("" none)
    sender_derived_name: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """What one message teaches the baseline of `tenant`."""

    tenant: str
    verdict: str  # safe | spam | suspicious | malicious
    keys: MessageKeys
    hour: int | None = None  # send hour in the sender's own UTC offset (0..23)
    payment: tuple[str, ...] = ()  # payment detail fingerprints found in the body

    @property
    def message_id(self) -> str:
        return self.keys.message_id

    @property
    def malicious(self) -> bool:
        return self.verdict in UNTRUSTED_VERDICTS


# Mail with these verdicts never becomes known-good history: it is learned only into the
# "seen but bad" counters, so an attacker cannot warm up a sender by mailing first.
UNTRUSTED_VERDICTS = frozenset({"malicious"})


# RE:/FW: and their translations (AW: Antwort, WG: Weitergeleitet, TR: transféré, RES/ENC: pt),
# after an optional [tag]; the subject signals share it.
REPLY_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:re|fw|fwd|aw|wg|tr|rv|sv|vs|antw|res|enc|r)\s*"
    r"(?:\[\d+\])?\s*[:：]",
    re.IGNORECASE,
)
_SUBJECT_TAG = re.compile(r"^\s*\[[^\]]{0,40}\]")
MAX_SUBJECT_PREFIXES = 8


def thread_subject(subject: str) -> tuple[bool, str]:
    """Whether `subject` says it is a reply or forward, and the conversation's subject: without
    RE:/FW:/[tag] prefixes, lower-cased, spaces collapsed (``RE: Fw: [Ext] Q3  Invoice`` ->
    ``(True, "q3 invoice")``)."""
    claims = False
    rest = subject
    for _ in range(MAX_SUBJECT_PREFIXES):
        match = REPLY_PREFIX.match(rest)
        if match:
            claims = True
            rest = rest[match.end() :]
            continue
        tag = _SUBJECT_TAG.match(rest)
        if tag is None:
            break
        rest = rest[tag.end() :]
    return claims, " ".join(rest.lower().split())


_NAME_PART = r"[a-z]+(?:['-][a-z]+)?"
_NAME_LOCAL = re.compile(rf"({_NAME_PART})[._](?:({_NAME_PART})[._])?({_NAME_PART})")
# Words that make a local part a mailbox or a role, not a person: accounts.payable@,
# it.support@, no.reply@ would otherwise teach "accounts payable" as a colleague's name.
ROLE_WORDS = frozenset(
    {"accounts", "account", "payable", "receivable", "billing", "invoice", "invoices", "finance",
     "payroll", "human", "resources", "hr", "it", "help", "helpdesk", "desk", "service",
     "services", "support", "customer", "customers", "client", "clients", "sales", "info",
     "admin", "administrator", "office", "team", "group", "mail", "email", "no", "noreply",
     "reply", "do", "not", "donotreply", "notifications", "notification", "alerts", "alert",
     "news", "newsletter", "marketing", "press", "media", "legal", "security", "system",
     "postmaster", "webmaster", "abuse", "hostmaster", "root", "operations", "ops", "dept",
     "department", "the", "and", "of", "for", "at", "all", "staff", "employees", "corporate",
     "communications", "public", "relations", "investor", "treasury", "procurement",
     "purchasing", "vendor", "vendors", "orders", "order", "shipping", "reception", "front",
     "contact", "enquiries", "inquiries", "careers", "jobs", "recruiting", "test", "user"}
)  # fmt: skip


def derived_name(local: str) -> str:
    """The person's name an address's local part spells (``jeff.skilling`` -> ``jeff
    skilling``), normalised as display names are; "" when it is not shaped like one: 2-3 parts
    of letters (a part may hold one inner hyphen or apostrophe) joined by ``.`` or ``_``, first
    and last of 2+ letters, none a role word."""
    match = _NAME_LOCAL.fullmatch(local.lower())
    if match is None:
        return ""
    first, middle, last = match.groups()
    if len(first) < 2 or len(last) < 2:
        return ""
    parts = (first, middle, last) if middle else (first, last)
    if any(part in ROLE_WORDS for part in parts):
        return ""
    return normalise_name(" ".join(parts))


def _subject_key(salt: bytes, party: str, subject: str) -> str:
    data = f"{party}\x00{subject}".encode()
    return hashlib.blake2b(data, digest_size=8, key=salt[:64]).hexdigest()


def valid_address(addr: str) -> bool:
    local, at, domain = addr.rpartition("@")
    return bool(
        at
        and 0 < len(local) <= 64
        and 0 < len(domain) <= 253
        and "@" not in local
        and not _BAD_ADDRESS_CHARS.search(addr)
        and not domain.startswith(".")
        and not domain.endswith(".")
    )


def message_keys(message: Message, tenant: Tenant, fallback_id: str = "") -> MessageKeys:
    """The lookup keys of `message`; `fallback_id` (e.g. the raw bytes' sha256) keys
    idempotence when the message has no Message-ID."""
    problems: list[str] = []
    from_ = message.from_
    sender: Address | None = None
    if from_ is None or not from_.addr:
        problems.append("no-from")
    elif not valid_address(from_.addr):
        problems.append("malformed-from")
    else:
        sender = from_
    recipients: list[str] = []
    registrables: list[str] = []
    roles: list[tuple[str, ...]] = []
    internal: list[bool] = []
    seen: set[str] = set()
    for rcpt in message.recipients:
        addr = rcpt.addr
        if addr in seen:
            continue
        if not valid_address(addr):
            if "malformed-recipient" not in problems:
                problems.append("malformed-recipient")
            continue
        seen.add(addr)
        if len(recipients) >= MAX_RECIPIENTS:
            continue
        recipients.append(addr)
        registrables.append(rcpt.registrable or rcpt.domain)
        person = tenant.person_by_address(addr)
        roles.append(tuple(person.roles) if person else ())
        internal.append(tenant.is_internal_domain(rcpt.domain))
    reply_to: list[str] = []
    for rt in message.reply_to:
        if sender is not None and rt.addr == sender.addr:
            continue
        if not valid_address(rt.addr):
            if "malformed-reply-to" not in problems:
                problems.append("malformed-reply-to")
            continue
        if rt.addr not in reply_to and len(reply_to) < MAX_REPLY_TO:
            reply_to.append(rt.addr)
    when = message.date
    if when is None or not 1970 <= when.year <= 2100:
        problems.append("no-date")
        when = None
    else:
        when = when.astimezone(UTC)
    name = normalise_name(sender.name) if sender is not None and sender.name else ""
    sender_internal = bool(sender and tenant.is_internal_domain(sender.domain))
    derived = ""
    if sender is not None and sender_internal and (not name or "@" in sender.name):
        derived = derived_name(sender.local or sender.addr.rpartition("@")[0])
    mid = message.message_id.strip()
    message_id = mid if mid else (f"sha256:{fallback_id}" if fallback_id else "")
    thread: list[str] = []
    for ref in (message.in_reply_to, *reversed(message.references)):
        ref = ref.strip()
        if ref and ref != mid and ref not in thread and len(thread) < MAX_THREAD_REFS:
            thread.append(ref)
    claims, conversation = thread_subject(message.subject)
    subjects: list[str] = []
    if conversation and sender is not None:
        # The outside party the conversation is with: the sender, or for the organisation's own
        # mail its outside recipients. Conversations inside the organisation are not kept (they
        # are most of its mail; its replies are judged by Message-ID alone).
        if sender_internal:
            outside = [r for r, inside in zip(registrables, internal, strict=True) if not inside]
            parties = list(dict.fromkeys(outside))[:MAX_THREAD_SCOPES]
        else:
            parties = [sender.registrable or sender.domain]
        salt = tenant.id.encode()
        subjects = [_subject_key(salt, party, conversation) for party in parties]
    return MessageKeys(
        sender=sender.addr if sender else "",
        sender_domain=sender.domain if sender else "",
        sender_registrable=(sender.registrable or sender.domain) if sender else "",
        sender_name=name,
        sender_internal=sender_internal,
        recipients=tuple(recipients),
        recipient_registrables=tuple(registrables),
        recipient_roles=tuple(roles),
        recipient_internal=tuple(internal),
        reply_to=tuple(reply_to),
        when=when,
        message_id=message_id,
        problems=tuple(problems),
        thread=tuple(thread),
        claims_reply=claims or bool(thread),
        thread_subjects=tuple(subjects),
        sender_derived_name=derived,
    )


def observe(
    message: Message,
    tenant: Tenant,
    verdict: str,
    *,
    keys: MessageKeys | None = None,
    fallback_id: str = "",
    salt: bytes | None = None,
) -> Observation:
    """The observation of a scored message (`keys` when already computed for its view).
    `salt` keys the payment fingerprints (default: the tenant id, so they differ between
    tenants; pass a secret for fingerprints that cannot be brute-forced from the store)."""
    keys = keys if keys is not None else message_keys(message, tenant, fallback_id)
    date = message.date
    hour = date.hour if keys.when is not None and date is not None else None
    payment: tuple[str, ...] = ()
    if keys.sender:
        payment = payment_fingerprints(
            message.searchable,
            salt if salt is not None else tenant.id.encode(),
        )
    return Observation(tenant.id, verdict, keys, hour, payment)


# --- payment details --------------------------------------------------------------------------

# Each pattern runs only where its label appears (found with str.find, which is far cheaper
# than a regex over the body): most mail names none, and then nothing else runs. Text is the
# message's lower-cased `searchable` text.
_NUMBER_LABEL = r"(?:\s*(?:number|num|no\.?|#|nr\.?))?\s*[:#.=-]?\s*"
_AFTER_LABEL: dict[str, tuple[str, re.Pattern[str]]] = {
    "iban": (
        "iban",
        re.compile(
            r"iban" + _NUMBER_LABEL + r"([a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?)\b"
        ),
    ),
    "account": ("account", re.compile(r"account" + _NUMBER_LABEL + r"(\d[\d -]{4,20}\d)\b")),
    "acct": ("account", re.compile(r"acct" + _NUMBER_LABEL + r"(\d[\d -]{4,20}\d)\b")),
    "a/c": ("account", re.compile(r"a/c" + _NUMBER_LABEL + r"(\d[\d -]{4,20}\d)\b")),
    "routing": ("routing", re.compile(r"routing" + _NUMBER_LABEL + r"(\d{9})\b")),
    "aba": ("routing", re.compile(r"aba" + _NUMBER_LABEL + r"(\d{9})\b")),
    "sort": ("sortcode", re.compile(r"sort[ -]?code\s*[:#.=-]?\s*(\d{2}[ -]?\d{2}[ -]?\d{2})\b")),
    "swift": (
        "swift",
        re.compile(
            r"swift(?:\s*(?:code|number|no\.?))?\s*[:#.=-]?\s*([a-z]{6}[a-z0-9]{2}(?:[a-z0-9]{3})?)\b"
        ),
    ),
    "bic": (
        "swift",
        re.compile(
            r"bic(?:\s*(?:code|number|no\.?))?\s*[:#.=-]?\s*([a-z]{6}[a-z0-9]{2}(?:[a-z0-9]{3})?)\b"
        ),
    ),
}
_MAX_PER_LABEL = 20


def _iban_ok(iban: str) -> bool:
    if not 15 <= len(iban) <= 34:
        return False
    moved = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in moved)
    return int(digits) % 97 == 1


def _normalise(kind: str, value: str) -> str:
    if kind in ("iban", "swift"):
        value = value.replace(" ", "").upper()
        if kind == "iban" and not _iban_ok(value):
            return ""
        return value[:8] if kind == "swift" else value
    digits = re.sub(r"\D", "", value)
    return digits if kind != "account" or 6 <= len(digits) <= 17 else ""


def payment_details(text: str) -> list[tuple[str, str]]:
    """``(kind, normalised value)`` for each bank detail written in lower-cased `text`."""
    found: list[tuple[str, str]] = []
    for label, (kind, pattern) in _AFTER_LABEL.items():
        pos = text.find(label)
        hits = 0
        while pos != -1 and hits < _MAX_PER_LABEL:
            hits += 1
            match = pattern.match(text, pos)
            if match:
                value = _normalise(kind, match.group(1))
                if value and (kind, value) not in found:
                    found.append((kind, value))
            pos = text.find(label, pos + len(label))
    return found


def payment_fingerprints(text: str, salt: bytes) -> tuple[str, ...]:
    """Salted fingerprints ``kind:hash`` of the payment details in `text`, never the numbers."""
    out: list[str] = []
    for kind, value in payment_details(text):
        digest = hashlib.blake2b(value.encode(), digest_size=8, key=salt[:64]).hexdigest()
        out.append(f"{kind}:{digest}")
        if len(out) >= MAX_PAYMENT_FINGERPRINTS:
            break
    return tuple(out)
