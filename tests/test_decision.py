"""How findings become a verdict, an action and an attribution."""

from mailwarden.decision import decide
from mailwarden.detectors import Finding
from mailwarden.tenant import Tenant


def finding(symbol: str, category: str, score: float) -> Finding:
    return Finding(symbol, category, score, f"evidence for {symbol}", "rule:test")  # type: ignore[arg-type]


TENANT = Tenant(id="t", domains=("example.com",))


def test_no_findings_is_safe_and_allowed() -> None:
    decision = decide([], TENANT)
    assert (decision.verdict, decision.action, decision.category) == ("safe", "allow", "")


def test_scores_add_up_per_category_and_the_top_attack_category_decides() -> None:
    decision = decide(
        [finding("A", "bec", 5), finding("B", "bec", 4), finding("C", "malware", 6)], TENANT
    )
    assert decision.verdict == "malicious"
    assert decision.category == "bec"
    assert decision.score == 9
    assert decision.action == "quarantine"
    shares = {a.symbol: a.contribution for a in decision.attributions}
    assert shares == {"A": round(5 / 9, 3), "B": round(4 / 9, 3), "C": 0.0}
    assert [a.symbol for a in decision.attributions][:2] == ["A", "B"]


def test_between_thresholds_is_suspicious_and_tagged() -> None:
    decision = decide([finding("A", "credential_phishing", 5)], TENANT)
    assert (decision.verdict, decision.action) == ("suspicious", "tag")


def test_spam_only_when_no_attack_reaches_suspicious() -> None:
    assert decide([finding("S", "spam", 6)], TENANT).verdict == "spam"
    mixed = decide([finding("S", "spam", 9), finding("P", "scam", 4.5)], TENANT)
    assert (mixed.verdict, mixed.category) == ("suspicious", "scam")


def test_very_high_scores_are_rejected() -> None:
    decision = decide([finding("A", "malware", 9), finding("B", "malware", 7)], TENANT)
    assert decision.action == "reject"


def test_negative_findings_offset_but_never_go_below_zero() -> None:
    decision = decide([finding("A", "bec", 5), finding("OK", "bec", -8)], TENANT)
    assert decision.verdict == "safe"
    assert decision.scores == {}


def test_block_and_allow_policies_override() -> None:
    assert decide([], TENANT, "block").verdict == "malicious"
    allowed = decide([finding("A", "bec", 9)], TENANT, "allow")
    assert (allowed.verdict, allowed.action) == ("safe", "allow")
    assert [a.symbol for a in allowed.attributions] == ["A"]  # still shown to the analyst
