"""Train / test splits that do not leak: by time and by source, duplicates kept together.

Both are pure, deterministic functions of the rows (corpus, date, duplicate group): the same
dataset always splits the same way, whatever its row order.

* `time_split`: per source, the newest `test_share` of its dated messages are held out (each
  source has its own cutoff, since the corpora span different eras; with the replay's time warp
  every source's newest messages are also the last ones replayed). A duplicate group goes to
  test only when every member is past its source's cutoff, so no test message has a copy in
  train. Undated messages cannot be placed after any cutoff: they train.
* `source_split`: whole sources held out. A duplicate group that straddles a held-out and a kept
  source sends its held-out members to test and its other members to ``excluded`` (neither
  side), so the test set is exactly the held-out sources and train has none of their copies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

TRAIN, TEST, EXCLUDED = "train", "test", "excluded"


@dataclass(frozen=True, slots=True)
class SplitRow:
    corpus: str
    date: datetime | None  # the message's own date (not the replay time)
    group: str  # duplicate group: every copy of one message shares it


def time_cutoffs(rows: Sequence[SplitRow], test_share: float = 0.2) -> dict[str, datetime]:
    """Per source, the date after which its newest `test_share` of dated messages lie."""
    if not 0 < test_share < 1:
        raise ValueError("test_share must be between 0 and 1")
    dates: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row.date is not None:
            dates[row.corpus].append(row.date)
    cutoffs = {}
    for corpus, values in dates.items():
        values.sort()
        # Strictly after the cutoff is test: the cutoff is the last train date.
        first_test = max(1, min(len(values) - 1, int(len(values) * (1 - test_share))))
        cutoffs[corpus] = values[first_test - 1] if len(values) > 1 else values[0]
    return cutoffs


def time_split(
    rows: Sequence[SplitRow],
    test_share: float = 0.2,
    cutoffs: Mapping[str, datetime] | None = None,
) -> list[str]:
    """``train`` / ``test`` per row (see the module doc)."""
    cutoffs = dict(cutoffs) if cutoffs is not None else time_cutoffs(rows, test_share)

    def late(row: SplitRow) -> bool:
        cutoff = cutoffs.get(row.corpus)
        return row.date is not None and cutoff is not None and row.date > cutoff

    group_late: dict[str, bool] = {}
    for row in rows:
        group_late[row.group] = group_late.get(row.group, True) and late(row)
    return [TEST if group_late[row.group] else TRAIN for row in rows]


def source_split(rows: Sequence[SplitRow], test_sources: Collection[str]) -> list[str]:
    """``test`` for the held-out sources, ``train`` for the rest, ``excluded`` for copies of a
    held-out message in a kept source."""
    held = set(test_sources)
    held_groups = {row.group for row in rows if row.corpus in held}
    out = []
    for row in rows:
        if row.corpus in held:
            out.append(TEST)
        elif row.group in held_groups:
            out.append(EXCLUDED)
        else:
            out.append(TRAIN)
    return out
