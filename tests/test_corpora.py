"""Every message of every shared corpus gets a verdict, and the engine never faults on one.

Skipped cleanly when ../shared/data is absent (a user's fresh clone).
"""

from collections import Counter

import pytest

from mailwarden.corpora import CORPORA, data_dir, iter_corpus
from mailwarden.engine import Engine

ROOT = data_dir()
pytestmark = pytest.mark.skipif(ROOT is None, reason="../shared/data/corpora not present")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.mark.parametrize("corpus", CORPORA)
def test_every_message_in_the_corpus_gets_a_verdict(engine: Engine, corpus: str) -> None:
    assert ROOT is not None
    verdicts: Counter[str] = Counter()
    faults: list[str] = []
    for message in iter_corpus(corpus, ROOT):
        verdict = engine.scan(message.raw, source=message.path)
        verdicts[verdict.verdict] += 1
        if any(
            d.startswith(("engine-error", "signal-error", "rule-error")) for d in verdict.defects
        ):
            faults.append(f"{message.path}: {verdict.defects}")
    assert sum(verdicts.values()) > 0
    assert faults == [], f"{len(faults)} messages faulted, first: {faults[:5]}"
