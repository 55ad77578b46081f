"""What `mailwarden train` and `mailwarden eval` do, as functions (the CLI only prints).

train_and_register(dataset, registry_dir)   -> model version in the registry, eval report
run_eval(dataset, "registry-or-model-dir", challenger="rules", out_dir=...)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mailwarden.models import DEFAULT_MODEL_DIR
from mailwarden.models import evaluate as ev
from mailwarden.models import report as rp
from mailwarden.models.bundle import (
    ARRAYS,
    MANIFEST,
    ONNX,
    SCREEN_ONNX,
    ModelBundle,
    ModelError,
    load_model,
    read_manifest,
)
from mailwarden.models.frame import DatasetError, Frame, hold_out_sources, read_frame
from mailwarden.models.registry import Registry, mlflow_available, mlflow_log, resolve_model_dir
from mailwarden.models.train import TrainConfig, train_model

Log = Callable[[str], None]
RULES = "rules"
CARD = "MODEL_CARD.md"


def load_spec(spec: str | Path) -> ModelBundle:
    path = DEFAULT_MODEL_DIR if str(spec) == "default" else Path(spec)
    return load_model(resolve_model_dir(path), expected=None)


def aligned(bundle: ModelBundle, frame: Frame) -> Frame:
    """`frame` with its feature columns in the model's order (the dataset may have been built
    with a signal set that grew since; every feature the model reads must be there)."""
    if bundle.schema.hash == frame.schema.hash:
        return frame
    index = {n: j for j, n in enumerate(frame.schema.names)}
    missing = [n for n in bundle.input_names if n not in index]
    if missing:
        raise ModelError(
            f"the dataset lacks features the model reads: {', '.join(missing[:5])} "
            f"(dataset schema {frame.schema.hash}, model {bundle.schema.hash})"
        )
    x = np.zeros((len(frame), len(bundle.schema.names)))
    for j, name in enumerate(bundle.schema.names):
        if name in index:
            x[:, j] = frame.x[:, index[name]]
    copy = frame.take(np.ones(len(frame), dtype=np.bool_))
    copy.x = x
    return copy


@dataclass
class Scored:
    system: ev.System
    bundle: ModelBundle | None
    probs: Any = None


def score(spec: str | Path, frame: Frame) -> Scored:
    if str(spec) == RULES:
        return Scored(ev.rules_system(frame), None)
    bundle = load_spec(spec)
    system, probs = ev.model_system(bundle, aligned(bundle, frame))
    return Scored(system, bundle, probs)


def run_eval(
    dataset: str | Path | Frame,
    champion: str | Path,
    challenger: str | Path | None = RULES,
    out_dir: str | Path | None = None,
    target_precision: float = 0.99,
    boot: int = 1000,
    errors: int = 25,
    log: Log | None = None,
    hold_out: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Evaluate `champion` (and `challenger`) on the dataset's test split (or, with
    `hold_out`, on those whole sources); write the report to `out_dir` when given. A spec is
    a model directory, a registry, "default", or "rules"."""
    say = log or (lambda _: None)
    frame = dataset if isinstance(dataset, Frame) else read_frame(dataset)
    if hold_out:
        frame = hold_out_sources(frame, hold_out)
    test = frame.take(frame.split == "test")
    if len(test) == 0:
        raise DatasetError(f"{frame.path}: no test rows (split_time == 'test')")
    # the headline with the corpora's own labels too, when a review changed some in this split
    raw_labels = test.with_corpus_labels() if test.reviewed.any() else None
    scored = [score(champion, test)]
    if challenger is not None:
        scored.append(score(challenger, test))
    systems = []
    for s in scored:
        say(f"evaluating {s.system.name} on {len(test)} test rows")
        result = ev.evaluate_system(s.system, test, target_precision, boot)
        if s.bundle is not None:
            result["calibration"] = ev.calibration(s.probs, test.y)
            result["errors"] = ev.error_analysis(
                aligned(s.bundle, test), s.system, s.bundle, errors
            )
        else:
            result["errors"] = ev.error_analysis(test, s.system, None, errors)
        if raw_labels is not None:
            result["headline_corpus_labels"] = ev.headline(s.system, raw_labels, boot)
        systems.append(result)
    report: dict[str, Any] = {
        "dataset": frame.path,
        "held_out_sources": list(frame.metadata.get("held_out_sources", [])),
        "rows": len(test),
        "reviewed_labels": int(test.reviewed.sum()),
        "by_corpus": test.counts(),
        "systems": systems,
    }
    model_scores = [s for s in scored if s.bundle is not None]
    rules = [s for s in scored if s.bundle is None]
    rules_sys: ev.System | None = rules[0].system if rules else None
    if model_scores and not rules:
        rules_sys = ev.rules_system(test)
    if model_scores and rules_sys is not None:  # the engine as it would run: rules or model
        m = model_scores[0].system
        both = ev.System(
            f"rules+{m.name}",
            np.maximum(m.score, np.where(rules_sys.flagged, 1.0, 0.0)),
            m.threshold,
            np.where(m.flagged, m.category, rules_sys.category),
        )
        combined = ev.evaluate_system(both, test, target_precision, boot, oracle=False)
        if raw_labels is not None:
            combined["headline_corpus_labels"] = ev.headline(both, raw_labels, boot, oracle=False)
        systems.append(combined)
    if len(scored) == 2:
        report["comparison"] = ev.compare(scored[0].system, scored[1].system, test, boot)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        rows, attack = ev.headline_mask(test)
        plots = ev.plot_curves([s.system for s in scored], test, out, tag="test")
        if rows.any() and attack.any():
            plots += ev.plot_curves(
                [s.system for s in scored], test, out, rows, attack, tag="headline"
            )
        report["plots"] = plots
        rp.write(report, out)
    return report


