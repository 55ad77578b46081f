"""Behavioral signals read the message's baseline view; without one they stay neutral."""

from datetime import UTC, datetime, timedelta

from factories import make_message
from mailwarden.baselines import (
    AddressUse,
    BaselineView,
    DomainProfile,
    PairHistory,
    PaymentUse,
    RecipientProfile,
    SenderProfile,
    payment_fingerprints,
)
from mailwarden.context import Context
from mailwarden.signals import SignalValues, discover
from mailwarden.tenant import default_tenant

TENANT = default_tenant()
NOW = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)
BEHAVIOR = [n for n, s in discover().items() if s.fn.__module__.endswith("behavior.history")]


def values(message, view):  # type: ignore[no-untyped-def]
    return SignalValues(message, Context(TENANT, view))


def sender(address: str, **kw):  # type: ignore[no-untyped-def]
    return SenderProfile(address, **kw)


def test_without_a_baseline_every_behavioral_signal_is_neutral() -> None:
    assert len(BEHAVIOR) >= 20
    v = values(make_message(), None)
    for name in BEHAVIOR:
        assert not v[name], name


def test_a_stranger_writing_to_the_organisation_is_a_first_contact() -> None:
    m = make_message(sender="Dana Whitfield <dana.whitfield.ceo@gmail.com>")
    view = BaselineView(
        sender("dana.whitfield.ceo@gmail.com"),
        DomainProfile("gmail.com", messages=900, first_seen=LONG_AGO),
        pairs=(PairHistory("dana.whitfield.ceo@gmail.com", "priya.raman@example.com"),),
        recipients=(RecipientProfile("priya.raman@example.com", received=400, safe=396,
                                     first_contact=4),),
        name_addresses=(AddressUse("dana.whitfield@example.com", 250, LONG_AGO, NOW),),
        now=NOW,
    )  # fmt: skip
    v = values(m, view)
    assert v["sender.first_contact"] and v["sender.first_contact_recipient"]
    assert v["sender.prevalence"] == "new"
    assert v["sender.name_of_internal_on_external"]  # the CEO's name, on gmail
    assert v["sender.name_new_address"]
    assert v["recipient.first_contact_unusual"]  # Priya almost never hears from strangers
    assert not v["sender.domain_new"]  # gmail.com itself is well known
    assert v["sender.domain_age_days"] == 400


def test_a_known_vendor_changing_bank_details_and_reply_to_stands_out() -> None:
    body = "Please use our new account.\nRouting number: 021000021\nAccount number: 987654321\n"
    m = make_message(
        sender="Jordan Ellis <jordan@acme-logistics.com>",
        reply_to=("jordan.ellis.acme@outlook.com",),
        body=body,
    )
    old = payment_fingerprints("routing number: 111000025 account number: 123456789", b"example")
    view = BaselineView(
        sender("jordan@acme-logistics.com", messages=40, active_days=30, first_seen=LONG_AGO,
               solicited=12, names=("jordan ellis",)),
        DomainProfile("acme-logistics.com", messages=60, first_seen=LONG_AGO, solicited=20),
        reply_to=(sender("jordan.ellis.acme@outlook.com"),),
        payments=tuple(PaymentUse(fp, 5, LONG_AGO, NOW, "jordan@acme-logistics.com") for fp in old),
        now=NOW,
    )  # fmt: skip
    v = values(m, view)
    assert v["sender.known"] and v["sender.solicited"] and v["sender.domain_solicited"]
    assert not v["sender.first_contact"]
    assert v["message.payment_details"] == 2
    assert v["message.payment_details_changed"]
    assert not v["message.payment_details_first"]
    assert v["sender.reply_to_new"] and v["sender.reply_to_unknown"]


def test_the_same_bank_details_as_before_are_not_a_change() -> None:
    body = "Remit to routing number: 111000025, account number: 123456789."
    m = make_message(sender="jordan@acme-logistics.com", body=body)
    old = payment_fingerprints(m.searchable, TENANT.id.encode())
    view = BaselineView(
        sender("jordan@acme-logistics.com", messages=40),
        DomainProfile("acme-logistics.com", messages=60),
        payments=tuple(PaymentUse(fp, 5, LONG_AGO, NOW, "jordan@acme-logistics.com") for fp in old),
    )
    assert not values(m, view)["message.payment_details_changed"]


def test_a_colleague_suddenly_writing_to_many_new_people_is_counted() -> None:
    rcpts = tuple(f"p{i}@example.com" for i in range(6))
    m = make_message(sender="Tom Becker <tom.becker@example.com>", to=rcpts)
    new = [PairHistory("tom.becker@example.com", r) for r in rcpts[:5]]
    pairs = (*new, PairHistory("tom.becker@example.com", rcpts[5], messages=30))
    profile = sender("tom.becker@example.com", messages=500)
    view = BaselineView(profile, DomainProfile("example.com"), pairs=pairs)
    assert values(m, view)["sender.internal_new_recipients"] == 5


def test_an_hour_the_sender_never_writes_at_is_unusual() -> None:
    hours = tuple(20 if 8 <= h <= 18 else 0 for h in range(24))
    profile = sender("jordan@acme-logistics.com", messages=220, hours=hours)
    view = BaselineView(profile, DomainProfile("acme-logistics.com"))
    at_3am = make_message(sender="jordan@acme-logistics.com", date=NOW.replace(hour=3))
    at_10 = make_message(sender="jordan@acme-logistics.com", date=NOW.replace(hour=10))
    assert values(at_3am, view)["sender.unusual_hour"]
    assert not values(at_10, view)["sender.unusual_hour"]
