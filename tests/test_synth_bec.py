"""The BEC generator writes varied, parseable attacks of every subtype, reproducibly."""

import hashlib
import random
import re
from collections import Counter
from dataclasses import fields
from datetime import UTC, datetime

import pytest

from mailwarden.parse import parse
from mailwarden.synth.bec import (
    DEV,
    SUBTYPES,
    Attack,
    Generator,
    Org,
    Person,
    Phrasebook,
    lookalike,
)
from mailwarden.synth.bec_fresh import FRESH
from mailwarden.synth.bec_holdout import HOLDOUT

ORG = Org(
    domain="example.com",
    vips=(Person("Dana Whitfield", "dana.whitfield@example.com"),),
    finance=(Person("Priya Raman", "priya.raman@example.com"),),
    hr=(Person("Tom Becker", "tom.becker@example.com"),),
    employees=tuple(Person(f"Emp{i} Staff", f"emp{i}@example.com") for i in range(12)),
    vendors=(Person("Jordan Ellis", "jordan@acme-logistics.com"),),
)
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


def test_every_subtype_parses_cleanly_with_the_claimed_sender() -> None:
    attacks = Generator(ORG, seed=3).many(120, START, END)
    assert Counter(a.subtype for a in attacks) == {s: 20 for s in SUBTYPES}
    for attack in attacks:
        message = parse(attack.raw)
        assert message.defects == ()
        assert message.from_ is not None and message.subject
        assert START <= attack.date < END
        if attack.sender_kind == "freemail":
            assert message.from_.domain != "example.com"


def test_wording_varies_and_the_seed_reproduces_it() -> None:
    bodies = [a.raw.split(b"\n\n", 1)[1] for a in Generator(ORG, seed=1).many(60, START, END)]
    assert len(set(bodies)) == len(bodies)
    again = [a.raw for a in Generator(ORG, seed=1).many(60, START, END)]
    assert again == [a.raw for a in Generator(ORG, seed=1).many(60, START, END)]


def test_both_with_and_without_links_and_every_sender_kind() -> None:
    attacks = Generator(ORG, seed=5).many(300, START, END)
    assert {a.has_link for a in attacks} == {True, False}
    kinds = {a.sender_kind for a in attacks}
    assert kinds == {"freemail", "lookalike", "compromised", "spoofed"}


def test_lookalikes_differ_from_the_real_domain() -> None:
    rng = random.Random(0)
    for _ in range(200):
        fake = lookalike("example.com", rng)
        assert fake != "example.com"


# A second organisation with several VIPs, finance people and vendors, no HR (payroll mail then
# goes to finance), a sub-domained vendor and one whose name has an apostrophe.
ORG2 = Org(
    domain="northwind-traders.com",
    other_domains=("northwind.net",),
    vips=(
        Person("Alicia Moreno", "alicia.moreno@northwind-traders.com"),
        Person("Ben O'Hara", "ben.ohara@northwind-traders.com"),
    ),
    finance=(
        Person("Sam Lee", "sam.lee@northwind-traders.com"),
        Person("Ines Duarte", "ines.duarte@northwind-traders.com"),
    ),
    hr=(),
    employees=tuple(
        Person(f"Worker{i} Person", f"worker{i}@northwind-traders.com") for i in range(9)
    ),
    vendors=(
        Person("Lisa Park", "lisa@mail.globex-supply.com"),
        Person("Omar Haddad", "ar@initech.co.uk"),
        Person("Billing", "billing@umbrella.io"),
    ),
)


def test_dev_wording_is_pinned() -> None:
    """The DEV phrasebook writes exactly what the generator wrote before wording moved into
    phrasebooks: same seed, same bytes. Benchmarks quoted with the DEV wording stay comparable."""
    digest = hashlib.sha256()
    for org in (ORG, ORG2):
        for seed in (0, 1, 7):
            for a in Generator(org, seed=seed).many(90, START, END):
                digest.update(a.raw)
                digest.update(f"{a.subtype}|{a.sender_kind}|{a.has_link}|{a.message_id}".encode())
    rng = random.Random(4)
    for _ in range(100):
        digest.update(lookalike("mail.example-bank.com", rng).encode())
    assert digest.hexdigest() == (
        "d83612f571e667a1ac2b611abf1786c2df9e443b9dbb987d2ff45325c15ecfaa"
    )


# --- the hold-out phrasebook --------------------------------------------------------------------


def _holdout(org: Org = ORG2, seed: int = 0, n: int = 300) -> list[Attack]:
    return Generator(org, seed=seed, phrasebook=HOLDOUT).many(n, START, END)


def _subjects(book: Phrasebook) -> list[str]:
    return [
        *book.vip_subjects,
        *book.invoice_subjects,
        *book.bank_subjects,
        *book.payroll_subjects,
        *book.gift_subjects,
        *book.lateral_subjects,
    ]


