"""Signals, scanned the way the product sees them: build a message, expect a signal value."""

from __future__ import annotations

import pytest

from factories import addr, attachment, auth, hop, link, make_message
from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import REGISTRY, SignalValues, discover
from mailwarden.tenant import default_tenant

discover()
CTX = Context(default_tenant())


def sig(m: Message, name: str) -> object:
    values = SignalValues(m, CTX)
    value = values[name]
    assert values.errors == []
    return value


def body(text: str, subject: str = "Hello", **kw: object) -> Message:
    return make_message(subject=subject, body=text, **kw)  # type: ignore[arg-type]


def test_every_catalogue_signal_is_registered() -> None:
    names = [
        "message.urgency",
        "message.brand_offdomain",
        "message.link.lookalike_brand",
        "message.attachment.password_hint",
        "sender.vip_impersonation",
        "recipient.external_only",
    ]
    for name in names:
        assert name in REGISTRY, name


# --- phrases: positives read like attacks, negatives like ordinary business mail (Enron-like)

PHRASES = {
    "message.payment_request": (
        [
            "Please process a wire transfer of $48,500 to the account below today.",
            "Kindly settle the outstanding invoice by end of day.",
            "I need you to make a payment to our new vendor this morning.",
            "Can you pay the attached invoice before noon?",
            "Por favor, efetue o pagamento do boleto em anexo.",
        ],
        [
            "The payment terms in the Dynegy contract are net 30.",
            "We received your payment last week, thanks.",
            "Payment history for the pipeline is attached for the audit.",
        ],
    ),
    "message.wire_transfer": (
        ["Send it by wire transfer.", "Our SWIFT code is CHASUS33.", "ACH payment details below."],
        ["We will transfer the meeting to Thursday.", "The transfer pricing memo is attached."],
    ),
    "message.bank_change": (
        [
            "Please note our bank details have changed; use the new account for all payments.",
            "We have updated our remittance information, see the attached letter.",
            "Kindly update your records with our new bank account.",
            "Our banking details with First Harbor have recently been updated.",
            "Please note the old account is no longer in use due to an audit.",
            "We switched to a different bank account last week.",
        ],
        [
            "The bank holiday moves the close to Tuesday.",
            "Bank of America called about the loan.",
            "The bank holiday schedule is attached and has been updated.",
            "The account you asked about has been closed by the customer.",
        ],
    ),
    "message.money_topic": (
        [
            "Our records still show $14,380.00 open for shipment 12.",
            "The invoice went to the wrong bank, can you check?",
            "About 12.500 EUR is still outstanding.",
        ],
        ["See you at the offsite on Thursday.", "The gift of the gab, as they say."],
    ),
    "message.payroll_change": (
        [
            "I would like to change my direct deposit to a new account before the next payroll.",
            "Please update my payroll account details, I switched banks.",
            "For payroll going forward please use my new account at Chase.",
            "I opened a new bank account and want my direct deposit there.",
        ],
        ["Payroll runs on Friday as usual.", "Direct deposit statements are on the HR portal."],
    ),
    "message.gift_card": (
        [
            "I need you to buy 5 Apple gift cards of $100 each, scratch the back, send the codes.",
            "Get Google Play cards and email me pictures of the cards.",
        ],
        ["Thanks for the gift basket!", "The card reader in room 4 is broken."],
    ),
    "message.credential_request": (
        [
            "Your password expires today. Click here to keep the same password.",
            "Verify your account to avoid interruption.",
            "Your mailbox has exceeded its storage limit.",
            "Sign in with your Microsoft 365 account to view the document.",
            "Confirme seus dados para continuar usando o aplicativo.",
        ],
        ["Can you confirm the meeting time?", "Please verify the numbers in the attached sheet."],
    ),
    "message.account_threat": (
        [
            "Your account will be suspended within 24 hours.",
            "Failure to verify will result in permanent deactivation.",
            "We will disable your mailbox.",
            "Sua conta será bloqueada.",
        ],
        ["The account was closed out in the Q2 true-up.", "Access to the floor starts at 8."],
    ),
    "message.invoice_language": (
        ["Invoice #4411 attached.", "This statement of account is past due."],
        ["See you at the offsite.", "The gas curve moved again."],
    ),
    "message.extortion": (
        [
            "I recorded you through your webcam while you were visiting adult websites.",
            "I will send the video to all your contacts unless you pay.",
            "We have obtained your internal files and will publish everything.",
        ],
        ["The recording of the all-hands is on the intranet.", "Our contacts at PG&E called."],
    ),
    "message.secrecy": (
        [
            "Keep this strictly confidential.",
            "This must stay between us for now.",
            "Do not mention it to anyone until it is announced.",
            "I need your discretion on a confidential acquisition.",
        ],
        [
            "This e-mail is confidential and may be privileged.",
            "The confidential information in the data room is for the deal team.",
        ],
    ),
    "message.availability_check": (
        ["Are you available? I need a quick favor.", "Are you at your desk?", "Got a minute?"],
        ["Are you available for a meeting on Tuesday?", "Are you free at 3pm to discuss?"],
    ),
    "message.prize_lure": (
        [
            "You have been selected as a winner of the 2025 international lottery.",
            "A sum of 10.5 million US dollars has been left to you as next of kin.",
        ],
        ["Congratulations on the promotion!", "The Winner's Circle dinner is at 7."],
    ),
    "message.shipping_lure": (
        [
            "Your package could not be delivered. Reschedule delivery here.",
            "Customs fee of $2.99 outstanding for your parcel.",
        ],
        ["The comp package is attached.", "The deal package goes to credit."],
    ),
}


