"""Latency summaries shared by the benchmarks: median and tail percentiles in microseconds."""

from __future__ import annotations

import os
import statistics
import sys

from mailwarden.corpora import CorpusMessage, data_dir, sample_mix


def pinned_corpus_mix(per_corpus: int) -> list[CorpusMessage] | None:
    """The benchmark mix of the shared corpora, with this process pinned to one CPU.

    None (after saying so) when ../shared/data is absent: the benchmarks then do nothing.
    """
    root = data_dir()
    if root is None:
        print("no ../shared/data/corpora here: nothing to benchmark", file=sys.stderr)
        return None
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    return sample_mix(root, per_corpus)


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def summary(samples_us: list[float]) -> dict[str, float]:
    ordered = sorted(samples_us)
    return {
        "n": len(ordered),
        "median_us": round(statistics.median(ordered), 1),
        "p90_us": round(percentile(ordered, 0.90), 1),
        "p99_us": round(percentile(ordered, 0.99), 1),
        "max_us": round(ordered[-1], 1),
        "msgs_per_s": round(len(ordered) / (sum(ordered) / 1e6), 1),
    }


def row(label: str, samples_us: list[float]) -> str:
    s = summary(samples_us)
    return (
        f"{label:<14} {s['n']:>6} {s['median_us']:>10} {s['p90_us']:>9} {s['p99_us']:>9} "
        f"{s['max_us']:>10} {s['msgs_per_s']:>10}"
    )


HEADER = (
    f"{'':<14} {'n':>6} {'median us':>10} {'p90 us':>9} {'p99 us':>9} {'max us':>10} {'msgs/s':>10}"
)


def machine_reference_ms() -> float:
    """Best of five timings of a fixed pure-Python loop (``sum(range(100_000))``), in ms: the
    machine's speed at the moment, printed beside every latency so runs on a throttled or busy
    host can be told apart from slower code (about 0.6-0.8 ms on an unloaded modern core)."""
    import timeit

    return min(timeit.repeat("sum(range(100_000))", number=50, repeat=5)) / 50 * 1000
