"""BEC benchmark: replay Enron in time order as one tenant, inject generated attacks, measure.

    .venv/bin/python bench/bec_bench.py                  # 360 attacks, behavior on
    .venv/bin/python bench/bec_bench.py --no-baseline    # content rules alone, for comparison
    .venv/bin/python bench/bec_bench.py --phrasebook holdout  # wording the rules never saw
    .venv/bin/python bench/bec_bench.py --phrasebook fresh    # wording never tuned on, at all

The real Enron mail (../shared/data/corpora/enron.tar.xz) is replayed in Date order through one
`Engine` with a baseline store, scoring each message and then learning from it, so no message
sees the future. The first `--warmup` share of the timeline only builds history; attacks written
by `mailwarden.synth.bec` (every subtype, from free-mail, lookalike, compromised and spoofed
senders, with and without links) are injected at random times in the rest; `--phrasebook`
picks their wording: ``dev`` (what the rules were written against), ``holdout``
(`mailwarden.synth.bec_holdout`, written apart from the rules, for an honest recall) or ``fresh``
(`mailwarden.synth.bec_fresh`, a third wording written apart from the rules and never tuned on:
run it rarely, so that it stays honest). Reported:
recall per subtype and per sender kind (an attack counts as caught when its verdict is
suspicious or malicious: tagged or quarantined), and the false-positive rate on the real Enron
messages scored in the same period. Messages whose Date is missing or impossible cannot be
placed in time and are left out (counted).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mailwarden.corpora import data_dir, iter_corpus
from mailwarden.engine import Engine
from mailwarden.parse import parse
from mailwarden.synth.bec import DEV, FREEMAIL, Generator, Org, Person, Phrasebook
from mailwarden.synth.bec_fresh import FRESH
from mailwarden.synth.bec_holdout import HOLDOUT
from mailwarden.tenant import Tenant, load_tenant

TENANT_FILE = Path(__file__).resolve().parent / "tenants" / "enron.yml"
FLAGGED = {"suspicious", "malicious"}
PHRASEBOOKS: dict[str, Phrasebook] = {"dev": DEV, "holdout": HOLDOUT, "fresh": FRESH}


@dataclass(frozen=True, slots=True)
class Event:
    when: datetime
    raw: bytes
    attack: Any = None  # a synth.bec.Attack, or None for real mail


def load_enron(root: Path) -> tuple[list[Event], int]:
    events, undated = [], 0
    for item in iter_corpus("enron", root):
        date = parse(item.raw).date
        if date is None:
            undated += 1
            continue
        events.append(Event(date, item.raw))
    events.sort(key=lambda e: e.when)
    # A few Dates parse but are far off (2044): the corpus ends in 2002. Dates past the 99.9th
    # percentile cannot be placed in the timeline any better than missing ones.
    cutoff = events[int(len(events) * 0.999)].when
    kept = [e for e in events if e.when <= cutoff]
    return kept, undated + len(events) - len(kept)


def org_from_history(history: list[Event], tenant: Tenant) -> Org:
    """The organisation as an attacker could know it: people and vendors seen in the history."""
    internal: Counter[str] = Counter()
    names: dict[str, str] = {}
    vendors: Counter[str] = Counter()
    for event in history:
        message = parse(event.raw)
        if message.from_:
            # Enron's export keeps people's names in X-From, not in From: what an attacker
            # reading the mail would learn too. Only used to write the attacks.
            name = message.from_.name or message.header("X-From").partition("<")[0].strip(' "')
            if name and "@" not in name:
                names.setdefault(message.from_.addr, name)
        for rcpt in message.recipients:
            if tenant.is_internal_domain(rcpt.domain):
                internal[rcpt.addr] += 1
        sender = message.from_
        if (
            sender
            and not tenant.is_internal_domain(sender.domain)
            and sender.registrable not in FREEMAIL
        ):
            vendors[sender.addr] += 1

    def person(addr: str) -> Person:
        name = names.get(addr) or addr.partition("@")[0].replace(".", " ")
        if "," in name:  # "Ermis, Frank" -> "Frank Ermis"
            last, _, first = name.partition(",")
            name = f"{first.strip()} {last.strip()}"
        return Person(name.title(), addr)

    def role(r: str) -> tuple[Person, ...]:
        return tuple(
            Person(p.name, p.addresses[0]) for p in tenant.people if r in p.roles and p.addresses
        )

    staff = [a for a, _ in internal.most_common(400) if "." in a.partition("@")[0]]
    vendor_addrs = [a for a, n in vendors.most_common(80) if n >= 3]
    return Org(
        domain=tenant.domains[0],
        other_domains=tuple(tenant.domains[1:]),
        vips=role("vip"),
        finance=role("finance"),
        hr=role("hr"),
        employees=tuple(person(a) for a in staff),
        vendors=tuple(person(a) for a in vendor_addrs),
    )


def make_engine(tenant: Tenant, with_baseline: bool) -> Engine:
    if not with_baseline:
        return Engine(tenant)
    from mailwarden.baselines import MemoryStore

    return Engine(tenant, store=MemoryStore())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--attacks", type=int, default=360)
    parser.add_argument("--warmup", type=float, default=0.6, help="share of the timeline")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-baseline", action="store_true", help="content rules alone")
    parser.add_argument("--show-misses", type=int, default=0, help="print N missed attacks")
    parser.add_argument("--show-fps", type=int, default=15, help="print N false positives")
    parser.add_argument(
        "--phrasebook",
        choices=sorted(PHRASEBOOKS),
        default="dev",
        help="wording of the attacks: dev (seen by the rule authors) or holdout (not)",
    )
    args = parser.parse_args()

    root = data_dir()
    if root is None:
        print("no ../shared/data/corpora here: nothing to benchmark", file=sys.stderr)
        return 0
    tenant = load_tenant(TENANT_FILE)
    started = time.perf_counter()
    events, undated = load_enron(root)
    split = int(len(events) * args.warmup)
    start, end = events[split].when, events[-1].when
    org = org_from_history(events[:split], tenant)
    book = PHRASEBOOKS[args.phrasebook]
    attacks = Generator(org, seed=args.seed, phrasebook=book).many(args.attacks, start, end)
    timeline = sorted(events + [Event(a.date, a.raw, a) for a in attacks], key=lambda e: e.when)
    print(
        f"enron: {len(events)} dated messages ({undated} with a missing or impossible Date "
        "left out); "
        f"history until {start:%Y-%m-%d}, {len(attacks)} attacks injected until {end:%Y-%m-%d}; "
        f"org: {len(org.vips)} VIPs, {len(org.employees)} staff, {len(org.vendors)} vendors; "
        f"phrasebook: {book.name} (seed {args.seed})"
    )

    engine = make_engine(tenant, not args.no_baseline)
    caught: dict[str, Counter[str]] = defaultdict(Counter)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    ham = Counter[str]()
    false_positives: list[tuple[str, str, list[str]]] = []  # sender, subject, evidence
    misses: list[tuple[Any, Any]] = []
    for event in timeline:
        verdict = engine.scan(event.raw)
        if event.attack is not None:
            hit = verdict.verdict in FLAGGED
            caught[event.attack.subtype]["n"] += 1
            caught[event.attack.subtype]["caught"] += hit
            by_kind[event.attack.sender_kind]["n"] += 1
            by_kind[event.attack.sender_kind]["caught"] += hit
            if not hit:
                misses.append((event.attack, verdict))
        elif event.when >= start:
            ham["n"] += 1
            ham[verdict.verdict] += 1
            if verdict.verdict in FLAGGED:
                evidence = [f"{f.symbol}: {f.evidence}" for f in verdict.findings]
                false_positives.append((verdict.from_addr, verdict.subject, evidence))

    mode = "content rules alone" if args.no_baseline else "rules + behavioral baselines"
    print(f"\n{mode}, {book.name} phrasebook  ({time.perf_counter() - started:.0f} s)")
    print(f"{'subtype':<20} {'attacks':>8} {'caught':>7} {'recall':>7}")
    total_n = total_caught = 0
    for subtype, counts in sorted(caught.items()):
        total_n += counts["n"]
        total_caught += counts["caught"]
        print(
            f"{subtype:<20} {counts['n']:>8} {counts['caught']:>7} "
            f"{counts['caught'] / counts['n']:>7.1%}"
        )
    print(f"{'all':<20} {total_n:>8} {total_caught:>7} {total_caught / max(total_n, 1):>7.1%}")
    print(f"\n{'sender kind':<20} {'attacks':>8} {'caught':>7} {'recall':>7}")
    for kind, counts in sorted(by_kind.items()):
        print(
            f"{kind:<20} {counts['n']:>8} {counts['caught']:>7} "
            f"{counts['caught'] / counts['n']:>7.1%}"
        )
    flagged = ham["suspicious"] + ham["malicious"]
    print(
        f"\nreal Enron mail scored after the warm-up: {ham['n']}; flagged {flagged} "
        f"({flagged / max(ham['n'], 1):.3%}): {ham['malicious']} malicious, "
        f"{ham['suspicious']} suspicious; {ham['spam']} spam"
    )
    for sender, subject, evidence in false_positives[: args.show_fps]:
        print(f"  FP {sender}: {subject[:60]!r}")
        for line in evidence:
            print(f"       {line[:150]}")
    for attack, verdict in misses[: args.show_misses]:
        print(f"\nMISS {attack.subtype}/{attack.sender_kind}: {verdict.symbols} {verdict.scores}")
        print(attack.raw.decode()[:800])
    return 0


if __name__ == "__main__":
    sys.exit(main())
