"""The BEC generator writes varied, parseable attacks of every subtype, reproducibly."""

import random
from collections import Counter
from datetime import UTC, datetime

from mailwarden.parse import parse
from mailwarden.synth.bec import SUBTYPES, Generator, Org, Person, lookalike

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
