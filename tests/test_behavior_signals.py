"""Behavioral signals read the message's baseline view; without one they stay neutral."""

from datetime import UTC, datetime, timedelta

from factories import make_message
from mailwarden.baselines import (
    AddressUse,
    BaselineView,
    DomainProfile,
    MemoryStore,
    PairHistory,
    PaymentUse,
    RecipientProfile,
    SenderProfile,
    message_keys,
    observe,
    payment_fingerprints,
)
from mailwarden.context import Context
from mailwarden.engine import Engine
from mailwarden.parse import parse
from mailwarden.signals import SignalValues, discover
from mailwarden.tenant import Tenant, default_tenant

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


# --- learned from real-looking mail: lookalike correspondents, unknown threads, spelled names ---


class Org:
    """An organisation's baseline: learn hand-written messages, then read a message's signals
    against what was learned (as the engine does: view first, signals from the view)."""

    def __init__(self, tenant: Tenant = TENANT) -> None:
        self.tenant = tenant
        self.store = MemoryStore()

    def learn(self, raw: bytes, verdict: str = "safe") -> None:
        self.store.learn(observe(parse(raw), self.tenant, verdict))

    def signals(self, raw: bytes) -> SignalValues:
        message = parse(raw)
        view = self.store.view(self.tenant.id, message_keys(message, self.tenant))
        return SignalValues(message, Context(self.tenant, view))


_ids = iter(range(1, 10**9))


