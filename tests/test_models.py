"""Trained models: compiled trees match LightGBM, train / save / load / score, the model as a
detector in the engine (findings with attribution), bad input (missing, damaged or mismatched
model files, NaN features, empty datasets) falling back to rules with a clear record, the
evaluation maths, and the train / eval / models CLI.

Everything trains tiny models on small synthetic datasets (seconds); the packaged default
model is exercised on the hand-written sample messages.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from click.testing import CliRunner

from mailwarden.cli import main
from mailwarden.detectors.model import ModelDetector, UnavailableModel, load_model_detectors
from mailwarden.engine import Engine
from mailwarden.models import DEFAULT_MODEL_DIR
from mailwarden.models import evaluate as ev
from mailwarden.models.bundle import (
    CLASSES,
    ModelError,
    ModelInputError,
    Prediction,
    Thresholds,
    load_model,
)
from mailwarden.models.frame import DatasetError, hold_out_sources, read_frame
from mailwarden.models.pipeline import run_eval
from mailwarden.models.registry import Registry, RegistryError
from mailwarden.models.text import TextModel, fit_text, message_words
from mailwarden.models.train import TrainConfig, threshold_at_fpr, train_model
from mailwarden.models.trees import CompiledTrees
from mailwarden.parse import parse
from mailwarden.signals._text import scan_message
from mailwarden.training.dataset import ID_COLUMNS, write_parquet
from mailwarden.training.review import reviews
from mailwarden.training.schema import FeatureSchema
from mailwarden.training.splits import SplitRow, time_split

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PHISH = SAMPLES / "credential_phishing_m365_password_expiry.eml"
HAM = SAMPLES / "ham_wire_approval_internal.eml"
TINY = TrainConfig(rounds=20, num_leaves=7, min_data_in_leaf=5, text_min_df=2, early_stopping=10)

# --- a small synthetic dataset: ham, spam and phishing with signals and words that tell -------

HAM_WORDS = "meeting agenda attached quarterly review lunch schedule project notes thanks team"
SPAM_WORDS = "cheap pills discount offer unsubscribe viagra deal winner casino bonus"
PHISH_WORDS = "verify your account password expires click here sign in suspended mailbox"


def synthetic_rows(
    n: int = 480, seed: int = 3
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    rng = np.random.default_rng(seed)
    schema = FeatureSchema.current()
    types = dict(schema.features)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    kinds = [
        ("enron", "ham", "safe"),
        ("usrp_list", "ham", "safe"),
        ("spamassassin", "ham", "safe"),
        ("spamassassin", "spam", "spam"),
        ("phishing_pot", "malicious", "credential_phishing"),
    ]
    columns: dict[str, list[Any]] = {k: [] for k in ID_COLUMNS}
    features: dict[str, list[Any]] = {name: [] for name in schema.names}
    for i in range(n):
        corpus, label, category = kinds[i % len(kinds)]
        words = {"safe": HAM_WORDS, "spam": SPAM_WORDS}.get(category, PHISH_WORDS).split()
        noise = (HAM_WORDS + " " + SPAM_WORDS).split()
        text = " ".join(rng.choice(words, 8).tolist() + rng.choice(noise, 3).tolist())
        date = start + timedelta(hours=int(i))
        row = {
            "sha256": f"{i:064x}",
            "corpus": corpus,
            "path": f"{corpus}/{i}",
            "label": label,
            "category": category,
            "category_source": "corpus",
            "attack_subtype": "",
            "date": date,
            "replay_date": date,
            "duplicate_group": f"{corpus}/{i}",
            "text": text,
            "engine_verdict": "malicious"
            if category == "credential_phishing" and i % 3
            else "safe",
            "engine_score": 8.0 if category == "credential_phishing" and i % 3 else 0.0,
        }
        for key, value in row.items():
            columns[key].append(value)
        bad = category != "safe"
        for name in schema.names:
            if name == "message.credential_request":
                value = category == "credential_phishing" and rng.random() < 0.9
            elif name == "message.spam_phrases":
                value = int(category == "spam") * int(rng.integers(1, 4))
            elif name == "sender.first_contact":
                value = bad or rng.random() < 0.2
            elif name == "message.link.count":
                value = int(rng.integers(0, 3)) + 3 * int(bad)
            else:
                value = 0
            features[name].append({"bool": bool, "int": int, "float": float}[types[name]](value))
    rows = [
        SplitRow(c, d, g)
        for c, d, g in zip(
            columns["corpus"], columns["date"], columns["duplicate_group"], strict=True
        )
    ]
    columns["split_time"] = time_split(rows, 0.25)
    return columns, features


def write_dataset(path: Path, n: int = 480) -> Path:
    schema = FeatureSchema.current()
    columns, features = synthetic_rows(n)
    write_parquet(path, columns, features, schema, {"feature_schema": schema.to_dict(), "bec": 0})
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data") / "tiny.parquet")


@pytest.fixture(scope="module")
def model_dir(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle, _, _ = train_model(read_frame(dataset), TINY)
    return bundle.save(tmp_path_factory.mktemp("model") / "m")


# --- compiled trees ----------------------------------------------------------------------------


def test_compiled_trees_score_exactly_as_lightgbm_even_with_missing_values() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    x[rng.random(x.shape) < 0.1] = np.nan  # LightGBM learns a default way for NaN
    y = (np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 3]) > 0).astype(int) + (x[:, 1] > 1)
    params = {
        "objective": "multiclass",
        "num_class": 3,
        "num_leaves": 7,
        "verbose": -1,
        "min_data_in_leaf": 5,
        "num_threads": 1,
    }
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=15)
    trees = CompiledTrees.from_dump(booster.dump_model())
    expected = booster.predict(x, raw_score=True)
    np.testing.assert_allclose(trees.raw_batch(x), expected, atol=1e-9)
    for row in x[:20]:
        for cls in range(3):
            bias, contrib = trees.contributions(row, cls)
            assert bias + contrib.sum() == pytest.approx(trees.raw(row)[cls], abs=1e-9)


def test_onnxruntime_scores_as_the_numpy_trees_and_either_can_score_alone(
    dataset: Path, model_dir: Path, tmp_path: Path
) -> None:
    model = load_model(model_dir)
    assert model.scorer == "onnxruntime"
    frame = read_frame(dataset)
    for row in frame.x:
        np.testing.assert_allclose(model.fast.raw(row), model.trees.raw(row), atol=1e-4)  # type: ignore[union-attr]
    # a model without the graph (trained where onnx was not installed) scores with numpy
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    (target / "trees.onnx").unlink()
    alone = load_model(target)
    assert alone.scorer == "numpy"
    words = message_words(frame.text[0])
    np.testing.assert_allclose(
        alone.predict(frame.x[0], words).logits, model.predict(frame.x[0], words).logits, atol=1e-4
    )


def test_the_screen_decides_clear_ham_alone_and_sends_the_rest_to_the_full_trees(
    dataset: Path, model_dir: Path
) -> None:
    model = load_model(model_dir)
    assert model.screen is not None
    assert 0 < model.screen.pass_below <= model.thresholds.suspicious
    assert not set(model.screen.used) & {model.schema.names.index("message.credential_request")}
    test = read_frame(dataset).take(read_frame(dataset).split == "test")
    batch = model.predict_batch(test.x, test.text)  # what `mailwarden eval` measures
    stages = []
    for i in range(len(test)):
        values = dict(zip(test.schema.names, test.x[i], strict=True))
        found = model.score(values, message_words(test.text[i]))  # what a scan does
        np.testing.assert_allclose([found.probabilities[c] for c in CLASSES], batch[i], atol=1e-4)
        stages.append((found.stage, str(test.label[i])))
    assert ("screen", "ham") in stages and ("full", "malicious") in stages


def test_damaged_tree_arrays_are_refused() -> None:
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "min_data_in_leaf": 2},
        lgb.Dataset(np.arange(40.0).reshape(20, 2), np.arange(20) % 2),
        3,
    )
    arrays = CompiledTrees.from_dump(booster.dump_model()).to_arrays()
    arrays["left"] = arrays["left"] + 10_000
    with pytest.raises(ValueError, match="outside"):
        CompiledTrees.from_arrays(arrays)


# --- text model --------------------------------------------------------------------------------


def test_text_model_ignores_words_seen_in_one_corpus_only() -> None:
    texts = ["verify your password now"] * 10 + ["lunch meeting at enron"] * 10
    texts += ["verify password account"] * 5 + ["lunch meeting agenda"] * 5
    sources = ["pot"] * 10 + ["enron"] * 10 + ["nazario"] * 5 + ["usrp"] * 5
    y = np.asarray([2] * 10 + [0] * 10 + [2] * 5 + [0] * 5)
    model = fit_text(texts, y, sources, len(CLASSES), min_df=2)
    assert b"enron" not in model.vocabulary  # only one corpus has it: a fingerprint, not a word
    assert b"verify" in model.vocabulary and b"lunch" in model.vocabulary
    phish, lunch = message_words("please verify your password"), message_words("lunch meeting")
    assert model.raw(phish)[2] > model.raw(lunch)[2]
    again = TextModel.from_arrays(model.to_arrays())
    np.testing.assert_allclose(again.raw(phish), model.raw(phish))
    # the hashed look-up finds exactly the vocabulary's words, and nothing else
    for words in (phish, lunch, message_words("verify lunch zebra password enron"), frozenset()):
        expected = sorted(model.vocabulary[w] for w in words if w in model.vocabulary)
        assert sorted(model.indices(words).tolist()) == expected


def test_the_text_model_reads_words_as_the_phrase_signals_do() -> None:
    assert message_words("Win 1000 dollars, NOW!") == {b"win", b"1000", b"dollars", b"now"}
    # words split by invisible characters are read whole, as a person reads them
    assert message_words("Y\u200bour Secu\u200bre Docu\U000e0139ment") == {
        b"your",
        b"secure",
        b"document",
    }
    raw = "Subject: Verify NOW\nContent-Type: text/plain; charset=utf-8\n\nYour\xa0pass\u200bword\n"
    message = parse(raw.encode())
    assert scan_message(message).words == message_words(f"{message.subject}\n{message.body_text}")


# --- reviewed labels ---------------------------------------------------------------------------


def test_reviewed_labels_correct_the_corpus_and_the_corpus_labels_stay_at_hand(
    dataset: Path, tmp_path: Path
) -> None:
    review = tmp_path / "review.csv"
    review.write_text(
        "sha256,corpus,path,corpus_label,reviewed_label,reviewed_category,reason\n"
        f"{0:064x},enron,enron/0,ham,spam,spam,pharmacy spam in an inbox\n"
    )
    frame = read_frame(dataset, review_file=review)
    assert (frame.label[0], frame.category[0], frame.corpus_label[0]) == ("spam", "spam", "ham")
    assert frame.reviewed.sum() == 1 and frame.unwanted[0]
    raw = frame.with_corpus_labels()
    assert (raw.label[0], raw.category[0], raw.y[0]) == ("ham", "safe", CLASSES.index("safe"))
    unreviewed = read_frame(dataset, reviewed=False, review_file=review)
    assert unreviewed.label[0] == "ham" and not unreviewed.reviewed.any()


def test_a_whole_source_can_be_held_out_and_none_of_it_trains(dataset: Path) -> None:
    frame = hold_out_sources(read_frame(dataset), ["phishing_pot", "usrp_list"])
    test, train = frame.corpus[frame.split == "test"], frame.corpus[frame.split == "train"]
    assert set(test.tolist()) == {"phishing_pot", "usrp_list"}
    assert not {"phishing_pot", "usrp_list"} & set(train.tolist())
    report = run_eval(frame, "rules", challenger=None, boot=10)
    assert report["held_out_sources"] == ["phishing_pot", "usrp_list"]
    assert report["systems"][0]["headline"]["tp"] + report["systems"][0]["headline"]["fn"] == (
        (test == "phishing_pot").sum()
    )
    with pytest.raises(DatasetError, match="no source nowhere to hold out"):
        hold_out_sources(read_frame(dataset), ["nowhere"])


def test_the_shipped_label_review_is_well_formed() -> None:
    corrections = reviews()
    assert len(corrections) >= 100
    assert {(r.corpus_label, r.label) for r in corrections.values()} <= {
        ("ham", "spam"),
        ("ham", "malicious"),
        ("malicious", "ham"),
    }
    assert all(r.category in CLASSES and r.reason for r in corrections.values())


def test_a_malformed_label_review_is_a_clear_error(tmp_path: Path) -> None:
    review = tmp_path / "review.csv"
    review.write_text(
        "sha256,corpus,path,corpus_label,reviewed_label,reviewed_category,reason\n"
        "abc,enron,p,ham,junk,spam,x\n"
    )
    with pytest.raises(ValueError, match=r"review\.csv:2: labels must be one of"):
        reviews(review)


# --- train / save / load ------------------------------------------------------------------------


def test_trained_model_round_trips_and_separates_the_classes(
    dataset: Path, model_dir: Path
) -> None:
    frame = read_frame(dataset)
    model = load_model(model_dir)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["feature_schema"]["hash"] == FeatureSchema.current().hash
    assert manifest["dataset"]["by_corpus"]["phishing_pot"] > 0
    assert set(model.used_names) >= {"message.credential_request"}
    test = frame.take(frame.split == "test")
    probs = model.predict_batch(test.x, test.text)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    unwanted = 1 - probs[:, 0]
    assert unwanted[test.label == "malicious"].min() > unwanted[test.label == "ham"].max()
    assert 0 < model.thresholds.suspicious <= model.thresholds.malicious <= 1


def test_thresholds_hold_the_validation_false_positive_rate() -> None:
    ham = np.linspace(0, 1, 1000)
    t = threshold_at_fpr(ham, 0.01)
    assert (ham >= t).mean() <= 0.01
    assert (ham >= np.nextafter(t, 0) - 1e-3).mean() > 0.01 - 1e-9


# --- bad input ----------------------------------------------------------------------------------


def test_empty_dataset_and_nan_features_are_clear_errors(tmp_path: Path) -> None:
    schema = FeatureSchema.current()
    columns, features = synthetic_rows(10)
    empty_cols = {k: [] for k in columns}
    empty_feats: dict[str, list[Any]] = {k: [] for k in features}
    write_parquet(
        tmp_path / "empty.parquet",
        empty_cols,
        empty_feats,
        schema,
        {"feature_schema": schema.to_dict()},
    )
    with pytest.raises(DatasetError, match="empty"):
        read_frame(tmp_path / "empty.parquet")
    name = next(n for n, t in schema.features if t == "float")
    features[name][3] = float("nan")
    write_parquet(
        tmp_path / "nan.parquet", columns, features, schema, {"feature_schema": schema.to_dict()}
    )
    with pytest.raises(DatasetError, match=f"NaN in feature columns {name}"):
        read_frame(tmp_path / "nan.parquet")
    with pytest.raises(DatasetError, match="no such dataset"):
        read_frame(tmp_path / "absent.parquet")


def rules_only(raw: bytes) -> Any:
    return Engine().scan(raw)


@pytest.mark.parametrize(
    "damage", ["missing", "corrupt-arrays", "corrupt-onnx", "garbled-manifest", "signal-set"]
)
def test_unusable_model_leaves_the_rules_deciding_and_says_so(
    damage: str, model_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    expected_error = {
        "missing": "no model manifest",
        "corrupt-arrays": "checksum does not match",
        "corrupt-onnx": "trees.onnx: checksum does not match",
        "garbled-manifest": "unreadable manifest",
        "signal-set": "signals the engine no longer has: message.credential_request_v0",
    }[damage]
    if damage == "missing":
        shutil.rmtree(target)
    elif damage.startswith("corrupt"):
        path = target / ("model.npz" if damage == "corrupt-arrays" else "trees.onnx")
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "garbled-manifest":
        (target / "manifest.json").write_text("{not json")
    else:  # trained on a signal the engine does not have
        manifest = json.loads((target / "manifest.json").read_text())
        features = manifest["feature_schema"]["features"]
        for f in features:
            if f["name"] == "message.credential_request":
                f["name"] = "message.credential_request_v0"
        manifest["feature_schema"].pop("hash")
        manifest["used_features"] = [
            "message.credential_request_v0" if n == "message.credential_request" else n
            for n in manifest["used_features"]
        ]
        (target / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(ModelError, match=expected_error):
        load_model(target)
    raw = PHISH.read_bytes()
    verdict = Engine(model=target).scan(raw)
    baseline = rules_only(raw)
    assert (verdict.verdict, verdict.category, verdict.score) == (
        baseline.verdict,
        baseline.category,
        baseline.score,
    )
    assert "model-unavailable:model" in verdict.defects
    status = verdict.extra["models"]["model:model"]
    assert status["status"] == "unavailable" and expected_error in status["error"]
    assert (
        json.loads(verdict.to_json())["extra"]["models"]["model:model"]["status"] == "unavailable"
    )


def test_schema_version_change_is_refused(model_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "m"
    shutil.copytree(model_dir, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["feature_schema"]["version"] = 99
    manifest["feature_schema"].pop("hash")
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="feature schema version 99"):
        load_model(target)


class FakeValues(dict[str, Any]):
    msg: Any = parse(b"Subject: hello\n\nsee you at lunch\n")


def test_nan_feature_skips_the_model_for_that_message_and_says_which(model_dir: Path) -> None:
    detector = ModelDetector(load_model(model_dir))
    bundle = detector.bundle
    first = bundle.screen.used if bundle.screen is not None else bundle.used  # read first
    name = bundle.schema.names[first[0]]
    values = FakeValues({n: 0 for n in detector.signals_used()})
    values[name] = float("nan")
    result = detector.score(values)  # type: ignore[arg-type]
    assert result.findings == []
    assert result.defects == [f"model-error:{bundle.name}:nan-feature:{name}"]
    del values[name]
    with pytest.raises(ModelInputError, match="missing-feature"):
        bundle.vector(values, "screen" if bundle.screen is not None else "full")


@pytest.mark.parametrize(
    ("category", "unwanted", "symbol", "points"),
    [
        ("credential_phishing", "strict", "MODEL_CREDENTIAL_PHISHING", 8.0),  # decides alone
        ("credential_phishing", "loose", "MODEL_CREDENTIAL_PHISHING", 2.0),  # needs a rule
        ("spam", "strict", "MODEL_SPAM", 5.0),
        ("spam", "loose", None, 0.0),  # a borderline spam call is no finding at all
        ("credential_phishing", "below", None, 0.0),
    ],
)
def test_the_model_decides_alone_only_above_its_strict_threshold(
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    category: str,
    unwanted: str,
    symbol: str | None,
    points: float,
) -> None:
    bundle = dataclasses.replace(load_model(model_dir), thresholds=Thresholds(0.9, 0.5))
    detector = ModelDetector(bundle)
    p = {"strict": 0.95, "loose": 0.7, "below": 0.2}[unwanted]
    probabilities = dict.fromkeys(CLASSES, 0.0) | {"safe": 1 - p, category: p}
    x = np.zeros(len(bundle.schema.names))
    found = Prediction(probabilities, np.zeros(6), np.zeros(6), np.zeros(6), x=x)
    monkeypatch.setattr(type(bundle), "score", lambda *args: found)
    values = FakeValues({n: 0 for n in detector.signals_used()})
    result = detector.score(values)  # type: ignore[arg-type]
    assert [(f.symbol, f.score) for f in result.findings] == ([(symbol, points)] if symbol else [])


def test_a_model_fault_costs_the_model_not_the_verdict(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    detector = ModelDetector(load_model(model_dir))

    def broken(*args: Any) -> Any:
        raise FloatingPointError("overflow")

    monkeypatch.setattr(type(detector.bundle), "_predict", broken)
    raw = PHISH.read_bytes()
    verdict = Engine(model=detector).scan(raw)
    assert verdict.verdict == rules_only(raw).verdict
    assert f"model-error:{detector.bundle.name}:FloatingPointError" in verdict.defects
    assert verdict.extra["models"][detector.name]["status"] == "error"


def test_unknown_model_spec_is_unavailable_not_a_crash() -> None:
    (detector,) = load_model_detectors("/no/such/model")
    assert isinstance(detector, UnavailableModel)
    assert load_model_detectors(None) == []


# --- the packaged default model in the engine -------------------------------------------------


def test_default_model_loads_offline_and_is_small() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size < 2_000_000
    model = load_model(DEFAULT_MODEL_DIR)
    assert model.classes == CLASSES and model.text is not None


def test_default_model_flags_phishing_with_attribution_and_passes_ham() -> None:
    engine = Engine(model="default")
    phish = engine.scan(PHISH.read_bytes())
    model_findings = [f for f in phish.findings if f.detector.startswith("model:")]
    assert [f.symbol for f in model_findings] == ["MODEL_CREDENTIAL_PHISHING"]
    assert "top: " in model_findings[0].evidence  # names the signals that pushed it
    summary = phish.extra["models"][model_findings[0].detector]
    assert summary["status"] == "ok" and summary["probabilities"]["credential_phishing"] > 0.5
    assert abs(sum(summary["probabilities"].values()) - 1) < 1e-4
    ham = engine.scan(HAM.read_bytes())
    assert ham.verdict == "safe"
    assert not [f for f in ham.findings if f.detector.startswith("model:")]
    assert not [d for d in ham.defects if d.startswith("model-")]


# --- evaluation maths ---------------------------------------------------------------------------


def test_counts_curves_and_thresholds_on_a_hand_made_case() -> None:
    truth = np.array([True, True, True, False, False, False, False])
    score = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.05])
    c = ev.counts(truth, score >= 0.5)
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (2, 1, 1, 3)
    assert c["recall"] == pytest.approx(2 / 3) and c["fpr"] == pytest.approx(0.25)
    assert ev.threshold_for_precision(truth, score, 1.0)["threshold"] == pytest.approx(0.8)
    assert ev.recall_at_fpr(truth, score, 0.0)["recall"] == pytest.approx(2 / 3)
    curves = ev.curves(truth, score)
    assert ev.auc(curves["fpr"], curves["tpr"]) == pytest.approx(11 / 12)
    lo, hi = ev.bootstrap(lambda idx: float(truth[idx].mean()), len(truth), 200)
    assert lo <= truth.mean() <= hi


# --- CLI: train, eval, models -------------------------------------------------------------------


def test_cli_train_eval_and_registry(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailwarden.models.train as train_module

    monkeypatch.setattr(
        train_module, "TrainConfig", lambda **kw: TrainConfig(**{**TINY.__dict__, **kw})
    )
    registry = tmp_path / "registry"
    runner = CliRunner()
    first = runner.invoke(
        main, ["train", str(dataset), "--registry", str(registry), "--bootstrap", "50"]
    )
    assert first.exit_code == 0, first.output
    assert "promoted" in first.output
    second = runner.invoke(
        main,
        [
            "train",
            str(dataset),
            "--registry",
            str(registry),
            "--no-text",
            "--bootstrap",
            "50",
            "--no-mlflow",
        ],
    )
    assert second.exit_code == 0, second.output
    versions = Registry(registry).versions()
    assert len(versions) == 2 and Registry(registry).champion() == versions[0]["version"]
    assert (registry / "mlruns").is_dir()  # the first run was tracked in a local MLflow store
    version_dir = registry / "versions" / versions[0]["version"]
    assert (version_dir / "eval" / "eval.md").is_file() and (version_dir / "lightgbm.txt").is_file()

    listing = runner.invoke(main, ["models", "list", "--registry", str(registry)])
    assert versions[1]["version"] in listing.output
    assert (
        runner.invoke(
            main, ["models", "promote", versions[1]["version"], "--registry", str(registry)]
        ).exit_code
        == 0
    )
    assert Registry(registry).champion() == versions[1]["version"]
    back = runner.invoke(main, ["models", "rollback", "--registry", str(registry)])
    assert back.exit_code == 0 and Registry(registry).champion() == versions[0]["version"]
    with pytest.raises(RegistryError):
        Registry(registry).promote("no-such-version")

    out = tmp_path / "eval"
    result = runner.invoke(
        main,
        [
            "eval",
            str(dataset),
            "--registry",
            str(registry),
            "--challenger",
            str(version_dir),
            "--out",
            str(out),
            "--bootstrap",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "eval.json").read_text())
    champion = report["systems"][0]
    assert set(champion["per_source"]) == {"enron", "usrp_list", "spamassassin", "phishing_pot"}
    assert champion["headline"]["fpr"] is not None and "recall" in report["comparison"]
    assert {"roc_test.png", "pr_test.png"} <= set(report["plots"])
    assert (out / "eval.html").is_file()


def test_cli_refuses_an_empty_dataset_clearly(tmp_path: Path) -> None:
    schema = FeatureSchema.current()
    columns, features = synthetic_rows(5)
    write_parquet(
        tmp_path / "empty.parquet",
        {k: [] for k in columns},
        {k: [] for k in features},
        schema,
        {"feature_schema": schema.to_dict()},
    )
    result = CliRunner().invoke(
        main, ["train", str(tmp_path / "empty.parquet"), "--registry", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "the dataset is empty" in result.output


# --- on the shared corpora (skipped where ../shared/data is absent) ---------------------------


def newest(name: str, root: Path, n: int) -> list[bytes]:
    from mailwarden.corpora import iter_corpus, manifest

    rows = manifest(name, root)
    paths = sorted(rows, key=lambda p: rows[p]["date"])[-n:]
    return [m.raw for m in iter_corpus(name, root, paths)]


def test_default_model_on_the_newest_real_mail() -> None:
    """Smoke test on real mail the packaged model was not trained on (each source's newest
    messages are in the dataset's held-out test split): modern phishing scores high, modern
    list mail low, and the model runs on every message without a defect."""
    from mailwarden.corpora import data_dir

    root = data_dir()
    if root is None or not (root / "corpora" / "usrp_list.csv").is_file():
        pytest.skip("no ../shared/data corpora here")
    engine = Engine(model="default")

    def unwanted(raw: bytes) -> float:
        verdict = engine.scan(raw)
        assert not [d for d in verdict.defects if d.startswith("model-")], verdict.defects
        return float(next(iter(verdict.extra["models"].values()))["unwanted"])

    phish = [unwanted(raw) for raw in newest("phishing_pot", root, 30)]
    ham = [unwanted(raw) for raw in newest("usrp_list", root, 30)]
    threshold = load_model(DEFAULT_MODEL_DIR).thresholds.malicious
    assert np.mean([p >= threshold for p in phish]) >= 0.8
    assert np.mean([h >= threshold for h in ham]) <= 0.1
