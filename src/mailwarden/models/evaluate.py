"""Evaluate scores on held-out rows: per source and category, curves, thresholds, errors, CIs.

Everything here reads scores that were computed on rows the model never trained or tuned on
(the dataset's ``test`` split: each source's newest 20%). A "system" is one score per row and a
threshold chosen *before* looking at these rows (the model's validation threshold; the rules'
own verdict); `evaluate` reports it, and `compare` puts two systems side by side with bootstrap
confidence intervals (resampling rows, both systems on the same resample).

The headline benchmark (issue 4): phishing_pot's newest months (malicious) against held-out ham
from enron, usrp_list and spamassassin: recall on the former at an FPR on the latter of at most
0.1%.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.bundle import CLASSES, ModelBundle
from mailwarden.models.frame import Frame
from mailwarden.models.text import message_words

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
HEADLINE_ATTACK = ("phishing_pot",)
HEADLINE_HAM = ("enron", "usrp_list", "spamassassin")
TARGET_RECALL, TARGET_FPR = 0.99, 0.001


@dataclass
class System:
    """One way of flagging messages: a score per row and the threshold it flags at."""

    name: str
    score: FloatArray
    threshold: float
    category: npt.NDArray[np.str_]  # predicted category when flagged ("safe" otherwise)

    @property
    def flagged(self) -> BoolArray:
        result: BoolArray = self.score >= self.threshold
        return result


def model_system(bundle: ModelBundle, frame: Frame, name: str = "") -> tuple[System, FloatArray]:
    probs = bundle.predict_batch(frame.x, frame.text)
    score = 1.0 - probs[:, 0]
    top = np.asarray(bundle.classes)[1 + probs[:, 1:].argmax(axis=1)]
    category = np.where(score >= bundle.thresholds.malicious, top, "safe")
    system = System(
        name or f"{bundle.name}@{bundle.version}", score, bundle.thresholds.malicious, category
    )
    return system, probs


def rules_system(frame: Frame) -> System:
    """The engine's rules as recorded in the dataset: flagged when the verdict was not safe."""
    flagged = frame.engine_verdict != "safe"
    score = np.where(flagged, 1.0, 0.0) + np.minimum(frame.engine_score, 100.0) / 1000.0
    category = np.where(flagged, frame.engine_verdict, "safe")
    return System("rules", score, 1.0, category)


def counts(truth: BoolArray, flagged: BoolArray) -> dict[str, Any]:
    tp = int((truth & flagged).sum())
    fp = int((~truth & flagged).sum())
    fn = int((truth & ~flagged).sum())
    tn = int((~truth & ~flagged).sum())
    pos, neg = tp + fn, fp + tn
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / pos if pos else None,
        "fnr": fn / pos if pos else None,
        "fpr": fp / neg if neg else None,
    }


def curves(truth: BoolArray, score: FloatArray) -> dict[str, FloatArray]:
    """ROC (fpr, tpr) and PR (recall, precision) at every distinct threshold."""
    order = np.argsort(-score, kind="stable")
    s, t = score[order], truth[order]
    distinct = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(t)[distinct].astype(np.float64)
    fp = np.cumsum(~t)[distinct].astype(np.float64)
    pos, neg = max(float(t.sum()), 1.0), max(float((~t).sum()), 1.0)
    return {
        "threshold": s[distinct],
        "tpr": tp / pos,
        "fpr": fp / neg,
        "precision": tp / np.maximum(tp + fp, 1.0),
    }


def auc(x: FloatArray, y: FloatArray) -> float:
    xs, ys = np.r_[0.0, x], np.r_[0.0, y]
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))


def threshold_for_precision(truth: BoolArray, score: FloatArray, target: float) -> dict[str, Any]:
    """The lowest threshold whose precision on these rows is at least `target` (max recall)."""
    c = curves(truth, score)
    ok = np.flatnonzero(c["precision"] >= target)
    if len(ok) == 0:
        return {"target_precision": target, "threshold": None, "recall": 0.0, "precision": None}
    best = ok[np.argmax(c["tpr"][ok])]
    return {
        "target_precision": target,
        "threshold": float(c["threshold"][best]),
        "recall": float(c["tpr"][best]),
        "precision": float(c["precision"][best]),
    }


def recall_at_fpr(truth: BoolArray, score: FloatArray, fpr: float) -> dict[str, Any]:
    """Best recall with FPR <= `fpr`, threshold chosen on these very rows (an oracle: for
    reference only, a deployed threshold is chosen on validation)."""
    c = curves(truth, score)
    ok = np.flatnonzero(c["fpr"] <= fpr)
    if len(ok) == 0:
        return {"fpr_max": fpr, "recall": 0.0, "threshold": None}
    best = ok[-1]
    return {
        "fpr_max": fpr,
        "recall": float(c["tpr"][best]),
        "threshold": float(c["threshold"][best]),
    }


