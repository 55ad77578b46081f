"""Detectors turn signals into findings: YAML rules, heuristics and (later) trained models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from mailwarden.signals import SignalValues

Category = Literal[
    "credential_phishing",
    "bec",  # VIP / CEO impersonation and other business email compromise
    "invoice_fraud",  # vendor and invoice fraud, bank-detail changes
    "payroll_diversion",
    "gift_card",
    "malware",
    "extortion",
    "callback_scam",
    "scam",  # advance fee, lottery, crypto and other fraud
    "spam",
]
CATEGORIES: tuple[Category, ...] = Category.__args__  # type: ignore[attr-defined]
ATTACK_CATEGORIES: tuple[Category, ...] = tuple(c for c in CATEGORIES if c != "spam")


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector's claim about a message, with the evidence a person can check."""

    symbol: str  # UPPER_SNAKE, stable: "VIP_NAME_FREEMAIL"
    category: Category
    score: float
    evidence: str  # "display name 'Dana Whitfield' is a VIP; address is gmail.com"
    detector: str  # "rule:<id>", "heuristic:<name>", "model:<name>"
    rule_id: str = ""


class Detector(Protocol):
    """Anything that reads signals and reports findings."""

    name: str

    def signals_used(self) -> frozenset[str]:
        """Every signal this detector may read (for the contract test and dependency checks)."""
        ...

    def detect(self, values: SignalValues) -> list[Finding]: ...
