"""Build a training dataset: replay the labelled corpora through the engine, in time order.

    summary = build_dataset("train.parquet", data_dir(), bec=360)

Every message is neutralised first (`fingerprints.Neutralizer`: no collector's marks reach the
engine; the text column is scrubbed the same way), then scored by one `Engine` with a behavioral
baseline store and learned (score first, then learn), in replay order, so no message is scored
against its future. One row per message:
every numeric and bool signal (one column each, see `schema`), subject + visible body text
(capped), the label and a category, the source corpus, the message's own date and its replay
time, sha256, the duplicate group, the engine's verdict and a time split.

Time: the corpora span 1999 to 2026, but a baseline is one organisation's history. The tenant
corpus (Enron) is replayed at its own dates; every other corpus is mapped onto the tenant's
timeline by quantile (its k-th percentile message arrives at the tenant's k-th percentile date,
at its own time of day and zone), so attacks and outside mail arrive while the organisation's
history is being learned, each source in its own order, and the Date header the engine reads is
the replay time (which also removes the era fingerprint of the dates). Undated messages come
last. Generated BEC attacks (`--bec N`) are written at random times after the first 60% of the
tenant's timeline, as `bench/bec_bench.py` does.

Categories (`category`; `category_source` says how it was derived):

=================  =========================================================================
corpus label       category
=================  =========================================================================
ham                safe (corpus)
spam               spam (corpus)
malicious          by content (heuristic), first that applies: malware (executable, macro,
                   double-extension or mismatched attachment); credential_phishing (credential
                   request, HTML form or attachment, credential link path, brand lookalike or
                   off-domain brand, parcel lure); scam (extortion, crypto wallet, callback
                   phone, gift cards, prize or reward lure); spam (diet / dating bait: the
                   honeypot's "malicious or unwanted" includes plain junk); else
                   credential_phishing when it has links (nazario: always), scam when not
BEC synth          bec (corpus); its lateral_phishing subtype: credential_phishing
=================  =========================================================================

The heuristic categories read the same signals the dataset holds as features: a model trained
to predict them partly learns this table. Treat phishing_pot's and nazario's categories as weak
labels, and the binary label (ham / spam / malicious) as the ground truth.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailwarden import __version__
from mailwarden.corpora import CORPORA, iter_corpus, manifest
from mailwarden.message import searchable_text
from mailwarden.parse import headers
from mailwarden.signals._text import PHRASE_CHARS
from mailwarden.tenant import Tenant, load_tenant
from mailwarden.training.fingerprints import Neutralizer, normalise_newlines, xfrom_name
from mailwarden.training.schema import METADATA_KEY, FeatureSchema
from mailwarden.training.splits import SplitRow, time_split

TENANT_CORPUS = "enron"
# Characters of subject + visible body kept per row, in the form the text model reads at scan
# time (`Message.searchable`: lower-cased, invisible characters removed): what phrases see.
TEXT_CAP = PHRASE_CHARS
MAILBOX_POOL = 300  # tenant mailboxes collector recipients are spread over
BEC_CORPUS = "bec_synth"
BEC_WARMUP = 0.6  # share of the tenant's timeline that only builds history before attacks
CATEGORIES = ("safe", "spam", "credential_phishing", "bec", "malware", "scam")
_BENCH_TENANT = Path(__file__).resolve().parents[3] / "bench" / "tenants" / "enron.yml"

Progress = Callable[[str, int, int | None], None]  # (stage, done, total)


class MissingDependency(RuntimeError):
    """An optional dependency (the `train` extra) is not installed."""


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            "building or reading datasets needs pyarrow: pip install 'mailwarden[train]'"
        ) from exc


def enron_tenant() -> Tenant:
    """The tenant the corpora are replayed for: the bench's Enron file when this is a source
    checkout, else Enron's two domains without its people."""
    if _BENCH_TENANT.is_file():
        return load_tenant(_BENCH_TENANT)
    return Tenant(id="enron", name="Enron Corp", domains=("enron.com", "enron.net"))