@pytest.mark.parametrize("name", sorted(PHRASES))
def test_phrase_family_positives(name: str) -> None:
    for text in PHRASES[name][0]:
        assert sig(body(text), name), f"{name} should fire on: {text}"


@pytest.mark.parametrize("name", sorted(PHRASES))
def test_phrase_family_does_not_fire_on_business_mail(name: str) -> None:
    for text in PHRASES[name][1]:
        assert not sig(body(text), name), f"{name} must not fire on: {text}"


def test_urgency_counts_distinct_phrases() -> None:
    m = body("URGENT: act now, your access expires within 24 hours. Final notice.")
    assert sig(m, "message.urgency") >= 4
    assert sig(body("Lunch on Thursday?"), "message.urgency") == 0


def test_spam_phrases_count() -> None:
    m = body("Lowest prices on Viagra! 100% guaranteed, no obligation. Click here to unsubscribe.")
    assert sig(m, "message.spam_phrases") >= 5
    assert sig(body("Feel free to call me about the Q3 numbers."), "message.spam_phrases") == 0


def test_phrases_are_found_past_line_breaks_and_in_the_subject() -> None:
    assert sig(body("please keep this\nstrictly\nconfidential"), "message.secrecy")
    assert sig(
        body("nothing here", subject="Final notice: invoice 338"), "message.invoice_language"
    )


# --- contact: phones and wallets


def test_callback_scam_has_a_phone_and_call_language() -> None:
    m = body(
        "Your Norton 360 renewal of $399.99 was charged. To cancel, call us at +1 (888) 555-0142."
    )
    assert sig(m, "message.phone_numbers") == 1
    assert sig(m, "message.callback_phone")


def test_a_signature_phone_is_not_a_callback_lure() -> None:
    m = body("See you tomorrow.\n\nJeff Skilling\nEnron Corp\n713-853-6894")
    assert sig(m, "message.phone_numbers") == 1
    assert not sig(m, "message.callback_phone")


def test_dates_and_order_numbers_are_not_phones() -> None:
    assert sig(body("Shipped 2023-09-19, order 1234567890."), "message.phone_numbers") == 0


def test_crypto_wallet() -> None:
    btc = "Send 0.1 BTC to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa now."
    assert sig(body(btc), "message.crypto_wallet")
    eth = "0x52908400098527886E0F7030069857D2E4169EE7"
    assert sig(body(f"wallet {eth}"), "message.crypto_wallet")
    digest = "sha1 3a7bd3e2360a3d29eea436fcfb7e44c735d117c4 attached"
    assert not sig(body(digest), "message.crypto_wallet")


# --- structure


def test_reply_without_thread() -> None:
    assert sig(body("ok", subject="RE: wire today"), "message.reply_without_thread")
    threaded = make_message(subject="RE: wire today", in_reply_to="<a@b>")
    assert not sig(threaded, "message.reply_without_thread")
    assert sig(threaded, "message.is_reply")
    assert not sig(body("ok", subject="Regarding the wire"), "message.reply_without_thread")


def test_bulk_and_defects() -> None:
    m = make_message(
        list_headers=(("List-Unsubscribe", "<mailto:u@x.com>"),), defects=("bad-base64",)
    )
    assert sig(m, "message.bulk")
    assert sig(m, "message.defects") == ("bad-base64",)
    assert sig(m, "message.defect_count") == 1
    assert sig(make_message(headers=(("Precedence", "bulk"),)), "message.bulk")
    assert not sig(make_message(), "message.bulk")


