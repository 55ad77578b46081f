"""parse(): hand-written messages in, field values out."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import UTC, datetime

from mailwarden.message import Message
from mailwarden.parse import parse


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _mixed(*parts: bytes, headers: bytes = b"") -> bytes:
    body = b"".join(b"--XYZ\r\n" + part + b"\r\n" for part in parts)
    return (
        b"From: Alice <alice@example.com>\r\n"
        b"To: bob@example.org\r\n"
        b"Subject: files\r\n"
        b"Date: Mon, 4 Mar 2024 09:00:00 +0100\r\n"
        b"Message-ID: <files@example.com>\r\n" + headers + b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n' + body + b"--XYZ--\r\n"
    )


def _attachment(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    return (
        f'Content-Type: {ctype}; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + _b64(data)


PHISH = b"""Return-Path: <Bounce@Mailer.Evil.RU>
Received: from mx.example.org (mx.example.org [10.1.2.3])
\tby mail.example.org (Postfix) with ESMTP id 1; Tue, 5 Mar 2024 10:00:02 +0000
Received: from smtp.evil.ru (smtp.evil.ru [185.220.101.4])
\tby mx.example.org with ESMTPS id 2; Tue, 5 Mar 2024 10:00:01 +0000
Received: from [192.168.1.20] (unknown [192.168.1.20])
\tby smtp.evil.ru; Tue, 5 Mar 2024 10:00:00 +0000
Authentication-Results: mx.example.org; spf=softfail (domain does not designate)
 smtp.mailfrom=mailer.evil.ru; dkim=none (message not signed) header.d=none;
 dmarc=fail action=quarantine header.from=paypal.com; compauth=fail reason=000
From: =?utf-8?q?PayPal_S=C3=A9curit=C3=A9?= <service@paypal.com>
Reply-To: "Help Desk" <help@evil-support.ru>
To: "Lay, Kenneth" <KLay@Enron.com>, jskilling@enron.com
Cc: undisclosed-recipients:;
Subject: =?utf-8?b?Vm90cmUgY29tcHRlIGVzdCBibG9xdcOp?= now
Date: Tue, 5 Mar 2024 10:00:00 +0000
Message-ID: <phish-1@evil.ru>
In-Reply-To: <orig-1@paypal.com>
References: <orig-0@paypal.com>
 <orig-1@paypal.com>
List-Unsubscribe: <https://evil.ru/unsub>, <mailto:unsub@evil.ru>
List-Id: Promotions <promo.evil.ru>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Votre compte est bloqu=C3=A9. Confirm at https://bit.ly/3xYz or visit
www.paypal-secure.com/login.
--alt
Content-Type: text/html; charset=utf-8

