"""Reviewed labels: corrections of the corpora's labels made by reading the messages.

The corpora label by where a message was found, not by what it is: Enron employees' inboxes
hold hundreds of spam messages (pharmacy, mortgage, pornography, work-from-home offers), all
labelled ham; the phishing_pot honeypot was subscribed to two security mailing lists whose
discussions are labelled malicious. A model that flags that spam is right, and an evaluation
that counts it as a false positive measures the corpus, not the model.

``label_review.csv`` (shipped beside this module) lists each corrected message by content hash
with its corpus label, the reviewed label and category, and the reason in a few words (never
the message's text). How it was made (docs/models.md, "Reviewed labels"):

* candidates were every held-out (test) message where any system disagreed with the corpus
  label — flagged by the rules or the model, or scored >= 0.5 by the model — and every
  phishing_pot / nazario test message the model missed; plus training-split ham the model or
  the rules flagged;
* each was read and relabelled only when the case was clear: unsolicited bulk mail with no
  relationship to the recipient (random tags in the subject, pornography, pharmacy, loans,
  money-making, casino, prize and "not spam" disclaimer mail). Newsletters, retailer and bank
  marketing, opt-in partner offers and anything doubtful kept the corpus label, so the
  reviewed false-positive rate is, if anything, pessimistic.

`read_frame` applies the review by default (`reviewed=False` gives the corpus labels) and
`mailwarden eval` reports the headline both ways.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REVIEW_FILE = Path(__file__).with_name("label_review.csv")
LABELS = ("ham", "spam", "malicious")


@dataclass(frozen=True, slots=True)
class Review:
    corpus: str
    path: str
    corpus_label: str
    label: str
    category: str
    reason: str


@cache
def reviews(path: Path = REVIEW_FILE) -> dict[str, Review]:
    """Reviewed labels by the message's sha256. Raises ValueError on a malformed file."""
    out: dict[str, Review] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                review = Review(
                    row["corpus"],
                    row["path"],
                    row["corpus_label"],
                    row["reviewed_label"],
                    row["reviewed_category"],
                    row["reason"],
                )
                sha = row["sha256"]
            except KeyError as exc:
                raise ValueError(f"{path}:{line}: missing column {exc}") from None
            if review.label not in LABELS or review.corpus_label not in LABELS:
                raise ValueError(f"{path}:{line}: labels must be one of {', '.join(LABELS)}")
            if len(sha) != 64 or sha in out:
                raise ValueError(f"{path}:{line}: bad or repeated sha256 {sha!r}")
            out[sha] = review
    return out


def review_for(sha256: str, corpus_label: str, path: Path = REVIEW_FILE) -> Review | None:
    """The correction for the message with this hash, if it was reviewed with this corpus
    label (a correction never applies to a message the corpus already labels otherwise)."""
    review = reviews(path).get(sha256)
    return review if review is not None and review.corpus_label == corpus_label else None