def test_non_ascii_ratio() -> None:
    assert sig(body("plain english"), "message.language_non_ascii_ratio") == 0.0
    assert 0.9 < sig(body("Здравствуйте коллеги"), "message.language_non_ascii_ratio") <= 1.0
    pt = sig(body("Atualização cadastral obrigatória"), "message.language_non_ascii_ratio")
    assert 0 < pt < 0.2


# --- auth


def test_auth_results() -> None:
    m = make_message(auth=auth(spf="softfail", dkim="none", dmarc="fail", compauth="fail"))
    assert sig(m, "message.auth.spf") == "softfail"
    assert sig(m, "message.auth.dmarc") == "fail"
    assert sig(m, "message.auth.compauth") == "fail"
    assert sig(m, "message.auth.fail") and sig(m, "message.auth.dmarc_fail")
    ok = make_message(auth=auth(spf="pass", dkim="pass", dmarc="pass"))
    assert not sig(ok, "message.auth.fail")
    assert sig(make_message(), "message.auth.spf") == ""


# --- links


def test_lookalike_brand_link() -> None:
    for href in (
        "https://paypa1.com/login",
        "https://xn--pypal-4ve.com/",
        "https://paypal-secure-login.com/",
        "https://microsoft-office365-verify.net/",
        "http://login.microsoftonline.com.evil.ru/",
        "https://rnicrosoft.com/",
    ):
        m = make_message(links=(link(href),))
        assert sig(m, "message.link.lookalike_brand") in ("paypal", "microsoft"), href


def test_a_brands_own_domains_are_never_lookalikes() -> None:
    for href in ("https://www.paypal.com/signin", "https://amazon.de/", "https://chose.com/"):
        assert sig(make_message(links=(link(href),)), "message.link.lookalike_brand") == ""


def test_lookalike_tenant_link() -> None:
    m = make_message(links=(link("https://examp1e.com/payroll"),))
    assert sig(m, "message.link.lookalike_tenant") == "example.com"
    own = make_message(links=(link("https://intranet.example.com/"),))
    assert sig(own, "message.link.lookalike_tenant") == ""


def test_a_short_tenant_name_is_protected_from_its_typo_squats_but_not_from_other_words() -> None:
    from mailwarden.signals._lookalike import tenant_lookalike

    domains = ("enron.com",)
    for squat in ("ennron.com", "eenron.com", "ernon.com", "enorn.com", "3nron.com", "enr0n.net"):
        assert tenant_lookalike(domains, squat) == "enron.com", squat
    for other in ("enrol.com", "akron.com", "enron.com", "mail.enron.com", "heron.com"):
        assert tenant_lookalike(domains, other) == "", other


def test_link_text_mismatch() -> None:
    lie = link("https://evil.ru/x", text="www.paypal.com", text_domain="www.paypal.com")
    assert sig(make_message(links=(lie,)), "message.link.text_mismatch")
    same = link("https://www.paypal.com/x", text="paypal.com", text_domain="paypal.com")
    assert not sig(make_message(links=(same,)), "message.link.text_mismatch")


def test_link_hosts() -> None:
    m = make_message(
        links=(
            link("http://192.0.2.7/login.php", is_ip=True),
            link("https://bit.ly/x", is_shortener=True),
            link("https://track.parcel-help.top/"),
            link("https://docs-share.web.app/onedrive/login"),
        )
    )
    assert sig(m, "message.link.count") == 4
    assert sig(m, "message.link.ip_host")
    assert sig(m, "message.link.shortener")
    assert sig(m, "message.link.suspicious_tld")
    assert sig(m, "message.link.free_hosting")
    assert sig(m, "message.link.credential_path")
    assert "parcel-help.top" in sig(m, "message.link.domains")


def test_ordinary_links_are_quiet() -> None:
    m = make_message(links=(link("https://www.enron.com/corp/pressroom/"),))
    for name in (
        "message.link.ip_host",
        "message.link.suspicious_tld",
        "message.link.free_hosting",
        "message.link.credential_path",
        "message.link.punycode",
    ):
        assert not sig(m, name), name
    own_login = make_message(links=(link("https://login.microsoftonline.com/common/oauth2"),))
    assert not sig(own_login, "message.link.credential_path")


def test_sharepoint_of_another_organisation_is_free_hosting() -> None:
    other = make_message(links=(link("https://contoso-my.sharepoint.com/:b:/g/doc"),))
    assert sig(other, "message.link.free_hosting")
    ours = make_message(links=(link("https://example.sharepoint.com/sites/hr"),))
    assert not sig(ours, "message.link.free_hosting")


# --- brands


