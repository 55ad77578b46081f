"""The Verdict: the engine's answer for one message, JSON-serialisable with a versioned schema.

Schema (version 1) is documented in docs/verdict-schema.md; a change that renames or removes a
field bumps SCHEMA_VERSION.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

SCHEMA_VERSION = 1

VerdictLabel = Literal["safe", "spam", "suspicious", "malicious"]
Action = Literal["allow", "tag", "quarantine", "reject"]


@dataclass(frozen=True, slots=True)
class Attribution:
    symbol: str
    category: str
    score: float
    contribution: float  # share of the verdict category's score this finding carried (0..1)
    evidence: str
    detector: str
    rule_id: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictLabel
    category: str  # the deciding category ("" for safe)
    action: Action
    score: float  # the deciding category's summed score
    scores: dict[str, float]  # every category with a non-zero score
    findings: tuple[Attribution, ...]
    defects: tuple[str, ...]  # parse defects and detector errors: what the engine could not read
    message_id: str
    subject: str
    from_addr: str
    tenant: str
    engine_version: str
    rules_version: str
    sha256: str  # of the raw message, so a verdict can be tied to the exact bytes
    elapsed_us: int = 0
    source: str = ""  # where the message came from (file path, mbox#index, request id)
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        return [f.symbol for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())
