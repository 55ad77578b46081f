"""YAML rules: one file per rule, metadata plus a condition over signals, compiled once at load.

Rule files live in `mailwarden/ruleset/` (shipped) and in any directory a user adds, so a team can
keep local rules beside the shipped ones without editing them (rspamd's `local.d`): a local rule
with the same id replaces the shipped one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mailwarden.config import ConfigError, load_yaml_model
from mailwarden.detectors import Category, Finding
from mailwarden.detectors.rules.expr import CompiledExpression, ExpressionError, compile_expression
from mailwarden.signals import SignalValues, discover

ATTACK_TYPES = (
    "Callback Phishing",
    "Credential Phishing",
    "BEC/Fraud",
    "Extortion",
    "Malware/Ransomware",
    "Scam",
    "Spam",
)
DETECTION_METHODS = (
    "Content analysis",
    "Header analysis",
    "Sender analysis",
    "URL analysis",
    "File analysis",
    "HTML analysis",
    "Archive analysis",
    "Behavior analysis",
)
TACTICS = (
    "Impersonation: Brand",
    "Impersonation: VIP",
    "Impersonation: Employee",
    "Impersonation: Vendor",
    "Lookalike domain",
    "Free email provider",
    "Social engineering",
    "Evasion",
    "Spoofing",
    "Punycode",
    "Homoglyph",
    "Encryption",
    "Scripting",
    "Macros",
    "HTML smuggling",
    "Out of band pivot",
    "Free file host",
    "Image as content",
    "Archive",
    "Executable",
    "Urgency",
    "Secrecy",
)
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\}")


class RuleTests(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: tuple[str, ...] = Field(min_length=1)
    no_match: tuple[str, ...] = Field(min_length=1)


class RuleSpec(BaseModel):
    """A rule file as written; `Rule` is the compiled form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_UUID)
    name: str = Field(min_length=3)
    description: str = Field(min_length=10)
    symbol: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    category: Category
    score: float = Field(ge=-20, le=20)
    severity: Literal["informational", "low", "medium", "high", "critical"]
    attack_types: tuple[str, ...] = Field(min_length=1)
    detection_methods: tuple[str, ...] = Field(min_length=1)
    tactics_and_techniques: tuple[str, ...] = ()
    condition: str
    evidence: str = ""
    tests: RuleTests

    @field_validator("attack_types")
    @classmethod
    def _attack_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _in_vocabulary(value, ATTACK_TYPES)

    @field_validator("detection_methods")
    @classmethod
    def _detection_methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _in_vocabulary(value, DETECTION_METHODS)

    @field_validator("tactics_and_techniques")
    @classmethod
    def _tactics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _in_vocabulary(value, TACTICS)


def _in_vocabulary(value: tuple[str, ...], vocabulary: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [v for v in value if v not in vocabulary]
    if unknown:
        raise ValueError(f"{unknown} not in the vocabulary {list(vocabulary)}")
    return value


class RuleError(ConfigError):
    """A rule file that cannot be loaded: names the file and what is wrong."""


@dataclass(frozen=True)
class Rule:
    spec: RuleSpec
    path: Path
    condition: CompiledExpression
    evidence_signals: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    def signals_used(self) -> frozenset[str]:
        return self.condition.signals | frozenset(self.evidence_signals)

    def matches(self, values: Mapping[str, Any]) -> bool:
        return self.condition(values)

    def finding(self, values: Mapping[str, Any], score: float) -> Finding:
        spec = self.spec
        evidence = _PLACEHOLDER.sub(lambda m: _show(values[m.group(1)]), spec.evidence)
        return Finding(
            symbol=spec.symbol,
            category=spec.category,
            score=score,
            evidence=evidence or spec.name,
            detector=f"rule:{self.path.stem}",
            rule_id=spec.id,
        )


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value[:5]) + (" ..." if len(value) > 5 else "")
    return str(value)


def load_rule(path: Path, known_signals: Mapping[str, Any]) -> Rule:
    spec = load_yaml_model(path, RuleSpec, RuleError)
    try:
        condition = compile_expression(spec.condition, known_signals)
    except ExpressionError as exc:
        raise RuleError(f"{path}: condition: {exc}") from exc
    placeholders = tuple(dict.fromkeys(_PLACEHOLDER.findall(spec.evidence)))
    unknown = [p for p in placeholders if p not in known_signals]
    if unknown:
        raise RuleError(f"{path}: evidence: unknown signal(s) {unknown}")
    return Rule(spec, path, condition, placeholders)


def shipped_rules_dir() -> Path:
    return Path(str(resources.files("mailwarden.ruleset")))


def rule_files(directories: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in directories:
        files.extend(sorted(Path(directory).glob("*.yml")))
    return files


class RuleSet:
    """Every loaded rule, as one detector. Later directories override earlier ones by rule id."""

    name = "rules"

    def __init__(self, rules: Iterable[Rule]) -> None:
        by_id: dict[str, Rule] = {}
        for rule in rules:
            by_id[rule.id] = rule
        self.rules: tuple[Rule, ...] = tuple(by_id.values())
        symbols = [r.symbol for r in self.rules]
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        if duplicates:
            raise RuleError(f"symbols used by more than one rule: {duplicates}")
        digest = hashlib.sha256()
        for rule in sorted(self.rules, key=lambda r: r.id):
            digest.update(rule.spec.model_dump_json().encode())
        # Names the exact rule content that produced a verdict, so it can be replayed.
        self.version = digest.hexdigest()[:12]

    @classmethod
    def load(cls, directories: Iterable[Path] | None = None) -> RuleSet:
        """Load the shipped rules, then rules from `directories` (which may override them)."""
        known = discover()
        dirs = [shipped_rules_dir(), *(directories or [])]
        errors: list[str] = []
        rules: list[Rule] = []
        for path in rule_files(dirs):
            try:
                rules.append(load_rule(path, known))
            except RuleError as exc:
                errors.append(str(exc))
        if errors:
            raise RuleError("\n".join(errors))
        return cls(rules)

    def without(self, disabled: Iterable[str]) -> RuleSet:
        off = set(disabled)
        return RuleSet(r for r in self.rules if r.id not in off and r.symbol not in off)

    def signals_used(self) -> frozenset[str]:
        return frozenset().union(*(r.signals_used() for r in self.rules))

    def detect(
        self, values: SignalValues, score_overrides: Mapping[str, float] | None = None
    ) -> list[Finding]:
        overrides = score_overrides or {}
        findings = []
        for rule in self.rules:
            try:
                if not rule.matches(values):
                    continue
                finding = rule.finding(values, overrides.get(rule.symbol, rule.spec.score))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not cost the verdict
                values.errors.append(f"rule-error:{rule.symbol}:{type(exc).__name__}")
                continue
            findings.append(finding)
        return findings
