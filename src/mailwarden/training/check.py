"""Prove the neutralisation: can a classifier still tell a message's corpus from its headers?

`fingerprint_check` trains a LightGBM classifier on header-fingerprint tokens alone (header
names present, line-ending style, recipient domains, mailer family, hop and field counts,
Message-ID domain and shape, Date format, subject tag: `fingerprints.fingerprint_tokens`) to
predict the source corpus, on a sample with the same number of messages per corpus, and reports
its held-out accuracy on the raw messages and on the neutralised ones. Before, it is near 100%;
after, it should fall towards chance (1 / number of corpora). What it still finds is listed by
importance: structure that is real (replies, list mail, authentication results present) rather
than a collector's mark, or a mark still to remove.

The split is by content hash (copies on one side) and everything is seeded: reruns agree.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mailwarden.baselines import header_date
from mailwarden.corpora import CORPORA, CorpusMessage, iter_corpus, manifest
from mailwarden.tenant import Tenant
from mailwarden.training.fingerprints import KEEP, Neutralizer, fingerprint_tokens

MIN_TOKEN_COUNT = 5  # tokens seen in fewer training messages are not features
TEST_SHARE = 0.3


def require_lightgbm() -> None:
    from mailwarden.training.dataset import MissingDependency

    try:
        import lightgbm  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            "the fingerprint check needs lightgbm: pip install 'mailwarden[train]'"
        ) from exc


@dataclass(frozen=True, slots=True)
class Accuracy:
    accuracy: float
    per_source: dict[str, float]  # recall per source
    top_tokens: tuple[tuple[str, float], ...]  # most important tokens, share of total gain


@dataclass(frozen=True, slots=True)
class FingerprintReport:
    sources: tuple[str, ...]
    n_train: int
    n_test: int
    chance: float  # 1 / number of sources (the sample is balanced)
    majority: float  # share of the largest source in the test set
    before: Accuracy
    after: Accuracy
    # The same, without the names of the headers a gateway legitimately reads (`KEEP`): what
    # is left are the collectors' traces alone.
    traces_before: Accuracy
    traces_after: Accuracy

    def lines(self) -> list[str]:
        out = [
            f"source classifier on header fingerprints: {len(self.sources)} sources, "
            f"{self.n_train} train / {self.n_test} test messages",
            f"  chance {self.chance:.1%}, majority {self.majority:.1%}",
            f"  before neutralisation: accuracy {self.before.accuracy:.1%}",
            f"  after neutralisation:  accuracy {self.after.accuracy:.1%}",
            f"  collector traces only (no kept header names): {self.traces_before.accuracy:.1%}"
            f" -> {self.traces_after.accuracy:.1%}",
            "  recall per source (before -> after): "
            + ", ".join(
                f"{s} {self.before.per_source.get(s, 0):.0%}"
                f" -> {self.after.per_source.get(s, 0):.0%}"
                for s in self.sources
            ),
            "  strongest tokens before: "
            + ", ".join(f"{t} {g:.0%}" for t, g in self.before.top_tokens[:8]),
            "  strongest tokens after:  "
            + ", ".join(f"{t} {g:.0%}" for t, g in self.after.top_tokens[:8]),
        ]
        return out


def classify_sources(
    train: Sequence[tuple[str, set[str]]], test: Sequence[tuple[str, set[str]]], seed: int = 7
) -> Accuracy:
    """Train on (source, tokens) pairs, return held-out accuracy on `test`."""
    require_lightgbm()
    import lightgbm as lgb
    import numpy as np

    counts: Counter[str] = Counter(t for _, tokens in train for t in tokens)
    vocab = sorted(t for t, c in counts.items() if c >= MIN_TOKEN_COUNT)
    index = {t: i for i, t in enumerate(vocab)}
    sources = sorted({s for s, _ in train})
    if len(sources) < 2:
        raise ValueError("the fingerprint check needs messages of at least two sources")
    label = {s: i for i, s in enumerate(sources)}

    def matrix(rows: Sequence[tuple[str, set[str]]]) -> tuple[Any, Any]:
        x = np.zeros((len(rows), max(len(vocab), 1)), dtype=np.float32)
        y = np.array([label.get(s, -1) for s, _ in rows], dtype=np.int32)
        for r, (_, tokens) in enumerate(rows):
            for t in tokens:
                if t in index:
                    x[r, index[t]] = 1.0
        return x, y

    x_train, y_train = matrix(train)
    x_test, y_test = matrix(test)
    params = {
        "objective": "multiclass",
        "num_class": len(sources),
        "num_leaves": 15,
        "learning_rate": 0.1,
        "min_data_in_leaf": 5,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": seed,
        "verbose": -1,
    }
    booster = lgb.train(params, lgb.Dataset(x_train, y_train), num_boost_round=80)
    predicted = np.asarray(booster.predict(x_test)).argmax(axis=1)
    hits = predicted == y_test
    per_source = {
        s: float(hits[y_test == label[s]].mean()) if (y_test == label[s]).any() else 0.0
        for s in sources
    }
    gain = booster.feature_importance(importance_type="gain")
    total = float(gain.sum()) or 1.0
    top = sorted(
        ((vocab[i], float(g) / total) for i, g in enumerate(gain) if g > 0), key=lambda x: -x[1]
    )
    return Accuracy(float(hits.mean()), per_source, tuple(top[:15]))


def fingerprint_check(
    samples: Sequence[tuple[str, bytes]],
    neutralize: Callable[[bytes], bytes],
    seed: int = 7,
    tenant_domains: Sequence[str] = (),
) -> FingerprintReport:
    """Source-classifier accuracy on `samples` ((source, raw) pairs) before and after
    `neutralize`. Give the same number of messages per source: chance is then 1 / sources."""
    train_raw: list[tuple[str, bytes]] = []
    test_raw: list[tuple[str, bytes]] = []
    for source, raw in samples:
        bucket = zlib.crc32(raw, seed) % 1000
        (test_raw if bucket < TEST_SHARE * 1000 else train_raw).append((source, raw))

    def tokens(rows: list[tuple[str, bytes]], clean: bool) -> list[tuple[str, set[str]]]:
        return [
            (s, fingerprint_tokens(neutralize(r) if clean else r, tenant_domains)) for s, r in rows
        ]

    rows = {clean: (tokens(train_raw, clean), tokens(test_raw, clean)) for clean in (False, True)}
    kept = {f"hdr={name}" for name in KEEP}

    def traces(data: list[tuple[str, set[str]]]) -> list[tuple[str, set[str]]]:
        return [(s, t - kept) for s, t in data]

    before = classify_sources(*rows[False], seed)
    after = classify_sources(*rows[True], seed)
    traces_before = classify_sources(traces(rows[False][0]), traces(rows[False][1]), seed)
    traces_after = classify_sources(traces(rows[True][0]), traces(rows[True][1]), seed)
    sources = tuple(sorted({s for s, _ in samples}))
    test_counts = Counter(s for s, _ in test_raw)
    return FingerprintReport(
        sources=sources,
        n_train=len(train_raw),
        n_test=len(test_raw),
        chance=1 / max(len(sources), 1),
        majority=max(test_counts.values()) / max(len(test_raw), 1),
        before=before,
        after=after,
        traces_before=traces_before,
        traces_after=traces_after,
    )


def corpus_fingerprint_check(
    root: Path,
    per_corpus: int = 400,
    tenant: Tenant | None = None,
    keep_auth: bool = True,
    corpora: Sequence[str] = CORPORA,
    seed: int = 7,
) -> FingerprintReport:
    """`fingerprint_check` on `per_corpus` messages of each shared corpus, neutralised as
    `build_dataset` does (the same tenant mailboxes; dates kept, only their format changes)."""
    from mailwarden.training.dataset import (
        TENANT_CORPUS,
        Record,
        enron_tenant,
        tenant_history,
    )

    tenant = tenant or enron_tenant()
    rng = random.Random(seed)
    mix: list[CorpusMessage] = []
    for name in corpora:  # as `corpora.sample_mix`, for the chosen corpora only
        paths = sorted(manifest(name, root))
        mix.extend(iter_corpus(name, root, rng.sample(paths, min(per_corpus, len(paths)))))
    history = tenant_history(
        (
            Record(m.corpus, m.path, m.label, None, m.path, "", m.raw)
            for m in mix
            if m.corpus == TENANT_CORPUS
        ),
        tenant,
    )
    neutralizer = Neutralizer(tenant.domains[0], history.mailboxes, keep_auth=keep_auth)

    def neutralize(raw: bytes) -> bytes:
        date: datetime | None = header_date(raw)
        return neutralizer(raw, date=date, key=str(zlib.crc32(raw)))

    samples = [(m.corpus, m.raw) for m in mix]
    return fingerprint_check(samples, neutralize, seed, tenant.domains)
