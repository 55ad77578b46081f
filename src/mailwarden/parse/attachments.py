"""Attachments: type sniffing from magic bytes, hashes, zip listings (never extracted), macros.

Zip archives are listed from their central directory with `zipfile` and nothing is decompressed;
declared sizes alone decide `archive-bomb`. Everything that can fail on hostile bytes is caught
and reported as a defect.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile

from mailwarden.message import Attachment
from mailwarden.parse import limits

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LNK = b"\x4c\x00\x00\x00\x01\x14\x02\x00"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "pdf"),
    (_OLE, "ole"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"\x7fELF", "elf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (_LNK, "lnk"),
    (b"{\\rtf", "rtf"),
    (b"MSCF", "cab"),
    (b"MZ", "pe"),
)
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta")

# What a file name's extension promises the bytes will be.
_EXPECTED: dict[str, frozenset[str]] = {}
for _types, _exts in (
    ({"pdf"}, "pdf"),
    ({"zip", "ooxml"}, "zip"),
    (
        {"ooxml", "zip"},
        "docx xlsx pptx docm xlsm pptm dotx dotm xltx xltm potx potm ppsx ppsm xlam",
    ),
    ({"ooxml", "zip"}, "xlsb"),
    ({"ole"}, "doc xls ppt dot xlt pot pps msg msi"),
    ({"pe"}, "exe dll scr cpl sys ocx"),
    ({"elf"}, "elf so"),
    ({"rar"}, "rar"),
    ({"7z"}, "7z"),
    ({"gzip"}, "gz tgz"),
    ({"iso"}, "iso"),
    ({"png"}, "png"),
    ({"jpeg"}, "jpg jpeg jfif"),
    ({"gif"}, "gif"),
    ({"lnk"}, "lnk"),
    ({"rtf", "ole"}, "rtf"),
    ({"cab"}, "cab"),
    ({"html", ""}, "html htm shtml xhtml"),
    ({"svg", ""}, "svg"),
):
    for _ext in _exts.split():
        _EXPECTED[_ext] = frozenset(_types)

MACRO_EXTENSIONS = frozenset(
    "docm dotm xlsm xltm xlam xlsb pptm potm ppsm ppam sldm".split()  # noqa: SIM905
)
_VBA_MARKERS = (
    "_VBA_PROJECT".encode("utf-16-le"),
    "Macros".encode("utf-16-le"),
    "VBA\x00".encode("utf-16-le"),
    b"_VBA_PROJECT",
)


def sniff(data: bytes) -> str:
    """A short type name from the first bytes ("pdf", "zip", "ooxml", "pe", ...), or ""."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            if name == "zip" and b"[Content_Types].xml" in data[:65536]:
                return "ooxml"
            return name
    if data[0x8001:0x8006] == b"CD001" or data[0x8801:0x8806] == b"CD001":
        return "iso"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in head:
        return "svg"
    if head.startswith(b"<") and any(marker in head for marker in _HTML_MARKERS):
        return "html"
    return ""


def extension(filename: str) -> str:
    # Windows drops trailing dots and spaces: "invoice.exe. " runs as an .exe.
    name = filename.strip().rstrip(". ").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." not in name:
        return ""
    ext = name.rsplit(".", 1)[1].strip().lower()
    return ext if 0 < len(ext) <= 12 else ""


def _zip_entry_count(data: bytes) -> int | None:
    """Entries declared by the end-of-central-directory record, read before zipfile does."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd < 0 or eocd + 22 > len(data):
        return None
    return int(struct.unpack_from("<H", data, eocd + 10)[0])


def inspect_zip(data: bytes, defects: list[str]) -> tuple[tuple[str, ...], bool, bool]:
    """(member names, encrypted, has vbaProject.bin) from the central directory only."""
    count = _zip_entry_count(data)
    if count is not None and count > limits.MAX_ARCHIVE_ENTRIES and count != 0xFFFF:
        defects.append("archive-bomb")
        return (), False, False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except Exception:  # noqa: BLE001 - zipfile raises many kinds on hostile archives
        defects.append("attachment-unreadable")
        return (), False, False
    if len(infos) > limits.MAX_ARCHIVE_ENTRIES:
        defects.append("archive-bomb")
    total = sum(info.file_size for info in infos)
    compressed = sum(info.compress_size for info in infos) or 1
    if total > limits.MAX_ARCHIVE_TOTAL or (
        total > limits.MIN_BOMB_TOTAL and total / compressed > limits.MAX_ARCHIVE_RATIO
    ):
        defects.append("archive-bomb")
    names = tuple(info.filename for info in infos[: limits.MAX_ARCHIVE_MEMBERS])
    encrypted = any(info.flag_bits & 0x1 for info in infos)
    vba = any(info.filename.lower().endswith("vbaproject.bin") for info in infos)
    return names, encrypted, vba


def make_attachment(
    filename: str, declared_type: str, data: bytes, defects: list[str]
) -> Attachment:
    sniffed = sniff(data)
    ext = extension(filename)
    members: tuple[str, ...] = ()
    encrypted = False
    macro = ext in MACRO_EXTENSIONS
    if sniffed in ("zip", "ooxml"):
        members, encrypted, vba = inspect_zip(data, defects)
        macro = macro or vba
    elif sniffed == "ole":
        macro = macro or any(marker in data for marker in _VBA_MARKERS)
    expected = _EXPECTED.get(ext)
    mismatch = expected is not None and bool(data) and sniffed not in expected
    return Attachment(
        filename=filename,
        declared_type=declared_type,
        sniffed_type=sniffed,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        extension=ext,
        extension_mismatch=mismatch,
        archive_members=members,
        is_encrypted_archive=encrypted,
        macro_capable=macro,
    )


def message_attachment(filename: str, data: bytes, inner_subject: str) -> Attachment:
    """An attached message/rfc822: recorded, not parsed further."""
    return Attachment(
        filename=filename or inner_subject,
        declared_type="message/rfc822",
        sniffed_type="",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        extension=extension(filename),
        extension_mismatch=False,
        is_message=True,
    )
