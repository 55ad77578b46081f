"""Hostile input through the whole engine: a verdict that records the defects, in time, always."""

import base64
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from mailwarden.cli import main
from mailwarden.engine import Engine

HEAD = b"From: a@example.net\nTo: priya.raman@example.com\nSubject: x\n"
BUDGET_S = 3.0

DEEP = HEAD + b"Content-Type: multipart/mixed; boundary=b0\n\n"
DEEP += b"".join(
    b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(1000)
)
LINE = base64.b64encode(b"\x00" * 57) + b"\n"
HUGE = HEAD + (
    b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nhello\n"
    b"--zz\nContent-Type: application/octet-stream; name=big.bin\n"
    b"Content-Transfer-Encoding: base64\n\n" + LINE * (50 * 1024 * 1024 // len(LINE)) + b"--zz--\n"
)

CASES = {
    "empty": (b"", "empty-message"),
    "garbage": (bytes(range(256)) * 40, "not-mime"),
    "truncated": (HEAD + b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Ty", None),
    "bad-base64": (
        HEAD + b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n@@@not*base64!!\n",
        "bad-base64",
    ),
    "unknown-charset": (
        HEAD + b"Content-Type: text/plain; charset=x-unknown-666\n\nhello \xff\xfe\n",
        "unknown-charset",
    ),
    "8bit-header": (b"From: J\xf6rg <j@example.net>\nSubject: caf\xe9\n\nbody\n", "8bit-header"),
    "nesting-1000": (DEEP, "nesting-too-deep"),
    "50-mb": (HUGE, "message-too-large"),
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_message_gets_a_verdict_recording_the_defect(engine: Engine, name: str) -> None:
    raw, defect = CASES[name]
    started = time.perf_counter()
    verdict = engine.scan(raw, source=name)
    assert time.perf_counter() - started < BUDGET_S
    assert verdict.verdict in {"safe", "spam", "suspicious", "malicious"}
    assert not [d for d in verdict.defects if d.startswith(("engine-error", "signal-error"))]
    if defect:
        assert defect in verdict.defects
    orjson.loads(verdict.to_json())  # always serialisable


def test_a_batch_never_stops_on_bad_files(tmp_path: Path) -> None:
    for name, (raw, _) in CASES.items():
        if name != "50-mb":
            (tmp_path / f"{name}.eml").write_bytes(raw)
    (tmp_path / "good.eml").write_bytes(HEAD + b"\nhello\n")
    (tmp_path / "dangling.eml").symlink_to(tmp_path / "gone.eml")
    result = CliRunner().invoke(main, ["scan", "--jsonl", str(tmp_path)])
    records = [orjson.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    # every hostile file but the 50 MB one, the good one, and the dangling link
    assert len(records) == (len(CASES) - 1) + 2
    scanned = {Path(r["source"]).name for r in records if "verdict" in r}
    assert {"good.eml", "garbage.eml", "nesting-1000.eml"} <= scanned
    dangling = next(r for r in records if Path(r["source"]).name == "dangling.eml")
    assert dangling["error"] == "no such file or directory"
