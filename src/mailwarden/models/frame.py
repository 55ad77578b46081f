"""A dataset Parquet file as numpy arrays: features, text, labels, sources, time splits.

    frame = read_frame("out/dataset.parquet")
    frame.x            (n, features) float64, columns in `frame.schema.names` order
    frame.y            (n,) int: index into CLASSES (the row's category)
    frame.split        "train" | "test" per row (the dataset's time split)

`label` is the reviewed label (`training.review`; `corpus_label` keeps the corpus's own).
`hold_out_sources` re-splits by source (whole corpora as test). `validation_split` carves a
validation set out of the training rows the same way the dataset holds out its test rows: per
source, the newest share, duplicate groups on one side. Bad input is refused with
`DatasetError`: an empty dataset, NaN in a feature column, a category the model does not know, a
file that is not a dataset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.bundle import CLASSES
from mailwarden.training.schema import FeatureSchema, FeatureSchemaMismatch, dataset_metadata
from mailwarden.training.splits import EXCLUDED, TEST, SplitRow, source_split, time_split

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
UNWANTED_LABELS = ("spam", "malicious")


class DatasetError(ValueError):
    """A dataset that cannot be trained or evaluated on; the message says why."""


@dataclass
class Frame:
    path: str
    schema: FeatureSchema
    metadata: dict[str, Any]
    x: FloatArray
    y: IntArray
    label: npt.NDArray[np.str_]  # ham | spam | malicious
    corpus: npt.NDArray[np.str_]
    category: npt.NDArray[np.str_]
    split: npt.NDArray[np.str_]
    date: list[datetime | None]
    group: list[str]
    text: list[str]
    sha256: list[str]
    path_: list[str]
    engine_verdict: npt.NDArray[np.str_]
    engine_score: FloatArray
    corpus_label: npt.NDArray[np.str_]  # the corpus's own label (`label` may be reviewed)
    corpus_category: npt.NDArray[np.str_]  # the dataset's category before any review

    def __len__(self) -> int:
        return len(self.y)

    def take(self, mask: npt.NDArray[np.bool_]) -> Frame:
        idx = np.flatnonzero(mask)
        return Frame(
            path=self.path,
            schema=self.schema,
            metadata=self.metadata,
            x=self.x[idx],
            y=self.y[idx],
            label=self.label[idx],
            corpus=self.corpus[idx],
            category=self.category[idx],
            split=self.split[idx],
            date=[self.date[i] for i in idx],
            group=[self.group[i] for i in idx],
            text=[self.text[i] for i in idx],
            sha256=[self.sha256[i] for i in idx],
            path_=[self.path_[i] for i in idx],
            engine_verdict=self.engine_verdict[idx],
            engine_score=self.engine_score[idx],
            corpus_label=self.corpus_label[idx],
            corpus_category=self.corpus_category[idx],
        )

    @property
    def reviewed(self) -> npt.NDArray[np.bool_]:
        """Rows whose label a reviewer corrected (`training.review`)."""
        result: npt.NDArray[np.bool_] = self.label != self.corpus_label
        return result

    def with_corpus_labels(self) -> Frame:
        """This frame with the corpora's own labels and categories (no review applied)."""
        copy = self.take(np.ones(len(self), dtype=np.bool_))
        copy.label, copy.category = copy.corpus_label, copy.corpus_category
        index = {c: i for i, c in enumerate(CLASSES)}
        copy.y = np.asarray([index[c] for c in copy.category], dtype=np.int64)
        return copy

    @property
    def unwanted(self) -> npt.NDArray[np.bool_]:
        """Ground truth for the binary question: spam or malicious (not ham)."""
        return np.isin(self.label, UNWANTED_LABELS)

    @property
    def malicious(self) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = self.label == "malicious"
        return result

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.corpus.tolist()))


