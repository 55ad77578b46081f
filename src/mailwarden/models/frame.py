"""A dataset Parquet file as numpy arrays: features, text, labels, sources, time splits.

    frame = read_frame("out/dataset.parquet")
    frame.x            (n, features) float64, columns in `frame.schema.names` order
    frame.y            (n,) int: index into CLASSES (the row's category)
    frame.split        "train" | "test" per row (the dataset's time split)

`validation_split` carves a validation set out of the training rows the same way the dataset
holds out its test rows: per source, the newest share, duplicate groups on one side.
Bad input is refused with `DatasetError`: an empty dataset, NaN in a feature column, a category
the model does not know, a file that is not a dataset.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.bundle import CLASSES
from mailwarden.training.schema import FeatureSchema, FeatureSchemaMismatch, dataset_metadata
from mailwarden.training.splits import TEST, SplitRow, time_split

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
        )

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


def read_frame(path: str | Path) -> Frame:
    from mailwarden.training.dataset import require_pyarrow

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

    category = np.asarray(col("category"), dtype=np.str_)
    unknown = sorted(set(category.tolist()) - set(CLASSES))
    if unknown:
        raise DatasetError(f"{path}: unknown categories {unknown}; known: {', '.join(CLASSES)}")
    index = {c: i for i, c in enumerate(CLASSES)}
    return Frame(
        path=path,
        schema=schema,
        metadata=metadata,
        x=x,
        y=np.asarray([index[c] for c in category], dtype=np.int64),
        label=np.asarray(col("label"), dtype=np.str_),
        corpus=np.asarray(col("corpus"), dtype=np.str_),
        category=category,
        split=np.asarray(col("split_time"), dtype=np.str_),
        date=col("date"),
        group=col("duplicate_group"),
        text=col("text"),
        sha256=col("sha256"),
        path_=col("path"),
        engine_verdict=np.asarray(col("engine_verdict"), dtype=np.str_),
        engine_score=np.asarray(col("engine_score"), dtype=np.float64),
    )


def validation_split(frame: Frame, share: float = 0.15) -> npt.NDArray[np.bool_]:
    """True for rows of `frame` (its training rows) held out for validation: per source the
    newest `share`, duplicate groups kept on one side (as the dataset's own time split)."""
    rows = [
        SplitRow(c, d, g) for c, d, g in zip(frame.corpus, frame.date, frame.group, strict=True)
    ]
    return np.asarray([s == TEST for s in time_split(rows, share)], dtype=np.bool_)
