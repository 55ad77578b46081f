"""The verdict JSON keeps the documented schema: a field added or dropped must update the docs."""

import re
from pathlib import Path

import orjson

from mailwarden.engine import Engine

DOC = Path(__file__).resolve().parents[1] / "docs" / "verdict-schema.md"
MESSAGE = b"""From: "Dana Whitfield" <dana.whitfield.ceo@gmail.com>
To: priya.raman@example.com
Subject: Urgent wire
Date: Tue, 03 Nov 2026 10:00:00 +0000
Message-ID: <w1@gmail.com>

Are you at your desk? I need you to process a wire transfer today. Keep this confidential.
"""


def documented_fields(table_heading: str) -> set[str]:
    """The field names in the first table after `table_heading`."""
    lines = DOC.read_text().split(table_heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", "\n".join(table), flags=re.M))


def test_verdict_json_has_exactly_the_documented_fields() -> None:
    verdict = orjson.loads(Engine().scan(MESSAGE).to_json())
    assert set(verdict) == documented_fields("# Verdict JSON")
    assert verdict["findings"], "this message should produce findings"
    assert set(verdict["findings"][0]) == documented_fields("A finding:")
