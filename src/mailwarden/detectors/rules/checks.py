"""`rules lint` and `rules test`: what CI runs over every rule, offline.

Lint checks what the loader cannot: file naming, duplicate ids, a comment saying why each clause
is there, sample files that exist. Test scans each rule's sample messages: every `match` sample
must fire the rule, every `no_match` sample must not, and no rule may fire on any `ham_*.eml`
sample (a shared guard against rules that fire on ordinary mail).

Behavior rules need an organisation's past: a samples directory may hold `history.mbox`, the
sample organisation's earlier mail, learned (in Date order, as safe) into a fresh in-memory
baseline before that directory's samples are scored against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mailwarden.baselines import BaselineStore, MemoryStore, message_keys, replay_order
from mailwarden.baselines.replay import learn_as_safe
from mailwarden.context import Context
from mailwarden.detectors.rules import Rule, RuleError, load_rule, rule_files
from mailwarden.parse import parse
from mailwarden.signals import SignalValues, discover
from mailwarden.tenant import Tenant

SAMPLES_DIR = "samples"
HISTORY = "history.mbox"


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def load_all(directories: Iterable[Path], report: Report) -> list[Rule]:
    known = discover()
    rules = []
    for path in rule_files(directories):
        try:
            rules.append(load_rule(path, known))
        except RuleError as exc:
            report.problems.append(str(exc))
    return rules


def lint(directories: Iterable[Path]) -> Report:
    directories = list(directories)
    report = Report()
    rules = load_all(directories, report)
    report.checked = len(rules)
    seen_ids: dict[str, Path] = {}
    seen_symbols: dict[str, Path] = {}
    for rule in rules:
        spec, path = rule.spec, rule.path
        if not re.fullmatch(rf"{spec.category}_[a-z0-9]+(_[a-z0-9]+)*\.yml", path.name):
            report.problems.append(
                f"{path}: file name must be <category>_<subject>_<qualifier>.yml "
                f"starting with '{spec.category}_'"
            )
        for key, seen, what in ((spec.id, seen_ids, "id"), (spec.symbol, seen_symbols, "symbol")):
            if key in seen:
                report.problems.append(f"{path}: {what} {key} already used by {seen[key]}")
            seen[key] = path
        if "#" not in spec.condition:
            report.problems.append(f"{path}: condition has no '# comment' saying why it is there")
        if not spec.evidence:
            report.problems.append(f"{path}: evidence is empty: say what a person should check")
        for sample in (*spec.tests.match, *spec.tests.no_match):
            if not (path.parent / SAMPLES_DIR / sample).is_file():
                report.problems.append(f"{path}: sample {sample} not found in {SAMPLES_DIR}/")
    return report


def run_tests(directories: Iterable[Path], tenant: Tenant) -> Report:
    """Scan every rule's samples and every ham sample; report each expectation that fails."""
    directories = list(directories)
    report = Report()
    rules = load_all(directories, report)
    cache: dict[Path, SignalValues] = {}
    histories: dict[Path, BaselineStore | None] = {}

    def values_for(sample: Path) -> SignalValues:
        if sample not in cache:
            if sample.parent not in histories:
                histories[sample.parent] = learned_history(sample.parent / HISTORY, tenant)
            store = histories[sample.parent]
            message = parse(sample.read_bytes())
            view = None if store is None else store.view(tenant.id, message_keys(message, tenant))
            cache[sample] = SignalValues(message, Context(tenant, view))
        return cache[sample]

    ham = [s for d in directories for s in sorted((d / SAMPLES_DIR).glob("ham_*.eml"))]
    for rule in rules:
        samples_dir = rule.path.parent / SAMPLES_DIR
        expectations = [(name, True) for name in rule.spec.tests.match]
        expectations += [(name, False) for name in rule.spec.tests.no_match]
        expectations += [(h.name, False) for h in ham if h.name not in rule.spec.tests.match]
        for name, should_fire in dict(expectations).items():
            sample = samples_dir / name
            if not sample.is_file():
                report.problems.append(f"{rule.path.name}: sample {name} not found")
                continue
            report.checked += 1
            fired = rule.matches(values_for(sample))
            if fired != should_fire:
                expected = "fire" if should_fire else "not fire"
                report.problems.append(
                    f"{rule.path.name} ({rule.symbol}): expected to {expected} on {name}"
                )
    return report


def learned_history(mbox: Path, tenant: Tenant) -> BaselineStore | None:
    """A memory store that has learned `mbox` (Date order, every message as safe); None when
    there is no such file."""
    if not mbox.is_file():
        return None
    from mailwarden.sources import iter_messages

    raws = [item.raw for item in iter_messages([mbox]) if not item.error]
    ordered, _ = replay_order((raw, raw) for raw in raws)
    store = MemoryStore()
    for raw in ordered:
        learn_as_safe(store, raw, tenant)
    return store