def test_brand_mention_off_domain() -> None:
    m = make_message(
        sender="Security <alerts@secure-mail.info>",
        subject="PayPal: unusual activity",
        body="Log in to restore access.",
        links=(link("https://restore.example.net/"),),
    )
    assert sig(m, "message.brand_mention") == "paypal"
    assert sig(m, "message.brand_offdomain")
    real = make_message(sender="PayPal <service@paypal.com>", subject="PayPal receipt")
    assert sig(real, "message.brand_mention") == "paypal"
    assert not sig(real, "message.brand_offdomain")


def test_ordinary_words_are_not_brands() -> None:
    m = body("The outlook for Q3 is good; chase the open items and order apple juice.")
    assert sig(m, "message.brand_mention") == ""


# --- attachments


def test_attachments() -> None:
    m = make_message(
        attachments=(
            attachment("invoice.pdf.exe", sniffed_type="pe"),
            attachment("docs.zip", archive_members=("scan.js",), is_encrypted_archive=True),
            attachment("remit.docm", macro_capable=True),
            attachment("statement.html"),
        ),
        body="The zip password is 4432",
    )
    assert sig(m, "message.attachment.count") == 4
    assert sig(m, "message.attachment.extensions") == ("exe", "zip", "js", "docm", "html")
    for name in (
        "executable",
        "double_extension",
        "macro",
        "archive",
        "encrypted_archive",
        "html",
        "password_hint",
    ):
        assert sig(m, f"message.attachment.{name}"), name


def test_an_ordinary_pdf_is_quiet() -> None:
    m = make_message(attachments=(attachment("Q3 numbers.pdf", sniffed_type="pdf"),))
    for name in ("executable", "double_extension", "macro", "archive", "html", "password_hint"):
        assert not sig(m, f"message.attachment.{name}"), name
    assert not sig(
        body("Your new password is on the way from IT."), "message.attachment.password_hint"
    )


# --- html


def test_html_signals() -> None:
    m = make_message(
        text="",
        html="<form action=x><script>1</script>",
        html_text="Sign in",
        hidden_text="lorem ipsum dolor sit amet consectetur",
        html_forms=1,
        html_scripts=1,
    )
    for name in ("hidden_text", "form", "script", "only"):
        assert sig(m, f"message.html.{name}"), name
    alt = make_message(html="<p>Hi</p>", html_text="Hi", text="Hi there (plain)")
    assert not sig(alt, "message.html.only")
    assert not sig(make_message(hidden_text="preview"), "message.html.hidden_text")


# --- sender


def test_vip_display_name_on_gmail_is_vip_impersonation() -> None:
    m = make_message(sender="Dana Whitfield <dana.whitfield.ceo@gmail.com>")
    assert sig(m, "sender.vip_name") == "Dana Whitfield"
    assert sig(m, "sender.vip_impersonation")
    assert sig(m, "sender.employee_impersonation")
    assert sig(m, "sender.freemail")
    assert not sig(m, "sender.internal")


def test_name_variants_still_match_the_person() -> None:
    for display in ("Whitfield, Dana", "Dana Whitfield (CEO)", "Dаna Whitfield", "Dana Whitfeild"):
        m = make_message(sender=f"{display} <ceo.office@protonmail.com>")
        assert sig(m, "sender.vip_name") == "Dana Whitfield", display


def test_the_vip_herself_is_not_an_impersonation() -> None:
    m = make_message(sender="Dana Whitfield <dana.whitfield@example.com>")
    assert sig(m, "sender.vip_name") == "Dana Whitfield"
    assert not sig(m, "sender.vip_impersonation")
    assert not sig(m, "sender.employee_impersonation")
    assert sig(m, "sender.internal")


def test_non_vip_employee_name_outside() -> None:
    m = make_message(sender="Tom Becker <tbecker1987@yahoo.com>")
    assert sig(m, "sender.employee_impersonation")
    assert not sig(m, "sender.vip_impersonation")


def test_strangers_are_not_people_of_the_tenant() -> None:
    m = make_message(sender="Kenneth Lay <klay@enron.com>")
    assert sig(m, "sender.vip_name") == ""
    assert not sig(m, "sender.employee_impersonation")


def test_sender_identity_fields() -> None:
    m = make_message(sender='"Marcus Chen" <Marcus.Chen@Mail.Example.com>')
    assert sig(m, "sender.address") == "marcus.chen@mail.example.com"
    assert sig(m, "sender.registrable") == "example.com"
    assert sig(m, "sender.display_name") == "Marcus Chen"
    assert not sig(m, "sender.missing")
    assert sig(make_message(sender=None), "sender.missing")


