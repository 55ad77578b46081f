"""The `mailwarden` command as a user runs it: scan, explain, rules, signals."""

import mailbox
import tarfile
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from mailwarden.cli import EXIT_CLEAN, EXIT_MALICIOUS, EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "samples"

HAM = b"""From: Priya Raman <priya.raman@example.com>
To: Tom Becker <tom.becker@example.com>
Subject: Lunch on Thursday
Date: Tue, 03 Nov 2026 10:00:00 +0000
Message-ID: <lunch-1@example.com>

Are we still on for Thursday? The new place on Main Street opens at noon.
Priya
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def jsonl(output: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_scanning_the_bundled_demo_finds_attacks_and_exits_1() -> None:
    code, output = run("scan", "--jsonl", str(DEMO))
    records = jsonl(output)
    assert code == EXIT_MALICIOUS
    assert len(records) == len(list(DEMO.glob("*.eml")))
    verdicts = {r["verdict"] for r in records}
    assert {"safe", "malicious"} <= verdicts
    assert all(r["schema_version"] == 1 for r in records)


def test_a_clean_message_exits_0_with_a_table(tmp_path: Path) -> None:
    (tmp_path / "ham.eml").write_bytes(HAM)
    code, output = run("scan", str(tmp_path / "ham.eml"))
    assert code == EXIT_CLEAN
    assert "safe" in output
    assert "1 messages: 1 safe" in output


def test_unreadable_inputs_are_reported_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "ham.eml").write_bytes(HAM)
    code, output = run("scan", "--jsonl", str(tmp_path / "ham.eml"), str(tmp_path / "missing.eml"))
    records = jsonl(output)
    assert code == EXIT_CLEAN
    assert len(records) == 2
    error = next(r for r in records if "error" in r)
    assert error["source"].endswith("missing.eml")
    assert "no such file" in str(error["error"])


def test_mbox_maildir_and_tar_archives_are_read(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "inbox.mbox")
    box.add(HAM)
    box.add(HAM.replace(b"lunch-1", b"lunch-2"))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(HAM)
    (tmp_path / "one.eml").write_bytes(HAM)
    with tarfile.open(tmp_path / "export.tar.xz", "w:xz") as archive:
        archive.add(tmp_path / "one.eml", arcname="export/one.eml")
    code, output = run(
        "scan",
        "--jsonl",
        str(tmp_path / "inbox.mbox"),
        str(tmp_path / "Maildir"),
        str(tmp_path / "export.tar.xz"),
    )
    sources = [r["source"] for r in jsonl(output)]
    assert code == EXIT_CLEAN
    assert len(sources) == 4
    assert any(s.endswith("inbox.mbox#1") for s in sources)
    assert any(s.endswith("export.tar.xz:export/one.eml") for s in sources)


def test_bad_tenant_file_is_a_usage_error_naming_file_and_key(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.yml"
    tenant.write_text("id: acme\ndomains: [acme.com]\nthresholds: {suspicious: -1}\n")
    (tmp_path / "ham.eml").write_bytes(HAM)
    code, output = run("scan", "--tenant", str(tenant), str(tmp_path / "ham.eml"))
    assert code == EXIT_USAGE
    assert "tenant.yml" in output and "thresholds" in output


def test_explain_prints_findings_with_evidence_and_shares() -> None:
    attack = next(p for p in sorted(DEMO.glob("*.eml")) if not p.name.startswith("ham"))
    code, output = run("explain", "--json", str(attack))
    assert code == 0
    report = orjson.loads(output)
    assert report["verdict"]["findings"], "an attack sample should have findings"
    first = report["verdict"]["findings"][0]
    assert first["evidence"] and first["contribution"] > 0
    assert report["signals"]


@pytest.mark.parametrize("command", ["lint", "test"])
def test_shipped_rules_pass_lint_and_their_samples(command: str) -> None:
    code, _ = run("rules", command)
    assert code == 0


def test_signals_lists_the_registry() -> None:
    code, output = run("signals")
    assert code == 0
    assert "sender.freemail" in output


def _history_mbox(path: Path) -> Path:
    box = mailbox.mbox(path / "history.mbox")
    for day in range(1, 4):
        box.add(
            (
                f"From: Sam Vendor <sam@acme-supplies.com>\r\nTo: priya.raman@example.com\r\n"
                f"Date: Mon, 0{day} Mar 2026 10:00:00 +0000\r\nMessage-ID: <h{day}@acme>\r\n"
                f"Subject: invoice {day}\r\n\r\nInvoice {day} attached.\r\n"
            ).encode()
        )
    box.flush()
    return path / "history.mbox"


def _sender_messages(store_path: Path, sender: str) -> int:
    from mailwarden.baselines import SQLiteStore, message_keys
    from mailwarden.parse import parse
    from mailwarden.tenant import default_tenant

    raw = f"From: {sender}\r\nTo: priya.raman@example.com\r\n\r\nx\r\n".encode()
    tenant = default_tenant()
    with SQLiteStore(store_path) as store:
        return store.view(tenant.id, message_keys(parse(raw), tenant)).sender.messages


def test_learn_builds_baselines_that_scan_then_uses_and_updates(tmp_path: Path) -> None:
    store = tmp_path / "base.sqlite"
    code, output = run("learn", str(_history_mbox(tmp_path)), "--store", str(store))
    assert code == EXIT_CLEAN, output
    assert "learned 3 messages" in output
    assert _sender_messages(store, "sam@acme-supplies.com") == 3
    # learning the same history again counts nothing twice
    run("learn", str(_history_mbox(tmp_path)), "--store", str(store))
    assert _sender_messages(store, "sam@acme-supplies.com") == 3

    (tmp_path / "ham.eml").write_bytes(HAM)
    code, _ = run("scan", "--store", str(store), "--no-learn", str(tmp_path / "ham.eml"))
    assert code == EXIT_CLEAN
    assert _sender_messages(store, "priya.raman@example.com") == 0
    code, _ = run("scan", "--store", str(store), "--jsonl", str(tmp_path / "ham.eml"))
    assert code == EXIT_CLEAN
    assert _sender_messages(store, "priya.raman@example.com") == 1


def test_learn_with_an_unusable_store_path_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "ham.eml").write_bytes(HAM)
    bad = tmp_path / "no-such-dir" / "base.sqlite"
    code, output = run("learn", str(tmp_path / "ham.eml"), "--store", str(bad))
    assert code == EXIT_USAGE
    assert "cannot open baseline store" in output


def test_learn_replays_history_in_date_order_with_undated_last(tmp_path: Path) -> None:
    from mailwarden.baselines import SQLiteStore, message_keys
    from mailwarden.parse import parse
    from mailwarden.tenant import default_tenant

    box = mailbox.mbox(tmp_path / "shuffled.mbox")
    dates = ["Wed, 04 Mar 2026 10:00:00 +0000", "", "Mon, 02 Mar 2026 10:00:00 +0000"]
    dates.append("Mon, 1 Jan 3610 00:00:00 +0000")  # impossible: undated
    for i, date in enumerate(dates):
        header = f"Date: {date}\r\n" if date else ""
        box.add(
            (
                f"From: Sam Vendor <sam@acme-supplies.com>\r\nTo: priya.raman@example.com\r\n"
                f"{header}Message-ID: <s{i}@acme>\r\nSubject: invoice\r\n\r\nInvoice.\r\n"
            ).encode()
        )
    box.flush()
    store_path = tmp_path / "base.sqlite"
    code, output = run(
        "learn", "--assume-safe", "--no-progress", str(tmp_path / "shuffled.mbox"), "--store",
        str(store_path),
    )  # fmt: skip
    assert code == EXIT_CLEAN, output
    assert "learned 4 messages" in output and "2 without a usable Date" in output
    tenant = default_tenant()
    raw = b"From: sam@acme-supplies.com\r\nTo: priya.raman@example.com\r\n\r\nx\r\n"
    with SQLiteStore(store_path) as store:
        profile = store.view(tenant.id, message_keys(parse(raw), tenant)).sender
    assert profile.messages == 4 and profile.active_days == 2
    assert profile.first_seen is not None and profile.first_seen.day == 2
    assert profile.last_seen is not None and profile.last_seen.day == 4


def test_scan_with_the_packaged_model_adds_its_opinion_to_each_verdict(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    (tmp_path / "lunch.eml").write_bytes(HAM)
    code, output = run("scan", "--jsonl", "--model", "default", str(tmp_path / "lunch.eml"))
    (record,) = jsonl(output)
    assert code == EXIT_CLEAN
    assert record["verdict"] == "safe"
    models = record["extra"]["models"]  # type: ignore[index]
    assert [m["status"] for m in models.values()] == ["ok"]


def test_scan_with_a_missing_model_keeps_scoring_with_rules_and_says_so(tmp_path: Path) -> None:
    code, output = run("scan", "--jsonl", "--model", str(tmp_path / "nope"), str(DEMO))
    records = jsonl(output)
    assert code == EXIT_MALICIOUS  # the rules still decide
    assert all("model-unavailable:nope" in r["defects"] for r in records)  # type: ignore[operator]