@pytest.mark.parametrize("book", [HOLDOUT, FRESH], ids=lambda b: b.name)
def test_a_phrasebook_writes_every_subtype_and_sender_kind_as_parseable_mail(
    book: Phrasebook,
) -> None:
    for org in (ORG, ORG2):
        attacks = Generator(org, seed=2, phrasebook=book).many(360, START, END)
        assert Counter(a.subtype for a in attacks) == {s: 60 for s in SUBTYPES}
        assert {a.sender_kind for a in attacks} == {
            "freemail",
            "lookalike",
            "compromised",
            "spoofed",
        }
        assert {a.has_link for a in attacks} == {True, False}
        for attack in attacks:
            message = parse(attack.raw)
            assert message.defects == (), attack.raw.decode()
            assert message.from_ is not None and message.subject
            assert message.text.strip() or message.html_text.strip()
            assert START <= attack.date < END
            if attack.sender_kind == "freemail":
                assert message.from_.registrable != org.domain
            if attack.has_link:
                assert message.links, attack.raw.decode()


@pytest.mark.parametrize("book", [HOLDOUT, FRESH], ids=lambda b: b.name)
def test_a_phrasebook_is_reproducible_per_seed_and_varies_between_seeds(book: Phrasebook) -> None:
    def raws(seed: int) -> list[bytes]:
        return [a.raw for a in Generator(ORG2, seed=seed, phrasebook=book).many(60, START, END)]

    first = raws(9)
    assert first == raws(9)
    assert first != raws(10)
    bodies = [raw.split(b"\n\n", 1)[1] for raw in first]
    assert len(set(bodies)) == len(bodies)


def test_holdout_has_its_own_shapes() -> None:
    raws = [a.raw.decode() for a in _holdout(seed=4, n=600)]
    assert any("Content-Type: text/html" in r for r in raws)
    assert any("multipart/alternative" in r for r in raws)
    assert any("-----Original Message-----" in r for r in raws)
    assert any(" wrote:" in r for r in raws)
    assert any("IBAN:" in r for r in raws) and any("ABA" in r for r in raws)
    assert any("ipfs" in r for r in raws) and any("sites.google.com" in r for r in raws)
    assert any(m in r for r in raws for m in HOLDOUT.mobile_signatures)


def test_holdout_shares_no_wording_slot_with_dev() -> None:
    for slot in ("greetings", "openers", "secrecy", "pressure", "signoffs", "vip_pretexts"):
        shared = set(getattr(HOLDOUT, slot)) & set(getattr(DEV, slot)) - {""}
        assert not shared, (slot, shared)
    for slot in (
        "invoice_asks",
        "bank_change",
        "payroll",
        "gift_asks",
        "lateral_asks",
        "link_hosts",
        "bank_blocks",
        "documents",
    ):
        assert not set(getattr(HOLDOUT, slot)) & set(getattr(DEV, slot)), slot
        assert len(getattr(HOLDOUT, slot)) >= 8, slot


def test_no_dev_subject_line_is_reused() -> None:
    def norm(subject: str) -> str:
        return re.sub(r"[^a-z]+", " ", re.sub(r"\{\w+\}", "", subject.lower())).strip()

    dev_templates = {norm(s) for s in _subjects(DEV)}
    assert not dev_templates & {norm(s) for s in _subjects(HOLDOUT)}
    dev_lines = {parse(a.raw).subject for a in Generator(ORG2, seed=0).many(300, START, END)}
    holdout_lines = {parse(a.raw).subject for a in _holdout(seed=0)}
    assert not dev_lines & holdout_lines
    # Reply prefixes aside, no holdout subject is a DEV template either.
    bare = {norm(re.sub(r"^((re|fw|aw)\s*:\s*)+", "", s, flags=re.I)) for s in holdout_lines}
    assert not bare & dev_templates


def test_both_phrasebooks_cope_with_a_tiny_organisation() -> None:
    tiny = Org(
        domain="acme.com",
        vips=(Person("Ann Boss", "ann@acme.com"),),
        finance=(Person("Fin Ance", "fin@acme.com"),),
        hr=(),
        employees=(Person("Solo Worker", "solo@acme.com"),),
        vendors=(Person("Acme Billing", "billing@acme.com"),),
    )
    for book in (DEV, HOLDOUT):
        for attack in Generator(tiny, seed=1, phrasebook=book).many(24, START, END):
            assert parse(attack.raw).from_ is not None


# --- the fresh phrasebook -----------------------------------------------------------------------


def _fresh(org: Org = ORG2, seed: int = 0, n: int = 300) -> list[Attack]:
    return Generator(org, seed=seed, phrasebook=FRESH).many(n, START, END)


