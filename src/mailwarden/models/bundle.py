"""A trained model on disk and in memory: manifest + arrays, loaded with numpy (and scored
with onnxruntime when it is installed).

A model directory holds:

* ``manifest.json`` — name, version, classes, the feature schema it was trained on (version,
  hash, the features in input order, which of them the trees read), blend and calibration
  parameters, decision thresholds, training provenance and the sha256 of ``model.npz``;
* ``model.npz`` — the compiled trees (`trees.CompiledTrees`) and the text model
  (`text.TextModel`), plain arrays, no pickle;
* ``trees.onnx`` / ``screen.onnx`` — the full trees and the screen's as ONNX graphs
  (`onnx_trees`), written when the ``onnx`` package is installed at training time; scored by
  onnxruntime when that is installed at scan time (about 2x faster per row), else the numpy
  trees score;
* optionally ``lightgbm.txt`` (the booster, for inspection and retraining) and the training and
  evaluation reports.

`load_model` checks everything before the model scores anything and raises `ModelError` with
the file and the reason: missing or damaged files, a checksum that does not match, a schema
version or a feature the engine no longer has (`FeatureSchemaMismatch`). Scoring one message is
`ModelBundle.score(signal_values, words)`: the screen first (when the model has one), the full
trees for what it does not pass; calibrated probabilities per category and the deciding stage.
`predict_batch` scores a dataset's rows the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.text import IntArray, TextModel, Words
from mailwarden.models.trees import CompiledTrees
from mailwarden.training.schema import SCHEMA_VERSION, FeatureSchema, FeatureSchemaMismatch

if TYPE_CHECKING:
    from mailwarden.models.onnx_trees import OnnxTrees

FloatArray = npt.NDArray[np.float64]
MANIFEST = "manifest.json"
ARRAYS = "model.npz"
ONNX = "trees.onnx"
SCREEN_ONNX = "screen.onnx"
SCREEN_PREFIX = "screen_"
# 2: the text model reads the phrase scan's token set (8,000 characters, invisible characters
# removed) instead of its own 4,000-character tokenisation.
FORMAT = 2
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
    words: IntArray | None = None  # the text model's vocabulary indices for this message
    x: FloatArray | None = None  # the feature row the deciding trees read
    stage: str = "full"  # "screen": the cheap first stage found the message clearly safe

    @property
    def unwanted(self) -> float:
        return 1.0 - self.probabilities.get("safe", 0.0)

    @property
    def top(self) -> str:
        """The most likely class other than safe."""
        return max((c for c in self.probabilities if c != "safe"), key=self.probabilities.get)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Screen:
    """The cascade's first stage: trees over the signals that cost little to compute, blended
    with the same text model. A message it scores below `pass_below` (chosen on validation so
    that it lets through at most a set share of unwanted mail, and never above the model's
    loose threshold) is decided safe there: the costly signals are never computed."""

    trees: CompiledTrees
    used: tuple[int, ...]
    blend: dict[str, Any]
    pass_below: float
    fast: OnnxTrees | None = None
    report: dict[str, Any] = field(default_factory=dict)


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
    fast: OnnxTrees | None = None  # the same trees in onnxruntime, when installed
    screen: Screen | None = None  # the cheap first stage, when trained with one

    @property
    def scorer(self) -> str:
        return "onnxruntime" if self.fast is not None else "numpy"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.schema.names

    @property
    def used_names(self) -> tuple[str, ...]:
        names = self.schema.names
        return tuple(names[i] for i in self.used)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Every signal some stage reads (the full trees' and the screen's)."""
        names = self.schema.names
        screen = self.screen.used if self.screen is not None else ()
        return tuple(names[i] for i in sorted(set(self.used) | set(screen)))

    def vector(self, values: Mapping[str, Any], stage: str = "full") -> FloatArray:
        """The input row from a mapping of signal values: only the features the stage's trees
        read are asked for (a screen never computes a costly signal). Raises
        `ModelInputError` on a missing or NaN feature."""
        names, index = self._inputs[stage]
        try:
            read = getattr(values, "values_of", None)  # SignalValues: one call for all
            found = read(names) if read is not None else [values[n] for n in names]
            numbers = [float(v) for v in found]
        except KeyError as exc:
            raise ModelInputError(f"missing-feature:{exc.args[0]}") from None
        for name, number in zip(names, numbers, strict=True):
            if number != number:  # NaN
                raise ModelInputError(f"nan-feature:{name}")
        row = np.zeros(len(self.schema.features))
        row[index] = numbers
        return row

    @cached_property
    def _inputs(self) -> dict[str, tuple[list[str], npt.NDArray[np.int64]]]:
        stages = {"full": self.used}
        if self.screen is not None:
            stages["screen"] = self.screen.used
        names = self.schema.names
        return {
            stage: ([names[i] for i in used], np.asarray(used, dtype=np.int64))
            for stage, used in stages.items()
        }

    def combine(
        self, gbm: FloatArray, text: FloatArray | None, blend: dict[str, Any] | None = None
    ) -> FloatArray:
        """Blended, calibrated logits from raw tree and text scores (rows or one row)."""
        blend = blend or self.blend
        z: FloatArray = float(blend["gbm"]) * gbm + np.asarray(blend["bias"], dtype=np.float64)
        if self.text is not None and text is not None:
            z = z + float(blend["text"]) * text
        return z

    def score(self, values: Mapping[str, Any], words: Words = frozenset()) -> Prediction:
        """The model's answer for one message, from its signal values and word set: the
        screen first (when the model has one); a message it finds clearly safe stops there,
        any other is scored by the full trees."""
        indices = self.text.indices(words) if self.text is not None else None
        if self.screen is not None:
            screen = self.screen
            x = self.vector(values, "screen")
            found = self._predict(x, indices, screen.trees, screen.fast, screen.blend, "screen")
            if found.unwanted < screen.pass_below:
                return found
        return self._predict(
            self.vector(values), indices, self.trees, self.fast, self.blend, "full"
        )

    def predict(self, x: FloatArray, words: Words = frozenset()) -> Prediction:
        """The full trees' answer for a feature row and a word set (`signals._text.tokens`;
        `text.message_words` from a text), without the screen."""
        indices = self.text.indices(words) if self.text is not None else None
        return self._predict(x, indices, self.trees, self.fast, self.blend, "full")

    def _predict(
        self,
        x: FloatArray,
        indices: IntArray | None,
        trees: CompiledTrees,
        fast: OnnxTrees | None,
        blend: dict[str, Any],
        stage: str,
    ) -> Prediction:
        # Six classes: the blend and softmax run on Python floats, cheaper than numpy calls on
        # tiny arrays.
        if fast is not None:
            step, gbm = None, fast.raw(x)  # attribution walks the numpy trees if asked
        else:
            step = trees.step(x)
            gbm = trees.raw(x, step)
        a, b, bias = float(blend["gbm"]), float(blend["text"]), blend["bias"]
        if self.text is not None and indices is not None:
            txt = self.text.raw_from(indices)
            parts = zip(gbm.tolist(), txt.tolist(), bias, strict=True)
            z = [a * g + b * t + c for g, t, c in parts]
        else:
            txt = np.zeros(len(self.classes))
            z = [a * g + c for g, c in zip(gbm.tolist(), bias, strict=True)]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = sum(e)
        probabilities = {c: v / total for c, v in zip(self.classes, e, strict=True)}
        return Prediction(probabilities, np.asarray(z), gbm, txt, step, indices, x, stage)

    def predict_batch(self, x: FloatArray, texts: list[str] | None = None) -> FloatArray:
        """Calibrated probabilities (n, classes) for a matrix of rows, as `score` would give
        them one by one (the screen's where it decides, the full trees' elsewhere)."""
        txt = None
        if self.text is not None and texts is not None:
            txt = self.text.raw_batch(texts)
        full = softmax(self.combine(self.trees.raw_batch(x), txt, self.blend))
        if self.screen is None:
            return full
        screened = softmax(self.combine(self.screen.trees.raw_batch(x), txt, self.screen.blend))
        passed = 1.0 - screened[:, 0] < self.screen.pass_below
        result: FloatArray = np.where(passed[:, None], screened, full)
        return result

    def attribution(
        self, x: FloatArray, words: Words, cls: str, n: int = 3, done: Prediction | None = None
    ) -> list[tuple[str, float]]:
        """The features (and words) that pushed class `cls`'s logit up most, with their share
        of the push in logit units (Saabas path contributions for the trees). `done`: this
        row's `predict` result, whose intermediate arrays are reused."""
        k = self.classes.index(cls)
        _, contrib = self.trees.contributions(x, k, done.step if done is not None else None)
        a = float(self.blend["gbm"])
        parts = [(self.schema.names[j], a * float(contrib[j])) for j in np.argsort(-contrib)[:n]]
        if self.text is not None:
            b = float(self.blend["text"])
            indices = done.words if done is not None else None
            tokens = self.text.top_tokens(
                self.text.indices(words) if indices is None else indices, k, n
            )
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
        if self.screen is not None:
            arrays.update({SCREEN_PREFIX + k: v for k, v in self.screen.trees.to_arrays().items()})
        np.savez_compressed(out / ARRAYS, **arrays)
        onnx_sha = _save_onnx(self.trees, out / ONNX)
        screen: dict[str, Any] | None = None
        if self.screen is not None:
            screen = {
                "used_features": [self.schema.names[i] for i in self.screen.used],
                "blend": self.screen.blend,
                "pass_below": self.screen.pass_below,
                "onnx_sha256": _save_onnx(self.screen.trees, out / SCREEN_ONNX),
                "report": self.screen.report,
            }
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
            "onnx_sha256": onnx_sha,
            "screen": screen,
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return out


