"""Prometheus metrics of the service and the milter: latency, verdicts, findings, errors
(prometheus-client). `EngineMetrics` is what both count per scanned message; `Metrics` adds the
HTTP service's requests and feedback, `MilterMetrics` the milter's replies to the MTA.

With several worker processes, `mailwarden serve` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
folder before the workers start; every worker then writes its samples there and /metrics, served
by whichever worker takes the scrape, adds them all up (prometheus-client's multiprocess mode:
counters and histograms are summed across workers, including workers that have restarted).
With one worker the samples live in the process and that folder is not used.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from mailwarden.verdict import Verdict

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds: sub-millisecond resolution where scans live, up to the request timeout.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class EngineMetrics:
    """Per-message metrics, whoever scans: verdicts, findings, defects, scan time, errors."""

    ERRORS_HELP = "Errors by kind; engine_fault: a message the engine could not score."

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.scan_seconds = Histogram(
            "mailwarden_scan_duration_seconds",
            "Engine time per message (parse, signals, detectors, decision).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.verdicts = Counter(
            "mailwarden_verdicts",
            "Verdicts by tenant, verdict, category and action.",
            ["tenant", "verdict", "category", "action"],
            registry=r,
        )
        self.findings = Counter(
            "mailwarden_findings",
            "Findings (rule and detector fires) by symbol and detector.",
            ["symbol", "detector"],
            registry=r,
        )
        self.defects = Counter(
            "mailwarden_message_defects",
            "What the engine could not read, by defect kind (text before the first ':').",
            ["defect"],
            registry=r,
        )
        self.errors = Counter("mailwarden_errors", self.ERRORS_HELP, ["kind"], registry=r)

    def count_verdict(self, verdict: Verdict) -> None:
        self.verdicts.labels(
            verdict.tenant, verdict.verdict, verdict.category or "none", verdict.action
        ).inc()
        self.scan_seconds.observe(verdict.elapsed_us / 1e6)
        for finding in verdict.findings:
            self.findings.labels(finding.symbol, finding.detector).inc()
        for defect in verdict.defects:
            kind = defect.partition(":")[0]
            self.defects.labels(kind).inc()
            if kind == "engine-error":
                self.errors.labels("engine_fault").inc()

    def exposition(self) -> bytes:
        """The text exposition format: every worker's samples when running multi-process."""
        folder = os.environ.get(MULTIPROC_ENV)
        if folder:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class Metrics(EngineMetrics):
    """The HTTP service's metrics."""

    ERRORS_HELP = (
        "Requests answered with an error, by the response's error code (unauthorized, "
        "bad_request, empty_body, not_found, too_large, timeout, not_ready, log_locked, "
        "log_disk_full, log_io_error, log_error, log_closed, internal); and engine_fault "
        "for a message the engine could not score (it still gets a verdict)."
    )

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.request_seconds = Histogram(
            "mailwarden_http_request_duration_seconds",
            "HTTP request latency, from routing to response, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.responses = Counter(
            "mailwarden_http_responses",
            "HTTP responses by route and status code.",
            ["route", "status"],
            registry=r,
        )
        self.log_seconds = Histogram(
            "mailwarden_verdict_log_write_duration_seconds",
            "Time from queuing rows to their durable (fsynced) commit.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.feedback = Counter(
            "mailwarden_feedback",
            "Feedback recorded, by tenant and label.",
            ["tenant", "label"],
            registry=r,
        )


class MilterMetrics(EngineMetrics):
    """The milter's metrics: what the MTA was told, and how long the whole answer took."""

    ERRORS_HELP = (
        "Messages the error policy answered, by reason (scan_timeout, log_unavailable, "
        "callback, internal, modify), and engine_fault for a message the engine could not score."
    )

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.replies = Counter(
            "mailwarden_milter_replies",
            "Answers to the MTA at end of message: accept, quarantine, reject, tempfail.",
            ["action"],
            registry=r,
        )
        self.unscored = Counter(
            "mailwarden_milter_unscored",
            "Messages delivered unscored on purpose: no tenant for the recipients, oversize skip.",
            ["reason"],
            registry=r,
        )
        self.decide_seconds = Histogram(
            "mailwarden_milter_decision_duration_seconds",
            "End of message to answer: scan, verdict log commit and policy.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
