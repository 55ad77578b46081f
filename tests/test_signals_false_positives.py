"""Signal false positives found on legitimate mail, each next to the phishing it must keep."""

from __future__ import annotations

import pytest

from factories import make_message
from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import SignalValues, discover
from mailwarden.signals._lookalike import brand_lookalike
from mailwarden.tenant import default_tenant

discover()
CTX = Context(default_tenant())


def sig(m: Message, name: str) -> object:
    values = SignalValues(m, CTX)
    value = values[name]
    assert values.errors == []
    return value


@pytest.mark.parametrize(
    "text",
    [
        "Please update the bank details for invoice 4471 before Friday's run.",
        "Could you update the vendor account in SAP with the new remittance address?",
        "Can you confirm the shipping details for order 118?",
    ],
)
def test_bookkeeping_updates_are_no_credential_request(text: str) -> None:
    assert sig(make_message(body=text), "message.credential_request") is False


@pytest.mark.parametrize(
    "text",
    [
        "Please verify your account within 24 hours or it will be closed.",
        "Kindly confirm the account ownership using the button below.",
        "Update your billing information to keep your subscription.",
    ],
)
def test_sign_in_lures_still_are(text: str) -> None:
    assert sig(make_message(body=text), "message.credential_request") is True


@pytest.mark.parametrize(
    "host",
    ["healthcareoutlook.com", "outlookindia.com", "capitalone.bfi0.com", "rocketball.com"],
)
def test_ordinary_domains_are_no_brand_lookalikes(host: str) -> None:
    assert brand_lookalike(host) == ""


@pytest.mark.parametrize(
    ("host", "brand"),
    [
        ("outlook-verify.com", "microsoft"),
        ("outlook365-login.com", "microsoft"),
        ("login.outlook.com.evil.ru", "microsoft"),
        ("capitalone.evil.com", "capitalone"),
        ("rocketmai1.com", "yahoo"),
    ],
)
def test_lookalikes_still_are(host: str, brand: str) -> None:
    assert brand_lookalike(host) == brand