def read_frame(path: str | Path, reviewed: bool = True, review_file: Path | None = None) -> Frame:
    """The dataset at `path`; with `reviewed`, the label corrections of `review_file` (default:
    the shipped `training/label_review.csv`) applied."""
    from mailwarden.training.dataset import require_pyarrow
    from mailwarden.training.review import REVIEW_FILE, review_for

    require_pyarrow()
    import pyarrow.parquet as pq

    path = str(path)
    if not Path(path).is_file():
        raise DatasetError(f"{path}: no such dataset (build one: mailwarden dataset build)")
    try:
        metadata = dataset_metadata(path)
        schema = FeatureSchema.from_dict(metadata["feature_schema"])
        table = pq.read_table(path)
    except FeatureSchemaMismatch as exc:
        raise DatasetError(f"{path}: not a mailwarden dataset ({exc})") from exc
    except Exception as exc:
        raise DatasetError(f"{path}: unreadable dataset: {exc}") from exc
    n = table.num_rows
    if n == 0:
        raise DatasetError(f"{path}: the dataset is empty")
    missing = [c for c in schema.names if c not in table.column_names]
    if missing:
        raise DatasetError(f"{path}: feature columns missing: {', '.join(missing[:5])}")
    x = np.empty((n, len(schema.names)), dtype=np.float64)
    for j, name in enumerate(schema.names):
        x[:, j] = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
    bad = np.isnan(x).any(axis=0)
    if bad.any():
        cols = [schema.names[j] for j in np.flatnonzero(bad)]
        raise DatasetError(f"{path}: NaN in feature columns {', '.join(cols[:5])}")

    def col(name: str) -> list[Any]:
        return table.column(name).to_pylist()  # type: ignore[no-any-return]

    corpus_labels: list[str] = col("label")
    corpus_categories: list[str] = col("category")
    labels, categories = list(corpus_labels), list(corpus_categories)
    sha256 = col("sha256")
    if reviewed:
        for i, sha in enumerate(sha256):
            review = review_for(sha, corpus_labels[i], review_file or REVIEW_FILE)
            if review is not None:
                labels[i], categories[i] = review.label, review.category
    category = np.asarray(categories, dtype=np.str_)
    unknown = sorted(set(category.tolist() + corpus_categories) - set(CLASSES))
    if unknown:
        raise DatasetError(f"{path}: unknown categories {unknown}; known: {', '.join(CLASSES)}")
    index = {c: i for i, c in enumerate(CLASSES)}
    return Frame(
        path=path,
        schema=schema,
        metadata=metadata,
        x=x,
        y=np.asarray([index[c] for c in category], dtype=np.int64),
        label=np.asarray(labels, dtype=np.str_),
        corpus=np.asarray(col("corpus"), dtype=np.str_),
        category=category,
        split=np.asarray(col("split_time"), dtype=np.str_),
        date=col("date"),
        group=col("duplicate_group"),
        text=col("text"),
        sha256=sha256,
        path_=col("path"),
        engine_verdict=np.asarray(col("engine_verdict"), dtype=np.str_),
        engine_score=np.asarray(col("engine_score"), dtype=np.float64),
        corpus_label=np.asarray(corpus_labels, dtype=np.str_),
        corpus_category=np.asarray(corpus_categories, dtype=np.str_),
    )


def hold_out_sources(frame: Frame, sources: Collection[str]) -> Frame:
    """`frame` split by source instead of time: every row of `sources` is test, every other
    row train, and copies of a held-out message found in a kept source are dropped (so no
    test message has a twin in training). Measures mail from a source never seen at all."""
    present = set(frame.corpus.tolist())
    unknown = sorted(set(sources) - present)
    if unknown:
        raise DatasetError(
            f"{frame.path}: no source {', '.join(unknown)} to hold out "
            f"(sources: {', '.join(sorted(present))})"
        )
    if set(sources) >= present:
        raise DatasetError(f"{frame.path}: holding out every source leaves nothing to train on")
    rows = [
        SplitRow(c, d, g) for c, d, g in zip(frame.corpus, frame.date, frame.group, strict=True)
    ]
    split = np.asarray(source_split(rows, sources), dtype=np.str_)
    kept = split != EXCLUDED
    result = frame.take(kept)
    result.split = split[kept]
    result.metadata = {**frame.metadata, "held_out_sources": sorted(sources)}
    return result


def validation_split(frame: Frame, share: float = 0.15) -> npt.NDArray[np.bool_]:
    """True for rows of `frame` (its training rows) held out for validation: per source the
    newest `share`, duplicate groups kept on one side (as the dataset's own time split)."""
    rows = [
        SplitRow(c, d, g) for c, d, g in zip(frame.corpus, frame.date, frame.group, strict=True)
    ]
    return np.asarray([s == TEST for s in time_split(rows, share)], dtype=np.bool_)