def test_display_name_carrying_another_address() -> None:
    m = make_message(sender='"billing@paypal.com" <x9@mailer.ru>')
    assert sig(m, "sender.display_name_has_address")
    assert sig(m, "sender.display_name_address_mismatch")
    same = make_message(sender='"x9@mailer.ru" <x9@mailer.ru>')
    assert not sig(same, "sender.display_name_address_mismatch")


def test_brand_display_name_off_domain() -> None:
    m = make_message(sender="Microsoft Account Team <no-reply@account-ms-team.com>")
    assert sig(m, "sender.display_name_brand") == "microsoft"
    assert sig(m, "sender.brand_domain_mismatch")
    real = make_message(
        sender="Microsoft <account-security-noreply@accountprotection.microsoft.com>"
    )
    assert not sig(real, "sender.brand_domain_mismatch")
    person = make_message(sender="Chase Miller <chase.miller@gmail.com>")
    assert sig(person, "sender.display_name_brand") == ""


def test_sender_lookalikes() -> None:
    m = make_message(sender="Marcus Chen <marcus.chen@examp1e.com>")
    assert sig(m, "sender.lookalike_tenant") == "example.com"
    b = make_message(sender="DocuSign <dse@docusign-mail.net>")
    assert sig(b, "sender.lookalike_brand") == "docusign"
    real = make_message(sender="DocuSign <dse@docusign.net>")
    assert sig(real, "sender.lookalike_brand") == ""


def test_homoglyph_sender() -> None:
    assert sig(make_message(sender="Dаna Whitfield <d@gmail.com>"), "sender.homoglyph")
    assert sig(make_message(sender="PayPal <service@xn--pypal-4ve.com>"), "sender.homoglyph")
    assert not sig(make_message(sender="José Müller <jm@web.de>"), "sender.homoglyph")
    assert not sig(make_message(sender="Иван Петров <ivan@mail.ru>"), "sender.homoglyph")


def test_reply_to_and_return_path() -> None:
    m = make_message(
        sender="Marcus Chen <marcus.chen@example.com>",
        reply_to=("marcus.chen.cfo@gmail.com",),
        return_path="bounce@mailer.biz",
    )
    assert sig(m, "sender.reply_to_differs")
    assert sig(m, "sender.reply_to_freemail")
    assert sig(m, "sender.return_path_differs")
    own = make_message(sender="Al <al@gmail.com>", reply_to=("al@gmail.com",))
    assert not sig(own, "sender.reply_to_freemail")


def test_internal_spoof() -> None:
    spoof = make_message(auth=auth(spf="fail", dmarc="fail"))
    assert sig(spoof, "sender.internal_spoof")
    outside = make_message(received=(hop("vps-22.hostingco.net", "45.33.12.7"),))
    assert sig(outside, "sender.internal_spoof")
    signed = make_message(
        received=(hop("mail-out.example.com", "198.51.100.3"),), auth=auth(dmarc="pass")
    )
    assert not sig(signed, "sender.internal_spoof")
    assert not sig(make_message(), "sender.internal_spoof")


def test_suspicious_tld_and_random_local() -> None:
    m = make_message(sender="Support <x7k2q9z4m1@notice.top>")
    assert sig(m, "sender.suspicious_tld")
    assert sig(m, "sender.random_local")
    assert not sig(make_message(), "sender.random_local")
    assert not sig(make_message(sender="Jeff <jeff.skilling@enron.com>"), "sender.random_local")


# --- recipients


def test_recipients() -> None:
    m = make_message(
        to=("Dana Whitfield <dana.whitfield@example.com>", "Priya Raman <priya.raman@example.com>"),
        cc=("Tom Becker <tom.becker@example.com>",),
    )
    assert sig(m, "recipient.count") == 3
    assert sig(m, "recipient.roles") == ("finance", "hr", "vip")
    assert sig(m, "recipient.vip") and sig(m, "recipient.finance") and sig(m, "recipient.hr")
    assert not sig(m, "recipient.external_only")
    assert not sig(m, "recipient.undisclosed")


def test_undisclosed_and_self_addressed() -> None:
    assert sig(make_message(to=()), "recipient.undisclosed")
    self_sent = make_message(
        sender="Victim <victim@gmail.com>", to=("victim@gmail.com",), subject="I hacked you"
    )
    assert sig(self_sent, "recipient.to_sender")
    assert sig(self_sent, "recipient.external_only")


def test_address_factory_roundtrip() -> None:
    a = addr("Dana Whitfield <Dana.Whitfield@Example.com>")
    assert (a.name, a.addr, a.domain, a.registrable, a.local) == (
        "Dana Whitfield",
        "dana.whitfield@example.com",
        "example.com",
        "example.com",
        "dana.whitfield",
    )