def headline_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Flat metrics of the first system, for MLflow and the registry."""
    system = report["systems"][0]
    out: dict[str, float] = {}
    for key in ("precision", "recall", "fpr", "roc_auc", "pr_auc"):
        if system["overall"].get(key) is not None:
            out[f"test_{key}"] = float(system["overall"][key])
    h = system.get("headline")
    if h:
        for key in ("recall", "fpr"):
            if h.get(key) is not None:
                out[f"headline_{key}"] = float(h[key])
        if "oracle_recall_at_fpr_0.1%" in h:
            oracle = h["oracle_recall_at_fpr_0.1%"]["recall"]
            out["headline_oracle_recall_at_fpr_0.1pct"] = float(oracle)
    if system.get("calibration"):
        out["test_ece"] = float(system["calibration"]["ece"])
        out["test_log_loss"] = float(system["calibration"]["log_loss"])
    return out


def train_and_register(
    dataset: str | Path,
    registry_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    promote: bool | None = None,
    mlflow: bool = True,
    boot: int = 1000,
    export: str | Path | None = None,
    log: Log | None = None,
    hold_out: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Train on the dataset's train split, save the model as a new registry version, evaluate
    it on the test split (report inside the version), log to MLflow when installed, and promote
    it when asked (or when the registry has no champion yet)."""
    say = log or (lambda _: None)
    frame = read_frame(dataset)
    if hold_out:  # an experiment: whole sources unseen; never the champion unless asked
        frame = hold_out_sources(frame, hold_out)
        promote = bool(promote)
    config = config or TrainConfig()
    bundle, booster, training = train_model(frame, config, say)
    registry = Registry(Path(registry_dir))
    target = registry.root / "versions" / bundle.version
    bundle.save(target)
    booster.save_model(str(target / "lightgbm.txt"))
    report = run_eval(frame, target, challenger=RULES, out_dir=target / "eval", boot=boot, log=say)
    metrics = headline_metrics(report)
    (target / CARD).write_text(rp.model_card(read_manifest(target), report))
    registry.add(target, metrics)
    run_id = None
    if mlflow:
        if mlflow_available():
            params = {
                **training["config"],
                "rounds_used": training["rounds"],
                "dataset": str(dataset),
            }
            try:
                run_id = mlflow_log(registry.root, params, metrics, target, bundle.version)
                say(f"MLflow run {run_id} in {registry.root / 'mlruns'}")
            except Exception as exc:  # noqa: BLE001 - tracking is a record, not the model
                say(f"MLflow logging failed ({type(exc).__name__}: {exc}); the model is saved")
        else:
            say("MLflow is not installed: run not tracked (pip install 'mailwarden[train]')")
    if export is not None:  # the runtime files only: what the packaged default model holds
        export_dir = Path(export)
        export_dir.mkdir(parents=True, exist_ok=True)
        for name in (ARRAYS, MANIFEST, CARD, ONNX, SCREEN_ONNX):
            if (target / name).is_file():
                shutil.copy2(target / name, export_dir / name)
        say(f"exported {bundle.version} to {export_dir}")
    promoted = False
    if promote or (promote is None and registry.champion() is None):
        registry.promote(bundle.version)
        promoted = True
    return {
        "version": bundle.version,
        "path": str(target),
        "training": training,
        "metrics": metrics,
        "report": report,
        "mlflow_run": run_id,
        "promoted": promoted,
    }
