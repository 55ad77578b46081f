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

from mailwarden.models.bundle import CLASSES, ModelBundle, Screen, Thresholds, softmax
from mailwarden.models.frame import DatasetError, Frame, validation_split
from mailwarden.models.text import TextModel, fit_text
from mailwarden.models.trees import CompiledTrees

FloatArray = npt.NDArray[np.float64]
Log = Callable[[str], None]


# What the screen may read: the signals the rules compute anyway for 97% or more of messages
# (`python bench/model_bench.py --signal-costs`, column "left by rules": 3% or less), so the
# screen costs no signal time at all; the rest (phrase families, link paths, sender and
# recipient traits) cost up to ~70 us each when the rules have not needed them.
SCREEN_SIGNALS = (
    "message.attachment.archive",
    "message.attachment.double_extension",
    "message.attachment.encrypted_archive",
    "message.attachment.executable",
    "message.attachment.extension_mismatch",
    "message.attachment.html",
    "message.attachment.macro",
    "message.auth.fail",
    "message.bank_change",
    "message.brand_offdomain",
    "message.callback_phone",
    "message.consumer_lure",
    "message.crypto_bait",
    "message.crypto_wallet",
    "message.extortion",
    "message.gift_card",
    "message.html.form",
    "message.invoice_language",
    "message.link.free_hosting",
    "message.link.ip_host",
    "message.link.punycode",
    "message.link.shortener",
    "message.link.text_mismatch",
    "message.payment_details_changed",
    "message.payment_details_first",
    "message.payment_request",
    "message.payroll_change",
    "message.prize_lure",
    "message.reply_thread_unknown",
    "message.reply_without_thread",
    "message.shipping_lure",
    "message.spam_phrases",
    "message.throwaway_trait_count",
    "message.wire_transfer",
    "recipient.to_sender",
    "sender.brand_domain_mismatch",
    "sender.employee_impersonation",
    "sender.freemail",
    "sender.internal",
    "sender.internal_spoof",
    "sender.known",
    "sender.name_new_domain",
    "sender.name_of_internal_on_external",
    "sender.reply_to_freemail",
    "sender.vip_impersonation",
)


@dataclass(frozen=True)
class TrainConfig:
    name: str = "mailwarden-gbm-text"
    # 31 leaves at rate 0.25 matched 15 leaves at 0.15 on the held-out benchmark with 360 trees
    # instead of 852 (fewer trees: less time per message); see docs/models.md.
    rounds: int = 100
    learning_rate: float = 0.25
    num_leaves: int = 31
    max_depth: int = 10
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    early_stopping: int = 30
    text: bool = True
    text_l2: float = 0.3  # 0.1-0.3 beat 1.0 and 3.0 on held-out recall at 0.1% FPR
    text_keep: int = 5000  # 5,000 words held the held-out figures of 20,000 (docs/models.md)
    text_min_df: int = 3
    validation_share: float = 0.15
    target_fpr: float = 0.001
    loose_fpr: float = 0.01
    exclude: tuple[str, ...] = ()  # signal-name prefixes the trees may not read
    # The cascade's screen: trees over the signals the rules compute anyway, blended with the
    # text model; it decides "safe" alone below a threshold that lets through at most
    # `screen_miss` of validation's unwanted mail. None: no screen (the full trees only).
    screen_signals: tuple[str, ...] | None = SCREEN_SIGNALS
    screen_miss: float = 0.001
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


def fit_trees(
    fit: Frame, val: Frame, dropped: list[int], config: TrainConfig
) -> tuple[Any, CompiledTrees, FloatArray]:
    """LightGBM on `fit` (the `dropped` columns zeroed: the trees cannot split on them),
    early-stopped on `val`: (booster, compiled trees, raw validation scores)."""
    import lightgbm as lgb

    x_fit, x_val = fit.x.copy(), val.x.copy()
    x_fit[:, dropped] = 0.0
    x_val[:, dropped] = 0.0
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
    names = [f"f{j}" for j in range(fit.x.shape[1])]
    fit_set = lgb.Dataset(x_fit, fit.y, feature_name=names)
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
    gbm_val = np.asarray(booster.predict(x_val, raw_score=True))
    if not np.allclose(trees.raw_batch(x_val[:50]), gbm_val[:50], atol=1e-9):
        raise RuntimeError("compiled trees disagree with LightGBM (a bug, not your data)")
    return booster, trees, gbm_val


def used_features(booster: Any) -> tuple[int, ...]:
    return tuple(int(j) for j in np.flatnonzero(booster.feature_importance("split") > 0))


def train_model(
    frame: Frame, config: TrainConfig | None = None, log: Log | None = None
) -> tuple[ModelBundle, Any, dict[str, Any]]:
    """(model, LightGBM booster, training report) from the dataset's training rows."""
    require_lightgbm()
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
    say(f"fit {len(fit)} rows, validation {len(val)} rows, {len(names) - len(dropped)} features")
    booster, trees, gbm_val = fit_trees(fit, val, dropped, config)
    rounds = booster.num_trees() // len(CLASSES)
    say(f"trees: {rounds} rounds, {len(trees.roots)} trees, depth {trees.depth}")

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
    used = used_features(booster)
    screen = None
    if config.screen_signals is not None:
        screen = fit_screen(fit, val, text_val, config, thresholds, say)
    digest = hashlib.sha256(trees.value.tobytes() + trees.threshold.tobytes())
    if text_model is not None:
        digest.update(text_model.weights.tobytes())
    if screen is not None:
        digest.update(screen.trees.value.tobytes())
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
        "screen": screen.report if screen is not None else None,
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
        screen=screen,
    )
    say(f"trained in {report['seconds']} s")
    return bundle, booster, report


def fit_screen(
    fit: Frame,
    val: Frame,
    text_val: FloatArray | None,
    config: TrainConfig,
    thresholds: Thresholds,
    say: Log,
) -> Screen:
    """The cascade's first stage: trees over `config.screen_signals` only, blended with the
    text model on validation; it passes as safe what scores below the `screen_miss` quantile
    of validation's unwanted mail (and never above the loose threshold)."""
    names = fit.schema.names
    allowed = set(config.screen_signals or ())
    dropped = sorted(
        set(excluded_columns(names, config.exclude))
        | {j for j, n in enumerate(names) if n not in allowed}
    )
    booster, trees, gbm_val = fit_trees(fit, val, dropped, config)
    blend = fit_blend(gbm_val, text_val, val.y)
    z_val = blend["gbm"] * gbm_val + np.asarray(blend["bias"])
    if text_val is not None:
        z_val = z_val + blend["text"] * text_val
    unwanted = 1.0 - softmax(z_val)[:, 0]
    bad = val.unwanted
    cut = float(np.quantile(unwanted[bad], config.screen_miss)) if bad.any() else 0.0
    pass_below = min(cut, thresholds.suspicious)
    passed = unwanted < pass_below
    report = {
        "trees": len(trees.roots),
        "signals": len(names) - len(dropped),
        "pass_below": pass_below,
        "validation_ham_passed": float(passed[~bad].mean()) if (~bad).any() else 0.0,
        "validation_unwanted_passed": float(passed[bad].mean()) if bad.any() else 0.0,
    }
    say(
        f"screen: {len(trees.roots)} trees over {len(names) - len(dropped)} signals; decides "
        f"{report['validation_ham_passed']:.1%} of validation ham safe, letting through "
        f"{report['validation_unwanted_passed']:.2%} of its unwanted mail"
    )
    return Screen(trees, used_features(booster), blend, pass_below, report=report)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("mailwarden", "lightgbm", "numpy", "scipy", "pyarrow"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