# --- reading ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    corpus: str
    path: str
    label: str
    date: datetime | None  # the message's own date
    group: str  # duplicate group
    sha256: str
    raw: bytes
    subtype: str = ""  # BEC subtype for generated attacks
    replay: datetime | None = None


def _manifest_date(text: str) -> datetime | None:
    try:
        date = datetime.fromisoformat(text)
    except ValueError:
        return None
    if date.tzinfo is None or not 1970 <= date.year <= 2100:
        return None
    return date


def chosen_paths(corpus: str, root: Path, limit: int | None) -> set[str] | None:
    """All paths (None), or `limit` of them picked by hash: reproducible, spread over time."""
    if limit is None:
        return None
    paths = sorted(manifest(corpus, root), key=lambda p: hashlib.sha256(p.encode()).digest())
    return set(paths[:limit])


def read_records(
    root: Path,
    corpora: Sequence[str] = CORPORA,
    limit: int | None = None,
    progress: Progress | None = None,
) -> list[Record]:
    records: list[Record] = []
    for corpus in corpora:
        keep = chosen_paths(corpus, root, limit)
        for item in iter_corpus(corpus, root, keep):
            date = _manifest_date(item.date) or _header_date(item.raw)
            records.append(
                Record(
                    corpus=corpus,
                    path=item.path,
                    label=item.label,
                    date=date,
                    group=item.duplicate_of or item.path,
                    # of the bytes: two files may share a path (enron has a few), not a hash
                    sha256=hashlib.sha256(item.raw).hexdigest(),
                    raw=item.raw,
                )
            )
            if progress is not None:
                progress(f"reading {corpus}", len(records), None)
    return records


def _header_date(raw: bytes) -> datetime | None:
    from mailwarden.baselines import header_date

    return header_date(raw)


# --- the tenant's side: mailboxes, people, timeline ------------------------------------------


@dataclass
class TenantHistory:
    """What the tenant corpus tells about the organisation (read from headers only)."""

    mailboxes: list[str] = field(default_factory=list)  # inbound recipients, most mail first
    names: dict[str, str] = field(default_factory=dict)  # address -> display name
    senders: Counter[str] = field(default_factory=Counter)  # external senders (vendors)
    dates: list[datetime] = field(default_factory=list)  # sorted, trimmed of outliers


def tenant_history(records: Iterable[Record], tenant: Tenant) -> TenantHistory:
    inbound: Counter[str] = Counter()
    internal: Counter[str] = Counter()
    history = TenantHistory()
    dates = []
    for record in records:
        if record.date is not None:
            dates.append(record.date)
        block, _ = headers.split(normalise_newlines(record.raw[:65536]))
        values: dict[str, list[str]] = {}
        for name, value in headers.fields(block, []):
            values.setdefault(name.lower(), []).append(value)
        senders = headers.addresses((values.get("from") or [""])[0])
        sender = senders[0] if senders else None
        external = sender is not None and not tenant.is_internal_domain(sender.domain)
        if sender is not None:
            name = sender.name or xfrom_name((values.get("x-from") or [""])[0])
            if name:
                history.names.setdefault(sender.addr, name)
            if external:
                history.senders[sender.addr] += 1
        for value in values.get("to", []) + values.get("cc", []):
            for rcpt in headers.addresses(value):
                if tenant.is_internal_domain(rcpt.domain) and "." in rcpt.local:
                    internal[rcpt.addr] += 1
                    if external:
                        inbound[rcpt.addr] += 1
    pool = inbound if len(inbound) >= 20 else internal
    history.mailboxes = [a for a, _ in pool.most_common(MAILBOX_POOL)]
    if not history.mailboxes:
        history.mailboxes = [a for p in tenant.people for a in p.addresses]
    dates.sort()
    trim = len(dates) // 1000
    history.dates = dates[trim : len(dates) - trim] if len(dates) > 2 * trim + 1 else dates
    return history