<html><body>
<p>Votre compte est <b>bloqu\xc3\xa9</b>.</p>
<a href="http://login.evil.ru/pp">https://www.paypal.com/signin</a>
<a href="https://xn--pypal-4ve.com/">PayPal</a>
<a href="http://185.220.101.4/x">Click here</a>
<a href="mailto:help@evil.ru">mail us</a>
<div style="display:none">invoice receipt shipping</div>
<span style="color:#ffffff">hidden white words</span>
<form action="https://collect.evil.ru/post"><input name="pw"></form>
<script>var a = 1;</script>
<img src="https://tracker.evil.ru/p.gif">
</body></html>
--alt--
"""


def _phish() -> Message:
    return parse(PHISH.replace(b"\n", b"\r\n"))


def test_headers_addresses_and_rfc2047() -> None:
    m = _phish()
    assert m.parser == "fast"
    assert m.subject == "Votre compte est bloqué now"
    assert m.from_ is not None
    assert m.from_.name == "PayPal Sécurité"
    assert m.from_.addr == "service@paypal.com"
    assert m.from_.domain == "paypal.com"
    assert m.from_.registrable == "paypal.com"
    assert m.from_.local == "service"
    assert [a.addr for a in m.reply_to] == ["help@evil-support.ru"]
    assert m.reply_to[0].name == "Help Desk"
    assert m.reply_to[0].registrable == "evil-support.ru"
    assert [(a.name, a.addr) for a in m.to] == [
        ("Lay, Kenneth", "klay@enron.com"),
        ("", "jskilling@enron.com"),
    ]
    assert m.cc == ()
    assert m.return_path == "bounce@mailer.evil.ru"
    assert m.date == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    assert m.message_id == "phish-1@evil.ru"
    assert m.in_reply_to == "orig-1@paypal.com"
    assert m.references == ("orig-0@paypal.com", "orig-1@paypal.com")
    assert m.header("subject") == m.subject
    assert [name for name, _ in m.headers][:4] == [
        "Return-Path",
        "Received",
        "Received",
        "Received",
    ]
    assert len(m.header_all("Received")) == 3
    assert m.size == len(PHISH.replace(b"\n", b"\r\n"))
    assert m.defects == ()


def test_list_headers() -> None:
    m = _phish()
    names = dict(m.list_headers)
    assert names["List-Unsubscribe"] == "<https://evil.ru/unsub>, <mailto:unsub@evil.ru>"
    assert names["List-Id"] == "Promotions <promo.evil.ru>"


def test_received_chain_and_originating_ip() -> None:
    m = _phish()
    assert [h.from_host for h in m.received] == ["mx.example.org", "smtp.evil.ru", "[192.168.1.20]"]
    assert [h.by_host for h in m.received] == ["mail.example.org", "mx.example.org", "smtp.evil.ru"]
    assert [h.ip for h in m.received] == ["10.1.2.3", "185.220.101.4", "192.168.1.20"]
    assert m.received[0].date == datetime(2024, 3, 5, 10, 0, 2, tzinfo=UTC)
    # The bottom hop is private; the first public one above it is where the mail came from.
    assert m.originating_ip == "185.220.101.4"


def test_x_originating_ip_wins() -> None:
    raw = b"X-Originating-IP: [203.0.113.77]\nFrom: a@b.com\nSubject: x\n\nhi\n"
    assert parse(raw).originating_ip == "203.0.113.77"


def test_authentication_results() -> None:
    m = _phish()
    assert m.auth_result("spf") == "softfail"
    assert m.auth_result("dkim") == "none"
    assert m.auth_result("dmarc") == "fail"
    assert m.auth_result("compauth") == "fail"
    dmarc = next(r for r in m.auth if r.method == "dmarc")
    assert ("header.from", "paypal.com") in dmarc.properties
    assert ("action", "quarantine") in dmarc.properties
    spf = next(r for r in m.auth if r.method == "spf")
    assert spf.properties == (("smtp.mailfrom", "mailer.evil.ru"),)


def test_received_spf_and_arc_when_no_authentication_results() -> None:
    raw = (
        b"ARC-Authentication-Results: i=1; mx.google.com; dkim=pass header.i=@x.com;"
        b" dmarc=pass (p=NONE) header.from=x.com; arc=none\n"
        b"Received-SPF: Pass (protection.outlook.com: domain of x.com designates 1.2.3.4)"
        b" receiver=protection.outlook.com; client-ip=1.2.3.4; helo=mail.x.com;\n"
        b"From: a@x.com\n\nbody\n"
    )
    m = parse(raw)
    assert m.auth_result("dkim") == "pass"
    assert m.auth_result("dmarc") == "pass"
    assert m.auth_result("spf") == "pass"
    spf = next(r for r in m.auth if r.method == "spf")
    assert ("client-ip", "1.2.3.4") in spf.properties


def test_multipart_alternative_bodies() -> None:
    m = _phish()
    assert m.text.startswith("Votre compte est bloqué. Confirm at https://bit.ly/3xYz")
    assert "Votre compte est bloqué ." in m.html_text or "Votre compte est bloqué." in m.html_text
    assert "invoice receipt" not in m.html_text
    assert "hidden white words" not in m.html_text
    assert "invoice receipt shipping" in m.hidden_text
    assert "hidden white words" in m.hidden_text
    assert m.html.startswith("<html>")
    assert m.html_forms == 1
    assert m.html_form_actions == ("https://collect.evil.ru/post",)
    assert m.html_scripts == 1


def test_links() -> None:
    m = _phish()
    by_href = {link.href: link for link in m.links}
    mismatch = by_href["http://login.evil.ru/pp"]
    assert mismatch.source == "html"
    assert mismatch.text == "https://www.paypal.com/signin"
    assert mismatch.text_domain == "www.paypal.com"
    assert mismatch.host == "login.evil.ru"
    assert mismatch.registrable == "evil.ru"
    assert mismatch.scheme == "http"

    puny = by_href["https://xn--pypal-4ve.com/"]
    assert puny.is_punycode and puny.text == "PayPal" and puny.text_domain == ""

    ip = by_href["http://185.220.101.4/x"]
    assert ip.is_ip and ip.host == "185.220.101.4" and ip.registrable == "185.220.101.4"

    short = by_href["https://bit.ly/3xYz"]
    assert short.is_shortener and short.source == "text"
    assert by_href["www.paypal-secure.com/login"].host == "www.paypal-secure.com"
    assert by_href["www.paypal-secure.com/login"].scheme == ""
    assert by_href["https://collect.evil.ru/post"].source == "form"
    assert by_href["https://tracker.evil.ru/p.gif"].source == "image"
    assert not any(link.href.startswith("mailto:") for link in m.links)
    assert len(by_href) == len(m.links)  # de-duplicated


def test_userinfo_trick_and_schemeless_href() -> None:
    html = (
        b'<a href="http://paypal.com@evil.ru/x">paypal.com</a>'
        b'<a href="evil.ru">www.paypal.com</a><a href="/relative">x</a>'
    )
    m = parse(b"From: a@b.com\nContent-Type: text/html\n\n" + html)
    hosts = {link.href: (link.host, link.text_domain) for link in m.links}
    assert hosts["http://paypal.com@evil.ru/x"] == ("evil.ru", "paypal.com")
    assert hosts["evil.ru"] == ("evil.ru", "www.paypal.com")
    assert "/relative" not in hosts
    assert m.text == m.html_text  # no plain part: the visible HTML text stands in


def test_attachment_double_extension_and_mismatch() -> None:
    pe = b"MZ\x90\x00" + b"\x00" * 200
    m = parse(
        _mixed(b"Content-Type: text/plain\r\n\r\nsee attached", _attachment("invoice.pdf.exe", pe))
    )
    assert m.text == "see attached"
    (att,) = m.attachments
    assert att.filename == "invoice.pdf.exe"
    assert att.extension == "exe"
    assert att.sniffed_type == "pe"
    assert att.declared_type == "application/octet-stream"
    assert att.size == len(pe)
    assert len(att.sha256) == 64
    assert not att.extension_mismatch  # it says exe and it is one

    fake_pdf = parse(_mixed(_attachment("statement.pdf", pe, "application/pdf")))
    assert fake_pdf.attachments[0].extension_mismatch
    assert fake_pdf.attachments[0].sniffed_type == "pe"


def test_zip_members_and_encryption_flag() -> None:
    data = _zip({"readme.txt": b"hello", "payload/run.js": b"WScript.Echo(1)"})
    m = parse(_mixed(_attachment("docs.zip", data, "application/zip")))
    (att,) = m.attachments
    assert att.sniffed_type == "zip"
    assert att.archive_members == ("readme.txt", "payload/run.js")
    assert not att.is_encrypted_archive
    assert not att.extension_mismatch
    assert m.defects == ()


def test_docm_and_ole_macros() -> None:
    docm = _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "word/document.xml": b"<w:document/>",
            "word/vbaProject.bin": b"\xd0\xcf\x11\xe0",
        }
    )
    m = parse(_mixed(_attachment("invoice.docm", docm)))
    (att,) = m.attachments
    assert att.sniffed_type == "ooxml"
    assert att.macro_capable
    assert "word/vbaProject.bin" in att.archive_members

    renamed = parse(_mixed(_attachment("invoice.docx", docm)))
    assert renamed.attachments[0].macro_capable  # the bytes carry VBA whatever the name says

    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "_VBA_PROJECT".encode("utf-16-le")
    doc = parse(_mixed(_attachment("old.doc", ole)))
    assert doc.attachments[0].sniffed_type == "ole"
    assert doc.attachments[0].macro_capable
    plain_ole = parse(_mixed(_attachment("old.doc", ole[:520])))
    assert not plain_ole.attachments[0].macro_capable


def test_sniffed_types() -> None:
    samples = {
        "a.pdf": (b"%PDF-1.7\n", "pdf"),
        "a.png": (b"\x89PNG\r\n\x1a\n....", "png"),
        "a.jpg": (b"\xff\xd8\xff\xe0....", "jpeg"),
        "a.gif": (b"GIF89a....", "gif"),
        "a.rar": (b"Rar!\x1a\x07\x00", "rar"),
        "a.7z": (b"7z\xbc\xaf\x27\x1c....", "7z"),
        "a.gz": (b"\x1f\x8b\x08\x00", "gzip"),
        "a.lnk": (b"\x4c\x00\x00\x00\x01\x14\x02\x00....", "lnk"),
        "a.rtf": (b"{\\rtf1\\ansi", "rtf"),
        "a.cab": (b"MSCF\x00\x00", "cab"),
        "a.elf": (b"\x7fELF\x02\x01", "elf"),
        "a.html": (b"  <!DOCTYPE html><html><body>x</body></html>", "html"),
        "a.svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        "a.iso": (b"\x00" * 0x8001 + b"CD001" + b"\x00" * 10, "iso"),
    }
    parts = [_attachment(name, data) for name, (data, _) in samples.items()]
    m = parse(_mixed(*parts))
    got = {a.filename: a.sniffed_type for a in m.attachments}
    assert got == {name: kind for name, (_, kind) in samples.items()}
    assert not any(a.extension_mismatch for a in m.attachments)


def test_attached_message() -> None:
    inner = b"From: x@y.com\r\nSubject: Original invoice\r\n\r\nPay now\r\n"
    part = b"Content-Type: message/rfc822\r\n\r\n" + inner
    m = parse(_mixed(b"Content-Type: text/plain\r\n\r\nfwd", part))
    (att,) = m.attachments
    assert att.is_message
    assert att.filename == "Original invoice"
    assert att.declared_type == "message/rfc822"
    assert m.text == "fwd"


def test_html_attachment_is_not_the_body() -> None:
    page = b"<html><body><form action='https://steal.example/x'></form></body></html>"
    m = parse(
        _mixed(
            b"Content-Type: text/plain\r\n\r\nopen the file",
            _attachment("fax.html", page, "text/html"),
        )
    )
    assert m.html == ""
    assert m.attachments[0].sniffed_type == "html"
    assert m.attachments[0].declared_type == "text/html"


def test_rfc2047_filename_and_charset_body() -> None:
    part = (
        b'Content-Type: application/pdf; name="=?utf-8?b?RmFrdHVyYV/DvGJlci5wZGY=?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(b"%PDF-1.4")
    )
    latin = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdfe"
    m = parse(_mixed(latin, part))
    assert m.text == "Grüße"
    assert m.attachments[0].filename == "Faktura_über.pdf"
    assert m.attachments[0].extension == "pdf"


def test_headers_keep_order_and_duplicates() -> None:
    raw = b"X-A: 1\nSubject: s\nX-A: 2\nX-B: 3\nFrom: a@b.com\n\nbody"
    m = parse(raw)
    assert m.headers == (
        ("X-A", "1"),
        ("Subject", "s"),
        ("X-A", "2"),
        ("X-B", "3"),
        ("From", "a@b.com"),
    )
    assert m.header_all("x-a") == ["1", "2"]


def test_undecoded_quoted_printable_does_not_end_up_in_a_link_host() -> None:
    m = parse(b"From: a@enron.com\n\nSee www.enron.com=20\nand http://ferc.gov=\n/docs today\n")
    assert {link.host for link in m.links} == {"www.enron.com", "ferc.gov"}
