"""parse() on hostile and broken input: always a Message, with the right defects, in time."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwarden.message import Message
from mailwarden.parse import limits, parse

BUDGET_S = 2.0


def timed(raw: bytes) -> Message:
    started = time.perf_counter()
    message = parse(raw)
    elapsed = time.perf_counter() - started
    assert isinstance(message, Message)
    assert elapsed < BUDGET_S, f"parse took {elapsed:.2f}s"
    assert message.size == len(raw)
    assert len(set(message.defects)) == len(message.defects)
    return message


HEAD = b"From: a@example.com\nDate: Mon, 4 Mar 2024 09:00:00 +0000\nMessage-ID: <x@example.com>\n"


def test_empty_bytes() -> None:
    m = timed(b"")
    assert m.defects[:1] == ("empty-message",)
    assert m.from_ is None and m.headers == () and m.text == ""


def test_binary_garbage() -> None:
    m = timed(bytes(range(256)) * 40)
    assert "not-mime" in m.defects
    assert "no-from" in m.defects
    assert m.headers == ()


def test_only_headers() -> None:
    m = timed(HEAD + b"Subject: only headers")
    assert m.subject == "only headers"
    assert m.text == "" and m.attachments == ()
    assert m.defects == ()


def test_missing_from_date_message_id() -> None:
    m = timed(b"Subject: x\n\nbody")
    assert m.defects == ("no-from", "no-date", "no-message-id")


def test_bad_from_and_multiple_from() -> None:
    assert "bad-from" in timed(b"From: not an address\n\nx").defects
    assert "multiple-from" in timed(b"From: a@x.com, b@y.com\n\nx").defects
    assert "multiple-from" in timed(b"From: a@x.com\nFrom: b@y.com\n\nx").defects


@pytest.mark.parametrize(
    ("date", "defect"),
    [
        (b"yesterday-ish", "bad-date"),
        (b"Mon, 4 Mar 0102 09:00:00 +0000", "date-out-of-range"),
        (b"Mon, 4 Mar 3610 09:00:00 +0000", "date-out-of-range"),
    ],
)
def test_bad_dates(date: bytes, defect: str) -> None:
    m = timed(b"From: a@b.com\nDate: " + date + b"\n\nx")
    assert defect in m.defects
    assert m.date is None


def test_naive_date_is_utc() -> None:
    m = timed(b"From: a@b.com\nDate: 4 Mar 2024 09:00:00\n\nx")
    assert m.date is not None and m.date.utcoffset() is not None


def test_truncated_multipart() -> None:
    raw = HEAD + (
        b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhello\n"
        b"--zz\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n"
        b"JVBERi0xLjQK"
    )
    m = timed(raw)
    assert "truncated" in m.defects
    assert m.text == "hello"
    assert m.attachments[0].sniffed_type == "pdf"


def test_truncated_mid_header() -> None:
    m = timed(b"From: a@b.com\nSubject: cut he")
    assert m.subject == "cut he"


def test_missing_boundary_parameter() -> None:
    raw = (
        HEAD + b"Content-Type: multipart/mixed\n\n--zz\nContent-Type: text/plain\n\nhello\n--zz--\n"
    )
    m = timed(raw)
    assert "missing-boundary" in m.defects
    assert "hello" in m.text  # the body is still read, as text


def test_wrong_boundary() -> None:
    raw = HEAD + (
        b"Content-Type: multipart/mixed; boundary=yy\n\n"
        b"--zz\nContent-Type: text/plain\n\nhello\n--zz--\n"
    )
    m = timed(raw)
    assert "missing-boundary" in m.defects
    assert "hello" in m.text


def test_invalid_base64() -> None:
    raw = HEAD + (
        b"Content-Type: multipart/mixed; boundary=zz\n\n"
        b"--zz\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
        b"SGVsbG8gd29ybGQ=\n!!not base64!!\n"
        b"--zz\nContent-Type: application/octet-stream; name=a.exe\n"
        b"Content-Transfer-Encoding: base64\n\nTVqQ!!!AAA\n--zz--\n"
    )
    m = timed(raw)
    assert "bad-base64" in m.defects
    assert any(d.startswith("fast-parser-failed:") for d in m.defects)
    assert m.parser == "stdlib"
    assert m.text.startswith("Hello world")
    assert m.attachments[0].filename == "a.exe"


def test_invalid_quoted_printable() -> None:
    raw = HEAD + (
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        b"caf=C3=A9 and =ZZ broken =\nsoft break\n"
    )
    m = timed(raw)
    assert "bad-quoted-printable" in m.defects
    assert m.text.startswith("café and =ZZ broken soft break")


def test_valid_quoted_printable_has_no_defect() -> None:
    raw = HEAD + (
        b"Content-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n"
        b'<a href=3D"https://x.example/">x</a>=\n tail =20\n'
    )
    assert "bad-quoted-printable" not in timed(raw).defects


def test_unknown_charset() -> None:
    raw = HEAD + b"Content-Type: text/plain; charset=x-unknown-666\n\nh\xc3\xa9llo w\xe9rld"
    m = timed(raw)
    assert "unknown-charset" in m.defects
    assert m.text.startswith("h")  # decoded somehow, never raised


def test_non_text_codec_names_are_unknown() -> None:
    raw = (
        HEAD
        + b"Subject: =?base64?q?x?= =?zlib?b?eA==?=\n"
        + b"Content-Type: text/plain; charset=rot13\n\nh\xe9"
    )
    m = timed(raw)
    assert "unknown-charset" in m.defects


def test_raw_8bit_headers() -> None:
    m = timed(b"From: J\xf6rg <joerg@example.de>\nSubject: caf\xc3\xa9 \xff\n\nhi")
    assert "8bit-header" in m.defects
    assert m.from_ is not None and m.from_.addr == "joerg@example.de"
    assert m.subject.startswith("caf")


def test_broken_encoded_words() -> None:
    m = timed(b"From: =?utf-8?b?!!!?= <a@b.com>\nSubject: =?utf-8?q?=FF=FE?= =?nope?x?y?=\n\nx")
    assert m.from_ is not None and m.from_.addr == "a@b.com"
    assert isinstance(m.subject, str)


def test_nesting_1000_deep() -> None:
    depth = 1000
    raw = HEAD + b"Content-Type: multipart/mixed; boundary=b0\n\n"
    raw += b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)
    )
    raw += b"--b%d\nContent-Type: text/plain\n\ndeep\n" % depth
    m = timed(raw)
    assert "nesting-too-deep" in m.defects


def test_nesting_60_deep_closed() -> None:
    depth = 60  # fixed-width boundaries: none is a prefix of another
    raw = HEAD + b"Content-Type: multipart/mixed; boundary=b0000\n\n"
    raw += b"".join(
        b"--b%04d\nContent-Type: multipart/mixed; boundary=b%04d\n\n" % (i, i + 1)
        for i in range(depth)
    )
    raw += b"--b%04d\nContent-Type: text/plain\n\ndeep\n" % depth
    raw += b"".join(b"--b%04d--\n" % i for i in reversed(range(depth + 1)))
    m = timed(raw)
    assert "nesting-too-deep" in m.defects
    assert m.parser == "fast"
    assert m.text == ""  # below the cap: not read


def test_stdlib_fallback_survives_deep_nesting() -> None:
    from mailwarden.parse import mime

    depth = 1000
    raw = HEAD + b"Content-Type: multipart/mixed; boundary=b0\n\n"
    raw += b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)
    )
    cut = mime.cut_nesting(raw)
    assert cut is not None
    defects: list[str] = []
    mime.walk_stdlib(cut, defects)  # must not raise RecursionError


def test_too_many_parts() -> None:
    parts = b"".join(b"--zz\nContent-Type: text/plain\n\np%d\n" % i for i in range(700))
    raw = HEAD + b"Content-Type: multipart/mixed; boundary=zz\n\n" + parts + b"--zz--\n"
    m = timed(raw)
    assert "too-many-parts" in m.defects


def test_message_of_50_mb() -> None:
    line = base64.b64encode(b"\x00" * 57) + b"\n"
    body = line * (50 * 1024 * 1024 // len(line))
    raw = HEAD + (
        b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhello\n"
        b"--zz\nContent-Type: application/octet-stream; name=big.bin\n"
        b"Content-Transfer-Encoding: base64\n\n" + body + b"--zz--\n"
    )
    assert len(raw) > 50 * 1024 * 1024
    m = timed(raw)
    assert "message-too-large" in m.defects
    assert m.text == "hello"
    assert m.attachments[0].size <= limits.MAX_MESSAGE_BYTES


def _bomb_zip() -> bytes:
    """A real zip: 160 MiB of zeros deflated ~1000:1, built in memory in chunks."""
    buf = io.BytesIO()
    chunk = b"\x00" * (1 << 20)
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(160):
            member.write(chunk)
    return buf.getvalue()


def _declared_bomb_zip() -> bytes:
    """A tiny zip whose central directory claims a 4 GiB member (nothing to inflate)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("huge.bin", b"x")
    data = bytearray(buf.getvalue())
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed size
    return bytes(data)


