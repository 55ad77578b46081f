"""Synthetic business email compromise, for benchmarks and training data.

There is no public corpus of real BEC, so attacks are generated from templates with variation and
injected into a real organisation's mail stream (see `bench/bec_bench.py`). The generator knows
the organisation only as an attacker would: names and addresses of its people (from a tenant
file) and some of the outside parties it corresponds with (vendors), and it writes each attack
from parts chosen at random — greeting, pretext, ask, amount, deadline, pressure, sign-off — so no
rule can match a fixed string. Subtypes follow issue 3: VIP impersonation, vendor invoice fraud,
bank-detail change, payroll diversion, gift cards, lateral phishing from a taken-over account.

Sender kinds: ``freemail`` (a VIP's or vendor's name on gmail & co), ``lookalike`` (a domain one
edit or one homoglyph away from the organisation's or a vendor's), ``compromised`` (a real
correspondent's or employee's own address, with the tell elsewhere: a new Reply-To, a new bank
account, new recipients), ``spoofed`` (the real address in From, replies diverted).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from mailwarden.domains import registrable

SUBTYPES = (
    "vip_impersonation",
    "invoice_fraud",
    "bank_change",
    "payroll_diversion",
    "gift_card",
    "lateral_phishing",
)
FREEMAIL = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "aol.com",
    "icloud.com",
    "protonmail.com",
    "mail.com",
    "gmx.com",
    "zoho.com",
)
_HOMOGLYPHS = {"o": "0", "l": "1", "i": "1", "m": "rn", "e": "3", "a": "4", "s": "5"}


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class Org:
    domain: str
    vips: tuple[Person, ...]  # executives whose names are borrowed
    finance: tuple[Person, ...]  # people who pay invoices and wires
    hr: tuple[Person, ...]  # people who change payroll
    employees: tuple[Person, ...]  # everyone else who receives mail
    vendors: tuple[Person, ...]  # outside correspondents (name + their real address)
    other_domains: tuple[str, ...] = ()  # further domains the organisation owns


@dataclass(frozen=True, slots=True)
class Attack:
    raw: bytes
    subtype: str
    sender_kind: str
    has_link: bool
    date: datetime
    message_id: str


def lookalike(domain: str, rng: random.Random) -> str:
    """A domain one edit, one homoglyph or one added word away from `domain`'s registrable
    domain (mail.vendor.com -> vendor-inc.com): what an attacker can register."""
    label, _, suffix = registrable(domain).partition(".")
    choices = [i for i, ch in enumerate(label) if ch in _HOMOGLYPHS]
    how = rng.choice(["glyph", "double", "swap", "hyphen", "tld"] if choices else ["double", "tld"])
    if how == "glyph":
        i = rng.choice(choices)
        label = label[:i] + _HOMOGLYPHS[label[i]] + label[i + 1 :]
    elif how == "double":
        i = rng.randrange(len(label))
        label = label[:i] + label[i] + label[i:]
    elif how == "swap" and len(label) > 3:
        i = rng.randrange(1, len(label) - 2)
        label = label[:i] + label[i + 1] + label[i] + label[i + 2 :]
    elif how == "hyphen":
        label = f"{label}-{rng.choice(['corp', 'inc', 'group', 'payments', 'us', 'mail'])}"
    else:
        suffix = rng.choice(["co", "net", "org", "us", "com.co", "cm"])
    return f"{label}.{suffix}"


def _local_part(name: str, rng: random.Random) -> str:
    first, *rest = name.lower().replace("'", "").split()
    last = rest[-1] if rest else "office"
    return rng.choice(
        [
            f"{first}.{last}",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first[0]}{last}.exec",
            f"{last}.{first}.ceo",
            f"{first}.{last}.office",
            f"{first}{rng.randint(1960, 1999)}",
            f"office.{last}",
        ]
    )


def _first(name: str) -> str:
    return name.split()[0]


# --- wording ------------------------------------------------------------------------------
_GREETING = (
    "Hi {first},",
    "Hello {first},",
    "{first},",
    "Good morning {first},",
    "Hey {first}",
    "Dear {first},",
    "",
)
_AVAILABILITY = (
    "Are you at your desk?",
    "Are you available right now?",
    "Do you have a minute?",
    "Are you in the office today?",
    "I need a quick favor.",
    "Can you handle something for me discreetly?",
    "Got a moment?",
)
_PRETEXT_WIRE = (
    "We are closing the acquisition of a small firm today and I need a payment sent",
    "I need you to process a wire transfer to one of our new consultants",
    "There is an outstanding payment to a supplier that must go out",
    "Legal asked me to settle a confidential matter and I need funds transferred",
    "We have to pay the deposit on the new contract",
    "I need an urgent transfer made for a deal we are finalizing",
)
_SECRECY = (
    "Please keep this between us for now.",
    "Keep this confidential until the announcement.",
    "Don't discuss this with anyone else yet.",
    "This is sensitive, so please be discreet.",
    "",
)
_PRESSURE = (
    "It has to go out today.",
    "I need this done before 3pm.",
    "This is time sensitive.",
    "Please treat this as urgent.",
    "I'm in meetings all day, just email me when it's done.",
    "Can't talk right now, reply by email only.",
)
_SIGNOFF = ("Thanks", "Regards", "Best", "Sent from my iPhone", "Thank you", "")
_INVOICE_ASK = (
    "Please find our invoice {ref} for {amount} attached, which is now past due.",
    "Our records show invoice {ref} ({amount}) is still outstanding.",
    "Kindly arrange payment of invoice {ref} in the amount of {amount} this week.",
    "This is a reminder that {amount} on invoice {ref} is overdue.",
)
_BANK_CHANGE = (
    "Please note we have changed our bank and all future payments should go to our new account.",
    "Due to an audit our remittance details have been updated; please use the account below.",
    "Our old account is under review, so kindly update our banking details before the next run.",
    "We moved to a new bank this month. Please update the beneficiary details on file.",
)
_PAYROLL = (
    "I changed banks and need to update my direct deposit before the next payroll.",
    "Can you switch my paycheck deposit to my new account?",
    "Please update my payroll account details, my old account is closed.",
    "I would like my salary deposited into a different account starting this pay period.",
)
_GIFT = (
    "I need you to buy {count} {brand} gift cards of ${value} each for a client appreciation.",
    "Please pick up {count} {brand} cards (${value} each) for the staff awards, "
    "scratch the backs and send me pictures of the codes.",
    "I want to surprise some of the team with gift cards. Get {count} {brand} cards at "
    "${value} each and email me the codes.",
)
_LATERAL = (
    "Please review the shared document before our meeting: {link}",
    "I've shared the updated {doc} with you, sign in to view it here {link}",
    "Your {doc} is ready for signature: {link}",
    "Can you check the attached {doc} on the portal and confirm? {link}",
)
_DOCS = (
    "Q3 budget",
    "bonus schedule",
    "contract draft",
    "benefits update",
    "org chart",
    "expense report",
    "payment approval",
)
_GIFT_BRANDS = ("Apple", "Amazon", "Google Play", "Steam", "Target", "Visa", "iTunes")
_LINK_HOSTS = (
    "{look}/secure/login",
    "docs-share.{look}/view",
    "{look}.web.app/auth",
    "login-{label}.firebaseapp.com/s",
    "bit.ly/{code}",
    "{look}/portal/invoice",
)


def _amount(rng: random.Random) -> str:
    return f"${rng.choice([12, 18, 23, 38, 47, 64, 92, 148]) * 1000 + rng.randint(0, 999) * 5:,}"


def _bank_block(rng: random.Random) -> str:
    routing = "".join(str(rng.randint(0, 9)) for _ in range(9))
    account = "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(8, 12)))
    bank = rng.choice(["Chase", "Wells Fargo", "Bank of America", "Citibank", "TD Bank", "Regions"])
    return f"Bank: {bank}\nRouting number: {routing}\nAccount number: {account}"


@dataclass
class _Draft:
    from_name: str
    from_addr: str
    to: Sequence[Person]
    subject: str
    body: str
    sender_kind: str
    reply_to: str = ""
    link: str = ""


class Generator:
    """`Generator(org, seed).attack(subtype, when)` writes one attack; `many()` a mix."""

    def __init__(self, org: Org, seed: int = 0) -> None:
        self.org = org
        self.rng = random.Random(seed)
        self.count = 0
        # A "lookalike" that is really one of the organisation's or a vendor's own domains
        # (enron.com -> enron.net) would be an impersonation of nobody.
        self._real_domains = {org.domain, *org.other_domains} | {
            v.address.rpartition("@")[2] for v in org.vendors
        }

    def _lookalike(self, domain: str) -> str:
        for _ in range(20):
            candidate = lookalike(domain, self.rng)
            if candidate not in self._real_domains:
                return candidate
        raise ValueError(f"no lookalike of {domain} that is not a real domain")

    def many(self, n: int, start: datetime, end: datetime) -> list[Attack]:
        """`n` attacks spread evenly over the subtypes, at random times in [start, end)."""
        span = (end - start).total_seconds()
        attacks = []
        for i in range(n):
            when = start + timedelta(seconds=self.rng.uniform(0, span))
            attacks.append(self.attack(SUBTYPES[i % len(SUBTYPES)], when))
        return attacks

    def attack(self, subtype: str, when: datetime) -> Attack:
        draft = getattr(self, f"_{subtype}")()
        self.count += 1
        return self._render(draft, subtype, when)

    # --- subtypes -------------------------------------------------------------------------
    def _impersonated_sender(
        self, person: Person, allow_spoof: bool = True
    ) -> tuple[str, str, str]:
        """(address, kind, reply_to) for a message claiming to be `person`."""
        rng = self.rng
        kinds = ["freemail", "freemail", "lookalike"] + (["spoofed"] if allow_spoof else [])
        kind = rng.choice(kinds)
        if kind == "freemail":
            return f"{_local_part(person.name, rng)}@{rng.choice(FREEMAIL)}", kind, ""
        domain = person.address.rpartition("@")[2]
        if kind == "lookalike":
            return f"{person.address.partition('@')[0]}@{self._lookalike(domain)}", kind, ""
        reply = f"{_local_part(person.name, rng)}@{rng.choice(FREEMAIL)}"
        return person.address, kind, reply

    def _vip_impersonation(self) -> _Draft:
        rng, org = self.rng, self.org
        vip = rng.choice(org.vips)
        target = rng.choice(org.finance + org.employees[:20])
        addr, kind, reply = self._impersonated_sender(vip)
        lines = [
            rng.choice(_GREETING).format(first=_first(target.name)),
            rng.choice(_AVAILABILITY),
            f"{rng.choice(_PRETEXT_WIRE)} ({_amount(rng)}).",
            rng.choice(_SECRECY),
            rng.choice(_PRESSURE),
            "I'll send the beneficiary details once you confirm.",
            rng.choice(_SIGNOFF),
            _first(vip.name),
        ]
        subject = rng.choice(
            [
                "Urgent",
                "Quick request",
                "Wire",
                "Are you available?",
                "Confidential",
                "Payment today",
                "Request",
                "RE: follow up",
            ]
        )
        return _Draft(vip.name, addr, [target], subject, "\n".join(lines), kind, reply)

    def _vendor_sender(self) -> tuple[Person, str, str, str]:
        """(vendor, from address, kind, reply-to) for mail claiming to be a known vendor."""
        rng = self.rng
        vendor = rng.choice(self.org.vendors)
        domain = vendor.address.rpartition("@")[2]
        kind = rng.choice(["lookalike", "lookalike", "freemail", "compromised"])
        if kind == "lookalike":
            return vendor, f"{vendor.address.partition('@')[0]}@{self._lookalike(domain)}", kind, ""
        if kind == "freemail":
            return vendor, f"{_local_part(vendor.name, rng)}@{rng.choice(FREEMAIL)}", kind, ""
        # A taken-over vendor mailbox: the real address, replies diverted to the attacker.
        reply = f"{_local_part(vendor.name, rng)}@{rng.choice(FREEMAIL)}"
        return vendor, vendor.address, kind, reply

    def _invoice_fraud(self) -> _Draft:
        rng = self.rng
        vendor, addr, kind, reply = self._vendor_sender()
        target = rng.choice(self.org.finance)
        ref = f"{rng.choice(['INV', 'Invoice #', 'No. ', 'INV-'])}{rng.randint(1000, 99999)}"
        with_link = rng.random() < 0.5
        link = ""
        if with_link:
            label = vendor.address.rpartition("@")[2].partition(".")[0]
            host = rng.choice(_LINK_HOSTS).format(
                look=self._lookalike(vendor.address.rpartition("@")[2]),
                label=label,
                code=f"{rng.randint(10**5, 10**6)}",
            )
            link = f"https://{host}"
        lines = [
            rng.choice(_GREETING).format(first=_first(target.name)),
            rng.choice(_INVOICE_ASK).format(ref=ref, amount=_amount(rng)),
            f"You can view and pay the invoice here: {link}" if link else _bank_block(rng),
            rng.choice(_PRESSURE),
            rng.choice(_SIGNOFF),
            vendor.name,
        ]
        subject = rng.choice(
            [
                f"Overdue invoice {ref}",
                f"Payment reminder {ref}",
                f"{ref} past due",
                "Outstanding balance",
                "Invoice",
            ]
        )
        return _Draft(vendor.name, addr, [target], subject, "\n".join(lines), kind, reply, link)

    def _bank_change(self) -> _Draft:
        rng = self.rng
        vendor, addr, kind, reply = self._vendor_sender()
        target = rng.choice(self.org.finance)
        lines = [
            rng.choice(_GREETING).format(first=_first(target.name)),
            rng.choice(_BANK_CHANGE),
            _bank_block(rng),
            rng.choice(
                [
                    "Please confirm once updated.",
                    "Kindly confirm receipt of this notice.",
                    "Let me know when the change is made.",
                ]
            ),
            rng.choice(_PRESSURE),
            rng.choice(_SIGNOFF),
            vendor.name,
        ]
        subject = rng.choice(
            [
                "Updated banking details",
                "Change of bank account",
                "New remittance information",
                "Important: payment details",
            ]
        )
        return _Draft(vendor.name, addr, [target], subject, "\n".join(lines), kind, reply)

    def _payroll_diversion(self) -> _Draft:
        rng, org = self.rng, self.org
        employee = rng.choice(org.employees + org.vips)
        target = rng.choice(org.hr or org.finance)
        addr, kind, reply = self._impersonated_sender(employee)
        lines = [
            rng.choice(_GREETING).format(first=_first(target.name)),
            rng.choice(_PAYROLL),
            rng.choice(
                [
                    "What information do you need from me?",
                    "I can send the new details now.",
                    _bank_block(rng),
                ]
            ),
            rng.choice(["Please make it effective for this pay period.", rng.choice(_PRESSURE)]),
            rng.choice(_SIGNOFF),
            _first(employee.name),
        ]
        subject = rng.choice(
            [
                "Direct deposit",
                "Payroll update",
                "Change my deposit account",
                "Paycheck",
                "Bank details change",
            ]
        )
        return _Draft(employee.name, addr, [target], subject, "\n".join(lines), kind, reply)

    def _gift_card(self) -> _Draft:
        rng, org = self.rng, self.org
        vip = rng.choice(org.vips)
        target = rng.choice(org.employees + org.finance)
        addr, kind, reply = self._impersonated_sender(vip)
        lines = [
            rng.choice(_GREETING).format(first=_first(target.name)),
            rng.choice(_AVAILABILITY),
            rng.choice(_GIFT).format(
                count=rng.choice([4, 5, 6, 8, 10]),
                brand=rng.choice(_GIFT_BRANDS),
                value=rng.choice([100, 200, 250, 500]),
            ),
            rng.choice(_SECRECY),
            "I'll reimburse you later today.",
            rng.choice(_SIGNOFF),
            _first(vip.name),
        ]
        subject = rng.choice(["Quick favor", "Request", "Are you around?", "Gift cards", "Task"])
        return _Draft(vip.name, addr, [target], subject, "\n".join(lines), kind, reply)

    def _lateral_phishing(self) -> _Draft:
        rng, org = self.rng, self.org
        # A real employee's own mailbox, taken over, writing to colleagues it rarely mails.
        sender = rng.choice(org.employees)
        targets = rng.sample(list(org.employees + org.finance), k=min(8, len(org.employees)))
        targets = [t for t in targets if t.address != sender.address][: rng.randint(3, 7)]
        label = org.domain.partition(".")[0]
        host = rng.choice(_LINK_HOSTS).format(
            look=self._lookalike(org.domain), label=label, code=f"{rng.randint(10**5, 10**6)}"
        )
        link = f"https://{host}"
        doc = rng.choice(_DOCS)
        lines = [
            rng.choice(["Hi all,", "Team,", "Hello,", "Hi everyone,", ""]),
            rng.choice(_LATERAL).format(link=link, doc=doc),
            rng.choice(
                [
                    "Use your network password to sign in.",
                    "You will need to log in with your email credentials.",
                    "Please verify your account to open it.",
                    "",
                ]
            ),
            rng.choice(_SIGNOFF),
            _first(sender.name),
        ]
        subject = rng.choice(
            [
                f"Shared: {doc}",
                f"{doc.title()}",
                "Document for review",
                "Please review",
                f"Action required: {doc}",
            ]
        )
        return _Draft(
            sender.name, sender.address, targets, subject, "\n".join(lines), "compromised", "", link
        )

    # --- rendering ------------------------------------------------------------------------
    def _render(self, draft: _Draft, subtype: str, when: datetime) -> Attack:
        rng = self.rng
        domain = draft.from_addr.rpartition("@")[2]
        message_id = f"{rng.getrandbits(64):016x}.{self.count}@{domain}"
        to = ", ".join(f'"{p.name}" <{p.address}>' for p in draft.to)
        headers = [
            f'From: "{draft.from_name}" <{draft.from_addr}>',
            f"To: {to}",
            f"Subject: {draft.subject}",
            f"Date: {format_datetime(when)}",
            f"Message-ID: <{message_id}>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ]
        if draft.reply_to:
            headers.insert(2, f"Reply-To: {draft.reply_to}")
        body = "\n".join(line for line in draft.body.splitlines() if line) + "\n"
        raw = ("\n".join(headers) + "\n\n" + body).encode("utf-8")
        return Attack(raw, subtype, draft.sender_kind, bool(draft.link), when, message_id)
