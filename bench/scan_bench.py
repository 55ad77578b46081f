"""End-to-end benchmark: raw bytes -> Verdict, one core, in process, on a mix of the shared corpora.

    .venv/bin/python bench/scan_bench.py            # 500 messages from each corpus (3,000)
    .venv/bin/python bench/scan_bench.py --per-corpus 200 --json out.json

Reports median / p90 / p99 / max microseconds per message and messages per second, overall and
per corpus, plus the parse step alone. Pinned to one CPU; timings are per-message wall time of
`Engine.scan` after a warm-up pass, with the collector's pauses included (they are real).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson
from latency import (  # bench/ is on sys.path when run as a script
    HEADER,
    machine_reference_ms,
    pinned_corpus_mix,
    row,
    summary,
)

from mailwarden.engine import Engine
from mailwarden.parse import parse


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--per-corpus", type=int, default=500)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes; the median pass is kept"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    mix = pinned_corpus_mix(args.per_corpus)
    if mix is None:
        return 0
    engine = Engine()
    for message in mix:  # warm-up: caches, lazy imports, regex compilation
        engine.scan(message.raw)

    passes: list[tuple[list[float], list[float], dict[str, list[float]]]] = []
    for _ in range(args.repeat):
        scan_us: list[float] = []
        parse_us: list[float] = []
        per_corpus: dict[str, list[float]] = {}
        for message in mix:
            start = time.perf_counter_ns()
            engine.scan(message.raw)
            elapsed = (time.perf_counter_ns() - start) / 1000
            scan_us.append(elapsed)
            per_corpus.setdefault(message.corpus, []).append(elapsed)
            start = time.perf_counter_ns()
            parse(message.raw)
            parse_us.append((time.perf_counter_ns() - start) / 1000)
        passes.append((scan_us, parse_us, per_corpus))
    passes.sort(key=lambda p: statistics.median(p[0]))
    scan_us, parse_us, per_corpus = passes[len(passes) // 2]

    reference = machine_reference_ms()
    report = {
        "machine_reference_ms": reference,
        "messages": len(mix),
        "rules": len(engine.rules.rules),
        "end_to_end": summary(scan_us),
        "parse_only": summary(parse_us),
        "per_corpus": {name: summary(values) for name, values in sorted(per_corpus.items())},
    }
    print(
        f"{len(mix)} messages, {len(engine.rules.rules)} rules; machine reference "
        f"(sum(range(100_000))): {reference:.2f} ms"
    )
    print(HEADER)
    print(row("end-to-end", scan_us))
    print(row("parse only", parse_us))
    for name, values in sorted(per_corpus.items()):
        print(row(f"  {name}", values))
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
