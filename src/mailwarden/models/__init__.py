"""Trained models: gradient-boosted trees over the signals plus a text model, calibrated per
category, scored with numpy alone (no LightGBM at run time).

    bundle       ModelBundle, load_model: a model directory (manifest + arrays), checked at load
    trees        CompiledTrees: LightGBM trees as flat arrays, fast single-row scoring + attribution
    text         TextModel: bag of words over subject and visible body, linear per category
    frame        read_frame: a dataset Parquet file as arrays; validation split by time
    train        train_model: trees + text + calibrated blend + thresholds (needs the train extra)
    evaluate     per source / category metrics, curves, CIs, champion vs challenger, errors
    registry     a local model registry (list, promote, rollback) with MLflow tracking if present
    report       train / eval reports on disk (JSON, Markdown, HTML, PNG)

The engine runs a model through `mailwarden.detectors.model.ModelDetector`; `default/` is the
model shipped in the package (docs/models.md is its card).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
