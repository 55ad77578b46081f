"""One contract test over everything discovered: every signal and every rule (sklearn's habit).

Adding a signal or a rule file is enough to have it checked here; nothing is listed by hand.
"""

from pathlib import Path

import pytest

from mailwarden.context import Context
from mailwarden.detectors.rules import RuleSet, shipped_rules_dir
from mailwarden.detectors.rules.checks import lint, run_tests
from mailwarden.message import Message
from mailwarden.parse import parse
from mailwarden.signals import LEVELS, SignalSpec, SignalValues, discover
from mailwarden.tenant import default_tenant

SIGNALS = discover()
SAMPLES = sorted((shipped_rules_dir() / "samples").glob("*.eml"))
EDGE_CASES = [
    b"",
    b"\x00\xff garbage \x89PNG",
    b"Subject: only headers\r\n",
    b"From: <>\nTo: undisclosed-recipients:;\nSubject: =?bogus?Q?x?=\n\nbody",
]


@pytest.fixture(scope="module")
def messages() -> list[Message]:
    return [parse(p.read_bytes()) for p in SAMPLES] + [parse(raw) for raw in EDGE_CASES]


def test_there_are_enough_signals_at_every_level() -> None:
    assert len(SIGNALS) >= 40
    for level in LEVELS:
        assert any(spec.level == level for spec in SIGNALS.values()), level


def _conforms(value: object, spec: SignalSpec) -> bool:
    if spec.type is bool:
        return isinstance(value, bool)
    if spec.type is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if spec.type is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if spec.type is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, spec.type)


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_signal_contract(name: str, messages: list[Message]) -> None:
    spec = SIGNALS[name]
    assert name.split(".")[0] == spec.level
    assert spec.doc, f"{name} needs a docstring saying what it measures"
    ctx = Context(default_tenant())
    for message in messages:
        first, second = SignalValues(message, ctx), SignalValues(message, ctx)
        value = first[name]
        assert first.errors == [], f"{name} raised: {first.errors}"
        assert _conforms(value, spec), f"{name} returned {value!r}, declared {spec.type.__name__}"
        assert second[name] == value, f"{name} is not a pure function of the message"


def test_every_rule_loads_lints_clean_and_passes_its_samples() -> None:
    rules_dir = shipped_rules_dir()
    ruleset = RuleSet.load()
    assert len(ruleset.rules) >= 30
    lint_report = lint([rules_dir])
    assert lint_report.problems == []
    test_report = run_tests([rules_dir], default_tenant())
    assert test_report.problems == []


def test_rules_cover_every_category() -> None:
    from mailwarden.detectors import CATEGORIES

    covered = {rule.spec.category for rule in RuleSet.load().rules}
    assert covered == set(CATEGORIES)


def test_rules_read_only_registered_signals() -> None:
    assert RuleSet.load().signals_used() <= set(SIGNALS)


def test_samples_exist(tmp_path: Path) -> None:
    assert len([p for p in SAMPLES if p.name.startswith("ham_")]) >= 10
    assert len([p for p in SAMPLES if not p.name.startswith("ham_")]) >= 30
