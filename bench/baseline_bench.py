"""Behavioral baselines: learning all Enron mail, view + learn latency, memory and disk per key.

    .venv/bin/python bench/baseline_bench.py            # the whole Enron corpus
    .venv/bin/python bench/baseline_bench.py -n 5000    # the first 5,000 archive members

Reads ../shared/data/corpora/enron.tar.xz in place (skips cleanly when absent), pinned to one
core. Reported separately:
  parse      MIME parsing (not the baselines' cost)
  observe    `message_keys` + `observe` (address checks, payment-detail fingerprints)
  learn      `learn_many` over the whole history, in Date order, into MemoryStore and SQLiteStore
  online     per message, as `mailwarden scan --store` does: `view` then `learn`, on SQLite
             with one commit per message (durable at once) and one per 32 (sqlite/32), and in
             memory
  memory     MemoryStore: tracemalloc over a separate build, per sender / pair / record kind
  disk       SQLiteStore: file bytes apportioned to record kinds by their key + value bytes
It also checks that the two stores, and message-by-message vs batch learning, end identical.

The whole command, end to end (read the archive, sort by Date, parse, score, learn):
    time .venv/bin/mailwarden learn ../shared/data/corpora/enron.tar.xz \
        --store /tmp/enron.sqlite --tenant bench/tenants/enron.yml [--assume-safe]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from mailwarden.baselines import MemoryStore, Observation, SQLiteStore, message_keys, observe
from mailwarden.corpora import data_dir, iter_corpus
from mailwarden.parse import parse
from mailwarden.tenant import load_tenant

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import HEADER, row

TENANT_FILE = Path(__file__).resolve().parent / "tenants" / "enron.yml"
_LAST = datetime.max.replace(tzinfo=UTC)
KINDS = {
    "a": "address",
    "p": "pair",
    "d": "domain",
    "n": "name",
    "$": "payment",
    "m": "msg-id",
    "s": "thread",
    "c": "corresp",
}
VERDICT = {"ham": "safe", "spam": "spam", "malicious": "malicious"}


def load(limit: int | None) -> tuple[list[Observation], float, float]:
    root = data_dir()
    assert root is not None
    tenant = load_tenant(TENANT_FILE)
    parse_s = observe_s = 0.0
    observations: list[Observation] = []
    for index, item in enumerate(iter_corpus("enron", root)):
        if limit is not None and index >= limit:
            break
        t0 = time.perf_counter()
        message = parse(item.raw)
        t1 = time.perf_counter()
        keys = message_keys(message, tenant)
        observations.append(observe(message, tenant, VERDICT.get(item.label, "safe"), keys=keys))
        t2 = time.perf_counter()
        parse_s += t1 - t0
        observe_s += t2 - t1
    # Time order; undated messages last (as `mailwarden learn` replays them).
    observations.sort(key=lambda o: o.keys.when or _LAST)
    return observations, parse_s, observe_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=None, help="only the first N archive members")
    args = parser.parse_args()
    if data_dir() is None:
        print("no ../shared/data/corpora here: nothing to benchmark", file=sys.stderr)
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    observations, parse_s, observe_s = load(args.n)
    n = len(observations)
    undated = sum(o.keys.when is None for o in observations)
    problems = Counter(p for o in observations for p in o.keys.problems)
    print(f"enron: {n} messages ({undated} undated, learned last); problems: {dict(problems)}")
    print(f"parse    {parse_s:7.1f} s  ({parse_s / n * 1e6:6.0f} us/msg)  not baseline cost")
    print(f"observe  {observe_s:7.1f} s  ({observe_s / n * 1e6:6.0f} us/msg)")

    memory = MemoryStore()
    t0 = time.perf_counter()
    new = memory.learn_many(observations)
    learn_mem = time.perf_counter() - t0
    print(f"learn    {learn_mem:7.1f} s  MemoryStore.learn_many ({new} new, {n - new} repeated)")

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteStore(Path(tmp) / "batch.sqlite")
        t0 = time.perf_counter()
        sqlite.learn_many(observations)
        sqlite.flush()
        learn_sql = time.perf_counter() - t0
        print(f"learn    {learn_sql:7.1f} s  SQLiteStore.learn_many (batch {sqlite.batch})")
        same = sqlite.dump("enron") == memory.dump("enron")
        print(f"identical records, SQLite vs memory: {same}")
        disk(sqlite, Path(tmp) / "batch.sqlite")
        sqlite.close()

        print(f"\nonline, per message (view + learn):\n{HEADER}")
        for label, store in (
            ("sqlite", SQLiteStore(Path(tmp) / "online.sqlite")),
            ("sqlite/32", SQLiteStore(Path(tmp) / "online32.sqlite", commit_every=32)),
            ("memory", MemoryStore()),
        ):
            both: list[float] = []
            views: list[float] = []
            for obs in observations:
                t0 = time.perf_counter_ns()
                store.view("enron", obs.keys)
                t1 = time.perf_counter_ns()
                store.learn(obs)
                t2 = time.perf_counter_ns()
                views.append((t1 - t0) / 1000)
                both.append((t2 - t0) / 1000)
            print(row(f"{label} view", views))
            print(row(f"{label} v+learn", both))
            if label == "sqlite":
                assert isinstance(store, SQLiteStore)
                print(f"  one-by-one == batch: {store.dump('enron') == memory.dump('enron')}")
            store.close()

    del memory
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    memory = MemoryStore()
    memory.learn_many(observations)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    counts = memory.counts("enron")
    per_kind = Counter[str]()
    for key, blob in memory._data["enron"].items():
        # key str + bytes value + a dict slot (hash, key, value pointers at 2/3 load)
        per_kind[key[0]] += sys.getsizeof(key) + sys.getsizeof(blob) + 36
    print(f"\nMemoryStore: {used / 2**20:.1f} MiB traced for {sum(counts.values())} records")
    for kind, label in KINDS.items():
        if counts.get(kind):
            each = per_kind[kind] / counts[kind]
            print(f"  {label:<8} {counts[kind]:>7} records  {each:6.0f} B each")
    senders = sum(1 for k, v in memory.dump("enron").items() if k[0] == "a" and v.get("n"))
    print(
        f"  per learned sender: {used / max(senders, 1):.0f} B of the whole store "
        f"({senders} senders); per pair record: {per_kind['p'] / max(counts.get('p', 1), 1):.0f} B"
    )
    return 0


def disk(store: SQLiteStore, path: Path) -> None:
    store.flush()
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file as it rests, WAL folded in
    size = path.stat().st_size + sum(
        p.stat().st_size for p in path.parent.glob(path.name + "-*") if p.exists()
    )
    rows = store._conn.execute(
        "SELECT substr(k, 1, 1), count(*), sum(length(k) + length(v)) FROM kv GROUP BY 1"
    ).fetchall()
    payload = sum(r[2] for r in rows)
    print(f"SQLite file: {size / 2**20:.1f} MiB ({payload / 2**20:.1f} MiB of keys + values)")
    for kind, count, kind_bytes in rows:
        share = size * kind_bytes / payload
        print(
            f"  {KINDS.get(kind, kind):<8} {count:>7} records  {share / count:6.0f} B each on disk"
        )


if __name__ == "__main__":
    sys.exit(main())
