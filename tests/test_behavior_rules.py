"""Behavior catches what content cannot: learn an organisation's mail, then scan against it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mailwarden.cli import main
from mailwarden.detectors.rules import shipped_rules_dir
from mailwarden.detectors.rules.checks import HISTORY

DATA = Path(__file__).parent / "data"
HISTORY_MBOX = shipped_rules_dir() / "samples" / HISTORY
TENANT = DATA / "tenant_example_domains_only.yml"
CEO_IMPERSONATION = DATA / "bec_ceo_personal_gmail_wire.eml"


def scan_jsonl(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["scan", "--jsonl", "--tenant", str(TENANT), *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout.splitlines()[0])


def test_learned_history_catches_a_ceo_impersonation_that_content_rules_let_through(
    tmp_path: Path,
) -> None:
    # The tenant lists no people: content rules cannot know who the CEO is.
    content_only = scan_jsonl(str(CEO_IMPERSONATION))
    assert content_only["verdict"] in ("safe", "spam")

    store = tmp_path / "baselines.sqlite"
    learned = CliRunner().invoke(
        main, ["learn", str(HISTORY_MBOX), "--store", str(store), "--tenant", str(TENANT)]
    )
    assert learned.exit_code == 0, learned.output

    with_history = scan_jsonl("--store", str(store), "--no-learn", str(CEO_IMPERSONATION))
    assert with_history["verdict"] in ("suspicious", "malicious")
    assert with_history["category"] == "bec"
    symbols = {f["symbol"] for f in with_history["findings"]}  # type: ignore[union-attr]
    assert "BEC_COLLEAGUE_NAME_EXTERNAL_REQUEST" in symbols