def _save_onnx(trees: CompiledTrees, path: Path) -> str | None:
    """Write `trees` as ONNX; its sha256, or None without the onnx package (numpy scores)."""
    from mailwarden.models.onnx_trees import to_onnx

    try:
        path.write_bytes(to_onnx(trees))
    except ImportError:  # the onnx package, imported by to_onnx
        path.unlink(missing_ok=True)
        return None
    return file_sha256(path)


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
    screen_names = [str(n) for n in (manifest.get("screen") or {}).get("used_features", [])]
    check_signals(
        schema, [*used_names, *screen_names], expected or FeatureSchema.current(), directory
    )
    arrays_path = directory / ARRAYS
    if not arrays_path.is_file():
        raise ModelError(f"{arrays_path}: missing")
    if file_sha256(arrays_path) != manifest.get("arrays_sha256"):
        raise ModelError(f"{arrays_path}: checksum does not match the manifest (damaged file?)")
    try:
        with np.load(arrays_path, allow_pickle=False) as data:
            trees = CompiledTrees.from_arrays(data)
            text = TextModel.from_arrays(data) if manifest.get("text_model") else None
            screen_trees = None
            if manifest.get("screen"):
                n = len(SCREEN_PREFIX)
                screen_trees = CompiledTrees.from_arrays(
                    {k[n:]: data[k] for k in data.files if k.startswith(SCREEN_PREFIX)}
                )
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
    if screen_trees is not None and screen_trees.n_features != trees.n_features:
        raise ModelError(f"{arrays_path}: the screen's trees read another feature set")
    screen = None
    if screen_trees is not None:
        spec = manifest["screen"]
        try:
            screen = Screen(
                trees=screen_trees,
                used=tuple(index[str(n)] for n in spec["used_features"]),
                blend=dict(spec["blend"]),
                # never above the loose threshold: the screen only ever decides "safe"
                pass_below=min(float(spec["pass_below"]), thresholds.suspicious),
                fast=_load_onnx(directory / SCREEN_ONNX, spec.get("onnx_sha256"), screen_trees),
                report=dict(spec.get("report") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{directory}: manifest garbles its screen: {exc}") from exc
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
        fast=_load_onnx(directory / ONNX, manifest.get("onnx_sha256"), trees),
        screen=screen,
    )


def _load_onnx(path: Path, sha256: str | None, trees: CompiledTrees) -> OnnxTrees | None:
    """The onnxruntime scorer, or None without onnxruntime or a graph (the numpy trees then
    score alone). A graph that is there but damaged is an error, as for the arrays."""
    if not sha256 or not path.is_file():
        return None
    try:
        from mailwarden.models.onnx_trees import OnnxTrees
    except ImportError:
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelError(f"{path}: checksum does not match the manifest (damaged file?)")
    try:
        fast = OnnxTrees(data, trees)
    except ImportError:
        return None
    except Exception as exc:  # onnxruntime's own errors: a graph it cannot load
        raise ModelError(f"{path}: onnxruntime cannot load the trees: {exc}") from exc
    if fast.n_features != trees.n_features:
        raise ModelError(f"{path}: the graph does not match the model's arrays")
    return fast


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