def assign_replay_times(records: Sequence[Record], tenant_dates: Sequence[datetime]) -> None:
    """Tenant-corpus messages replay at their own date; others at the tenant date of the same
    quantile, keeping their own time of day and zone; undated ones stay None (replayed last)."""
    by_corpus: dict[str, list[Record]] = {}
    for record in records:
        if record.date is None:
            record.replay = None
        elif record.corpus in (TENANT_CORPUS, BEC_CORPUS) or not tenant_dates:
            record.replay = record.date
        else:
            by_corpus.setdefault(record.corpus, []).append(record)
    for group in by_corpus.values():
        group.sort(key=lambda r: (r.date, r.path))
        n = len(group)
        for rank, record in enumerate(group):
            assert record.date is not None
            index = int((rank + 0.5) / n * len(tenant_dates))
            target = tenant_dates[min(len(tenant_dates) - 1, index)]
            local = target.astimezone(record.date.tzinfo)
            record.replay = datetime.combine(local.date(), record.date.timetz())


def replay_order(records: list[Record]) -> list[Record]:
    """By replay time (ties: corpus order, then path); undated last, by corpus and path."""
    rank = {name: i for i, name in enumerate((*CORPORA, BEC_CORPUS))}
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def key(r: Record) -> tuple[bool, datetime, int, str]:
        return (r.replay is None, r.replay or epoch, rank.get(r.corpus, 99), r.path)

    return sorted(records, key=key)


# --- BEC --------------------------------------------------------------------------------------


