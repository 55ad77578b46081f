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

All wording lives in a `Phrasebook`. `DEV` is the wording the detection rules were written
against (what this generator always wrote: same seed, same bytes); `mailwarden.synth.bec_holdout`
holds `HOLDOUT`, written separately, as another crew would write it, so a benchmark can report
recall on wording the rule authors never saw. A phrasebook's optional slots (bridges, quoted
threads, HTML bodies, mobile signatures, typos) are empty or zero in `DEV`, and an empty slot
draws nothing from the random stream.
"""

from __future__ import annotations

import html
import random
import re
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


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """Everything an attack says, slot by slot. Templates use ``str.format`` placeholders; each
    slot's docstring-comment names the ones it may use. Slots of one element are used without a
    random draw, empty optional slots are skipped without one, and rates of 0 draw nothing."""

    name: str
    # --- senders
    freemail: tuple[str, ...]  # free-mail domains used for impersonation
    local_parts: tuple[str, ...]  # {first} {last} {f} {l} {n} (1..99) {year} (1960..1999)
    homoglyphs: tuple[tuple[str, str], ...]  # letter -> look-alike, for lookalike domains
    lookalike_tricks: tuple[str, ...]  # glyph double swap hyphen drop affix prefix tld
    lookalike_fallback: tuple[str, ...]  # tricks when the label has no homoglyph letter
    lookalike_words: tuple[str, ...]  # for hyphen / affix / prefix
    lookalike_tlds: tuple[str, ...]
    # --- shared
    greetings: tuple[str, ...]  # {first}
    openers: tuple[str, ...]  # VIP and gift-card openers
    secrecy: tuple[str, ...]
    pressure: tuple[str, ...]
    signoffs: tuple[str, ...]
    signatures: tuple[str, ...]  # a person's name line(s): {first} {full} {initials}
    vendor_signatures: tuple[str, ...]  # {name} {company}
    # --- layouts: (subtype, space-separated parts); parts are named in each subtype's method
    layouts: tuple[tuple[str, str], ...]
    # --- VIP impersonation
    vip_pretexts: tuple[str, ...]  # {amount} {lawyer} {firm}
    vip_wire_lines: tuple[str, ...]  # {pretext} {amount}
    vip_followups: tuple[str, ...]
    vip_subjects: tuple[str, ...]
    # --- invoice fraud
    invoice_refs: tuple[str, ...]  # {n} (1000..99999) {year} {m}
    invoice_asks: tuple[str, ...]  # {ref} {amount}
    invoice_link_rate: float
    invoice_link_lines: tuple[str, ...]  # {link}
    invoice_subjects: tuple[str, ...]  # {ref} {company}
    # --- bank-detail change
    bank_change: tuple[str, ...]  # {company}
    bank_confirm: tuple[str, ...]
    bank_subjects: tuple[str, ...]  # {company}
    # --- payroll diversion
    payroll: tuple[str, ...]
    payroll_followups: tuple[str, ...]  # {bank}
    payroll_closers: tuple[str, ...]  # {pressure}
    payroll_subjects: tuple[str, ...]
    # --- gift cards
    gift_asks: tuple[str, ...]  # {count} {brand} {value} {total}
    gift_brands: tuple[str, ...]
    gift_counts: tuple[int, ...]
    gift_values: tuple[int, ...]
    gift_followups: tuple[str, ...]
    gift_subjects: tuple[str, ...]
    # --- lateral phishing
    lateral_greetings: tuple[str, ...]
    lateral_asks: tuple[str, ...]  # {link} {doc}
    lateral_logins: tuple[str, ...]
    lateral_subjects: tuple[str, ...]  # {doc} {doc_title}
    documents: tuple[str, ...]
    link_hosts: tuple[str, ...]  # {look} {label} {code}; lazily {cid} {hex} {token} {email}
    # --- money
    amount_bases: tuple[int, ...]  # thousands
    amount_formats: tuple[str, ...]  # {n} {cents}
    banks: tuple[str, ...]
    bank_blocks: tuple[str, ...]  # {bank} {routing} {account} {company}; lazily {fbank} {iban}
    # {swift} {country} {sort} {account8} {tail}
    # --- optional (empty / zero in DEV)
    bridges: tuple[str, ...] = ()  # between a VIP's opener and the ask
    vip_extra_asks: tuple[str, ...] = ()  # {first}
    foreign_banks: tuple[str, ...] = ()  # "CC|bank name": {fbank} {country} {iban} {swift}
    lawyers: tuple[str, ...] = ()
    law_firms: tuple[str, ...] = ()
    link_anchors: tuple[str, ...] = ()  # HTML anchor text for the link
    mobile_signatures: tuple[str, ...] = ()
    quote_headers: tuple[str, ...] = ()  # {name} {addr} {date} {subject} {to}
    quoted: tuple[tuple[str, str, str], ...] = ()  # (subtype, "target"|"persona", text)
    reply_prefixes: tuple[str, ...] = ()
    paragraphs: bool = False  # a blank line between parts
    html_rate: float = 0.0
    quote_rate: float = 0.0
    mobile_rate: float = 0.0
    typo_rate: float = 0.0


DEV = Phrasebook(
    name="dev",
    freemail=FREEMAIL,
    local_parts=(
        "{first}.{last}",
        "{first}{last}{n}",
        "{f}{last}.exec",
        "{last}.{first}.ceo",
        "{first}.{last}.office",
        "{first}{year}",
        "office.{last}",
    ),
    homoglyphs=tuple(_HOMOGLYPHS.items()),
    lookalike_tricks=("glyph", "double", "swap", "hyphen", "tld"),
    lookalike_fallback=("double", "tld"),
    lookalike_words=("corp", "inc", "group", "payments", "us", "mail"),
    lookalike_tlds=("co", "net", "org", "us", "com.co", "cm"),
    greetings=(
        "Hi {first},",
        "Hello {first},",
        "{first},",
        "Good morning {first},",
        "Hey {first}",
        "Dear {first},",
        "",
    ),
    openers=(
        "Are you at your desk?",
        "Are you available right now?",
        "Do you have a minute?",
        "Are you in the office today?",
        "I need a quick favor.",
        "Can you handle something for me discreetly?",
        "Got a moment?",
    ),
    secrecy=(
        "Please keep this between us for now.",
        "Keep this confidential until the announcement.",
        "Don't discuss this with anyone else yet.",
        "This is sensitive, so please be discreet.",
        "",
    ),
    pressure=(
        "It has to go out today.",
        "I need this done before 3pm.",
        "This is time sensitive.",
        "Please treat this as urgent.",
        "I'm in meetings all day, just email me when it's done.",
        "Can't talk right now, reply by email only.",
    ),
    signoffs=("Thanks", "Regards", "Best", "Sent from my iPhone", "Thank you", ""),
    signatures=("{first}",),
    vendor_signatures=("{name}",),
    layouts=(
        ("vip_impersonation", "greeting opener bridge ask secrecy pressure followup extra sign"),
        ("invoice_fraud", "greeting ask pay pressure sign"),
        ("bank_change", "greeting notice block confirm pressure sign"),
        ("payroll_diversion", "greeting ask followup closer sign"),
        ("gift_card", "greeting opener bridge ask secrecy followup sign"),
        ("lateral_phishing", "greeting ask login sign"),
    ),
    vip_pretexts=(
        "We are closing the acquisition of a small firm today and I need a payment sent",
        "I need you to process a wire transfer to one of our new consultants",
        "There is an outstanding payment to a supplier that must go out",
        "Legal asked me to settle a confidential matter and I need funds transferred",
        "We have to pay the deposit on the new contract",
        "I need an urgent transfer made for a deal we are finalizing",
    ),
    vip_wire_lines=("{pretext} ({amount}).",),
    vip_followups=("I'll send the beneficiary details once you confirm.",),
    vip_subjects=(
        "Urgent",
        "Quick request",
        "Wire",
        "Are you available?",
        "Confidential",
        "Payment today",
        "Request",
        "RE: follow up",
    ),
    invoice_refs=("INV{n}", "Invoice #{n}", "No. {n}", "INV-{n}"),
    invoice_asks=(
        "Please find our invoice {ref} for {amount} attached, which is now past due.",
        "Our records show invoice {ref} ({amount}) is still outstanding.",
        "Kindly arrange payment of invoice {ref} in the amount of {amount} this week.",
        "This is a reminder that {amount} on invoice {ref} is overdue.",
    ),
    invoice_link_rate=0.5,
    invoice_link_lines=("You can view and pay the invoice here: {link}",),
    invoice_subjects=(
        "Overdue invoice {ref}",
        "Payment reminder {ref}",
        "{ref} past due",
        "Outstanding balance",
        "Invoice",
    ),
    bank_change=(
        "Please note we have changed our bank and all future payments should go to our new "
        "account.",
        "Due to an audit our remittance details have been updated; please use the account below.",
        "Our old account is under review, so kindly update our banking details before the next "
        "run.",
        "We moved to a new bank this month. Please update the beneficiary details on file.",
    ),
    bank_confirm=(
        "Please confirm once updated.",
        "Kindly confirm receipt of this notice.",
        "Let me know when the change is made.",
    ),
    bank_subjects=(
        "Updated banking details",
        "Change of bank account",
        "New remittance information",
        "Important: payment details",
    ),
    payroll=(
        "I changed banks and need to update my direct deposit before the next payroll.",
        "Can you switch my paycheck deposit to my new account?",
        "Please update my payroll account details, my old account is closed.",
        "I would like my salary deposited into a different account starting this pay period.",
    ),
    payroll_followups=(
        "What information do you need from me?",
        "I can send the new details now.",
        "{bank}",
    ),
    payroll_closers=("Please make it effective for this pay period.", "{pressure}"),
    payroll_subjects=(
        "Direct deposit",
        "Payroll update",
        "Change my deposit account",
        "Paycheck",
        "Bank details change",
    ),
    gift_asks=(
        "I need you to buy {count} {brand} gift cards of ${value} each for a client appreciation.",
        "Please pick up {count} {brand} cards (${value} each) for the staff awards, "
        "scratch the backs and send me pictures of the codes.",
        "I want to surprise some of the team with gift cards. Get {count} {brand} cards at "
        "${value} each and email me the codes.",
    ),
    gift_brands=("Apple", "Amazon", "Google Play", "Steam", "Target", "Visa", "iTunes"),
    gift_counts=(4, 5, 6, 8, 10),
    gift_values=(100, 200, 250, 500),
    gift_followups=("I'll reimburse you later today.",),
    gift_subjects=("Quick favor", "Request", "Are you around?", "Gift cards", "Task"),
    lateral_greetings=("Hi all,", "Team,", "Hello,", "Hi everyone,", ""),
    lateral_asks=(
        "Please review the shared document before our meeting: {link}",
        "I've shared the updated {doc} with you, sign in to view it here {link}",
        "Your {doc} is ready for signature: {link}",
        "Can you check the attached {doc} on the portal and confirm? {link}",
    ),
    lateral_logins=(
        "Use your network password to sign in.",
        "You will need to log in with your email credentials.",
        "Please verify your account to open it.",
        "",
    ),
    lateral_subjects=(
        "Shared: {doc}",
        "{doc_title}",
        "Document for review",
        "Please review",
        "Action required: {doc}",
    ),
    documents=(
        "Q3 budget",
        "bonus schedule",
        "contract draft",
        "benefits update",
        "org chart",
        "expense report",
        "payment approval",
    ),
    link_hosts=(
        "{look}/secure/login",
        "docs-share.{look}/view",
        "{look}.web.app/auth",
        "login-{label}.firebaseapp.com/s",
        "bit.ly/{code}",
        "{look}/portal/invoice",
    ),
    amount_bases=(12, 18, 23, 38, 47, 64, 92, 148),
    amount_formats=("${n:,}",),
    banks=("Chase", "Wells Fargo", "Bank of America", "Citibank", "TD Bank", "Regions"),
    bank_blocks=("Bank: {bank}\nRouting number: {routing}\nAccount number: {account}",),
)


def lookalike(domain: str, rng: random.Random, book: Phrasebook | None = None) -> str:
    """A domain one edit, one homoglyph or one added word away from `domain`'s registrable
    domain (mail.vendor.com -> vendor-inc.com): what an attacker can register. The tricks, words
    and TLDs come from `book` (DEV when None)."""
    book = book or DEV
    glyphs = dict(book.homoglyphs)
    label, _, suffix = registrable(domain).partition(".")
    choices = [i for i, ch in enumerate(label) if ch in glyphs]
    how = rng.choice(book.lookalike_tricks if choices else book.lookalike_fallback)
    if how == "glyph":
        i = rng.choice(choices)
        label = label[:i] + glyphs[label[i]] + label[i + 1 :]
    elif how == "double":
        i = rng.randrange(len(label))
        label = label[:i] + label[i] + label[i:]
    elif how == "swap" and len(label) > 3:
        i = rng.randrange(1, len(label) - 2)
        label = label[:i] + label[i + 1] + label[i] + label[i + 2 :]
    elif how == "hyphen":
        label = f"{label}-{rng.choice(book.lookalike_words)}"
    elif how == "drop" and len(label) > 4:
        i = rng.randrange(1, len(label) - 1)
        label = label[:i] + label[i + 1 :]
    elif how == "affix":
        label = f"{label}{rng.choice(book.lookalike_words)}"
    elif how == "prefix":
        label = f"{rng.choice(book.lookalike_words)}-{label}"
    else:
        suffix = rng.choice(book.lookalike_tlds)
    return f"{label}.{suffix}"


def _local_part(name: str, rng: random.Random, book: Phrasebook | None = None) -> str:
    book = book or DEV
    first, *rest = name.lower().replace("'", "").split()
    last = rest[-1] if rest else "office"
    n, year = rng.randint(1, 99), rng.randint(1960, 1999)
    return rng.choice(book.local_parts).format(
        first=first, last=last, f=first[0], l=last[0], n=n, year=year
    )


def _first(name: str) -> str:
    return name.split()[0]


def _company(domain: str) -> str:
    """globex-supply.com -> Globex Supply: a vendor's name as its domain spells it."""
    return registrable(domain).partition(".")[0].replace("-", " ").title()


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _iban(rng: random.Random, country: str) -> str:
    """A well-formed IBAN (valid mod-97 check digits) for `country`, grouped by four."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    bban = {
        "GB": lambda: "".join(rng.choice(letters) for _ in range(4)) + _digits(rng, 14),
        "DE": lambda: _digits(rng, 18),
        "NL": lambda: "".join(rng.choice(letters) for _ in range(4)) + _digits(rng, 10),
        "ES": lambda: _digits(rng, 20),
        "PL": lambda: _digits(rng, 24),
        "LT": lambda: _digits(rng, 16),
        "PT": lambda: _digits(rng, 21),
        "IE": lambda: "".join(rng.choice(letters) for _ in range(4)) + _digits(rng, 14),
    }.get(country, lambda: _digits(rng, 18))()
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _swift(rng: random.Random, country: str) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    bank = "".join(rng.choice(letters) for _ in range(4))
    location = rng.choice(letters) + rng.choice(letters + "0123456789")
    return bank + country + location + rng.choice(["", "XXX"])


def _typo(text: str, rng: random.Random) -> str:
    """One slip of the keyboard in a word of five or more letters, away from links and
    numbers: swapped, dropped or doubled letters."""
    lines = text.split("\n")
    spots = [
        (i, m)
        for i, line in enumerate(lines)
        if "://" not in line and "@" not in line
        for m in re.finditer(r"\b[a-z]{5,}\b", line)
    ]
    if not spots:
        return text
    i, m = rng.choice(spots)
    word = m.group()
    j = rng.randrange(1, len(word) - 1)
    how = rng.choice(["swap", "drop", "double"])
    if how == "swap":
        new = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif how == "drop":
        new = word[:j] + word[j + 1 :]
    else:
        new = word[:j] + word[j] + word[j:]
    lines[i] = lines[i][: m.start()] + new + lines[i][m.end() :]
    return "\n".join(lines)


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
    persona: Person | None = None  # who the attacker pretends to be, with the real address


class Generator:
    """`Generator(org, seed).attack(subtype, when)` writes one attack; `many()` a mix.
    `phrasebook` picks the wording (`DEV`, or `bec_holdout.HOLDOUT`)."""

    def __init__(self, org: Org, seed: int = 0, phrasebook: Phrasebook = DEV) -> None:
        self.org = org
        self.book = phrasebook
        self.rng = random.Random(seed)
        self.count = 0
        # A "lookalike" that is really one of the organisation's or a vendor's own domains
        # (enron.com -> enron.net) would be an impersonation of nobody.
        self._real_domains = {org.domain, *org.other_domains} | {
            v.address.rpartition("@")[2] for v in org.vendors
        }

    # --- drawing from the phrasebook -------------------------------------------------------
    def _pick(self, options: Sequence[str]) -> str:
        """One of `options`; a single option is used without a random draw."""
        return options[0] if len(options) == 1 else self.rng.choice(options)

    def _optional(self, options: Sequence[str]) -> str:
        return self.rng.choice(options) if options else ""

    def _maybe(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    @staticmethod
    def _fill(template: str, **values: object) -> str:
        """`template.format(**values)`; a callable value is called (in the order given) only
        when the template names it, so unused placeholders draw nothing."""
        named = set(re.findall(r"{(\w+)", template))
        return template.format(
            **{k: (v() if callable(v) else v) for k, v in values.items() if k in named}
        )

    def _layout(self, subtype: str, parts: dict[str, str]) -> str:
        layouts = [layout for kind, layout in self.book.layouts if kind == subtype]
        order = self._pick(layouts).split()
        return ("\n\n" if self.book.paragraphs else "\n").join(
            parts[name] for name in order if parts.get(name)
        )

    def _sign(self, signoff: str, person: Person) -> str:
        initials = "".join(word[0] for word in person.name.split()).upper()
        name = self._fill(
            self._pick(self.book.signatures),
            first=_first(person.name),
            full=person.name,
            initials=initials,
        )
        return f"{signoff}\n{name}"

    def _amount(self) -> str:
        rng = self.rng
        n = rng.choice(self.book.amount_bases) * 1000 + rng.randint(0, 999) * 5
        return self._fill(
            self._pick(self.book.amount_formats), n=n, cents=lambda: rng.randint(0, 99)
        )

    def _bank_block(self, company: str = "") -> str:
        rng, book = self.rng, self.book
        template = self._pick(book.bank_blocks)
        routing = _digits(rng, 9)
        account = _digits(rng, rng.randint(8, 12))
        bank = rng.choice(book.banks)
        foreign: list[tuple[str, str]] = []  # (country, bank), drawn when first needed

        def abroad() -> tuple[str, str]:
            if not foreign:
                if book.foreign_banks:
                    country, _, name = rng.choice(book.foreign_banks).partition("|")
                else:
                    country, name = rng.choice(["GB", "DE", "NL", "ES", "PL", "LT"]), bank
                foreign.append((country, name))
            return foreign[0]

        def sort_code() -> str:
            # A sort code is British: the foreign bank, and so the IBAN, is then a British one.
            if not foreign:
                gb = [b for b in book.foreign_banks if b.startswith("GB|")]
                foreign.append(("GB", rng.choice(gb).partition("|")[2] if gb else bank))
            return f"{_digits(rng, 2)}-{_digits(rng, 2)}-{_digits(rng, 2)}"

        return self._fill(
            template,
            bank=bank,
            routing=routing,
            account=account,
            company=company,
            sort=sort_code,
            fbank=lambda: abroad()[1],
            country=lambda: abroad()[0],
            iban=lambda: _iban(rng, abroad()[0]),
            swift=lambda: _swift(rng, abroad()[0]),
            account8=lambda: account[:8].ljust(8, "0"),
            tail=lambda: account[-4:],
        )

    def _link(self, domain: str, label: str, email: str) -> str:
        rng = self.rng
        host = rng.choice(self.book.link_hosts)
        look = self._lookalike(domain)
        code = f"{rng.randint(10**5, 10**6)}"
        alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "https://" + self._fill(
            host,
            look=look,
            label=label,
            code=code,
            cid=lambda: "bafybei" + "".join(rng.choice(alnum[:26] + "234567") for _ in range(52)),
            hex=lambda: f"{rng.getrandbits(64):016X}",
            token=lambda: "".join(rng.choice(alnum + alnum.upper()) for _ in range(22)),
            email=email,
        )

    def _lookalike(self, domain: str) -> str:
        for _ in range(20):
            candidate = lookalike(domain, self.rng, self.book)
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
        rng, book = self.rng, self.book
        kinds = ["freemail", "freemail", "lookalike"] + (["spoofed"] if allow_spoof else [])
        kind = rng.choice(kinds)
        if kind == "freemail":
            return f"{_local_part(person.name, rng, book)}@{rng.choice(book.freemail)}", kind, ""
        domain = person.address.rpartition("@")[2]
        if kind == "lookalike":
            return f"{person.address.partition('@')[0]}@{self._lookalike(domain)}", kind, ""
        reply = f"{_local_part(person.name, rng, book)}@{rng.choice(book.freemail)}"
        return person.address, kind, reply

    def _vip_impersonation(self) -> _Draft:
        rng, org, book = self.rng, self.org, self.book
        vip = rng.choice(org.vips)
        target = rng.choice(org.finance + org.employees[:20])
        addr, kind, reply = self._impersonated_sender(vip)
        amount = self._amount
        greeting = rng.choice(book.greetings).format(first=_first(target.name))
        opener = rng.choice(book.openers)
        bridge = self._optional(book.bridges)
        pretext = self._fill(
            rng.choice(book.vip_pretexts),
            amount=amount,
            lawyer=lambda: self._optional(book.lawyers),
            firm=lambda: self._optional(book.law_firms),
        )
        parts = {
            "greeting": greeting,
            "opener": opener,
            "bridge": bridge,
            "ask": self._fill(self._pick(book.vip_wire_lines), pretext=pretext, amount=amount),
            "secrecy": rng.choice(book.secrecy),
            "pressure": rng.choice(book.pressure),
            "followup": self._pick(book.vip_followups),
            "extra": self._optional(book.vip_extra_asks).format(first=_first(target.name)),
            "sign": self._sign(rng.choice(book.signoffs), vip),
        }
        body = self._layout("vip_impersonation", parts)
        subject = rng.choice(book.vip_subjects)
        return _Draft(vip.name, addr, [target], subject, body, kind, reply, persona=vip)

    def _vendor_sender(self) -> tuple[Person, str, str, str]:
        """(vendor, from address, kind, reply-to) for mail claiming to be a known vendor."""
        rng, book = self.rng, self.book
        vendor = rng.choice(self.org.vendors)
        domain = vendor.address.rpartition("@")[2]
        kind = rng.choice(["lookalike", "lookalike", "freemail", "compromised"])
        if kind == "lookalike":
            return vendor, f"{vendor.address.partition('@')[0]}@{self._lookalike(domain)}", kind, ""
        if kind == "freemail":
            local = _local_part(vendor.name, rng, book)
            return vendor, f"{local}@{rng.choice(book.freemail)}", kind, ""
        # A taken-over vendor mailbox: the real address, replies diverted to the attacker.
        reply = f"{_local_part(vendor.name, rng, book)}@{rng.choice(book.freemail)}"
        return vendor, vendor.address, kind, reply

    def _vendor_sign(self, signoff: str, vendor: Person) -> str:
        domain = vendor.address.rpartition("@")[2]
        name = self._fill(
            self._pick(self.book.vendor_signatures),
            name=vendor.name,
            company=lambda: _company(domain),
        )
        return f"{signoff}\n{name}"

    def _invoice_fraud(self) -> _Draft:
        rng, book = self.rng, self.book
        vendor, addr, kind, reply = self._vendor_sender()
        target = rng.choice(self.org.finance)
        vendor_domain = vendor.address.rpartition("@")[2]
        ref = self._fill(
            rng.choice(book.invoice_refs),
            n=lambda: rng.randint(1000, 99999),
            year=lambda: rng.choice([2024, 2025, 2026]),
            m=lambda: f"{rng.randint(1, 12):02d}",
        )
        link = ""
        if rng.random() < book.invoice_link_rate:
            label = vendor_domain.partition(".")[0]
            link = self._link(vendor_domain, label, target.address)
        parts = {
            "greeting": rng.choice(book.greetings).format(first=_first(target.name)),
            "ask": self._fill(rng.choice(book.invoice_asks), ref=ref, amount=self._amount),
            "pay": (
                self._fill(self._pick(book.invoice_link_lines), link=link)
                if link
                else self._bank_block(_company(vendor_domain))
            ),
            "pressure": rng.choice(book.pressure),
            "sign": self._vendor_sign(rng.choice(book.signoffs), vendor),
        }
        body = self._layout("invoice_fraud", parts)
        subject = self._fill(
            rng.choice(book.invoice_subjects), ref=ref, company=lambda: _company(vendor_domain)
        )
        return _Draft(vendor.name, addr, [target], subject, body, kind, reply, link, persona=vendor)

    def _bank_change(self) -> _Draft:
        rng, book = self.rng, self.book
        vendor, addr, kind, reply = self._vendor_sender()
        target = rng.choice(self.org.finance)
        vendor_domain = vendor.address.rpartition("@")[2]
        parts = {
            "greeting": rng.choice(book.greetings).format(first=_first(target.name)),
            "notice": self._fill(
                rng.choice(book.bank_change), company=lambda: _company(vendor_domain)
            ),
            "block": self._bank_block(_company(vendor_domain)),
            "confirm": rng.choice(book.bank_confirm),
            "pressure": rng.choice(book.pressure),
            "sign": self._vendor_sign(rng.choice(book.signoffs), vendor),
        }
        body = self._layout("bank_change", parts)
        subject = self._fill(
            rng.choice(book.bank_subjects), company=lambda: _company(vendor_domain)
        )
        return _Draft(vendor.name, addr, [target], subject, body, kind, reply, persona=vendor)

    def _payroll_diversion(self) -> _Draft:
        rng, org, book = self.rng, self.org, self.book
        employee = rng.choice(org.employees + org.vips)
        target = rng.choice(org.hr or org.finance)
        addr, kind, reply = self._impersonated_sender(employee)
        greeting = rng.choice(book.greetings).format(first=_first(target.name))
        ask = rng.choice(book.payroll)
        bank = self._bank_block(employee.name)
        followup = self._fill(rng.choice(book.payroll_followups), bank=bank)
        pressure = rng.choice(book.pressure)
        parts = {
            "greeting": greeting,
            "ask": ask,
            "followup": followup,
            "closer": self._fill(rng.choice(book.payroll_closers), pressure=pressure),
            "sign": self._sign(rng.choice(book.signoffs), employee),
        }
        body = self._layout("payroll_diversion", parts)
        subject = rng.choice(book.payroll_subjects)
        return _Draft(employee.name, addr, [target], subject, body, kind, reply, persona=employee)

    def _gift_card(self) -> _Draft:
        rng, org, book = self.rng, self.org, self.book
        vip = rng.choice(org.vips)
        target = rng.choice(org.employees + org.finance)
        addr, kind, reply = self._impersonated_sender(vip)
        greeting = rng.choice(book.greetings).format(first=_first(target.name))
        opener = rng.choice(book.openers)
        bridge = self._optional(book.bridges)
        template = rng.choice(book.gift_asks)
        count = rng.choice(book.gift_counts)
        brand = rng.choice(book.gift_brands)
        value = rng.choice(book.gift_values)
        parts = {
            "greeting": greeting,
            "opener": opener,
            "bridge": bridge,
            "ask": self._fill(template, count=count, brand=brand, value=value, total=count * value),
            "secrecy": rng.choice(book.secrecy),
            "followup": self._pick(book.gift_followups),
            "sign": self._sign(rng.choice(book.signoffs), vip),
        }
        body = self._layout("gift_card", parts)
        subject = rng.choice(book.gift_subjects)
        return _Draft(vip.name, addr, [target], subject, body, kind, reply, persona=vip)

    def _lateral_phishing(self) -> _Draft:
        rng, org, book = self.rng, self.org, self.book
        # A real employee's own mailbox, taken over, writing to colleagues it rarely mails.
        sender = rng.choice(org.employees)
        targets = rng.sample(list(org.employees + org.finance), k=min(8, len(org.employees)))
        targets = [t for t in targets if t.address != sender.address][: rng.randint(3, 7)]
        label = org.domain.partition(".")[0]
        link = self._link(org.domain, label, targets[0].address if targets else "")
        doc = rng.choice(book.documents)
        parts = {
            "greeting": rng.choice(book.lateral_greetings),
            "ask": rng.choice(book.lateral_asks).format(link=link, doc=doc),
            "login": rng.choice(book.lateral_logins),
            "sign": self._sign(rng.choice(book.signoffs), sender),
        }
        body = self._layout("lateral_phishing", parts)
        subject = self._fill(rng.choice(book.lateral_subjects), doc=doc, doc_title=doc.title())
        return _Draft(
            sender.name, sender.address, targets, subject, body, "compromised", "", link, sender
        )

    # --- styling (phrasebooks with the optional slots) --------------------------------------
    def _style(self, draft: _Draft, subtype: str, when: datetime) -> str:
        """The body after typos, a mobile signature and a fake quoted thread, as the
        phrasebook's rates have it; the subject gains a reply prefix with the thread."""
        rng, book = self.rng, self.book
        body = draft.body
        if self._maybe(book.typo_rate):
            body = _typo(body, rng)
            if self._maybe(book.typo_rate):
                body = _typo(body, rng)
        if book.mobile_signatures and self._maybe(book.mobile_rate):
            body += "\n\n" + rng.choice(book.mobile_signatures)
        quotes = [(who, text) for kind, who, text in book.quoted if kind == subtype]
        if quotes and draft.to and book.quote_headers and self._maybe(book.quote_rate):
            who, text = rng.choice(quotes)
            target = draft.to[0]
            persona = draft.persona or Person(draft.from_name, draft.from_addr)
            author, reader = (target, persona) if who == "target" else (persona, target)
            sent = when - timedelta(days=rng.randint(1, 9), minutes=rng.randint(0, 600))
            header = self._fill(
                rng.choice(book.quote_headers),
                name=author.name,
                addr=author.address,
                to=reader.name,
                date=f"{sent:%A, %B} {sent.day}, {sent:%Y %I:%M %p}",
                subject=draft.subject,
            )
            quoted = text.format(
                first=_first(target.name),
                persona=_first(persona.name),
                company=_company(persona.address.rpartition("@")[2]),
            )
            if header.rstrip().endswith("wrote:"):
                quoted = "\n".join(f"> {line}" if line else ">" for line in quoted.split("\n"))
            body += f"\n\n{header}\n\n{quoted}"
            if not draft.subject.lower().startswith(("re:", "fw:", "fwd:")):
                draft.subject = f"{rng.choice(book.reply_prefixes or ('RE: ',))}{draft.subject}"
        return body

    def _html(self, text: str, link: str) -> str:
        rng, book = self.rng, self.book
        anchor = html.escape(self._optional(book.link_anchors) or link)
        paragraphs = []
        for block in re.split(r"\n\s*\n", text.strip()):
            inner = "<br>\n".join(html.escape(line) for line in block.split("\n"))
            if link:
                inner = inner.replace(
                    html.escape(link), f'<a href="{html.escape(link)}">{anchor}</a>'
                )
            paragraphs.append(f"<p>{inner}</p>")
        font = rng.choice(
            ["Calibri, sans-serif", "Arial, Helvetica, sans-serif", "Aptos, sans-serif"]
        )
        return (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            f'</head>\n<body>\n<div style="font-family: {font}; font-size: 11pt;">\n'
            + "\n".join(paragraphs)
            + "\n</div>\n</body></html>\n"
        )

    # --- rendering ------------------------------------------------------------------------
    def _render(self, draft: _Draft, subtype: str, when: datetime) -> Attack:
        rng = self.rng
        body_text = self._style(draft, subtype, when) if self.book is not DEV else draft.body
        as_html = self._maybe(self.book.html_rate)
        alternative = as_html and rng.random() < 0.5
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
        if self.book.paragraphs:
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(x.rstrip() for x in body_text.splitlines()))
            body = text.strip("\n") + "\n"
        else:
            body = "\n".join(line for line in body_text.splitlines() if line) + "\n"
        if alternative:
            boundary = f"----=_Part_{rng.getrandbits(48):012x}"
            headers[-2] = f'Content-Type: multipart/alternative; boundary="{boundary}"'
            headers.pop()
            plain = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit"
            rich = "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit"
            body = (
                f"--{boundary}\n{plain}\n\n{body}\n--{boundary}\n{rich}\n\n"
                f"{self._html(body, draft.link)}\n--{boundary}--\n"
            )
        elif as_html:
            headers[-2] = "Content-Type: text/html; charset=utf-8"
            body = self._html(body, draft.link)
        raw = ("\n".join(headers) + "\n\n" + body).encode("utf-8")
        return Attack(raw, subtype, draft.sender_kind, bool(draft.link), when, message_id)
