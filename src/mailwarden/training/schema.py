"""The feature schema of a dataset: which signals are its columns, versioned and hashed.

A dataset has one column per numeric or bool signal (str and tuple signals are not features
here). The schema — the (name, type) pairs, sorted — is written into the Parquet file's metadata
with a hash, so a model trained on one signal set can tell, before it scores anything, that it
is handed rows (or an engine) with another: `check_compatible` names what was added, removed or
retyped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mailwarden.signals import discover

# Bump when the meaning of the dataset's columns changes without the signal set changing
# (a new neutralisation, another text cap, another category mapping).
SCHEMA_VERSION = 1
FEATURE_TYPES = {bool: "bool", int: "int", float: "float"}
METADATA_KEY = b"mailwarden.dataset"


class FeatureSchemaMismatch(ValueError):
    """A dataset or model built on another signal set than the one at hand."""


@dataclass(frozen=True, slots=True)
class FeatureSchema:
    version: int
    features: tuple[tuple[str, str], ...]  # (signal name, "bool" | "int" | "float"), sorted
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)  # read per message

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(name for name, _ in self.features))

    @classmethod
    def current(cls) -> FeatureSchema:
        """Every registered numeric or bool signal, as the engine has them now."""
        features = sorted(
            (name, FEATURE_TYPES[spec.type])
            for name, spec in discover().items()
            if spec.type in FEATURE_TYPES
        )
        return cls(SCHEMA_VERSION, tuple(features))

    @property
    def hash(self) -> str:
        text = f"v{self.version}\n" + "".join(f"{n}:{t}\n" for n, t in self.features)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "hash": self.hash,
            "features": [{"name": n, "type": t} for n, t in self.features],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        schema = cls(
            int(data["version"]),
            tuple((str(f["name"]), str(f["type"])) for f in data["features"]),
        )
        if data.get("hash") and data["hash"] != schema.hash:
            raise FeatureSchemaMismatch(
                f"schema hash {data['hash']} does not match its features ({schema.hash})"
            )
        return schema


def check_compatible(expected: FeatureSchema, found: FeatureSchema) -> None:
    """Raise `FeatureSchemaMismatch`, saying what differs, unless the schemas are the same."""
    if expected.hash == found.hash:
        return
    want, have = dict(expected.features), dict(found.features)
    problems = []
    if expected.version != found.version:
        problems.append(f"version {found.version}, expected {expected.version}")
    if missing := sorted(set(want) - set(have)):
        problems.append(f"missing {', '.join(missing)}")
    if extra := sorted(set(have) - set(want)):
        problems.append(f"unexpected {', '.join(extra)}")
    if retyped := sorted(n for n in set(want) & set(have) if want[n] != have[n]):
        problems.append(f"retyped {', '.join(retyped)}")
    raise FeatureSchemaMismatch(
        f"feature schema {found.hash} is not {expected.hash}: " + "; ".join(problems)
    )


def dataset_metadata(path: str) -> dict[str, Any]:
    """The build metadata of a dataset file (schema included); needs pyarrow."""
    from mailwarden.training.dataset import require_pyarrow

    require_pyarrow()
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in metadata:
        raise FeatureSchemaMismatch(f"{path}: no {METADATA_KEY.decode()} metadata")
    loaded: dict[str, Any] = json.loads(metadata[METADATA_KEY])
    return loaded


def dataset_schema(path: str) -> FeatureSchema:
    return FeatureSchema.from_dict(dataset_metadata(path)["feature_schema"])
