"""Train a model from a dataset: trees over the signals, a text model, a calibrated blend.

    bundle, booster, report = train_model(read_frame("out/dataset.parquet"), TrainConfig())

Only the dataset's ``train`` rows are used (its ``test`` rows, each source's newest 20%, are
for `evaluate` alone). They are split again by time: per source the newest
`validation_share` is the validation set, which decides when boosting stops, fits the blend
and calibration, and sets the decision thresholds; the rest fits the trees and the text model.

1. LightGBM, multiclass over CATEGORIES, on every numeric signal (less `exclude` prefixes),
   single-threaded-deterministic, early-stopped on validation log loss.
2. The text model (`text.fit_text`) on the same rows.
3. Blend and calibration on validation: logits ``a * trees + b * text + c`` with (a, b, c)
   fitted by log loss, so the per-category probabilities are calibrated (a temperature per
   model plus per-class offsets) and the two models are weighted by what they earn.
4. Thresholds on P(unwanted) = 1 - P(safe): the lowest score at which validation ham is flagged
   at most `target_fpr` (malicious) / `loose_fpr` (suspicious) of the time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.bundle import CLASSES, ModelBundle, Thresholds, softmax
from mailwarden.models.frame import DatasetError, Frame, validation_split
from mailwarden.models.text import TextModel, fit_text
from mailwarden.models.trees import CompiledTrees

FloatArray = npt.NDArray[np.float64]
Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    name: str = "mailwarden-gbm-text"
    rounds: int = 150
    learning_rate: float = 0.15
    num_leaves: int = 15
    max_depth: int = 8
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    early_stopping: int = 30
    text: bool = True
    text_l2: float = 1.0
    text_keep: int = 20000
    text_min_df: int = 3
    validation_share: float = 0.15
    target_fpr: float = 0.001
    loose_fpr: float = 0.01
    exclude: tuple[str, ...] = ()  # signal-name prefixes the trees may not read
    threads: int = 2
    seed: int = 11


def require_lightgbm() -> None:
    from mailwarden.training.dataset import MissingDependency

    try:
        import lightgbm  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            "training needs lightgbm and scipy: pip install 'mailwarden[train]'"
        ) from exc


def excluded_columns(names: tuple[str, ...], prefixes: tuple[str, ...]) -> list[int]:
    return [j for j, n in enumerate(names) if any(n.startswith(p) for p in prefixes)]


def threshold_at_fpr(scores: FloatArray, target: float) -> float:
    """The lowest threshold t (flag when score >= t) at which at most `target` of these
    negatives' `scores` are flagged."""
    if len(scores) == 0:
        return 0.5
    ordered = np.sort(scores)[::-1]
    allowed = int(np.floor(target * len(ordered)))
    if allowed >= len(ordered):
        return float(ordered[-1])
    return float(np.nextafter(ordered[allowed], np.inf))


def fit_blend(gbm: FloatArray, text: FloatArray | None, y: npt.NDArray[np.int64]) -> dict[str, Any]:
    """(a, b, c) minimising the log loss of softmax(a * gbm + b * text + c) on these rows."""
    from scipy import optimize

    k = gbm.shape[1]
    n = len(y)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    txt = text if text is not None else np.zeros_like(gbm)

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        a, b, c = params[0], params[1], params[2:]
        z = a * gbm + b * txt + c
        p = softmax(z)
        logp = np.log(np.clip(p, 1e-300, None))
        value = -(onehot * logp).sum() / n + 1e-4 * float((c * c).sum())
        g = (p - onehot) / n
        grad = np.concatenate([[(g * gbm).sum(), (g * txt).sum()], g.sum(axis=0) + 2e-4 * c])
        return float(value), grad

    start = np.concatenate([[1.0, 1.0 if text is not None else 0.0], np.zeros(k)])
    bounds = [(0.0, None), (0.0, None if text is not None else 0.0)] + [(None, None)] * k
    result = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    a, b, c = result.x[0], result.x[1], result.x[2:]
    return {"gbm": float(a), "text": float(b), "bias": [float(v) for v in c]}


