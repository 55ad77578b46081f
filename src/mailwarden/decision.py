"""Combine findings into one verdict with attribution.

Scores add up per category (rspamd's habit: symbols with scores, thresholds in config). The attack
category with the highest sum decides; spam is judged only when no attack category reaches
`suspicious`. Each finding's contribution is its share of the deciding category's score, so the
explanation says not only what fired but how much each thing counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mailwarden.detectors import ATTACK_CATEGORIES, Finding
from mailwarden.tenant import Tenant
from mailwarden.verdict import Action, Attribution, VerdictLabel

Policy = Literal["allow", "block"]


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: VerdictLabel
    category: str
    action: Action
    score: float
    scores: dict[str, float]
    attributions: tuple[Attribution, ...]


def decide(findings: Iterable[Finding], tenant: Tenant, policy: Policy | None = None) -> Decision:
    """`policy` is the tenant's allow/block list decision for the sender, applied last."""
    findings = list(findings)
    raw: dict[str, float] = defaultdict(float)
    for finding in findings:
        raw[finding.category] += finding.score
    # A category cannot go below zero: a negative finding offsets evidence, it is not evidence.
    scores = {cat: round(max(0.0, s), 3) for cat, s in raw.items() if s > 0}
    thresholds = tenant.thresholds

    attack = max(ATTACK_CATEGORIES, key=lambda c: scores.get(c, 0.0))
    attack_score = scores.get(attack, 0.0)
    spam_score = scores.get("spam", 0.0)
    verdict: VerdictLabel
    category: str
    if attack_score >= thresholds.malicious:
        verdict, category, score = "malicious", attack, attack_score
    elif attack_score >= thresholds.suspicious:
        verdict, category, score = "suspicious", attack, attack_score
    elif spam_score >= thresholds.spam:
        verdict, category, score = "spam", "spam", spam_score
    else:
        verdict, category, score = "safe", "", max(attack_score, spam_score)

    if policy == "block":
        verdict, category = "malicious", category or "blocklist"
    elif policy == "allow":
        verdict, category = "safe", ""
    action: Action = getattr(tenant.actions, verdict)
    if verdict == "malicious" and score >= thresholds.reject:
        action = "reject"

    denominator = raw.get(category, 0.0)
    attributions = tuple(
        Attribution(
            symbol=f.symbol,
            category=f.category,
            score=f.score,
            contribution=round(f.score / denominator, 3)
            if f.category == category and denominator > 0
            else 0.0,
            evidence=f.evidence,
            detector=f.detector,
            rule_id=f.rule_id,
        )
        for f in sorted(findings, key=lambda f: (f.category != category, -f.score, f.symbol))
    )
    return Decision(verdict, category, action, round(score, 3), scores, attributions)