def eml(
    from_: str,
    to: str = "Priya Raman <priya.raman@example.com>",
    subject: str = "Pallets for the Leeds depot",
    *,
    when: datetime = NOW,
    mid: str = "",
    extra: str = "",
    body: str = "Hi Priya,\n\nSee below, and let me know if anything is missing.\n\nThanks",
) -> bytes:
    lines = [
        f"From: {from_}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Message-ID: <{mid or f'msg{next(_ids)}@mail.test'}>",
        *extra.splitlines(),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


ACME = "jordan@acme-logistics.com"


def vendor_history() -> Org:
    """Priya (finance) orders from Acme Logistics; Northwind sends invoices now and then."""
    org = Org()
    priya, jordan = (
        "Priya Raman <priya.raman@example.com>",
        "Jordan Ellis <jordan@acme-logistics.com>",
    )
    org.learn(eml(priya, jordan, "Q3 invoice", when=NOW - timedelta(days=45),
                  mid="q3-invoice@example.com"))  # fmt: skip
    org.learn(eml(jordan, subject="RE: Q3 invoice", when=NOW - timedelta(days=44),
                  extra="In-Reply-To: <q3-invoice@example.com>"))  # fmt: skip
    for days in (30, 20, 10):
        org.learn(eml("Northwind Billing <billing@northwind-traders.com>",
                      subject=f"Statement {days}", when=NOW - timedelta(days=days)))  # fmt: skip
    return org


def test_a_lookalike_of_a_vendor_the_organisation_writes_to_names_the_vendor() -> None:
    org = vendor_history()
    fake = org.signals(eml("Jordan Ellis <jordan@acme-logistlcs.com>", subject="New bank details"))
    assert fake["sender.lookalike_correspondent"] == "acme-logistics.com"
    assert fake["sender.first_contact"]
    added_word = org.signals(eml("Accounts <ar@acme-logistics-billing.com>"))
    assert added_word["sender.lookalike_correspondent"] == "acme-logistics.com"
    typo_of_a_steady_sender = org.signals(eml("Northwind <billing@northwind-trader.com>"))
    assert typo_of_a_steady_sender["sender.lookalike_correspondent"] == "northwind-traders.com"
    for real_or_unrelated in (
        "Jordan Ellis <jordan@acme-logistics.com>",
        "Ops <ops@eu.acme-logistics.com>",
        "Dana <dana@contoso.com>",
        "Marcus Chen <marcus.chen@example.com>",
    ):
        assert org.signals(eml(real_or_unrelated))["sender.lookalike_correspondent"] == ""


def test_a_reply_to_on_a_lookalike_domain_is_named_too() -> None:
    org = vendor_history()
    v = org.signals(
        eml("Jordan Ellis <jordan@acme-logistics.com>", subject="Remittance details",
            extra="Reply-To: Jordan Ellis <jordan@acme-logistics-payments.com>")
    )  # fmt: skip
    assert v["sender.lookalike_correspondent"] == ""  # From is the real vendor
    assert v["sender.reply_to_lookalike_correspondent"] == "acme-logistics.com"


def test_a_payment_link_on_a_lookalike_of_a_vendor_is_named() -> None:
    org = vendor_history()
    portal = org.signals(
        eml("Jordan Ellis <jordan@acme-logistics.com>", subject="Invoice 4471",
            body="Pay online: https://pay.acme-logistics-invoices.com/inv/4471")
    )  # fmt: skip
    assert portal["message.link_lookalike_correspondent"] == "acme-logistics.com"
    real = org.signals(
        eml("Jordan Ellis <jordan@acme-logistics.com>", subject="Invoice 4472",
            body="Pay online: https://portal.acme-logistics.com/inv/4472 or https://docs.google.com/x")
    )  # fmt: skip
    assert real["message.link_lookalike_correspondent"] == ""


def test_a_sender_becomes_a_correspondent_after_safe_mail_on_three_days() -> None:
    org = Org()
    lookalike = eml("Billing <billing@northwind-trader.com>")
    for days in (30, 20):
        org.learn(eml("Northwind <billing@northwind-traders.com>", when=NOW - timedelta(days=days)))
    org.learn(
        eml("Northwind <billing@northwind-traders.com>", when=NOW - timedelta(days=15)), "spam"
    )
    assert org.signals(lookalike)["sender.lookalike_correspondent"] == ""
    org.learn(eml("Northwind <billing@northwind-traders.com>", when=NOW - timedelta(days=5)))
    assert org.signals(lookalike)["sender.lookalike_correspondent"] == "northwind-traders.com"


def test_free_mail_and_the_organisations_own_domains_are_never_correspondent_lookalikes() -> None:
    org = Org()
    org.learn(eml("priya.raman@example.com", "Sam <sam.k@yahoo.com>", "Lunch"))
    org.learn(eml("priya.raman@example.com", "Tom <tom.becker@example.com>", "Budget"))
    assert org.signals(eml("Sam <sam.k@yahoo.co.uk>"))["sender.lookalike_correspondent"] == ""
    own = org.signals(eml("Tom <tom.becker@example-corp.com>"))
    assert own["sender.lookalike_correspondent"] == ""


def test_an_empty_store_knows_no_correspondents() -> None:
    v = Org().signals(eml("Jordan Ellis <jordan@acme-logistlcs.com>"))
    assert v["sender.lookalike_correspondent"] == "" and not v["message.reply_thread_unknown"]


def test_a_reply_into_a_thread_the_organisation_never_had() -> None:
    org = vendor_history()
    # Priya's own mail has been learned for 45 days: the threads she had are known
    cases = {
        # a real reply: its In-Reply-To is Priya's message
        ("RE: Q3 invoice", ACME, "In-Reply-To: <q3-invoice@example.com>"): False,
        # no references, but Acme and Priya did talk about "Q3 invoice"
        ("Re: Q3 Invoice", "jordan@acme-logistics.com", ""): False,
        # a conversation that never happened
        ("RE: Urgent wire before 3pm", "jordan@acme-logistics.com", ""): True,
        ("FW: Outstanding balance", "jordan@acme-logistics.com", ""): True,
        # references to messages nobody here ever saw decide, whatever the subject
        ("RE: Q3 invoice", ACME, "In-Reply-To: <x7@acme-logistics.com>"): True,
        # the same subject from another party is not that thread
        ("RE: Q3 invoice", "jordan@acme-logistlcs.com", ""): True,
        # not a reply at all
        ("Q3 invoice follow-up", "jordan@acme-logistics.com", ""): False,
    }  # fmt: skip
    for (subject, sender, extra), expected in cases.items():
        v = org.signals(eml(f"Jordan Ellis <{sender}>", subject=subject, extra=extra))
        assert v["message.reply_thread_unknown"] is expected, (subject, sender, extra)


def test_unknown_threads_are_judged_only_with_a_month_of_the_recipients_own_mail() -> None:
    fake = eml("Jordan Ellis <jordan@acme-logistics.com>", subject="RE: Urgent wire")
    org = Org()
    assert not org.signals(fake)["message.reply_thread_unknown"]  # empty store
    org.learn(eml("priya.raman@example.com", "jordan@acme-logistics.com", "Hello",
                  when=NOW - timedelta(days=10)))  # fmt: skip
    assert not org.signals(fake)["message.reply_thread_unknown"]  # 10 days of Priya's mail
    org.learn(eml("priya.raman@example.com", "tom.becker@example.com", "Team lunch",
                  when=NOW - timedelta(days=40)))  # fmt: skip
    assert org.signals(fake)["message.reply_thread_unknown"]
    # inside the organisation a RE: subject alone is not judged (only Message-IDs are)
    colleague = eml("Tom Becker <tom.becker@example.com>", subject="RE: Budget")
    assert not org.signals(colleague)["message.reply_thread_unknown"]


def test_a_colleagues_name_is_learned_from_an_address_without_a_display_name() -> None:
    tenant = Tenant(id="enron-like", domains=("enron.com",))
    org = Org(tenant)
    for days in (90, 60, 30):
        org.learn(eml("jeff.skilling@enron.com", "kenneth.lay@enron.com", "Board call",
                      when=NOW - timedelta(days=days)))  # fmt: skip
    org.learn(eml("accounts.payable@enron.com", "kenneth.lay@enron.com", "Remittance"))
    to = "kenneth.lay@enron.com"
    for impostor in (
        "Jeff Skilling <jeff.skilling@gmail.com>",
        '"Skilling, Jeff" <jskilling@enron-corp.com>',
    ):
        v = org.signals(eml(impostor, to, "Quick favour"))
        assert v["sender.name_of_internal_on_external"], impostor
        assert v["sender.name_new_address"] and v["sender.name_addresses"] == 0
    for not_a_colleague in (
        "Accounts Payable <ap@vendor-billing.com>",  # a role address spells no one's name
        "Jeff Skillings <jeff@skillings-family.net>",
    ):
        v = org.signals(eml(not_a_colleague, to, "Invoice"))
        assert not v["sender.name_of_internal_on_external"], not_a_colleague
    assert not Org(tenant).signals(eml("Jeff Skilling <jeff.skilling@gmail.com>", to))[
        "sender.name_of_internal_on_external"
    ]


def test_the_engine_scores_against_the_view_it_took_before_learning() -> None:
    store = MemoryStore()
    engine = Engine(store=store)
    for raw in (
        eml("Priya Raman <priya.raman@example.com>", "jordan@acme-logistics.com", "Q3 invoice",
            when=NOW - timedelta(days=45)),
        eml("Jordan Ellis <jordan@acme-logistics.com>", subject="Pallets",
            when=NOW - timedelta(days=40)),
    ):  # fmt: skip
        engine.scan(raw)
    fake = eml("Jordan Ellis <jordan@acme-logistlcs.com>", subject="RE: Change of bank account")
    _, values = engine.explain(fake, learn=True)  # learned before the signals are read
    assert values is not None
    assert values["sender.lookalike_correspondent"] == "acme-logistics.com"
    assert values["message.reply_thread_unknown"]