def bootstrap(
    stat: Callable[[npt.NDArray[np.int64]], float | None],
    n_rows: int,
    n: int = 1000,
    seed: int = 7,
    strata: npt.NDArray[np.int64] | None = None,
) -> tuple[float, float]:
    """95% percentile interval of `stat(indices)` over `n` resamples of the rows (within each
    stratum when given, so positives and negatives keep their counts)."""
    rng = np.random.default_rng(seed)
    values = []
    groups = (
        [np.flatnonzero(strata == s) for s in np.unique(strata)]
        if strata is not None
        else [np.arange(n_rows)]
    )
    for _ in range(n):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups if len(g)])
        value = stat(idx)
        if value is not None:
            values.append(value)
    if not values:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def headline_mask(frame: Frame) -> tuple[BoolArray, BoolArray]:
    """(rows in the headline benchmark, truth: malicious) within `frame`."""
    attack = np.isin(frame.corpus, HEADLINE_ATTACK) & (frame.label == "malicious")
    ham = np.isin(frame.corpus, HEADLINE_HAM) & (frame.label == "ham")
    return attack | ham, attack


def evaluate_system(
    system: System,
    frame: Frame,
    target_precision: float = 0.99,
    boot: int = 1000,
    oracle: bool = True,
) -> dict[str, Any]:
    truth = frame.unwanted
    flagged = system.flagged
    report: dict[str, Any] = {"name": system.name, "threshold": system.threshold}
    report["overall"] = counts(truth, flagged)
    c = curves(truth, system.score)
    report["overall"]["roc_auc"] = auc(c["fpr"], c["tpr"])
    report["overall"]["pr_auc"] = auc(c["tpr"], c["precision"])
    report["threshold_for_precision"] = threshold_for_precision(
        truth, system.score, target_precision
    )
    per_source = {}
    for corpus in sorted(set(frame.corpus.tolist())):
        m = frame.corpus == corpus
        per_source[corpus] = {"rows": int(m.sum()), **counts(truth[m], flagged[m])}
    report["per_source"] = per_source
    per_category = {}
    for cat in CLASSES:
        true_c = frame.category == cat
        pred_c = system.category == cat
        per_category[cat] = {
            "rows": int(true_c.sum()),
            "flagged": int((true_c & flagged).sum()),
            "predicted": int(pred_c.sum()),
            # category-level precision / recall: flagged and named this category
            **counts(true_c, pred_c & flagged if cat != "safe" else ~flagged),
        }
    report["per_category"] = per_category
    labels = list(CLASSES)
    index = {c: i for i, c in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(frame.category, system.category, strict=True):
        if p in index:
            matrix[index[t], index[p]] += 1
    report["confusion"] = {"labels": labels, "matrix": matrix.tolist()}

    h = headline(system, frame, boot, oracle)
    if h is not None:
        report["headline"] = h
    return report


def headline(
    system: System, frame: Frame, boot: int = 1000, oracle: bool = True
) -> dict[str, Any] | None:
    """The headline benchmark for `system` on `frame` (None when the frame lacks its rows):
    recall and FPR with bootstrap intervals, and the oracle recall at 0.1% FPR."""
    rows, attack = headline_mask(frame)
    if not (rows.any() and attack.any() and (rows & ~attack).any()):
        return None
    flagged = system.flagged
    h_truth, h_flag, h_score = attack[rows], flagged[rows], system.score[rows]
    h = counts(h_truth, h_flag)
    strata = h_truth.astype(np.int64)

    def recall(idx: npt.NDArray[np.int64]) -> float | None:
        return counts(h_truth[idx], h_flag[idx])["recall"]  # type: ignore[no-any-return]

    def fpr(idx: npt.NDArray[np.int64]) -> float | None:
        return counts(h_truth[idx], h_flag[idx])["fpr"]  # type: ignore[no-any-return]

    h["recall_ci95"] = bootstrap(recall, len(h_truth), boot, strata=strata)
    h["fpr_ci95"] = bootstrap(fpr, len(h_truth), boot, strata=strata)
    if oracle:
        h["oracle_recall_at_fpr_0.1%"] = recall_at_fpr(h_truth, h_score, TARGET_FPR)
    h["target"] = f"recall >= {TARGET_RECALL:.0%} at FPR <= {TARGET_FPR:.1%}"
    h["target_met"] = bool((h["recall"] or 0) >= TARGET_RECALL and (h["fpr"] or 0) <= TARGET_FPR)
    return h


def compare(champion: System, challenger: System, frame: Frame, boot: int = 1000) -> dict[str, Any]:
    """Both systems on the same rows: recall (on unwanted mail) and FPR (on ham), each with a
    95% bootstrap interval, and the interval of the challenger-minus-champion difference."""
    truth = frame.unwanted
    strata = truth.astype(np.int64)
    out: dict[str, Any] = {"champion": champion.name, "challenger": challenger.name}
    for metric in ("recall", "fpr"):

        def stat(system: System, idx: npt.NDArray[np.int64], key: str = metric) -> float | None:
            return counts(truth[idx], system.flagged[idx])[key]  # type: ignore[no-any-return]

        def diff(idx: npt.NDArray[np.int64], key: str = metric) -> float | None:
            a, b = stat(champion, idx, key), stat(challenger, idx, key)
            return None if a is None or b is None else b - a

        all_rows = np.arange(len(truth))
        out[metric] = {
            "champion": stat(champion, all_rows),
            "challenger": stat(challenger, all_rows),
            "champion_ci95": bootstrap(
                lambda i: stat(champion, i), len(truth), boot, strata=strata
            ),
            "challenger_ci95": bootstrap(
                lambda i: stat(challenger, i), len(truth), boot, strata=strata
            ),
            "difference_ci95": bootstrap(diff, len(truth), boot, strata=strata),
        }
    return out


def error_analysis(
    frame: Frame,
    system: System,
    bundle: ModelBundle | None,
    limit: int = 25,
) -> dict[str, list[dict[str, Any]]]:
    """The highest-scoring false positives (ham flagged) and the lowest-scoring misses
    (unwanted mail not flagged), with the signals that pushed the model most."""
    truth, flagged = frame.unwanted, system.flagged
    fps = np.flatnonzero(~truth & flagged)
    fps = fps[np.argsort(-system.score[fps])][:limit]
    misses = np.flatnonzero(truth & ~flagged)
    misses = misses[np.argsort(system.score[misses])][:limit]

    def row(i: int, cls: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "path": frame.path_[i],
            "corpus": str(frame.corpus[i]),
            "label": str(frame.label[i]),
            "category": str(frame.category[i]),
            "score": round(float(system.score[i]), 6),
            "subject": frame.text[i].split("\n", 1)[0][:100],
        }
        if bundle is not None:
            parts = bundle.attribution(frame.x[i], message_words(frame.text[i]), cls)
            item["top_signals"] = [f"{n} {v:+.2f}" for n, v in parts]
        return item

    def miss_class(i: int) -> str:
        return str(frame.category[i]) if frame.category[i] != "safe" else "spam"

    return {
        "false_positives": [row(int(i), str(system.category[i])) for i in fps],
        "misses": [row(int(i), miss_class(int(i))) for i in misses],
    }


def calibration(probs: FloatArray, y: npt.NDArray[np.int64], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error of the top class and the log loss, on these rows."""
    top = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    correct = top == y
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (confidence > lo) & (confidence <= hi)
        if m.any():
            ece += m.mean() * abs(float(correct[m].mean()) - float(confidence[m].mean()))
    logloss = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-15, None)).mean())
    return {"ece": round(ece, 5), "log_loss": round(logloss, 5), "accuracy": float(correct.mean())}


def plot_curves(
    systems: Sequence[System], frame: Frame, out_dir: Any, mask: BoolArray | None = None,
    truth: BoolArray | None = None, tag: str = "test",
) -> list[str]:  # fmt: skip
    """PR and ROC curves as PNG (matplotlib, when installed); returns the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    from pathlib import Path

    rows = mask if mask is not None else np.ones(len(frame), dtype=np.bool_)
    t = (truth if truth is not None else frame.unwanted)[rows]
    written = []
    fig_roc, ax_roc = plt.subplots(figsize=(5, 4))
    fig_pr, ax_pr = plt.subplots(figsize=(5, 4))
    for system in systems:
        c = curves(t, system.score[rows])
        ax_roc.plot(c["fpr"], c["tpr"], label=f"{system.name} (AUC {auc(c['fpr'], c['tpr']):.4f})")
        ax_pr.plot(c["tpr"], c["precision"], label=system.name)
        op = counts(t, system.flagged[rows])
        if op["fpr"] is not None and op["recall"] is not None:
            ax_roc.plot([op["fpr"]], [op["recall"]], "o")
    ax_roc.set_xscale("symlog", linthresh=1e-3)
    ax_roc.set_xlabel("false positive rate (log)")
    ax_roc.set_ylabel("recall")
    ax_roc.set_title(f"ROC, {tag}")
    ax_roc.legend(fontsize=7, loc="lower right")
    ax_pr.set_xlabel("recall")
    ax_pr.set_ylabel("precision")
    ax_pr.set_title(f"precision-recall, {tag}")
    ax_pr.legend(fontsize=7, loc="lower left")
    for fig, kind in ((fig_roc, "roc"), (fig_pr, "pr")):
        path = Path(out_dir) / f"{kind}_{tag}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    return written
