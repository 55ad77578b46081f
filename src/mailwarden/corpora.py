"""The shared labelled corpora (`../shared/data/corpora/<name>.tar.xz` + `<name>.csv`).

Messages are read straight from the archives, never copied out: they are data, not code. Where the
folder is absent (a user's fresh clone), `data_dir()` returns None and callers skip cleanly.
"""

from __future__ import annotations

import csv
import os
import random
import tarfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CORPORA = ("spamassassin", "csdmc2010", "nazario", "phishing_pot", "enron", "usrp_list")
ENV_VAR = "MAILWARDEN_DATA"


@dataclass(frozen=True, slots=True)
class CorpusMessage:
    corpus: str
    path: str
    label: str  # ham | spam | malicious
    source_label: str
    date: str
    duplicate_of: str
    raw: bytes


def data_dir() -> Path | None:
    """`$MAILWARDEN_DATA`, else the first `shared/data` found beside the working tree."""
    candidates = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    here = Path.cwd().resolve()
    candidates += [parent.parent / "shared" / "data" for parent in (here, *here.parents)]
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    for candidate in candidates:
        if (candidate / "corpora").is_dir():
            return candidate
    return None


def manifest(name: str, root: Path) -> dict[str, dict[str, str]]:
    with (root / "corpora" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return {row["path"]: row for row in csv.DictReader(handle)}


def iter_corpus(
    name: str, root: Path, keep: Iterable[str] | None = None
) -> Iterator[CorpusMessage]:
    """Every message of corpus `name` with its manifest row; only paths in `keep` if given."""
    rows = manifest(name, root)
    wanted = set(keep) if keep is not None else None
    with tarfile.open(root / "corpora" / f"{name}.tar.xz") as archive:
        for member in archive:
            if not member.isfile() or (wanted is not None and member.name not in wanted):
                continue
            handle = archive.extractfile(member)
            raw = handle.read() if handle else b""
            row = rows.get(member.name, {})
            yield CorpusMessage(
                corpus=name,
                path=member.name,
                label=row.get("label", ""),
                source_label=row.get("source_label", ""),
                date=row.get("date", ""),
                duplicate_of=row.get("duplicate_of", ""),
                raw=raw,
            )


def sample_mix(
    root: Path, per_corpus: int, seed: int = 7, only: Collection[str] | None = None
) -> list[CorpusMessage]:
    """A reproducible random sample of `per_corpus` messages from each corpus (drawn among
    the paths in `only` when given)."""
    rng = random.Random(seed)
    mix: list[CorpusMessage] = []
    for name in CORPORA:
        paths = sorted(manifest(name, root))
        if only is not None:
            paths = [p for p in paths if p in only]
        chosen = rng.sample(paths, min(per_corpus, len(paths)))
        mix.extend(iter_corpus(name, root, chosen))
    return mix
