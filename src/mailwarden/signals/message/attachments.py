"""Attachment signals: executables, double extensions, macros, archives, HTML smuggling."""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Attachment, Message
from mailwarden.signals import signal


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


EXECUTABLE = _set(
    "exe scr com pif bat cmd js jse vbs vbe wsf wsh wsc hta msi msix msixbundle msp lnk ps1 psm1 "
    "jar dll cpl iso img vhd vhdx appx appxbundle appref-ms application gadget reg scf url inf "
    "sct xll xlam chm settingcontent-ms library-ms search-ms one diagcab msc apk sh elf ws jnlp"
)
_EXEC_SNIFFED = _set("pe elf macho mach-o exe dll msi")
DOCUMENT = _set(
    "pdf doc docx docm xls xlsx xlsm xlsb ppt pptx pptm rtf txt csv odt ods odp jpg jpeg png gif "
    "bmp tif tiff htm html mp3 mp4 wav zip rar eml msg xml json"
)
MACRO = _set("docm dotm xlsm xltm xlsb xlam pptm potm ppsm sldm ppam xla xlm")
ARCHIVE = _set(
    "zip zipx rar 7z gz tgz gzip bz2 tbz2 xz txz tar ace arj cab lz lzh lha z iso img vhd vhdx "
    "r00 r01 001 uue xxe"
)
_ARCHIVE_SNIFFED = _set("zip rar 7z gzip gz bzip2 xz tar cab iso")
HTML = _set("html htm shtml shtm xhtml xht svg svgz mht mhtml hta")
_OFFICE_ZIP = _set("docx docm xlsx xlsm pptx pptm dotx dotm xltx ppsx odt ods odp")


def extension_of(name: str) -> str:
    """Lower-cased extension of a file name, ignoring trailing dots and spaces ("" when none)."""
    name = name.strip().rstrip(". ").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." not in name:
        return ""
    ext = name.rsplit(".", 1)[1].strip().lower()
    return ext if 0 < len(ext) <= 20 else ""


def _names(att: Attachment) -> list[str]:
    return [att.filename, *att.archive_members]


def _extensions(m: Message) -> list[str]:
    out: list[str] = []
    for att in m.attachments:
        out.append(att.extension or extension_of(att.filename))
        out.extend(extension_of(member) for member in att.archive_members)
    return [e for e in out if e]


@signal("message.attachment.count", int)
def count(m: Message, ctx: Context) -> int:
    """Number of attachments."""
    return len(m.attachments)


@signal("message.attachment.extensions", tuple)
def extensions(m: Message, ctx: Context) -> tuple[str, ...]:
    """Distinct lower-cased extensions of the attachments and of the files inside archives."""
    return tuple(dict.fromkeys(_extensions(m)))


@signal("message.attachment.executable", bool)
def executable(m: Message, ctx: Context) -> bool:
    """An executable or script (exe, js, lnk, iso...) attached or inside an archive, or a PE/ELF."""
    if any(a.sniffed_type in _EXEC_SNIFFED for a in m.attachments):
        return True
    return any(e in EXECUTABLE for e in _extensions(m))


def _double(name: str) -> bool:
    parts = [p.strip().lower() for p in name.strip().rstrip(". ").split(".")]
    if len(parts) < 3:
        return False
    return parts[-1] in EXECUTABLE and parts[-2] in DOCUMENT


@signal("message.attachment.double_extension", bool)
def double_extension(m: Message, ctx: Context) -> bool:
    """A name like invoice.pdf.exe: a document extension followed by an executable one."""
    return any(_double(name) for a in m.attachments for name in _names(a))


@signal("message.attachment.extension_mismatch", bool)
def extension_mismatch(m: Message, ctx: Context) -> bool:
    """An attachment whose name disagrees with its sniffed bytes."""
    return any(a.extension_mismatch for a in m.attachments)


@signal("message.attachment.macro", bool)
def macro(m: Message, ctx: Context) -> bool:
    """A macro-capable Office attachment (docm/xlsm/..., or an OLE document with VBA)."""
    if any(a.macro_capable for a in m.attachments):
        return True
    return any(e in MACRO for e in _extensions(m))


@signal("message.attachment.archive", bool)
def archive(m: Message, ctx: Context) -> bool:
    """A zip / rar / 7z / gz / ace / iso archive is attached."""
    for a in m.attachments:
        ext = a.extension or extension_of(a.filename)
        if ext in ARCHIVE:
            return True
        if a.sniffed_type in _ARCHIVE_SNIFFED and ext not in _OFFICE_ZIP:
            return True
    return False


@signal("message.attachment.encrypted_archive", bool)
def encrypted_archive(m: Message, ctx: Context) -> bool:
    """An encrypted (password-protected) archive is attached."""
    return any(a.is_encrypted_archive for a in m.attachments)


@signal("message.attachment.html", bool)
def html(m: Message, ctx: Context) -> bool:
    """An html / htm / shtml / xhtml / svg attachment (directly or inside an archive)."""
    if any(a.sniffed_type == "html" and not a.is_message for a in m.attachments):
        return True
    return any(e in HTML for e in _extensions(m))