def test_fresh_has_its_own_shapes() -> None:
    attacks = _fresh(seed=4, n=600)
    raws = [a.raw.decode() for a in attacks]
    assert any("Content-Type: text/html" in r for r in raws)
    assert any("multipart/alternative" in r for r in raws)
    assert any("Forwarded message" in r for r in raws) and any(" wrote:" in r for r in raws)
    assert any("IBAN" in r for r in raws) and any("Sort Code" in r for r in raws)
    assert any("RTN" in r for r in raws) and any("ACH routing" in r for r in raws)
    assert any("dropbox.com" in r for r in raws) and any("notion.site" in r for r in raws)
    assert any("Sent from my iPhone" in r for r in raws)
    subjects = [parse(a.raw).subject for a in attacks]
    assert any(s.startswith("RE: ") for s in subjects) and any(
        s.startswith("FW: ") for s in subjects
    )
    assert any(not re.match(r"(re|fw|fwd|rv|r)\s*:", s, re.I) for s in subjects)
    # Lateral phishing covers several portals, not only document shares.
    lateral = [r for a, r in zip(attacks, raws, strict=True) if a.subtype == "lateral_phishing"]
    for portal in ("voicemail", "Adobe Sign", "mailbox is almost full", "passwords expire"):
        assert any(portal in r for r in lateral), portal


def test_fresh_shares_no_wording_slot_with_dev_or_holdout() -> None:
    for other in (DEV, HOLDOUT):
        for slot in ("greetings", "openers", "secrecy", "pressure", "signoffs", "vip_pretexts"):
            shared = set(getattr(FRESH, slot)) & set(getattr(other, slot)) - {""}
            assert not shared, (other.name, slot, shared)
        for slot in (
            "invoice_asks",
            "bank_change",
            "payroll",
            "gift_asks",
            "lateral_asks",
            "link_hosts",
            "bank_blocks",
            "documents",
        ):
            assert not set(getattr(FRESH, slot)) & set(getattr(other, slot)), (other.name, slot)
            assert len(getattr(FRESH, slot)) >= 8, slot
    # At least as many variants as DEV in every slot.
    for field in fields(Phrasebook):
        value = getattr(DEV, field.name)
        if isinstance(value, tuple):
            assert len(getattr(FRESH, field.name)) >= len(value), field.name


def _sentences(book: Phrasebook) -> set[str]:
    """Every wording template of `book` with three words or more, placeholders and punctuation
    dropped (formats such as layouts, quote headers, references and domains left out)."""
    formats = {
        "freemail",
        "local_parts",
        "homoglyphs",
        "lookalike_tricks",
        "lookalike_fallback",
        "lookalike_words",
        "lookalike_tlds",
        "layouts",
        "quote_headers",
        "reply_prefixes",
        "invoice_refs",
        "amount_formats",
        "link_hosts",
    }
    out = set()
    for field in fields(Phrasebook):
        value = getattr(book, field.name)
        if field.name in formats or not isinstance(value, tuple):
            continue
        for item in value:
            for text in item if isinstance(item, tuple) else (item,):
                if isinstance(text, str):
                    words = re.sub(r"[^a-z]+", " ", re.sub(r"\{\w+\}", "", text.lower())).split()
                    if len(words) >= 3:
                        out.add(" ".join(words))
    return out


def test_fresh_copies_no_sentence_from_dev_or_holdout() -> None:
    # A device line is what a phone writes, not the attacker: the brief asks for it.
    allowed = {"sent from my iphone"}
    for other in (DEV, HOLDOUT):
        assert not (_sentences(FRESH) & _sentences(other)) - allowed, other.name


def test_no_earlier_subject_line_is_reused_by_fresh() -> None:
    def norm(subject: str) -> str:
        return re.sub(r"[^a-z]+", " ", re.sub(r"\{\w+\}", "", subject.lower())).strip()

    for other, lines in (
        (DEV, {parse(a.raw).subject for a in Generator(ORG2, seed=0).many(300, START, END)}),
        (HOLDOUT, {parse(a.raw).subject for a in _holdout(seed=0)}),
    ):
        # A subject that is only a placeholder ("{doc_title}") carries no wording of its own.
        templates = {norm(s) for s in _subjects(other)} - {""}
        assert not templates & {norm(s) for s in _subjects(FRESH)}, other.name
        fresh_lines = {parse(a.raw).subject for a in _fresh(seed=0)}
        assert not lines & fresh_lines, other.name
        bare = {
            norm(re.sub(r"^((re|fw|fwd|aw|rv|r)\s*:\s*)+", "", s, flags=re.I)) for s in fresh_lines
        }
        assert not bare & templates, other.name


def test_fresh_copes_with_a_tiny_organisation() -> None:
    tiny = Org(
        domain="acme.com",
        vips=(Person("Ann Boss", "ann@acme.com"),),
        finance=(Person("Fin Ance", "fin@acme.com"),),
        hr=(),
        employees=(Person("Solo Worker", "solo@acme.com"),),
        vendors=(Person("Acme Billing", "billing@acme.com"),),
    )
    for attack in Generator(tiny, seed=1, phrasebook=FRESH).many(24, START, END):
        assert parse(attack.raw).from_ is not None