@pytest.mark.parametrize("make", [_declared_bomb_zip, _bomb_zip])
def test_zip_bomb(make: Callable[[], bytes]) -> None:
    data = make()
    raw = HEAD + (
        b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhi\n"
        b'--zz\nContent-Type: application/zip; name="bomb.zip"\n'
        b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(data) + b"--zz--\n"
    )
    m = timed(raw)
    assert "archive-bomb" in m.defects
    assert m.attachments[0].sniffed_type == "zip"


def test_corrupt_zip() -> None:
    raw = HEAD + (
        b"Content-Type: multipart/mixed; boundary=zz\n\n"
        b'--zz\nContent-Type: application/zip; name="x.zip"\nContent-Transfer-Encoding: base64\n\n'
        + base64.encodebytes(b"PK\x03\x04" + b"\x00" * 50)
        + b"--zz--\n"
    )
    m = timed(raw)
    assert "attachment-unreadable" in m.defects


def test_hostile_html() -> None:
    html = b"<div>" * 20000 + b"<a href='http://[::1'>x</a><a href='http://%zz'>y</a>" + b"<" * 1000
    m = timed(HEAD + b"Content-Type: text/html\n\n" + html)
    assert isinstance(m.html_text, str)


def test_too_many_links() -> None:
    html = b"".join(b'<a href="https://h%d.example.com/">l</a>' % i for i in range(2000))
    m = timed(HEAD + b"Content-Type: text/html\n\n" + html)
    assert len(m.links) == limits.MAX_LINKS


def test_bytearray_input() -> None:
    assert isinstance(parse(bytearray(HEAD + b"\nx")), Message)


VALID = (
    b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
    b"Date: Mon, 4 Mar 2024 09:00:00 +0100\r\nMessage-ID: <m@example.com>\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\nsee https://bit.ly/x =C3=A9\r\n"
    b"--B\r\nContent-Type: text/html\r\n\r\n<a href='http://evil.ru'>paypal.com</a>\r\n"
    b'--B\r\nContent-Type: application/zip; name="a.zip"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(b"PK\x05\x06" + b"\x00" * 18)
    + b"--B--\r\n"
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse(raw), Message)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(VALID)),
            st.integers(min_value=0, max_value=40),
            st.binary(max_size=16),
        ),
        max_size=8,
    )
)
def test_mutated_valid_message_never_raises(edits: list[tuple[int, int, bytes]]) -> None:
    raw = VALID
    for at, cut, insert in edits:
        raw = raw[:at] + insert + raw[at + cut :]
    assert isinstance(parse(raw), Message)
