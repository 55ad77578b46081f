"""Cost of computing every registered signal, per message, and how often each one fires.

    .venv/bin/python bench/signals_bench.py                      # corpora if present, else samples
    .venv/bin/python bench/signals_bench.py --corpus enron -n 2000 --fire-rates
    .venv/bin/python bench/signals_bench.py --check-anchors      # phrase anchors vs full regex

Messages come from the shared corpora (``../shared/data/corpora/*.tar.xz``, read in place, never
copied) when they exist, otherwise from the rule samples and a few factory messages. Parsing is
done before timing: the figure is the signals' cost alone, with the per-domain caches warm from a
first pass (``cold`` is that first pass).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from mailwarden.context import Context
from mailwarden.corpora import data_dir, iter_corpus
from mailwarden.message import Message
from mailwarden.signals import REGISTRY, SignalValues, discover
from mailwarden.tenant import default_tenant

ROOT = Path(__file__).resolve().parents[1]


def sample_messages() -> list[Message]:
    from mailwarden.parse import parse

    msgs = [parse(p.read_bytes()) for p in (ROOT / "src/mailwarden/ruleset/samples").glob("*.eml")]
    sys.path.insert(0, str(ROOT / "tests"))
    from factories import make_message

    msgs.append(make_message())
    return msgs


def load(corpus: str, limit: int) -> list[Message]:
    from mailwarden.parse import parse

    root = data_dir()
    if root is None:
        return []
    return [parse(m.raw) for m, _ in zip(iter_corpus(corpus, root), range(limit), strict=False)]


def time_signals(msgs: list[Message], ctx: Context) -> list[float]:
    names = sorted(REGISTRY)
    out = []
    for m in msgs:
        t0 = time.perf_counter()
        values = SignalValues(m, ctx)
        for name in names:
            values[name]
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def per_signal_cost(msgs: list[Message], ctx: Context) -> list[tuple[float, str]]:
    """Mean µs per signal, each computed alone on fresh SignalValues (shared memos included)."""
    costs = []
    for name, spec in sorted(REGISTRY.items()):
        t0 = time.perf_counter()
        for m in msgs:
            spec.fn(m, ctx)
        costs.append(((time.perf_counter() - t0) * 1e6 / len(msgs), name))
    return sorted(costs, reverse=True)


def fire_rates(msgs: list[Message], ctx: Context) -> Counter[str]:
    fired: Counter[str] = Counter()
    for m in msgs:
        values = SignalValues(m, ctx)
        for name in REGISTRY:
            if values[name]:
                fired[name] += 1
    return fired


def check_anchors(msgs: list[Message]) -> int:
    """Every phrase found by a full-text search must also be found through its anchors."""
    from mailwarden.signals._text import Phrases, scan

    families: dict[str, Phrases] = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("mailwarden.signals."):
            for attr, value in vars(module).items():
                if isinstance(value, Phrases):
                    families[f"{name.rsplit('.', 1)[1]}.{attr}"] = value
    misses = 0
    for m in msgs:
        text, words = scan(m)
        for fname, fam in families.items():
            full = fam.rx.search(text)
            if full and not fam.search_text(text, words):
                misses += 1
                print(f"anchor miss: {fname}: {full.group(0)!r}")
    print(f"{len(families)} families, {len(msgs)} messages, {misses} anchor misses")
    return misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", action="append", help="enron, phishing_pot, nazario, ...")
    ap.add_argument("-n", type=int, default=500, help="messages per corpus")
    ap.add_argument("--fire-rates", action="store_true")
    ap.add_argument("--per-signal", action="store_true")
    ap.add_argument("--check-anchors", action="store_true")
    args = ap.parse_args()
    discover()
    ctx = Context(default_tenant())
    corpora = args.corpus or ["enron", "phishing_pot"]
    sets: dict[str, list[Message]] = {}
    for name in corpora:
        msgs = load(name, args.n)
        if msgs:
            sets[name] = msgs
    if not sets:
        print("no corpora found; using rule samples and factory messages")
        sets["samples"] = sample_messages()
    status = 0
    for name, msgs in sets.items():
        if args.check_anchors:
            status |= check_anchors(msgs) > 0
            continue
        cold = time_signals(msgs, ctx)
        warm = time_signals(msgs, ctx)
        warm.sort()
        p99 = warm[min(len(warm) - 1, int(len(warm) * 0.99))]
        print(
            f"{name}: {len(msgs)} messages, {len(REGISTRY)} signals: median "
            f"{statistics.median(warm):.0f} µs (p99 {p99:.0f} µs) per message; "
            f"cold first pass median {statistics.median(cold):.0f} µs"
        )
        if args.per_signal:
            for cost, sig in per_signal_cost(msgs, ctx)[:15]:
                print(f"  {cost:8.1f} µs  {sig}")
        if args.fire_rates:
            fired = fire_rates(msgs, ctx)
            for sig in sorted(REGISTRY):
                if fired[sig]:
                    print(f"  {100 * fired[sig] / len(msgs):5.1f}%  {sig}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
