"""Scan a message, expect a verdict and the symbols that explain it (rspamd's functional habit)."""

from pathlib import Path

import pytest

from mailwarden.engine import Engine
from mailwarden.tenant import Tenant, default_tenant

DEMO = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def message(from_: str, subject: str, body: str, *, headers: str = "") -> bytes:
    return (
        f"From: {from_}\nTo: Priya Raman <priya.raman@example.com>\nSubject: {subject}\n"
        f"Date: Tue, 03 Nov 2026 09:14:00 +0000\nMessage-ID: <t-{abs(hash(body))}@test>\n"
        f"{headers}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    ).encode()


CEO_WIRE = (
    "Priya, are you at your desk? I need you to process a wire transfer of $48,500 to a new "
    "supplier today before 3pm. Keep this confidential until the deal is announced. "
    "I'm in meetings, reply by email only.\nDana"
)


def test_ceo_name_on_a_freemail_address_asking_for_a_wire_is_malicious_bec(engine: Engine) -> None:
    verdict = engine.scan(
        message('"Dana Whitfield" <dana.whitfield.ceo@gmail.com>', "Wire", CEO_WIRE)
    )
    assert verdict.verdict == "malicious"
    assert verdict.category == "bec"
    assert "BEC_VIP_NAME_FREEMAIL" in verdict.symbols
    top = verdict.findings[0]
    assert "Dana Whitfield" in top.evidence or "gmail.com" in top.evidence
    assert sum(f.contribution for f in verdict.findings if f.category == "bec") == pytest.approx(
        1.0, abs=0.01
    )


def test_the_same_request_from_the_ceos_real_address_is_safe(engine: Engine) -> None:
    auth = "Authentication-Results: mx.example.com; spf=pass; dkim=pass; dmarc=pass\n"
    raw = message('"Dana Whitfield" <dana.whitfield@example.com>', "Wire", CEO_WIRE, headers=auth)
    assert engine.scan(raw).verdict == "safe"


def test_lookalike_of_the_organisations_own_domain_is_caught(engine: Engine) -> None:
    raw = message(
        '"Marcus Chen" <marcus.chen@examp1e.com>',
        "Payment today",
        "Please process the attached invoice payment by wire transfer today, it is urgent.",
    )
    verdict = engine.scan(raw)
    assert verdict.verdict in {"suspicious", "malicious"}
    assert "BEC_SENDER_LOOKALIKE_TENANT" in verdict.symbols


def test_ordinary_business_mail_is_safe(engine: Engine) -> None:
    raw = message(
        '"Jordan Ellis" <jordan.ellis@acme-logistics.com>',
        "Q3 shipping schedule",
        "Hi Priya, attached is the revised Q3 shipping schedule. Let me know if the "
        "October dates work for your team.\nThanks, Jordan",
    )
    verdict = engine.scan(raw)
    assert (verdict.verdict, verdict.findings) == ("safe", ())


def test_tenant_block_list_and_score_overrides_apply(engine: Engine) -> None:
    base = default_tenant().model_dump()
    blocked = Engine(Tenant.model_validate({**base, "block_senders": ["@acme-logistics.com"]}))
    raw = message("<x@acme-logistics.com>", "hello", "Nothing unusual here.")
    verdict = blocked.scan(raw)
    assert verdict.verdict == "malicious"
    assert verdict.extra["policy"] == {"decision": "block", "entry": "@acme-logistics.com"}

    quiet = Engine(Tenant.model_validate({**base, "disabled_rules": ["BEC_VIP_NAME_FREEMAIL"]}))
    raw = message('"Dana Whitfield" <dana.whitfield.ceo@gmail.com>', "Wire", CEO_WIRE)
    assert "BEC_VIP_NAME_FREEMAIL" not in quiet.scan(raw).symbols


def test_a_spoofed_allow_listed_sender_is_not_waved_through(engine: Engine) -> None:
    base = default_tenant().model_dump()
    allowing = Engine(Tenant.model_validate({**base, "allow_senders": ["@gmail.com"]}))
    raw = message('"Dana Whitfield" <dana.whitfield.ceo@gmail.com>', "Wire", CEO_WIRE)
    assert allowing.scan(raw).verdict == "safe"
    forged = message(
        '"Dana Whitfield" <dana.whitfield.ceo@gmail.com>',
        "Wire",
        CEO_WIRE,
        headers="Authentication-Results: mx.example.com; spf=fail; dmarc=fail\n",
    )
    assert allowing.scan(forged).verdict == "malicious"


DEMO_EXPECTATIONS = {
    "bec_ceo_wire_freemail.eml": ("malicious", "bec", "BEC_VIP_NAME_FREEMAIL"),
    "callback_scam_geek_squad_renewal.eml": (
        "malicious",
        "callback_scam",
        "CALLBACK_BRAND_NOT_FROM_BRAND",
    ),
    "credential_phishing_m365_password_expiry.eml": (
        "malicious",
        "credential_phishing",
        "CRED_LINK_LOOKALIKE_BRAND",
    ),
    "credential_phishing_html_attachment_remittance.eml": (
        "malicious",
        "credential_phishing",
        "CRED_HTML_ATTACHMENT_LURE",
    ),
    "extortion_sextortion_bitcoin.eml": ("malicious", "extortion", "EXTORTION_THREAT_WITH_WALLET"),
    "gift_card_ceo_amazon_cards.eml": ("malicious", None, "GIFT_CARD_REQUEST_IMPERSONATION"),
    "invoice_fraud_vendor_bank_change.eml": (
        "malicious",
        "invoice_fraud",
        "INVOICE_BANK_CHANGE_UNTRUSTED_SENDER",
    ),
    "malware_docm_macro_remittance.eml": (
        "malicious",
        "malware",
        "MALWARE_MACRO_DOCUMENT_EXTERNAL",
    ),
    "malware_double_extension_invoice.eml": ("malicious", "malware", "MALWARE_DOUBLE_EXTENSION"),
    "payroll_diversion_direct_deposit_freemail.eml": (
        "malicious",
        "payroll_diversion",
        "PAYROLL_CHANGE_IMPERSONATED_EMPLOYEE",
    ),
    "scam_419_inheritance.eml": ("malicious", "scam", "SCAM_PRIZE_LURE_UNTRUSTED"),
    "spam_pharma_pills.eml": ("spam", "spam", "SPAM_PHARMA_SUBJECT"),
    "ham_docusign_envelope.eml": ("safe", "", None),
    "ham_newsletter_list_unsubscribe.eml": ("safe", "", None),
    "ham_wire_approval_internal.eml": ("safe", "", None),
}


def test_every_demo_sample_has_an_expectation() -> None:
    assert {p.name for p in DEMO.glob("*.eml")} == set(DEMO_EXPECTATIONS)


@pytest.mark.parametrize(("name", "expected"), sorted(DEMO_EXPECTATIONS.items()))
def test_demo_sample_verdicts(
    engine: Engine, name: str, expected: tuple[str, str | None, str | None]
) -> None:
    verdict_label, category, symbol = expected
    verdict = engine.scan((DEMO / name).read_bytes(), source=name)
    assert verdict.verdict == verdict_label
    if category is not None:
        assert verdict.category == category
    if symbol is not None:
        assert symbol in verdict.symbols
    assert verdict.defects == ()
