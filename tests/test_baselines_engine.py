"""The engine with a baseline store: fetch the view, score, then learn; never raise."""

from __future__ import annotations

from pathlib import Path

from mailwarden.baselines import BaselineView, MemoryStore, message_keys
from mailwarden.engine import Engine
from mailwarden.parse import parse
from mailwarden.tenant import default_tenant

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
HAM = b"""From: Sam Vendor <sam@acme-supplies.com>
To: Priya Raman <priya.raman@example.com>
Subject: Lunch on Thursday
Date: Tue, 03 Nov 2026 10:00:00 +0000
Message-ID: <lunch-1@acme-supplies.com>

Are we still on for Thursday?
"""


def sender_view(store: MemoryStore, raw: bytes) -> BaselineView:
    tenant = default_tenant()
    return store.view(tenant.id, message_keys(parse(raw), tenant))


def test_scan_scores_with_the_view_then_learns() -> None:
    store = MemoryStore()
    engine = Engine(store=store)
    verdict, values = engine.explain(HAM, learn=True)
    assert verdict.verdict == "safe"
    assert values is not None and isinstance(values.ctx.baseline, BaselineView)
    assert values.ctx.baseline.sender.messages == 0  # scored before it was learned
    assert sender_view(store, HAM).sender.messages == 1
    _, again = engine.explain(HAM.replace(b"lunch-1", b"lunch-2"))
    assert again is not None and again.ctx.baseline.sender.messages == 1


def test_scan_with_learn_off_freezes_the_baselines() -> None:
    store = MemoryStore()
    Engine(store=store).scan(HAM, learn=False)
    assert sender_view(store, HAM).sender.messages == 0


def test_malicious_mail_is_not_learned_as_known_good() -> None:
    store = MemoryStore()
    raw = (SAMPLES / "bec_ceo_wire_freemail.eml").read_bytes()
    verdict = Engine(store=store).scan(raw)
    assert verdict.verdict == "malicious"
    profile = sender_view(store, raw).sender
    assert profile.messages == 0 and profile.malicious == 1


class BrokenStore(MemoryStore):
    def view(self, tenant: str, keys: object) -> BaselineView:  # type: ignore[override]
        raise RuntimeError("disk on fire")

    def learn(self, observation: object) -> bool:  # type: ignore[override]
        raise OSError("still on fire")


def test_a_store_failure_becomes_a_defect_not_an_exception() -> None:
    verdict, values = Engine(store=BrokenStore()).explain(HAM, learn=True)
    assert verdict.verdict == "safe"
    assert "baseline-error:RuntimeError" in verdict.defects
    assert "baseline-error:OSError" in verdict.defects
    assert values is not None and values.ctx.baseline is None


def test_without_a_store_nothing_changes() -> None:
    verdict, values = Engine().explain(HAM)
    assert values is not None and values.ctx.baseline is None
    assert not any(d.startswith("baseline-error") for d in verdict.defects)
