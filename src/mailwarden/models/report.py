"""Evaluation reports on disk: eval.json (everything), eval.md and eval.html (tables, plots)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any


def pct(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{100 * float(value):.{digits}f}%"


def ci(pair: Any) -> str:
    if not pair or any(v != v for v in pair):  # NaN
        return ""
    return f" [{100 * pair[0]:.2f}, {100 * pair[1]:.2f}]"


def headline_lines(system: dict[str, Any]) -> list[str]:
    h = system.get("headline")
    if not h:
        return ["headline benchmark: no phishing_pot / held-out ham rows in this dataset"]
    oracle = h.get("oracle_recall_at_fpr_0.1%")
    lines = [
        f"{system['name']}: phishing_pot newest vs held-out ham (enron, usrp_list, spamassassin)",
        (
            "  as its verdicts decided (not safe = flagged)"
            if system["name"] == "rules"
            else f"  at the validation threshold {system['threshold']:.4f}"
        )
        + f": recall {pct(h['recall'])}"
        f"{ci(h['recall_ci95'])} ({h['tp']}/{h['tp'] + h['fn']}), FPR {pct(h['fpr'], 3)}"
        f"{ci(h['fpr_ci95'])} ({h['fp']}/{h['fp'] + h['tn']})",
        f"  target {h['target']}: {'met' if h['target_met'] else 'NOT met'}",
    ]
    if oracle:
        lines.insert(
            -1,
            f"  oracle (threshold picked on test, reference only): recall "
            f"{pct(oracle['recall'])} at FPR <= 0.1%",
        )
    raw = system.get("headline_corpus_labels")
    if raw:
        lines.insert(
            -1,
            f"  with the corpora's unreviewed labels: recall {pct(raw['recall'])}, FPR "
            f"{pct(raw['fpr'], 3)} ({raw['fp']}/{raw['fp'] + raw['tn']})",
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    out = [
        f"# Evaluation: {report['dataset']}",
        "",
        f"Rows: {report['rows']} (test split only); "
        f"{report.get('reviewed_labels', 0)} carry a reviewed label "
        "(mailwarden/training/label_review.csv, docs/models.md).",
        "",
    ]
    for system in report["systems"]:
        out += [f"## {system['name']}", "", "```", *headline_lines(system), "```", ""]
        o = system["overall"]
        out += [
            f"All test rows, unwanted (spam + malicious) vs ham: precision {pct(o['precision'])}, "
            f"recall {pct(o['recall'])}, FPR {pct(o['fpr'], 3)}, FNR {pct(o['fnr'])}, "
            f"ROC AUC {o['roc_auc']:.4f}, PR AUC {o['pr_auc']:.4f}.",
            "",
        ]
        tp = system["threshold_for_precision"]
        if tp["threshold"] is not None:
            out += [
                f"Threshold for precision >= {pct(tp['target_precision'], 0)} on these rows: "
                f"{tp['threshold']:.4f} (recall {pct(tp['recall'])}).",
                "",
            ]
        out += ["| source | rows | precision | recall | FNR | FPR |", "|---|---|---|---|---|---|"]
        for name, s in system["per_source"].items():
            out.append(
                f"| {name} | {s['rows']} | {pct(s['precision'])} | {pct(s['recall'])} | "
                f"{pct(s['fnr'])} | {pct(s['fpr'], 3)} |"
            )
        out += ["", "| category | rows | flagged | precision | recall | FNR | FPR |"]
        out.append("|---|---|---|---|---|---|---|")
        for name, s in system["per_category"].items():
            out.append(
                f"| {name} | {s['rows']} | {s['flagged']} | {pct(s['precision'])} | "
                f"{pct(s['recall'])} | {pct(s['fnr'])} | {pct(s['fpr'], 3)} |"
            )
        conf = system["confusion"]
        out += ["", "Confusion (rows: true category, columns: predicted):", ""]
        out.append("| | " + " | ".join(conf["labels"]) + " |")
        out.append("|---" * (len(conf["labels"]) + 1) + "|")
        for label, row in zip(conf["labels"], conf["matrix"], strict=True):
            out.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
        if system.get("calibration"):
            c = system["calibration"]
            out += ["", f"Calibration: ECE {c['ece']}, log loss {c['log_loss']}.", ""]
        for kind in ("false_positives", "misses"):
            items = system.get("errors", {}).get(kind, [])
            if items:
                out += ["", f"### {kind.replace('_', ' ')} ({len(items)} shown)", ""]
                for item in items:
                    signals = "; ".join(item.get("top_signals", []))
                    out.append(
                        f"- `{item['path']}` ({item['corpus']}, {item['category']}) score "
                        f"{item['score']:.4f}: {item['subject']!r} — {signals}"
                    )
        out.append("")
    if report.get("comparison"):
        c = report["comparison"]
        out += [f"## Champion {c['champion']} vs challenger {c['challenger']}", ""]
        out += ["| metric | champion | challenger | difference (95% CI) |", "|---|---|---|---|"]
        for metric in ("recall", "fpr"):
            m = c[metric]
            out.append(
                f"| {metric} | {pct(m['champion'], 3)}{ci(m['champion_ci95'])} | "
                f"{pct(m['challenger'], 3)}{ci(m['challenger_ci95'])} | "
                f"{ci(m['difference_ci95']).strip()} |"
            )
    if report.get("plots"):
        out += ["", "Plots: " + ", ".join(report["plots"])]
    return "\n".join(out) + "\n"


def write(report: dict[str, Any], out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    text = markdown(report)
    (out / "eval.md").write_text(text)
    images = "".join(
        f'<img src="{html.escape(p)}" alt="{html.escape(p)}">' for p in report.get("plots", [])
    )
    page = (
        "<!doctype html><meta charset=utf-8><title>mailwarden eval</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "pre{white-space:pre-wrap}</style>"
        f"<h1>mailwarden evaluation</h1>{images}<pre>{html.escape(text)}</pre>"
    )
    (out / "eval.html").write_text(page)
    return out


# Where each shared corpus comes from and under which terms (shared/data/README.md).
CORPUS_LICENCES = {
    "spamassassin": "Apache SpamAssassin public corpus: PDDL / CC0",
    "csdmc2010": "CSDMC2010 spam corpus: no licence stated",
    "nazario": "Jose Nazario's phishing corpus: no licence stated",
    "phishing_pot": "rf-peixoto/phishing_pot: CC BY-NC 4.0 (attribution, non-commercial use only)",
    "enron": "Enron corpus (public FERC release)",
    "usrp_list": "usrp-users mailing-list archive (public list archive)",
    "bec_synth": "generated by mailwarden.synth.bec (this project, Apache-2.0)",
}


def model_card(manifest: dict[str, Any], report: dict[str, Any] | None = None) -> str:
    """A model card: what the model is, what it was trained on (and under which licences),
    how it was evaluated, its measured figures and its limits."""
    training = manifest.get("training", {})
    dataset = manifest.get("dataset", {})
    by_corpus = dataset.get("by_corpus", {})
    out = [
        f"# Model card: {manifest.get('name')} {manifest.get('version')}",
        "",
        f"Created {manifest.get('created', '?')}. "
        f"Classes: {', '.join(manifest.get('classes', []))}.",
        "Gradient-boosted trees (LightGBM, compiled to numpy arrays) over the engine's numeric "
        "signals, blended with a bag-of-words text model; the blend and calibration (per-class "
        "offsets and a weight per model) are fitted on a validation split by time.",
        "",
        "## Training data (provenance and licences)",
        "",
        f"Dataset `{dataset.get('path', '?')}` ({dataset.get('rows', '?')} rows), built by "
        "`mailwarden dataset build` from the shared corpora with their collectors' "
        "fingerprints neutralised; only its `train` split was used (each source's newest 20% "
        "is held out as `test`).",
        "",
        "| corpus | rows in the dataset | licence / source |",
        "|---|---|---|",
    ]
    for corpus, rows in sorted(by_corpus.items()):
        out.append(f"| {corpus} | {rows} | {CORPUS_LICENCES.get(corpus, 'unknown')} |")
    if "phishing_pot" in by_corpus:
        out += [
            "",
            "**Licence note:** phishing_pot is CC BY-NC 4.0. This model was trained on it: "
            "attribute rf-peixoto/phishing_pot, and treat the model as usable for "
            "non-commercial purposes unless you retrain it without that corpus "
            "(`mailwarden dataset build --corpora ...` without phishing_pot).",
        ]
    rows = training.get("rows", {})
    out += [
        "",
        "## Training",
        "",
        f"Fit rows {rows.get('fit', '?')}, validation rows {rows.get('validation', '?')}; "
        f"{training.get('rounds', '?')} boosting rounds ({training.get('trees', '?')} trees), "
        f"{training.get('features_used', '?')} signals read, "
        f"{training.get('text_tokens', 0)} text words; trained in "
        f"{training.get('seconds', '?')} s.",
        f"Thresholds on P(unwanted), chosen on validation ham: strict "
        f"{training.get('thresholds', {}).get('malicious', 0):.4f} (0.1% FPR), loose "
        f"{training.get('thresholds', {}).get('suspicious', 0):.4f} (1% FPR).",
        f"Feature schema {manifest.get('feature_schema', {}).get('hash', '?')} "
        f"(version {manifest.get('feature_schema', {}).get('version', '?')}); libraries: "
        + ", ".join(f"{k} {v}" for k, v in manifest.get("libraries", {}).items())
        + ".",
    ]
    if report:
        out += ["", "## Evaluation (held-out test split, by time)", "", "```"]
        for system in report.get("systems", []):
            out += headline_lines(system)
        out += [
            "```",
            "",
            "Full report: `eval/eval.md` in the model's registry version; `mailwarden eval "
            "DATASET --model DIR` reproduces it.",
        ]
    out += [
        "",
        "## Limits",
        "",
        "- Labels are the corpora's: Enron inboxes hold spam labelled ham, and phishing_pot's "
        "'malicious' includes junk mail. Categories of malicious mail are heuristic (weak labels).",
        "- The sources differ in era and kind (list mail, authentication results present or "
        "not); what the neutralisation could not remove is measured by "
        "`mailwarden dataset check`.",
        "- BEC examples are generated, not real; malware examples are very few.",
    ]
    return "\n".join(out) + "\n"
