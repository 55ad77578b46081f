"""One message in, one Verdict out: the one place that wires parse, signals, detectors, decision.

The CLI, the service, the milter and Spark all call `Engine.scan`; none of them reimplements a step.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from mailwarden import __version__
from mailwarden.baselines import BaselineStore, MessageKeys, message_keys, observe
from mailwarden.context import Context
from mailwarden.decision import Policy, decide
from mailwarden.detectors import Finding
from mailwarden.detectors.rules import RuleSet
from mailwarden.message import Message
from mailwarden.parse import parse
from mailwarden.signals import SignalValues
from mailwarden.tenant import Tenant, default_tenant
from mailwarden.verdict import Verdict


class Engine:
    """Scores messages for one tenant with one rule set; holds no per-message state.

    With a baseline `store`, each scan fetches the message's `BaselineView` before scoring
    (`Context.baseline`) and, when `learn` is on, learns from the message after scoring (score
    first, then learn; mail judged malicious only feeds the store's seen-but-bad counters).
    A store failure never stops a scan: it is recorded as a ``baseline-error:<Type>`` defect and
    the message is scored without the view.
    """

    def __init__(
        self,
        tenant: Tenant | None = None,
        rules: RuleSet | None = None,
        rule_dirs: Iterable[Path] = (),
        store: BaselineStore | None = None,
        model: Any = None,
    ) -> None:
        """`model`: None (rules only), "default" (the packaged model), a model or registry
        directory, or a detector with `score(values)` (`mailwarden.detectors.model`). It is
        loaded on first use; one that cannot load leaves the rules deciding alone, and every
        verdict says so (a ``model-unavailable:<name>`` defect, ``extra.models``)."""
        self.tenant = tenant or default_tenant()
        self.store = store
        self._model_spec = model
        self._models: list[Any] | None = None
        loaded = rules if rules is not None else RuleSet.load(rule_dirs)
        self.rules = loaded.without(self.tenant.disabled_rules)

    @property
    def rules_version(self) -> str:
        return self.rules.version

    @property
    def models(self) -> list[Any]:
        """The model detectors (loaded on first use; numpy is imported only if one is set)."""
        if self._models is None:
            if self._model_spec is None:
                self._models = []
            else:
                from mailwarden.detectors.model import load_model_detectors

                self._models = load_model_detectors(self._model_spec, self.tenant.thresholds)
        return self._models

    def scan(
        self,
        raw: bytes,
        *,
        source: str = "",
        baseline: Any = None,
        now: datetime | None = None,
        learn: bool = True,
    ) -> Verdict:
        """Score raw RFC 5322 bytes, then learn from them when the engine has a store and
        `learn` is on. Never raises: an engine fault becomes a recorded defect."""
        return self.explain(raw, source=source, baseline=baseline, now=now, learn=learn)[0]

    def explain(
        self,
        raw: bytes,
        *,
        source: str = "",
        baseline: Any = None,
        now: datetime | None = None,
        learn: bool = False,
    ) -> tuple[Verdict, SignalValues | None]:
        """`scan`, also returning the message's lazy signal view (None after an engine fault).

        Reading more signals from the view computes them on demand: `explain` and dataset
        builders use it to see every signal, not only those the rules read. A `baseline` given
        here is used instead of the store's view. Unlike `scan`, it does not learn by default.
        """
        started = time.perf_counter_ns()
        sha256 = hashlib.sha256(raw).hexdigest()
        values: SignalValues | None = None
        try:
            message = parse(raw)
            keys: MessageKeys | None = None
            store_defects: list[str] = []
            if self.store is not None:
                try:
                    keys = message_keys(message, self.tenant, sha256)
                    if baseline is None:
                        baseline = self.store.view(self.tenant.id, keys)
                except Exception as exc:  # noqa: BLE001 - score without the view, say why
                    store_defects.append(f"baseline-error:{type(exc).__name__}")
            values = SignalValues(message, Context(self.tenant, baseline, now))
            verdict = self._score(values, source, sha256)
            if learn and self.store is not None and keys is not None:
                try:
                    self.store.learn(observe(message, self.tenant, verdict.verdict, keys=keys))
                except Exception as exc:  # noqa: BLE001 - the verdict stands; say why
                    store_defects.append(f"baseline-error:{type(exc).__name__}")
            if store_defects:
                object.__setattr__(verdict, "defects", verdict.defects + tuple(store_defects))
        except Exception as exc:  # noqa: BLE001 - the caller gets an answer, never a traceback
            verdict = self._fault(exc, source, sha256)
        elapsed = (time.perf_counter_ns() - started) // 1000
        object.__setattr__(verdict, "elapsed_us", elapsed)
        return verdict, values

    def _score(self, values: SignalValues, source: str, sha256: str) -> Verdict:
        message = values.msg
        findings: list[Finding] = self.rules.detect(values, self.tenant.score_overrides)
        extra: dict[str, Any] = {}
        model_defects: list[str] = []
        for detector in self.models:
            result = detector.score(values)
            findings += result.findings
            model_defects += result.defects
            extra.setdefault("models", {})[detector.name] = result.summary
        policy, entry = self._policy(message)
        decision = decide(findings, self.tenant, policy)
        from_ = message.from_
        return Verdict(
            verdict=decision.verdict,
            category=decision.category,
            action=decision.action,
            score=decision.score,
            scores=decision.scores,
            findings=decision.attributions,
            defects=message.defects + tuple(values.errors) + tuple(model_defects),
            message_id=message.message_id,
            subject=message.subject,
            from_addr=from_.addr if from_ else "",
            tenant=self.tenant.id,
            engine_version=__version__,
            rules_version=self.rules.version,
            sha256=sha256,
            source=source,
            extra={**extra, "policy": {"decision": policy, "entry": entry}} if policy else extra,
        )

    def _policy(self, message: Message) -> tuple[Policy | None, str]:
        """The tenant's block and allow lists for this sender (block wins).

        An allow-list entry is honoured only when the message does not fail authentication:
        a From header is trivial to forge, and an allow list must not become a bypass.
        """
        if message.from_ is None:
            return None, ""
        addr = message.from_.addr
        blocked = self.tenant.sender_listed(addr, self.tenant.block_senders)
        if blocked:
            return "block", blocked
        allowed = self.tenant.sender_listed(addr, self.tenant.allow_senders)
        forged = message.auth_result("dmarc") == "fail" or message.auth_result("spf") == "fail"
        if allowed and not forged:
            return "allow", allowed
        return None, ""

    def _fault(self, exc: Exception, source: str, sha256: str) -> Verdict:
        # Unscorable is not safe: tag it for a person and say why.
        return Verdict(
            verdict="suspicious",
            category="",
            action="tag",
            score=0.0,
            scores={},
            findings=(),
            defects=(f"engine-error:{type(exc).__name__}:{str(exc)[:200]}",),
            message_id="",
            subject="",
            from_addr="",
            tenant=self.tenant.id,
            engine_version=__version__,
            rules_version=self.rules.version,
            sha256=sha256,
            source=source,
        )
