"""Detection benchmark: verdict rates per corpus (and per time split of phishing_pot).

    .venv/bin/python bench/detection.py                       # every corpus, every split
    .venv/bin/python bench/detection.py --corpus phishing_pot --split holdout
    .venv/bin/python bench/detection.py --corpus enron --top 30

Scans the shared corpora (../shared/data/corpora) with the default `Engine()` and prints, per
corpus and split, the counts and rates of safe / spam / suspicious / malicious, the flagged rate
(anything not safe) and the symbols that fire most. phishing_pot is split by its manifest date:
TUNE is everything dated before 2024-07-01 (and undated), HOLD-OUT everything dated 2024-07-01
or later; rules and phrases are written by reading TUNE only. Ham: enron and spamassassin ham are
the tuning ham; usrp_list and csdmc2010 ham are held out (reported, never tuned on).
Skips cleanly (exit 0) where ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from mailwarden.corpora import CORPORA, data_dir, iter_corpus
from mailwarden.engine import Engine

SPLIT_DATE = "2024-07-01"
VERDICTS = ("safe", "spam", "suspicious", "malicious")
# which corpora's ham is tuned on (the rest is held out)
TUNE_HAM = {"enron", "spamassassin"}


@dataclass
class Tally:
    verdicts: Counter[str] = field(default_factory=Counter)
    symbols: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())


def split_of(corpus: str, label: str, date: str) -> str:
    """The split a message belongs to, named for the table."""
    if corpus == "phishing_pot":
        return "holdout" if date and date[:10] >= SPLIT_DATE else "tune"
    if label == "ham":
        return "tune" if corpus in TUNE_HAM else "holdout"
    return "tune"


def scan_corpus(name: str, split: str | None) -> dict[tuple[str, str], Tally]:
    root = data_dir()
    assert root is not None
    engine = Engine()
    tallies: dict[tuple[str, str], Tally] = {}
    for message in iter_corpus(name, root):
        where = split_of(name, message.label, message.date)
        if split is not None and where != split:
            continue
        verdict = engine.scan(message.raw)
        key = (f"{name}:{message.label}", where)
        tally = tallies.setdefault(key, Tally())
        tally.verdicts[verdict.verdict] += 1
        tally.symbols.update(set(verdict.symbols))
    return tallies


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--corpus", choices=CORPORA, action="append", help="repeatable")
    parser.add_argument("--split", choices=("tune", "holdout"))
    parser.add_argument("--top", type=int, default=15, help="symbols listed per row")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    if data_dir() is None:
        print("no ../shared/data corpora here: skipping", file=sys.stderr)
        return 0
    names = args.corpus or list(CORPORA)
    # biggest first so the workers finish together
    order = sorted(names, key=lambda n: n != "enron")
    started = time.perf_counter()
    results: dict[tuple[str, str], Tally] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for part in pool.map(scan_corpus, order, [args.split] * len(order)):
            results.update(part)

    header = f"{'corpus:label':<24}{'split':<9}{'n':>7}"
    header += "".join(f"{v:>12}" for v in VERDICTS) + f"{'flagged':>10}{'susp+':>9}"
    print(header)
    print("-" * len(header))
    for (corpus, split), tally in sorted(results.items()):
        n = tally.total
        line = f"{corpus:<24}{split:<9}{n:>7}"
        for verdict in VERDICTS:
            count = tally.verdicts[verdict]
            line += f"{count:>6} {100 * count / n:>4.1f}%"
        flagged = n - tally.verdicts["safe"]
        severe = tally.verdicts["suspicious"] + tally.verdicts["malicious"]
        line += f"{100 * flagged / n:>9.2f}%{100 * severe / n:>8.2f}%"
        print(line)
    print()
    for (corpus, split), tally in sorted(results.items()):
        top = ", ".join(f"{s} {c}" for s, c in tally.symbols.most_common(args.top))
        print(f"{corpus} [{split}] top symbols: {top or '-'}")
    print(
        f"\n{sum(t.total for t in results.values())} messages in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
