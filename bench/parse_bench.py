"""Parser benchmark: raw bytes -> Message, one core, in process, on a mix of the shared corpora.

    .venv/bin/python bench/parse_bench.py                 # 500 messages from each corpus (3,000)
    .venv/bin/python bench/parse_bench.py --per-corpus 200 --profile

Reports median / p90 / p99 / max microseconds per message, overall and per corpus, which parser
produced each Message, the most frequent defects, and any exception (there must be none: `parse`
never raises). Exits 0 without doing anything when ../shared/data/corpora is absent.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import statistics
import time

from latency import HEADER, pinned_corpus_mix, row  # bench/ is on sys.path when run as a script

from mailwarden.corpora import CorpusMessage
from mailwarden.parse import parse


def compare_parsers(mix: list[CorpusMessage]) -> None:
    import email
    from email import policy

    import fast_mail_parser

    def fast(raw: bytes) -> object:
        return fast_mail_parser.parse_email_tree(raw, mode="lazy")

    def stdlib(raw: bytes) -> object:
        return email.message_from_bytes(raw, policy=policy.compat32)

    def stdlib_default(raw: bytes) -> object:
        message = email.message_from_bytes(raw, policy=policy.default)
        return [part.get_content_type() for part in message.walk()]

    print("bare MIME parsers on the same messages (the fast parser's failures are skipped):")
    print(HEADER)
    for label, parse_one in (
        ("fast-mail", fast),
        ("stdlib compat", stdlib),
        ("stdlib default", stdlib_default),
    ):
        times: list[float] = []
        for item in mix:
            started = time.perf_counter_ns()
            try:
                parse_one(item.raw)
            except Exception:  # noqa: BLE001 - the fast parser raises on bad input: not timed
                continue
            times.append((time.perf_counter_ns() - started) / 1000)
        print(row(label, times))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--per-corpus", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest is kept")
    parser.add_argument("--profile", action="store_true", help="cProfile one pass, top 25")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time the bare MIME parsers on the same mix: fast-mail-parser's lazy tree and "
        "the stdlib's compat32 and default policies (the measurement behind the choice)",
    )
    args = parser.parse_args()

    mix = pinned_corpus_mix(args.per_corpus)
    if mix is None:
        return 0
    print(f"{len(mix)} messages, {sum(len(m.raw) for m in mix) / len(mix) / 1024:.1f} KiB mean")

    errors: list[str] = []
    parsers: collections.Counter[str] = collections.Counter()
    defects: collections.Counter[str] = collections.Counter()
    for item in mix:  # warm-up pass, which also checks the never-raises contract
        try:
            message = parse(item.raw)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{item.corpus}/{item.path}: {type(exc).__name__}: {exc}")
            continue
        parsers[message.parser] += 1
        defects.update(message.defects)

    best: list[float] | None = None
    for _ in range(args.repeat):
        times: list[float] = []
        for item in mix:
            started = time.perf_counter_ns()
            parse(item.raw)
            times.append((time.perf_counter_ns() - started) / 1000)
        if best is None or statistics.median(times) < statistics.median(best):
            best = times
    assert best is not None

    print(HEADER)
    print(row("all", best))
    by_corpus: dict[str, list[float]] = collections.defaultdict(list)
    for item, elapsed in zip(mix, best, strict=True):
        by_corpus[item.corpus].append(elapsed)
    for name, samples in by_corpus.items():
        print(row(f"  {name}", samples))
    print("parsers:", dict(parsers))
    print("defects:", dict(defects.most_common(20)))
    print(f"exceptions: {len(errors)}")
    for line in errors[:20]:
        print("  ", line)

    if args.compare:
        compare_parsers(mix)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for item in mix:
            parse(item.raw)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
