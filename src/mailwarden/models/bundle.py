"""A trained model on disk and in memory: manifest + arrays, loaded with numpy alone.

A model directory holds:

* ``manifest.json`` — name, version, classes, the feature schema it was trained on (version,
  hash, the features in input order, which of them the trees read), blend and calibration
  parameters, decision thresholds, training provenance and the sha256 of ``model.npz``;
* ``model.npz`` — the compiled trees (`trees.CompiledTrees`) and the text model
  (`text.TextModel`), plain arrays, no pickle;
* optionally ``lightgbm.txt`` (the booster, for inspection and retraining) and the training and
  evaluation reports.

`load_model` checks everything before the model scores anything and raises `ModelError` with
the file and the reason: missing or damaged files, a checksum that does not match, a schema
version or a feature the engine no longer has (`FeatureSchemaMismatch`). Scoring is
`ModelBundle.predict(features, text)`: calibrated probabilities per category.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.text import TextModel
from mailwarden.models.trees import CompiledTrees
from mailwarden.training.schema import SCHEMA_VERSION, FeatureSchema, FeatureSchemaMismatch

FloatArray = npt.NDArray[np.float64]
MANIFEST = "manifest.json"
ARRAYS = "model.npz"
FORMAT = 1
CLASSES = ("safe", "spam", "credential_phishing", "bec", "malware", "scam")


class ModelError(RuntimeError):
    """A model that cannot be loaded or cannot score this input; the message says why."""


class ModelInputError(ModelError):
    """A feature vector the model refuses (NaN, a missing feature)."""


@dataclass(frozen=True)
class Thresholds:
    """On P(unwanted) = 1 - P(safe): chosen on the validation split (never on test)."""

    malicious: float  # the validation FPR target (0.1%) is met at or above this
    suspicious: float  # a looser one (1%)


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]  # calibrated, per class, summing to 1
    logits: FloatArray  # blended, calibrated logits
    gbm: FloatArray  # raw tree scores
    text: FloatArray  # raw text scores
    step: Any = None  # the trees' next-node array for this row (reused by attribution)
    words: list[int] | None = None  # the text model's vocabulary indices for this message

    @property
    def unwanted(self) -> float:
        return 1.0 - self.probabilities.get("safe", 0.0)

    @property
    def top(self) -> str:
        """The most likely class other than safe."""
        return max((c for c in self.probabilities if c != "safe"), key=self.probabilities.get)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ModelBundle:
    name: str
    version: str
    classes: tuple[str, ...]
    schema: FeatureSchema
    used: tuple[int, ...]  # indices (into schema.names) the trees read
    trees: CompiledTrees
    text: TextModel | None
    blend: dict[str, Any]  # {"gbm": a, "text": b, "bias": [c_k...]}
    thresholds: Thresholds
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.schema.names

    @property
    def used_names(self) -> tuple[str, ...]:
        names = self.schema.names
        return tuple(names[i] for i in self.used)

    def vector(self, values: Mapping[str, Any]) -> FloatArray:
        """The input row from a mapping of signal values (only the features the trees read).
        Raises `ModelInputError` on a missing or NaN feature."""
        x = np.zeros(len(self.schema.features), dtype=np.float64)
        names = self.schema.names
        for i in self.used:
            name = names[i]
            try:
                value = values[name]
            except KeyError:
                raise ModelInputError(f"missing-feature:{name}") from None
            number = float(value)
            if math.isnan(number):
                raise ModelInputError(f"nan-feature:{name}")
            x[i] = number
        return x

    def combine(self, gbm: FloatArray, text: FloatArray) -> FloatArray:
        """Blended, calibrated logits from raw tree and text scores (rows or one row)."""
        bias = np.asarray(self.blend["bias"], dtype=np.float64)
        z: FloatArray = float(self.blend["gbm"]) * gbm + bias
        if self.text is not None:
            z = z + float(self.blend["text"]) * text
        return z

    def predict(self, x: FloatArray, text: str = "") -> Prediction:
        step = self.trees.step(x)
        gbm = self.trees.raw(x, step)
        words = self.text.indices(text) if self.text is not None else None
        if self.text is not None and words is not None:
            txt = self.text.raw_from(words)
        else:
            txt = np.zeros(len(self.classes))
        z = self.combine(gbm, txt)
        p = softmax(z)
        probabilities = dict(zip(self.classes, (float(v) for v in p), strict=True))
        return Prediction(probabilities, z, gbm, txt, step, words)

    def predict_batch(self, x: FloatArray, texts: list[str] | None = None) -> FloatArray:
        """Calibrated probabilities (n, classes) for a matrix of rows."""
        gbm = self.trees.raw_batch(x)
        if self.text is not None and texts is not None:
            txt = self.text.raw_batch(texts)
        else:
            txt = np.zeros_like(gbm)
        return softmax(self.combine(gbm, txt))

    def attribution(
        self, x: FloatArray, text: str, cls: str, n: int = 3, done: Prediction | None = None
    ) -> list[tuple[str, float]]:
        """The features (and text tokens) that pushed class `cls`'s logit up most, with their
        share of the push in logit units (Saabas path contributions for the trees). `done`:
        this row's `predict` result, whose intermediate arrays are reused."""
        k = self.classes.index(cls)
        _, contrib = self.trees.contributions(x, k, done.step if done is not None else None)
        a = float(self.blend["gbm"])
        parts = [(self.schema.names[j], a * float(contrib[j])) for j in np.argsort(-contrib)[:n]]
        if self.text is not None:
            b = float(self.blend["text"])
            tokens = self.text.top_tokens(text, k, n, done.words if done is not None else None)
            parts += [(f"text:{t!r}", b * w) for t, w in tokens]
        parts = [p for p in parts if p[1] > 0]
        return sorted(parts, key=lambda p: -p[1])[:n]

    # --- disk --------------------------------------------------------------------------------

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        arrays = self.trees.to_arrays()
        if self.text is not None:
            arrays.update(self.text.to_arrays())
        np.savez_compressed(out / ARRAYS, **arrays)
        manifest = {
            **self.manifest,
            **(extra or {}),
            "format": FORMAT,
            "name": self.name,
            "version": self.version,
            "classes": list(self.classes),
            "feature_schema": self.schema.to_dict(),
            "used_features": list(self.used_names),
            "blend": self.blend,
            "thresholds": {
                "malicious": self.thresholds.malicious,
                "suspicious": self.thresholds.suspicious,
            },
            "text_model": self.text is not None,
            "arrays_sha256": file_sha256(out / ARRAYS),
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return out


def softmax(z: FloatArray) -> FloatArray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    result: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return result


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: no model manifest (is this a model directory?)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable manifest: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: the manifest is not a JSON object")
    return data


def load_model(directory: str | Path, expected: FeatureSchema | None = None) -> ModelBundle:
    """Load and check a model directory against the engine's signal set (`expected`, default:
    the signals registered now). Raises `ModelError` (or its `FeatureSchemaMismatch` cause)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    try:
        if int(manifest.get("format", 0)) != FORMAT:
            raise ModelError(f"{directory}: model format {manifest.get('format')}, need {FORMAT}")
        schema = FeatureSchema.from_dict(manifest["feature_schema"])
        used_names = [str(n) for n in manifest["used_features"]]
        classes = tuple(str(c) for c in manifest["classes"])
        blend = dict(manifest["blend"])
        thresholds = Thresholds(**{k: float(v) for k, v in manifest["thresholds"].items()})
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FeatureSchemaMismatch):
            raise ModelError(f"{directory}: {exc}") from exc
        raise ModelError(f"{directory}: manifest lacks or garbles {exc}") from exc
    check_signals(schema, used_names, expected or FeatureSchema.current(), directory)
    arrays_path = directory / ARRAYS
    if not arrays_path.is_file():
        raise ModelError(f"{arrays_path}: missing")
    if file_sha256(arrays_path) != manifest.get("arrays_sha256"):
        raise ModelError(f"{arrays_path}: checksum does not match the manifest (damaged file?)")
    try:
        with np.load(arrays_path, allow_pickle=False) as data:
            trees = CompiledTrees.from_arrays(data)
            text = TextModel.from_arrays(data) if manifest.get("text_model") else None
    except Exception as exc:  # zip, numpy and shape errors alike: a damaged file
        raise ModelError(f"{arrays_path}: unreadable model arrays: {exc}") from exc
    index = {n: i for i, n in enumerate(schema.names)}
    used = tuple(index[n] for n in used_names if n in index)
    if trees.n_features != len(schema.names) or trees.n_classes != len(classes):
        raise ModelError(
            f"{arrays_path}: trees read {trees.n_features} features / {trees.n_classes} classes;"
            f" the manifest says {len(schema.names)} / {len(classes)}"
        )
    if len(blend.get("bias", ())) != len(classes):
        raise ModelError(f"{directory}: blend bias does not match the classes")
    return ModelBundle(
        name=str(manifest["name"]),
        version=str(manifest["version"]),
        classes=classes,
        schema=schema,
        used=used,
        trees=trees,
        text=text,
        blend=blend,
        thresholds=thresholds,
        manifest=manifest,
    )


def check_signals(
    trained: FeatureSchema, used: list[str], engine: FeatureSchema, where: Path
) -> None:
    """A model may run on an engine whose signal set grew or changed elsewhere, but only if the
    schema version is the same and every feature its trees read is there with the same type."""
    if trained.version != SCHEMA_VERSION or trained.version != engine.version:
        raise ModelError(
            f"{where}: trained on feature schema version {trained.version}, the engine has "
            f"{engine.version}: retrain the model (mailwarden train)"
        )
    have = dict(engine.features)
    want = dict(trained.features)
    missing = [n for n in used if n not in have]
    retyped = [n for n in used if n in have and have[n] != want.get(n)]
    if missing or retyped or any(n not in want for n in used):
        detail = []
        if missing:
            detail.append(f"signals the engine no longer has: {', '.join(missing)}")
        if retyped:
            detail.append(f"signals whose type changed: {', '.join(retyped)}")
        raise ModelError(
            f"{where}: model trained on signal set {trained.hash}, engine has {engine.hash}; "
            + "; ".join(detail or ["its used features are not in its own schema"])
        )