def train_model(
    frame: Frame, config: TrainConfig | None = None, log: Log | None = None
) -> tuple[ModelBundle, Any, dict[str, Any]]:
    """(model, LightGBM booster, training report) from the dataset's training rows."""
    require_lightgbm()
    import lightgbm as lgb

    config = config or TrainConfig()
    say = log or (lambda _: None)
    started = time.perf_counter()
    train = frame.take(frame.split == "train")
    if len(train) == 0:
        raise DatasetError(f"{frame.path}: no training rows (split_time == 'train')")
    val_mask = validation_split(train, config.validation_share)
    fit, val = train.take(~val_mask), train.take(val_mask)
    if len(val) == 0 or len(fit) == 0:
        raise DatasetError(f"{frame.path}: too few dated training rows to hold out validation")
    if len(set(fit.y.tolist())) < 2 or not (val.label == "ham").any():
        raise DatasetError(f"{frame.path}: training needs ham and unwanted mail on both sides")
    names = frame.schema.names
    dropped = excluded_columns(names, config.exclude)
    x_fit, x_val = fit.x.copy(), val.x.copy()
    x_fit[:, dropped] = 0.0
    x_val[:, dropped] = 0.0
    say(f"fit {len(fit)} rows, validation {len(val)} rows, {len(names) - len(dropped)} features")

    params = {
        "objective": "multiclass",
        "num_class": len(CLASSES),
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "max_depth": config.max_depth,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "lambda_l2": config.lambda_l2,
        "num_threads": config.threads,
        "deterministic": True,
        "force_row_wise": True,
        "seed": config.seed,
        "verbose": -1,
    }
    fit_set = lgb.Dataset(x_fit, fit.y, feature_name=[f"f{j}" for j in range(len(names))])
    val_set = lgb.Dataset(x_val, val.y, reference=fit_set)
    booster = lgb.train(
        params,
        fit_set,
        num_boost_round=config.rounds,
        valid_sets=[val_set],
        callbacks=[lgb.early_stopping(config.early_stopping, verbose=False)],
    )
    rounds = int(booster.best_iteration or config.rounds)
    booster = booster.model_from_string(booster.model_to_string(num_iteration=rounds))
    trees = CompiledTrees.from_dump(booster.dump_model())
    say(f"trees: {rounds} rounds, {len(trees.roots)} trees, depth {trees.depth}")
    gbm_val = np.asarray(booster.predict(x_val, raw_score=True))
    check = trees.raw_batch(x_val[:50])
    if not np.allclose(check, gbm_val[:50], atol=1e-9):
        raise RuntimeError("compiled trees disagree with LightGBM (a bug, not your data)")

    text_model: TextModel | None = None
    text_val: FloatArray | None = None
    if config.text:
        text_model = fit_text(
            fit.text,
            fit.y,
            fit.corpus.tolist(),
            len(CLASSES),
            l2=config.text_l2,
            keep=config.text_keep,
            min_df=config.text_min_df,
        )
        text_val = text_model.raw_batch(val.text)
        say(f"text model: {len(text_model.vocabulary)} tokens")
    blend = fit_blend(gbm_val, text_val, val.y)
    z_val = blend["gbm"] * gbm_val + np.asarray(blend["bias"])
    if text_val is not None:
        z_val = z_val + blend["text"] * text_val
    unwanted_val = 1.0 - softmax(z_val)[:, 0]
    ham_val = unwanted_val[val.label == "ham"]
    thresholds = Thresholds(
        malicious=threshold_at_fpr(ham_val, config.target_fpr),
        suspicious=threshold_at_fpr(ham_val, config.loose_fpr),
    )
    used = tuple(int(j) for j in np.flatnonzero(booster.feature_importance("split") > 0))
    digest = hashlib.sha256(trees.value.tobytes() + trees.threshold.tobytes())
    if text_model is not None:
        digest.update(text_model.weights.tobytes())
    created = datetime.now(UTC).replace(microsecond=0)
    version = f"{created:%Y%m%d}-{digest.hexdigest()[:10]}"
    report = {
        "created": created.isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
        "rows": {
            "fit": len(fit),
            "validation": len(val),
            "test_held_out": int(len(frame) - len(train)),
        },
        "fit_by_corpus": fit.counts(),
        "validation_by_corpus": val.counts(),
        "rounds": rounds,
        "trees": len(trees.roots),
        "depth": trees.depth,
        "features_used": len(used),
        "text_tokens": len(text_model.vocabulary) if text_model is not None else 0,
        "blend": blend,
        "validation_ham": len(ham_val),
        "thresholds": asdict(thresholds),
    }
    manifest = {
        "created": created.isoformat(),
        "dataset": {
            "path": frame.path,
            "rows": len(frame),
            "by_corpus": frame.counts(),
            "metadata": {k: v for k, v in frame.metadata.items() if k != "feature_schema"},
        },
        "training": report,
        "libraries": _versions(),
    }
    bundle = ModelBundle(
        name=config.name,
        version=version,
        classes=CLASSES,
        schema=frame.schema,
        used=used,
        trees=trees,
        text=text_model,
        blend=blend,
        thresholds=thresholds,
        manifest=manifest,
    )
    say(f"trained in {report['seconds']} s")
    return bundle, booster, report


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("mailwarden", "lightgbm", "numpy", "scipy", "pyarrow"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