def bec_records(n: int, tenant: Tenant, history: TenantHistory, seed: int = 11) -> list[Record]:
    """`n` generated attacks written for this tenant, after the warm-up share of its timeline."""
    from mailwarden.signals._data import is_freemail
    from mailwarden.synth.bec import Generator, Org, Person

    if n <= 0 or not history.dates:
        return []

    def person(addr: str) -> Person:
        name = history.names.get(addr) or addr.partition("@")[0].replace(".", " ")
        if "," in name:  # "Koenig, Colleen" -> "Colleen Koenig"
            last, _, first = name.partition(",")
            name = f"{first.strip()} {last.strip()}"
        return Person(name.title(), addr)

    def role(r: str) -> tuple[Person, ...]:
        return tuple(
            Person(p.name, p.addresses[0]) for p in tenant.people if r in p.roles and p.addresses
        )

    vendors = [
        addr
        for addr, count in history.senders.most_common(200)
        if count >= 3 and not is_freemail(addr.rpartition("@")[2])
    ][:80]
    org = Org(
        domain=tenant.domains[0],
        other_domains=tuple(tenant.domains[1:]),
        vips=role("vip") or (person(history.mailboxes[0]),),
        finance=role("finance") or (person(history.mailboxes[-1]),),
        hr=role("hr") or (person(history.mailboxes[len(history.mailboxes) // 2]),),
        employees=tuple(person(a) for a in history.mailboxes[:200]),
        vendors=tuple(person(a) for a in vendors) or (Person("Acme Billing", "billing@acme.com"),),
    )
    start = history.dates[int(len(history.dates) * BEC_WARMUP)]
    end = history.dates[-1]
    attacks = Generator(org, seed=seed).many(n, start, end + timedelta(seconds=1))
    return [
        Record(
            corpus=BEC_CORPUS,
            path=f"{BEC_CORPUS}/{i:05d}-{a.subtype}-{a.sender_kind}",
            label="malicious",
            date=a.date,
            group=f"{BEC_CORPUS}/{a.message_id}",
            sha256=hashlib.sha256(a.raw).hexdigest(),
            raw=a.raw,
            subtype=a.subtype,
        )
        for i, a in enumerate(attacks)
    ]


# --- labels -------------------------------------------------------------------------------------


def category_for(record: Record, values: Any) -> tuple[str, str]:
    """(category, how it was derived: "corpus" | "heuristic"); see the module doc."""
    if record.label == "ham":
        return "safe", "corpus"
    if record.label == "spam":
        return "spam", "corpus"
    if record.corpus == BEC_CORPUS:
        return ("credential_phishing" if record.subtype == "lateral_phishing" else "bec"), "corpus"

    def any_of(*names: str) -> bool:
        return any(bool(values[n]) for n in names)

    mismatched = values["message.attachment.extension_mismatch"]
    if (mismatched and not values["message.attachment.html"]) or any_of(
        "message.attachment.executable",
        "message.attachment.macro",
        "message.attachment.double_extension",
    ):
        return "malware", "heuristic"
    if any_of(
        "message.credential_request",
        "message.html.form",
        "message.attachment.html",
        "message.link.credential_path",
        "message.link.lookalike_brand",
        "sender.lookalike_brand",
        "message.brand_offdomain",
        "message.shipping_lure",
    ):
        return "credential_phishing", "heuristic"
    if any_of(
        "message.extortion",
        "message.crypto_wallet",
        "message.callback_phone",
        "message.gift_card",
        "message.prize_lure",
        "message.reward_bait",
    ):
        return "scam", "heuristic"
    if any_of("message.diet_bait", "message.dating_bait"):
        return "spam", "heuristic"
    if record.corpus == "nazario" or values["message.link.count"]:
        return "credential_phishing", "heuristic"
    return "scam", "heuristic"


# --- the build ----------------------------------------------------------------------------------


@dataclass
class BuildSummary:
    path: str
    rows: int
    seconds: float
    by_corpus: dict[str, int]
    by_category: dict[str, int]
    undated: int
    engine_faults: int
    header_fallbacks: int  # messages whose header block was copied, not rebuilt
    schema_hash: str
    split: dict[str, int]

    def lines(self) -> list[str]:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return [
            f"wrote {self.rows} rows to {self.path} in {self.seconds:.0f} s ({rate:.0f} msg/s)",
            "by corpus: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_corpus.items())),
            "by category: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_category.items())),
            f"time split: {self.split.get('train', 0)} train, {self.split.get('test', 0)} test; "
            f"{self.undated} undated (replayed last, train); {self.engine_faults} engine faults, "
            f"{self.header_fallbacks} header blocks copied not rebuilt; "
            f"feature schema {self.schema_hash}",
        ]


def build_dataset(
    out: str | Path,
    root: Path,
    corpora: Sequence[str] = CORPORA,
    *,
    limit: int | None = None,
    bec: int = 0,
    tenant: Tenant | None = None,
    keep_auth: bool = True,
    test_share: float = 0.2,
    seed: int = 11,
    progress: Progress | None = None,
) -> BuildSummary:
    """Replay `corpora` (each cut to `limit` messages when given) and `bec` generated attacks
    through the engine for `tenant` (default: Enron), and write the dataset to `out`."""
    require_pyarrow()
    from mailwarden.baselines import MemoryStore
    from mailwarden.engine import Engine

    started = time.perf_counter()
    tenant = tenant or enron_tenant()
    schema = FeatureSchema.current()
    records = read_records(root, corpora, limit, progress)
    history = tenant_history((r for r in records if r.corpus == TENANT_CORPUS), tenant)
    if not history.dates:
        history.dates = sorted(r.date for r in records if r.date is not None)
    records += bec_records(bec, tenant, history, seed)
    assign_replay_times(records, history.dates)
    ordered = replay_order(records)
    del records
    neutralize = Neutralizer(tenant.domains[0], history.mailboxes, keep_auth=keep_auth)
    engine = Engine(tenant, store=MemoryStore())

    columns: dict[str, list[Any]] = {name: [] for name in ID_COLUMNS}
    features: dict[str, list[Any]] = {name: [] for name in schema.names}
    faults = 0
    last_replay: datetime | None = None
    total = len(ordered)
    ordered.reverse()  # pop from the end: each message's bytes are freed once replayed
    done = 0
    while ordered:
        record = ordered.pop()
        raw = neutralize(record.raw, date=record.replay, key=record.sha256)
        now = record.replay or last_replay
        last_replay = record.replay or last_replay
        verdict, values = engine.explain(raw, source=record.path, now=now, learn=True)
        if values is None:
            faults += 1
            continue
        category, how = category_for(record, values)
        message = values.msg
        text = f"{message.subject}\n{message.body_text[: TEXT_CAP * 2]}"
        text = neutralize.scrub_text(text, record.sha256, message.header("list-id"))
        text = searchable_text(text)[:TEXT_CAP]
        row = {
            "sha256": record.sha256,
            "corpus": record.corpus,
            "path": record.path,
            "label": record.label,
            "category": category,
            "category_source": how,
            "attack_subtype": record.subtype,
            "date": record.date,
            "replay_date": record.replay,
            "duplicate_group": record.group,
            "text": text,
            "engine_verdict": verdict.verdict,
            "engine_score": float(verdict.score),
        }
        for name, value in row.items():
            columns[name].append(value)
        for name in schema.names:
            features[name].append(values[name])
        done += 1
        if progress is not None and (done % 200 == 0 or not ordered):
            progress("replaying", done, total)

    split_rows = [
        SplitRow(c, d, g)
        for c, d, g in zip(
            columns["corpus"], columns["date"], columns["duplicate_group"], strict=True
        )
    ]
    columns["split_time"] = time_split(split_rows, test_share)
    metadata = {
        "feature_schema": schema.to_dict(),
        "engine_version": __version__,
        "rules_version": engine.rules_version,
        "tenant": tenant.id,
        "corpora": list(corpora),
        "limit": limit,
        "bec": bec,
        "seed": seed,
        "neutralised": True,
        "keep_auth": keep_auth,
        "text_cap": TEXT_CAP,
        "time_split_test_share": test_share,
        "categories": list(CATEGORIES),
    }
    write_parquet(out, columns, features, schema, metadata)
    return BuildSummary(
        path=str(out),
        rows=len(columns["sha256"]),
        seconds=time.perf_counter() - started,
        by_corpus=dict(Counter(columns["corpus"])),
        by_category=dict(Counter(columns["category"])),
        undated=sum(d is None for d in columns["date"]),
        engine_faults=faults,
        header_fallbacks=neutralize.failures,
        schema_hash=schema.hash,
        split=dict(Counter(columns["split_time"])),
    )


# What every dataset row carries besides its signal features.
ID_COLUMNS = (
    "sha256",
    "corpus",
    "path",
    "label",
    "category",
    "category_source",
    "attack_subtype",
    "date",
    "replay_date",
    "duplicate_group",
    "text",
    "engine_verdict",
    "engine_score",
)


def arrow_schema(schema: FeatureSchema, metadata: dict[str, Any] | None = None) -> Any:
    """The Parquet schema of a dataset: identity columns, then one column per feature."""
    require_pyarrow()
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    fields = [
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("corpus", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("label", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("category_source", pa.string(), nullable=False),
        pa.field("attack_subtype", pa.string(), nullable=False),
        pa.field("date", ts),
        pa.field("replay_date", ts),
        pa.field("duplicate_group", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("engine_verdict", pa.string(), nullable=False),
        pa.field("engine_score", pa.float64(), nullable=False),
        pa.field("split_time", pa.string(), nullable=False),
    ]
    types = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}
    fields += [pa.field(n, types[t], nullable=False) for n, t in schema.features]
    meta = {METADATA_KEY: json.dumps(metadata).encode()} if metadata is not None else None
    return pa.schema(fields, metadata=meta)


def write_parquet(
    out: str | Path,
    columns: dict[str, list[Any]],
    features: dict[str, list[Any]],
    schema: FeatureSchema,
    metadata: dict[str, Any],
) -> None:
    require_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = arrow_schema(schema, metadata)
    data = {**columns, **features}
    arrays = [pa.array(data[f.name], type=f.type) for f in target]
    table = pa.Table.from_arrays(arrays, schema=target)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, str(out), compression="zstd")
