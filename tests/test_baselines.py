"""Behavioral baselines: one suite, run against every store (memory and SQLite).

Messages are written as raw RFC 5322 and parsed, as the engine sees them; each test learns a
small history and reads it back through `view`, as signals will.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailwarden.baselines import (
    BaselineStore,
    BaselineView,
    MemoryStore,
    Observation,
    SQLiteStore,
    message_keys,
    observe,
    open_store,
    payment_fingerprints,
)
from mailwarden.baselines.records import window_add, window_count
from mailwarden.baselines.replay import header_date, replay_order
from mailwarden.parse import parse
from mailwarden.tenant import Tenant, default_tenant

TENANT = default_tenant()  # example.com, example-corp.com; Marcus Chen is vip + finance
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
_counter = iter(range(1, 10**9))


def mail(
    from_: str | None = "Vendor Billing <billing@acme-supplies.com>",
    to: str = "Priya Raman <priya.raman@example.com>",
    *,
    when: datetime | str | None = T0,
    mid: str | None = None,
    cc: str = "",
    reply_to: str = "",
    body: str = "Please find the invoice for March attached.",
    subject: str = "test",
) -> bytes:
    lines = []
    if from_ is not None:
        lines.append(f"From: {from_}")
    lines.append(f"To: {to}")
    if cc:
        lines.append(f"Cc: {cc}")
    if reply_to:
        lines.append(f"Reply-To: {reply_to}")
    if isinstance(when, datetime):
        lines.append(f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S %z')}")
    elif isinstance(when, str):
        lines.append(f"Date: {when}")
    lines.append(f"Message-ID: <{mid or f'm{next(_counter)}@test'}>")
    lines.append(f"Subject: {subject}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


def obs(raw: bytes, verdict: str = "safe", tenant: Tenant = TENANT) -> Observation:
    return observe(parse(raw), tenant, verdict)


def view(store: BaselineStore, raw: bytes, tenant: Tenant = TENANT) -> BaselineView:
    return store.view(tenant.id, message_keys(parse(raw), tenant))


@pytest.fixture(params=["memory", "sqlite"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], BaselineStore]]:
    """A factory: calling it again reopens the same store (SQLite) or returns the same one."""
    opened: list[BaselineStore] = []
    memory = MemoryStore()

    def factory() -> BaselineStore:
        if request.param == "memory":
            return memory
        store = SQLiteStore(tmp_path / "baselines.sqlite")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], BaselineStore]) -> BaselineStore:
    return make_store()


# --- learning -------------------------------------------------------------------------------


def test_a_first_time_sender_gets_an_empty_view(store: BaselineStore) -> None:
    v = view(store, mail())
    assert v.sender.address == "billing@acme-supplies.com"
    assert v.sender.messages == 0 and v.sender.prevalence == "new" and not v.sender.known
    assert v.sender_domain.domain == "acme-supplies.com" and not v.sender_domain.known
    assert [p.first_contact for p in v.pairs] == [True]
    assert v.recipients[0].roles == ("finance",) and v.recipients[0].internal
    assert v.name_addresses == () and v.payments == () and v.hours == ()


def test_learning_builds_sender_domain_pair_and_recipient_profiles(store: BaselineStore) -> None:
    for day in range(6):
        store.learn(obs(mail(when=T0 + timedelta(days=day))))
    store.learn(obs(mail(to="tom.becker@example.com", when=T0 + timedelta(days=6)), "spam"))
    v = view(store, mail(when=T0 + timedelta(days=7)))
    s = v.sender
    assert s.messages == 7 and s.messages_recent == 7 and s.active_days == 7
    assert s.first_seen == T0 and s.last_seen == T0 + timedelta(days=6)
    assert s.distinct_recipients == 2 and s.prevalence == "common"
    assert s.names == ("vendor billing",)
    assert sum(s.hours) == 7 and s.hours[9] == 7
    assert v.sender_domain.messages == 7 and v.sender_domain.distinct_senders == 1
    pair = v.pairs[0]
    assert pair.messages == 6 and pair.first_seen == T0 and not pair.first_contact
    r = v.recipients[0]
    assert r.received == 6 and r.safe == 6 and r.first_contact == 1 and r.safe_ratio == 1.0


def test_prevalence_buckets(store: BaselineStore) -> None:
    store.learn(obs(mail()))
    assert view(store, mail()).sender.prevalence == "rare"
    for _ in range(5):  # many messages on one day: still rare
        store.learn(obs(mail()))
    assert view(store, mail()).sender.prevalence == "rare"
    store.learn(obs(mail(when=T0 + timedelta(days=1))))
    assert view(store, mail()).sender.prevalence == "common"


def test_a_repeated_message_id_is_learned_once(store: BaselineStore) -> None:
    raw = mail(mid="same@test")
    assert store.learn(obs(raw)) is True
    assert store.learn(obs(raw)) is False
    assert store.learn_many([obs(raw), obs(mail(mid="other@test"))]) == 1
    v = view(store, mail(mid="same@test"))
    assert v.sender.messages == 2 and v.already_learned
    assert v.recipients[0].received == 2


def test_a_message_without_message_id_is_keyed_by_its_bytes(store: BaselineStore) -> None:
    raw = mail().replace(b"Message-ID:", b"X-No-Id:")
    keys = message_keys(parse(raw), TENANT, fallback_id="abc")
    assert keys.message_id == "sha256:abc"
    first = observe(parse(raw), TENANT, "safe", keys=keys)
    assert store.learn(first) and not store.learn(first)


def test_malicious_mail_never_warms_up_a_sender(store: BaselineStore) -> None:
    for day in range(10):
        store.learn(
            obs(
                mail(when=T0 + timedelta(days=day), body="IBAN DE89 3704 0044 0532 0130 00"),
                "malicious",
            )
        )
    v = view(store, mail(when=T0 + timedelta(days=11)))
    assert v.sender.messages == 0 and v.sender.prevalence == "new" and v.sender.malicious == 10
    assert v.sender_domain.messages == 0 and v.sender_domain.malicious == 10
    assert v.pairs[0].first_contact and v.payments == () and v.name_addresses == ()
    # ... yet the recipient did receive it, none of it safe
    assert v.recipients[0].received == 10 and v.recipients[0].safe == 0


def test_outbound_mail_makes_an_address_and_its_domain_solicited(store: BaselineStore) -> None:
    store.learn(
        obs(mail("Priya Raman <priya.raman@example.com>", "Sam <sam@newvendor.io>", when=T0))
    )
    v = view(store, mail("Sam <sam@newvendor.io>", when=T0 + timedelta(days=1)))
    assert v.sender.is_solicited and v.sender.first_solicited == T0
    assert v.sender.messages == 0  # solicited, but has not written yet
    assert v.sender_domain.is_solicited and v.sender_domain.solicited == 1
    other = view(store, mail("x@unrelated.org"))
    assert not other.sender.is_solicited and not other.sender_domain.is_solicited


def test_external_mail_solicits_nothing(store: BaselineStore) -> None:
    store.learn(obs(mail("a@outside.com", "b@elsewhere.com")))
    assert not view(store, mail("b@elsewhere.com")).sender.is_solicited


def test_a_pair_knows_when_the_recipient_wrote_back(store: BaselineStore) -> None:
    store.learn(obs(mail("sam@newvendor.io", "priya.raman@example.com")))
    v = view(store, mail("sam@newvendor.io", "priya.raman@example.com"))
    assert v.pairs[0].messages == 1 and not v.pairs[0].replied
    store.learn(obs(mail("priya.raman@example.com", "sam@newvendor.io")))
    store.learn(obs(mail("priya.raman@example.com", "sam@newvendor.io")))
    v = view(store, mail("sam@newvendor.io", "priya.raman@example.com"))
    assert v.pairs[0].replied and v.pairs[0].replies == 2


def test_display_name_maps_both_ways(store: BaselineStore) -> None:
    store.learn(obs(mail("Marcus Chen <marcus.chen@example.com>", "priya.raman@example.com")))
    store.learn(obs(mail('"CHEN, Marcus" <marcus.chen@example.com>', "priya.raman@example.com")))
    store.learn(obs(mail("Marcus Chen <marcus.chen.home@gmail.com>", "priya.raman@example.com")))
    v = view(store, mail("Marcus Chen <ceo.office@gmail.com>"))
    assert [u.value for u in v.name_addresses] == [
        "marcus.chen@example.com",
        "marcus.chen.home@gmail.com",
    ]
    assert v.name_addresses[0].messages == 2
    assert v.address_names == ()  # the new address has no names yet
    known = view(store, mail("Marcus Chen <marcus.chen@example.com>"))
    assert known.address_names == ("marcus chen",)


def test_reply_to_history(store: BaselineStore) -> None:
    store.learn(obs(mail(reply_to="ar@acme-supplies.com")))
    v = view(store, mail(reply_to="collect@evil.example.net"))
    assert v.sender.reply_tos == ("ar@acme-supplies.com",)
    assert [p.address for p in v.reply_to] == ["collect@evil.example.net"]
    assert not v.reply_to[0].known and not v.reply_to[0].is_solicited


def test_payment_fingerprints_per_sender_domain(store: BaselineStore) -> None:
    body = "Bank: Chase\nRouting number: 021000021\nAccount number: 123456789\n"
    store.learn(obs(mail(body=body)))
    store.learn(obs(mail("ap@acme-supplies.com", body=body)))
    v = view(store, mail(body="Routing number: 021000021\nAccount number: 999999999"))
    kinds = sorted(p.kind for p in v.payments)
    assert kinds == ["account", "routing"]
    assert all(p.messages == 2 and p.sender == "billing@acme-supplies.com" for p in v.payments)
    changed = payment_fingerprints(
        "routing number: 021000021\naccount number: 999999999", TENANT.id.encode()
    )
    known = {p.fingerprint for p in v.payments}
    by_kind = {fp.partition(":")[0]: fp for fp in changed}
    assert by_kind["routing"] in known and by_kind["account"] not in known  # new account
    assert "123456789" not in repr(v)  # fingerprints, never the numbers


def test_payment_details_are_recognised() -> None:
    text = (
        "iban: de89 3704 0044 0532 0130 00, swift: deutdeff, sort code 20-00-00, "
        "acct # 99887766, aba 021000021, iban gb00 0000 0000 0000 0000 00"
    )
    fps = payment_fingerprints(text, b"salt")
    assert sorted(fp.partition(":")[0] for fp in fps) == [
        "account",
        "iban",  # the second IBAN fails its checksum
        "routing",
        "sortcode",
        "swift",
    ]
    assert payment_fingerprints(text, b"other") != fps  # salted
    assert payment_fingerprints("please call me about the account", b"s") == ()


def test_recent_windows_roll_over(store: BaselineStore) -> None:
    store.learn(obs(mail(when=T0)))
    store.learn(obs(mail(when=T0 + timedelta(days=120))))
    v = view(store, mail(when=T0 + timedelta(days=121)))
    assert v.sender.messages == 2 and v.sender.messages_recent == 1
    assert v.recipients[0].received_recent == 1 and v.recipients[0].received == 2
    later = view(store, mail(when=T0 + timedelta(days=400)))
    assert later.sender.messages_recent == 0 and later.sender.messages == 2


def test_window_buckets() -> None:
    w = None
    for week in (10, 10, 11, 15, 22, 23):
        w = window_add(w, week)
    assert window_count(w, 23) == 4  # weeks 11..23 (week 10 fell out)
    assert window_count(w, 22) == 3
    assert window_count(w, 30) == 2
    assert window_count(w, 36) == 0
    assert window_count(w, None) == 4


def test_active_days_count_each_day_once_even_out_of_order(store: BaselineStore) -> None:
    for offset in (0, 2, 1, 2, 0, 1):
        store.learn(obs(mail(when=T0 + timedelta(days=offset))))
    assert view(store, mail()).sender.active_days == 3


def test_send_hour_is_in_the_senders_own_offset(store: BaselineStore) -> None:
    store.learn(obs(mail(when="Mon, 02 Mar 2026 08:15:00 -0800")))
    hours = view(store, mail()).hours
    assert hours[8] == 1 and sum(hours) == 1


def replying(raw: bytes, *refs: str) -> bytes:
    headers = f"In-Reply-To: <{refs[0]}>\r\nReferences: {' '.join(f'<{r}>' for r in refs)}\r\n"
    return raw.replace(b"Subject: test", headers.encode() + b"Subject: test")


def test_a_reply_knows_whether_the_organisation_had_the_thread(store: BaselineStore) -> None:
    outbound = mail("priya.raman@example.com", "sam@acme-supplies.com", mid="ours@example.com")
    store.learn(obs(outbound))
    store.learn(obs(mail("x@bad.example", mid="lure@bad.example"), "malicious"))
    assert view(store, mail()).thread_known is None  # answers nothing
    assert view(store, replying(mail(), "ours@example.com")).thread_known is True
    assert view(store, replying(mail(), "never@seen", "ours@example.com")).thread_known is True
    assert view(store, replying(mail(), "never@seen")).thread_known is False
    assert view(store, replying(mail(), "lure@bad.example")).thread_known is False


# --- correspondents ---------------------------------------------------------------------------


def test_correspondents_are_domains_written_to_or_safe_on_three_days(store: BaselineStore) -> None:
    store.learn(obs(mail("priya.raman@example.com", "sam@newvendor.io, tom.becker@example.com")))
    for day in (0, 1):
        store.learn(obs(mail(when=T0 + timedelta(days=day))))
    store.learn(obs(mail(when=T0 + timedelta(days=2)), "spam"))  # not safe: no safe day
    for _ in range(3):
        store.learn(obs(mail(when=T0 + timedelta(days=3)), "malicious"))
    v = view(store, mail(when=T0 + timedelta(days=4)))
    assert list(v.correspondents) == ["newvendor.io"]  # never the organisation's own domain
    assert v.sender_domain.safe_days == 2 and not v.sender_domain.correspondent
    store.learn(obs(mail(when=T0 + timedelta(days=4))))
    v = view(store, mail(when=T0 + timedelta(days=5)))
    assert list(v.correspondents) == ["newvendor.io", "acme-supplies.com"]
    assert v.sender_domain.safe_days == 3 and v.sender_domain.correspondent
    assert "acme-supplies.com" in v.correspondents and "example.com" not in v.correspondents


def test_a_view_keeps_the_correspondents_it_saw(store: BaselineStore) -> None:
    before = view(store, mail("jordan@acme-logistlcs.com"))
    assert before.correspondents.lookalike("acme-logistlcs.com") == ""
    store.learn(obs(mail("priya.raman@example.com", "jordan@acme-logistics.com")))
    after = view(store, mail("jordan@acme-logistlcs.com"))
    assert after.correspondents.lookalike("acme-logistlcs.com") == "acme-logistics.com"
    assert len(before.correspondents) == 0  # learning later does not change a view
    assert before.correspondents.lookalike("acme-logistlcs.com") == ""


@pytest.mark.parametrize(
    ("host", "imitated"),
    [
        ("acme-logistlcs.com", "acme-logistics.com"),  # one typo
        ("acme-logisitcs.com", "acme-logistics.com"),  # two letters swapped
        ("acme-1ogistics.com", "acme-logistics.com"),  # homoglyph
        ("acmelogistics.com", "acme-logistics.com"),  # hyphen dropped
        ("acme-logistics.co", "acme-logistics.com"),  # suffix one typo away
        ("acme-logistics.top", "acme-logistics.com"),  # high-abuse TLD
        ("acme-logistics-billing.com", "acme-logistics.com"),  # lure word added
        ("acme-invoices.com", "acme-logistics.com"),  # leading word + lure word
        ("acme-logistics.com.pay-portal.io", "acme-logistics.com"),  # whole domain in front
        ("northwindpayments.com", "northwind.com"),  # run together
        ("secure-northwind.com", "northwind.com"),
        ("mail.acme-logistics.com", ""),  # the correspondent itself
        ("acme-logistics.net", ""),  # businesses own .net too
        ("acme-logistics.zendesk.com", ""),  # a helpdesk hosted for it
        ("northwind-energy.com", ""),  # an ordinary added word: another business
        ("northwindmail.com", ""),  # an ISP's mail domain beside its own (sprintmail, sprint)
        ("energy.gov", ""),  # an ordinary word one letter from entergy.com: nobody's typo
        ("contoso.com", ""),
    ],
)
def test_correspondent_lookalikes(store: BaselineStore, host: str, imitated: str) -> None:
    store.learn(obs(mail("priya.raman@example.com", "jordan@acme-logistics.com")))
    store.learn(obs(mail("priya.raman@example.com", "ap@northwind.com")))
    store.learn(obs(mail("priya.raman@example.com", "trading@entergy.com")))
    assert view(store, mail(f"x@{host}")).correspondents.lookalike(host) == imitated


def test_readers_see_new_correspondents_without_rereading_all(tmp_path: Path) -> None:
    path = tmp_path / "corr.sqlite"
    writer, reader = SQLiteStore(path), SQLiteStore(path)
    writer.learn(obs(mail("priya.raman@example.com", "a@first.io")))
    assert list(view(reader, mail()).correspondents) == ["first.io"]
    loaded: list[list[str]] = []
    load = reader._load

    def spy(tenant: str, keys: list[str]) -> object:
        loaded.append(keys)
        return load(tenant, keys)

    reader._load = spy  # type: ignore[method-assign]
    writer.learn(obs(mail("priya.raman@example.com", "a@second.io")))
    assert list(view(reader, mail()).correspondents) == ["first.io", "second.io"]
    assert ["c:1"] in loaded and not any("c:0" in keys for keys in loaded)
    writer.close()
    reader.close()


class FailingMemoryStore(MemoryStore):
    fail = False

    def _save(self, tenant: str, changed: object) -> None:  # type: ignore[override]
        if self.fail:
            raise OSError("disk full")
        super()._save(tenant, changed)  # type: ignore[arg-type]


def test_a_failed_commit_leaves_no_correspondent_behind() -> None:
    store = FailingMemoryStore()
    store.learn(obs(mail("priya.raman@example.com", "a@first.io")))
    store.fail = True
    with pytest.raises(OSError):
        store.learn(obs(mail("priya.raman@example.com", "a@second.io")))
    store.fail = False
    assert list(view(store, mail()).correspondents) == ["first.io"]
    store.learn(obs(mail("priya.raman@example.com", "a@third.io")))
    assert list(view(store, mail()).correspondents) == ["first.io", "third.io"]


# --- names an address spells ------------------------------------------------------------------


def test_an_internal_address_without_a_display_name_teaches_the_name_it_spells(
    store: BaselineStore,
) -> None:
    store.learn(obs(mail("nora.patel@example.com", "priya.raman@example.com", when=T0)))
    store.learn(obs(mail("nora.patel@example.com", "tom.becker@example.com")))
    store.learn(obs(mail("accounts.payable@example.com", "priya.raman@example.com")))
    store.learn(obs(mail("ravi.shah@partner.org", "priya.raman@example.com")))  # not ours
    store.learn(obs(mail("lee.wong@example.com", "priya.raman@example.com"), "malicious"))
    v = view(store, mail("Nora Patel <nora.patel@gmail.com>"))
    assert [(u.value, u.derived, u.messages, u.first_seen) for u in v.name_addresses] == [
        ("nora.patel@example.com", True, 0, T0)
    ]
    assert view(store, mail('"PATEL, Nora" <npatel@example-corp.co>')).name_addresses
    assert view(store, mail("Accounts Payable <ap@vendor.com>")).name_addresses == ()
    assert view(store, mail("Ravi Shah <ravi@gmail.com>")).name_addresses == ()
    assert view(store, mail("Lee Wong <lee@gmail.com>")).name_addresses == ()
    # once the name is also written with the address, it is listed once, as written
    store.learn(obs(mail("Nora Patel <nora.patel@example.com>", "priya.raman@example.com")))
    v = view(store, mail("Nora Patel <nora.patel@gmail.com>"))
    assert [(u.value, u.derived, u.messages) for u in v.name_addresses] == [
        ("nora.patel@example.com", False, 1)
    ]


# --- threads by subject -----------------------------------------------------------------------


def test_a_reply_without_references_is_matched_by_subject_and_party(
    store: BaselineStore,
) -> None:
    store.learn(obs(mail("priya.raman@example.com", "jordan@acme-logistics.com", subject="Q3")))
    store.learn(obs(mail("jordan@acme-logistics.com", subject="Pallets for May")))
    store.learn(obs(mail("x@bad.example", subject="Wire today"), "malicious"))

    def known(from_: str, subject: str) -> bool | None:
        return view(store, mail(from_, subject=subject)).thread_known

    assert known("jordan@acme-logistics.com", "Q3") is None  # claims no thread
    assert known("jordan@acme-logistics.com", "RE: q3") is True  # we wrote to them about it
    assert known("ops@acme-logistics.com", "AW: Re: Pallets  for May") is True  # same party
    assert known("jordan@acme-logistics.com", "RE: Wire transfer") is False
    assert known("jordan@acme-logistlcs.com", "RE: Q3") is False  # another party
    assert known("x@bad.example", "RE: Wire today") is False  # malicious mail is no thread


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "date", [None, "Tue, 03 Nov 0102 10:00:00 +0000", "Mon, 1 Jan 3610 00:00 +0000", "not a date"]
)
def test_missing_or_impossible_dates_count_without_moving_time(
    store: BaselineStore, date: str | None
) -> None:
    raw = mail(when=date)
    keys = message_keys(parse(raw), TENANT)
    assert keys.when is None and "no-date" in keys.problems
    assert store.learn(obs(raw))
    v = view(store, mail())
    assert v.sender.messages == 1 and v.sender.first_seen is None and v.sender.active_days == 0
    assert v.sender.hours == () and v.sender.messages_recent == 0
    assert v.pairs[0].messages == 1 and v.recipients[0].received == 1
    assert view(store, raw).now is None  # an undated message can still be viewed


def test_missing_from_learns_only_what_recipients_received(store: BaselineStore) -> None:
    raw = mail(from_=None)
    keys = message_keys(parse(raw), TENANT)
    assert keys.sender == "" and "no-from" in keys.problems
    assert store.learn(obs(raw))
    v = view(store, raw)
    assert v.sender.address == "" and v.pairs == ()
    assert v.recipients[0].received == 1


def test_malformed_addresses_are_dropped_not_learned(store: BaselineStore) -> None:
    raw = mail("Bad Guy <not an address>", "ok@example.com, @nodomain, broken@, <x y@z.com>")
    keys = message_keys(parse(raw), TENANT)
    assert keys.sender == ""
    assert keys.recipients == ("ok@example.com",)
    assert {"malformed-from", "malformed-recipient"} <= set(
        keys.problems
    ) or "no-from" in keys.problems
    assert store.learn(obs(raw))
    assert view(store, mail(to="ok@example.com")).recipients[0].received == 1


def test_a_message_with_nothing_to_learn_is_harmless(store: BaselineStore) -> None:
    raw = mail(from_=None, to="@nodomain").replace(b"Message-ID:", b"X-No-Id:")
    keys = message_keys(parse(raw), TENANT)
    assert keys.sender == "" and keys.recipients == () and keys.message_id == ""
    assert store.learn(obs(raw))
    assert store.learn_many([obs(raw), obs(raw)]) == 2  # no Message-ID: nothing to dedupe by
    assert view(store, raw).sender.address == ""


# --- rebuild, restart, crash ------------------------------------------------------------------


def history() -> list[Observation]:
    senders = [
        "Vendor <a@acme.com>",
        "Marcus Chen <marcus.chen@example.com>",
        "b@partner.org",
        "nora.patel@example.com",  # no display name: learns the name it spells
    ]
    rcpts = [
        "priya.raman@example.com",
        "tom.becker@example.com",
        "a@acme.com",
        "b@partner.org",
        "c@newcorp.io",
    ]
    subjects = ["Q3 invoice", "RE: Q3 invoice", "FW: board pack", "lunch"]
    out = []
    for i in range(300):
        sender = senders[i % 4]
        rcpt = rcpts[(i * 7) % 5]
        when: datetime | None = T0 + timedelta(hours=13 * i) if i % 17 else None
        body = f"Account number: {1000000 + i % 4}" if i % 5 == 0 else "hello"
        verdict = "malicious" if i % 11 == 0 else ("spam" if i % 13 == 0 else "safe")
        raw = mail(
            sender,
            rcpt,
            when=when,
            mid=f"h{i % 280}@test",
            body=body,
            cc="tom.becker@example.com",
            subject=subjects[i % 7 % 4],
        )
        out.append(obs(raw, verdict))
    return out


def test_batch_rebuild_equals_message_by_message(tmp_path: Path) -> None:
    one_by_one = MemoryStore()
    for o in history():
        one_by_one.learn(o)
    stores = [MemoryStore(batch=7), SQLiteStore(tmp_path / "a.sqlite", batch=13)]
    for store in stores:
        assert store.learn_many(history()) == 280
    sqlite_by_one = SQLiteStore(tmp_path / "b.sqlite", commit_every=5)
    for o in history():
        sqlite_by_one.learn(o)
    expected = one_by_one.dump(TENANT.id)
    assert expected
    assert {key[0] for key in expected} >= {"a", "p", "d", "n", "m", "s", "c", "$"}
    probe = message_keys(parse(mail("x@acme-billing.com")), TENANT)
    correspondents = list(one_by_one.view(TENANT.id, probe).correspondents)
    assert correspondents == ["acme.com", "newcorp.io", "partner.org"]
    for store in [*stores, sqlite_by_one]:
        assert store.dump(TENANT.id) == expected
        assert list(store.view(TENANT.id, probe).correspondents) == correspondents
        store.close()


def test_sqlite_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with SQLiteStore(path) as store:
        store.learn_many(history())
        before = store.dump(TENANT.id)
    with SQLiteStore(path) as reopened:
        assert reopened.dump(TENANT.id) == before
        assert reopened.learn_many(history()) == 0  # all already learned


def test_readers_see_commits_while_a_writer_writes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    writer = SQLiteStore(path)
    reader = SQLiteStore(path)
    raw = mail()
    assert view(reader, raw).sender.messages == 0
    writer.learn(obs(raw))
    assert view(reader, mail()).sender.messages == 1  # the reader's cache notices the commit
    writer.close()
    reader.close()


def _learn_forever(path: str, ready: multiprocessing.synchronize.Event) -> None:
    store = SQLiteStore(path, batch=50)
    items = history()

    def endless() -> Iterator[Observation]:
        ready.set()
        i = 0
        while True:  # fresh Message-IDs, so every batch writes
            o = items[i % len(items)]
            i += 1
            keys = dataclasses.replace(o.keys, message_id=f"crash{i}")
            yield dataclasses.replace(o, keys=keys)

    store.learn_many(endless())


def test_a_crash_mid_learning_leaves_the_store_consistent(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    child = ctx.Process(target=_learn_forever, args=(str(path), ready))
    child.start()
    assert ready.wait(20)
    time.sleep(0.8)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    with SQLiteStore(path) as store:
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        records = store.dump(TENANT.id)
        learned = sum(1 for key in records if key.startswith("m:"))
        assert learned > 0 and learned % 50 == 0  # whole batches, never half of one
        # every committed message counted exactly once: what recipients received adds up
        items = history()
        received = sum(r.get("rc", 0) for key, r in records.items() if key.startswith("a:"))
        assert received == sum(len(items[i % len(items)].keys.recipients) for i in range(learned))


# --- config -----------------------------------------------------------------------------------


def test_stores_open_from_typed_config(tmp_path: Path) -> None:
    memory = open_store({"type": "memory"})
    assert isinstance(memory, MemoryStore)
    sqlite_store = open_store({"type": "sqlite", "path": str(tmp_path / "x.sqlite")})
    assert isinstance(sqlite_store, SQLiteStore)
    sqlite_store.close()
    for store in (memory, sqlite_store):
        assert isinstance(store, BaselineStore)
    with pytest.raises(ValueError, match="type"):
        open_store({"type": "redis-typo"})


# --- replay order -----------------------------------------------------------------------------


def test_replay_reads_the_same_date_as_the_parser_without_parsing() -> None:
    for when in (T0, "Mon, 02 Mar 2026 08:15:00 -0800", "2 Mar 26 08:15 PST", None, "garbage"):
        raw = mail(when=when)
        assert header_date(raw) == parse(raw).date
    for impossible in ("Tue, 03 Nov 0102 10:00:00 +0000", "Mon, 1 Jan 3610 00:00 +0000"):
        assert header_date(mail(when=impossible)) is None


def test_replay_orders_by_date_with_undated_last_in_input_order() -> None:
    items = [
        (mail(when=T0 + timedelta(days=2)), "c"),
        (mail(when=None), "undated-1"),
        (mail(when=T0), "a"),
        (mail(when="Mon, 1 Jan 3610 00:00 +0000"), "undated-2"),
        (mail(when=T0 + timedelta(days=1)), "b1"),
        (mail(when=T0 + timedelta(days=1)), "b2"),
    ]
    ordered, undated = replay_order(items)
    assert ordered == ["a", "b1", "b2", "c", "undated-1", "undated-2"] and undated == 2
