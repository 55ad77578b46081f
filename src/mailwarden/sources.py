"""Where messages come from on disk: .eml files, directories, mbox, Maildir and tar archives.

Every input yields either a message (`Item` with `raw`) or an error record (`Item` with `error`):
a batch never stops on one bad file, and nothing is dropped without a line saying why.
"""

from __future__ import annotations

import mailbox
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Larger inputs are reported, not read: no single message needs more (parse caps at 25 MB).
MAX_FILE_BYTES = 256 * 1024 * 1024
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2")
_SKIP_NAMES = {".DS_Store", "Thumbs.db"}


@dataclass(frozen=True, slots=True)
class Item:
    source: str  # path, "mbox-path#index", "archive.tar.xz:member"
    raw: bytes = b""
    error: str = ""  # why this input could not be read; raw is empty then


def iter_messages(paths: Iterable[str | Path]) -> Iterator[Item]:
    for path in map(Path, paths):
        yield from _iter_path(path)


def _iter_path(path: Path) -> Iterator[Item]:
    if not path.exists():
        yield Item(str(path), error="no such file or directory")
    elif path.is_dir():
        if _is_maildir(path):
            yield from _iter_maildir(path)
        else:
            for child in sorted(path.iterdir()):
                if child.name in _SKIP_NAMES or child.name.startswith("."):
                    continue
                yield from _iter_path(child)
    elif path.name.endswith(_TAR_SUFFIXES):
        yield from _iter_tar(path)
    elif _is_mbox(path):
        yield from _iter_mbox(path)
    else:
        yield _read_file(path)


def _read_file(path: Path) -> Item:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Item(str(path), error=f"file too large ({size} bytes > {MAX_FILE_BYTES})")
        return Item(str(path), raw=path.read_bytes())
    except OSError as exc:
        return Item(str(path), error=exc.strerror or type(exc).__name__)


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def _iter_mbox(path: Path) -> Iterator[Item]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        yield Item(str(path), error=f"unreadable mbox: {exc}")
        return
    for index, key in enumerate(keys):
        source = f"{path}#{index}"
        try:
            yield Item(source, raw=box.get_bytes(key))
        except (OSError, KeyError, mailbox.Error) as exc:
            yield Item(source, error=f"unreadable mbox entry: {exc}")


def _iter_maildir(path: Path) -> Iterator[Item]:
    for sub in ("new", "cur"):
        for child in sorted((path / sub).iterdir()):
            if child.is_file() and not child.name.startswith("."):
                yield _read_file(child)


def _iter_tar(path: Path) -> Iterator[Item]:
    try:
        archive = tarfile.open(path)  # noqa: SIM115 - closed by the `with` below, after errors
    except (OSError, tarfile.TarError) as exc:
        yield Item(str(path), error=f"unreadable archive: {exc}")
        return
    with archive:
        while True:
            try:
                member = archive.next()
            except (OSError, tarfile.TarError, EOFError) as exc:
                yield Item(str(path), error=f"archive damaged after some members: {exc}")
                return
            if member is None:
                return
            if not member.isfile():
                continue
            source = f"{path}:{member.name}"
            if member.size > MAX_FILE_BYTES:
                yield Item(source, error=f"member too large ({member.size} bytes)")
                continue
            try:
                handle = archive.extractfile(member)
                raw = handle.read() if handle else b""
            except (OSError, tarfile.TarError, EOFError) as exc:
                yield Item(source, error=f"unreadable member: {exc}")
                continue
            yield Item(source, raw=raw)
