"""A trained model as a detector: calibrated per-category probabilities, findings with
attribution, and a clear record when the model cannot run.

    detectors = load_model_detectors("default", tenant.thresholds)   # what the engine does

`ModelDetector.score(values)` reads the signals the model's trees use plus the message's word
set (the one the phrase signals already made), and returns a `ModelResult`: findings (none when
the message looks safe), a summary for the verdict's ``extra.models`` (name, version, status,
probabilities) and defects. A finding is ``MODEL_<CATEGORY>`` in the model's most likely
unwanted category; its score is the tenant's `malicious` threshold when P(unwanted) reaches the
model's strict threshold (chosen on validation for 0.1% false positives), the `suspicious`
threshold at the loose one (1%); a spam call scores the `spam` threshold. Its evidence names the
probabilities and the signals (and text tokens) that pushed that category's logit most (tree
path contributions).

A model that cannot be loaded (missing or damaged file, trained on another signal set, numpy
absent) becomes an `UnavailableModel`: every verdict then carries the defect
``model-unavailable:<name>`` and ``extra.models.<name>.status == "unavailable"`` with the reason,
and the rules decide alone. A message the model cannot score (a NaN feature) gets
``model-error:<name>:<reason>`` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mailwarden.detectors import Finding
from mailwarden.signals import SignalValues
from mailwarden.signals._text import scan_message
from mailwarden.tenant import Thresholds

if TYPE_CHECKING:
    from mailwarden.models.bundle import ModelBundle

DEFAULT = "default"


@dataclass(frozen=True)
class ModelResult:
    findings: list[Finding]
    summary: dict[str, Any]
    defects: list[str] = field(default_factory=list)


class ScoringDetector(Protocol):
    name: str

    def signals_used(self) -> frozenset[str]: ...

    def detect(self, values: SignalValues) -> list[Finding]: ...

    def score(self, values: SignalValues) -> ModelResult: ...


class ModelDetector:
    """Scores messages with one `ModelBundle`."""

    def __init__(self, bundle: ModelBundle, thresholds: Thresholds | None = None) -> None:
        self.bundle = bundle
        self.thresholds = thresholds or Thresholds()
        self.name = f"model:{bundle.name}"

    def signals_used(self) -> frozenset[str]:
        return frozenset(self.bundle.input_names)

    def detect(self, values: SignalValues) -> list[Finding]:
        return self.score(values).findings

    def score(self, values: SignalValues) -> ModelResult:
        from mailwarden.models.bundle import ModelInputError

        bundle = self.bundle
        summary: dict[str, Any] = {"name": bundle.name, "version": bundle.version}
        words = scan_message(values.msg).words  # the phrase signals' token set, shared
        try:
            prediction = bundle.score(values, words)
        except ModelInputError as exc:
            summary.update(status="error", error=str(exc))
            return ModelResult([], summary, [f"model-error:{bundle.name}:{exc}"])
        except Exception as exc:  # noqa: BLE001 - a model fault must not cost the verdict
            summary.update(status="error", error=f"{type(exc).__name__}: {exc}"[:200])
            return ModelResult([], summary, [f"model-error:{bundle.name}:{type(exc).__name__}"])
        unwanted = prediction.unwanted
        summary.update(
            status="ok",
            stage=prediction.stage,
            unwanted=round(unwanted, 6),
            probabilities={c: round(p, 6) for c, p in prediction.probabilities.items()},
        )
        strict, loose = bundle.thresholds.malicious, bundle.thresholds.suspicious
        if unwanted < loose:
            return ModelResult([], summary)
        category = prediction.top
        level = "strict" if unwanted >= strict else "loose"
        # Above the strict threshold the model decides alone; above the loose one (1% of
        # validation ham) an attack call is evidence worth half a verdict, which a rule must
        # corroborate, and a spam call is nothing (marketing phrases would corroborate it on
        # every newsletter).
        if category == "spam":
            if level == "loose":
                return ModelResult([], summary)
            points = self.thresholds.spam
        else:
            strict_points, loose_points = self.thresholds.malicious, self.thresholds.suspicious / 2
            points = strict_points if level == "strict" else loose_points
        assert prediction.x is not None  # a screened message is below `loose`: never here
        parts = bundle.attribution(prediction.x, words, category, done=prediction)
        evidence = (
            f"{bundle.name} {bundle.version}: P({category}) "
            f"{prediction.probabilities[category]:.3f}, P(unwanted) {unwanted:.4f} >= "
            f"{strict if level == 'strict' else loose:.4f} ({level} threshold)"
        )
        if parts:
            evidence += "; top: " + ", ".join(f"{n} {v:+.2f}" for n, v in parts)
        finding = Finding(
            symbol=f"MODEL_{category.upper()}",
            category=category,  # type: ignore[arg-type]
            score=round(points, 3),
            evidence=evidence,
            detector=self.name,
            rule_id=bundle.version,
        )
        summary["top"] = [[n, round(v, 4)] for n, v in parts]
        return ModelResult([finding], summary)


class UnavailableModel:
    """Stands in for a model that could not be loaded: no findings, a defect on every verdict."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = f"model:{name}"
        self.model = name
        self.reason = reason

    def signals_used(self) -> frozenset[str]:
        return frozenset()

    def detect(self, values: SignalValues) -> list[Finding]:
        return []

    def score(self, values: SignalValues) -> ModelResult:
        summary = {"name": self.model, "status": "unavailable", "error": self.reason}
        return ModelResult([], summary, [f"model-unavailable:{self.model}"])


ModelSpec = str | Path | ScoringDetector | None


def load_model_detectors(
    spec: ModelSpec | list[ModelSpec], thresholds: Thresholds | None = None
) -> list[ScoringDetector]:
    """Detectors for `spec`: None (no model), "default" (the packaged model), a model or
    registry directory (its champion), a detector, or a list of these. Never raises: what
    cannot be loaded becomes an `UnavailableModel` saying why."""
    if spec is None:
        return []
    if isinstance(spec, list):
        return [d for s in spec for d in load_model_detectors(s, thresholds)]
    if not isinstance(spec, str | Path):
        return [spec]
    label = DEFAULT if str(spec) == DEFAULT else Path(spec).name
    try:
        from mailwarden.models import DEFAULT_MODEL_DIR
        from mailwarden.models.bundle import ModelError, load_model
        from mailwarden.models.registry import resolve_model_dir
    except ImportError as exc:  # numpy is not installed
        return [UnavailableModel(label, f"cannot import the model runtime: {exc}")]
    path = DEFAULT_MODEL_DIR if str(spec) == DEFAULT else Path(spec)
    try:
        return [ModelDetector(load_model(resolve_model_dir(path)), thresholds)]
    except (ModelError, OSError) as exc:
        return [UnavailableModel(label, str(exc))]
