"""The `mailwarden` command: scan, learn, explain, rules lint / test, signals."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mailwarden.tenant import Tenant, TenantConfigError, default_tenant, load_tenant

EXIT_CLEAN, EXIT_MALICIOUS, EXIT_USAGE = 0, 1, 2
# Above this many messages the table lists only what was not safe (the summary counts the rest).
FULL_TABLE_LIMIT = 50
TABLE_ROW_LIMIT = 200
_STYLE = {"safe": "green", "spam": "yellow", "suspicious": "dark_orange", "malicious": "bold red"}

tenant_option = click.option(
    "--tenant",
    "tenant_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tenant YAML (organisation domains, people, thresholds). Default: the embedded demo.",
)
rules_option = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Extra rule directory; its rules add to (or, by id, replace) the shipped ones.",
)


class ConfigProblem(click.ClickException):
    """Bad tenant or rules: exit 2 like a usage error, since 1 means 'malicious found'."""

    exit_code = EXIT_USAGE


def _tenant(path: Path | None) -> Tenant:
    try:
        return load_tenant(path) if path else default_tenant()
    except TenantConfigError as exc:
        raise ConfigProblem(str(exc)) from exc


store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Behavioral baseline store (SQLite file, created if absent). Default: none.",
)


model_option = click.option(
    "--model",
    "model",
    help="Trained model beside the rules: 'default' (the packaged one, needs numpy) or a model "
    "or registry directory. One that cannot load leaves the rules deciding, and each verdict "
    "says so. Default: rules only.",
)


def _engine(
    tenant_path: Path | None, rule_dirs: tuple[Path, ...], store: Any = None, model: Any = None
) -> Any:
    from mailwarden.detectors.rules import RuleError
    from mailwarden.engine import Engine

    try:
        return Engine(_tenant(tenant_path), rule_dirs=rule_dirs, store=store, model=model)
    except RuleError as exc:
        raise ConfigProblem(f"rules failed to load:\n{exc}") from exc


def _open_store(path: Path | None, commit_every: int = 1) -> Any:
    if path is None:
        return None
    import sqlite3

    from mailwarden.baselines import SQLiteStoreConfig, open_store
    from mailwarden.baselines.sqlite import StoreSchemaError

    try:
        return open_store(SQLiteStoreConfig(path=path, commit_every=commit_every))
    except (sqlite3.Error, OSError, StoreSchemaError) as exc:
        raise ConfigProblem(f"cannot open baseline store {path}: {exc}") from exc


@click.group()
@click.version_option(package_name="mailwarden")
def main() -> None:
    """Email attack detection: scan messages, explain verdicts, test rules."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@tenant_option
@rules_option
@store_option
@model_option
@click.option("--no-learn", is_flag=True, help="Use the --store baselines without updating them.")
@click.option("--jsonl", is_flag=True, help="One verdict JSON per line on stdout (no table).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def scan(
    paths: tuple[Path, ...],
    tenant_path: Path | None,
    rule_dirs: tuple[Path, ...],
    store_path: Path | None,
    model: str | None,
    no_learn: bool,
    jsonl: bool,
    no_progress: bool,
) -> None:
    """Scan .eml files, directories, mbox, Maildir or tar archives of messages.

    With --store, each message is scored against the behavioral baselines and then learned
    (score first, then learn), in the order given, unless --no-learn.

    Exit status: 0 when nothing malicious was found, 1 when something was, 2 on bad usage or
    config. Unreadable inputs are reported with their path and reason (and as error records with
    --jsonl), never skipped silently.
    """
    # Commit learning every 32 messages (and on exit): a crash loses at most the last few
    # messages' learning, never consistency, and view + learn stays well under 100 us.
    store = _open_store(store_path, commit_every=32)
    try:
        engine = _engine(tenant_path, rule_dirs, store, model)
        _scan(paths, engine, not no_learn, jsonl, no_progress)
    finally:
        if store is not None:
            store.close()


def _scan(
    paths: tuple[Path, ...], engine: Any, learn: bool, jsonl: bool, no_progress: bool
) -> None:
    from mailwarden.sources import iter_messages

    out = sys.stdout.buffer
    err = Console(stderr=True)
    counts: Counter[str] = Counter()
    rows: list[tuple[str, Any]] = []
    errors: list[tuple[str, str]] = []
    show_progress = not no_progress and not jsonl and err.is_terminal
    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not show_progress,
        transient=True,
    ) as progress:
        task = progress.add_task("scan", total=None)
        for item in iter_messages(paths):
            progress.advance(task)
            if item.error:
                errors.append((item.source, item.error))
                counts["unreadable"] += 1
                if jsonl:
                    record = {"source": item.source, "error": item.error}
                    out.write(orjson.dumps(record) + b"\n")
                continue
            verdict = engine.scan(item.raw, source=item.source, learn=learn)
            counts[verdict.verdict] += 1
            if jsonl:
                out.write(verdict.to_json() + b"\n")
            else:
                rows.append((item.source, verdict))
    if not jsonl:
        _print_table(rows, counts)
    for source, reason in errors:
        err.print(f"[red]unreadable[/red] {source}: {reason}", highlight=False)
    sys.exit(EXIT_MALICIOUS if counts["malicious"] else EXIT_CLEAN)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--store",
    "store_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The baseline store to build or update (SQLite file, created if absent).",
)
@tenant_option
@rules_option
@click.option(
    "--assume-safe",
    is_flag=True,
    help="Learn every message as safe without scoring it (faster; only for trusted history).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def learn(
    paths: tuple[Path, ...],
    store_path: Path,
    tenant_path: Path | None,
    rule_dirs: tuple[Path, ...],
    assume_safe: bool,
    no_progress: bool,
) -> None:
    """Build or update behavioral baselines from historical mail, replayed in Date order.

    Reads .eml files, directories, mbox, Maildir or tar archives; sorts every message by its
    Date (messages with a missing or impossible Date come last, in input order: they cannot be
    placed in time, and learning them last keeps them from looking older than dated history);
    then scores each one against the baselines so far and learns it (score first, then learn,
    as `scan --store` does), so malicious mail in the history never warms up its sender.
    Messages already in the store (same Message-ID) are not counted twice: rerunning a learn,
    or one interrupted midway, is safe. Holds the messages in memory while sorting.
    """
    import hashlib

    from mailwarden.baselines.replay import learn_as_safe, replay_order
    from mailwarden.sources import iter_messages

    err = Console(stderr=True)
    tenant = _tenant(tenant_path)
    engine = None if assume_safe else _engine(tenant_path, rule_dirs)
    store = _open_store(store_path, commit_every=500)  # fail fast, before reading anything
    errors: list[tuple[str, str]] = []
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        Progress(
            TextColumn("{task.description}"),
            *columns,
            console=err,
            disable=no_progress or not err.is_terminal,
            transient=True,
        ) as progress,
        _closing(store),
    ):
        reading = progress.add_task("reading", total=None)

        def readable() -> Iterator[tuple[bytes, tuple[str, bytes]]]:
            for item in iter_messages(paths):
                progress.advance(reading)
                if item.error:
                    errors.append((item.source, item.error))
                else:
                    yield item.raw, (item.source, item.raw)

        # Date order from the header block alone: one full parse per message, not two.
        ordered, undated = replay_order(readable())
        total = len(ordered)
        learning = progress.add_task("learning", total=total)
        verdicts: Counter[str] = Counter()
        if engine is not None:
            engine.store = store
        ordered.reverse()  # pop from the end: each message's bytes are freed once learned
        while ordered:
            source, raw = ordered.pop()
            if engine is not None:
                verdicts[engine.scan(raw, source=source, learn=True).verdict] += 1
            else:
                learn_as_safe(store, raw, tenant, hashlib.sha256(raw).hexdigest())
                verdicts["safe"] += 1
            progress.advance(learning)
    for source, reason in errors:
        err.print(f"[red]unreadable[/red] {source}: {reason}", highlight=False)
    summary = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
    console = _console()
    console.print(
        f"learned {total} messages into {store_path} ({undated} without a usable Date, "
        f"learned last; {len(errors)} unreadable): {summary or 'none'}",
        highlight=False,
    )


@contextmanager
def _closing(store: Any) -> Iterator[None]:
    """Close (and so commit) the store however the block ends: what was learned is kept."""
    try:
        yield
    finally:
        store.close()


def _console() -> Console:
    # Piped output keeps full rows instead of rich's 80-column default.
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _print_table(rows: list[tuple[str, Any]], counts: Counter[str]) -> None:
    console = _console()
    shown = rows if len(rows) <= FULL_TABLE_LIMIT else [r for r in rows if r[1].verdict != "safe"]
    if shown:
        table = Table(show_lines=False)
        table.add_column("message", overflow="fold")
        for column in ("verdict", "category", "score", "action"):
            table.add_column(column, no_wrap=True)
        table.add_column("top findings", overflow="fold")
        for source, verdict in shown[:TABLE_ROW_LIMIT]:
            top = ", ".join(f.symbol for f in verdict.findings[:3])
            style = _STYLE.get(verdict.verdict, "")
            table.add_row(
                source,
                f"[{style}]{verdict.verdict}[/{style}]",
                verdict.category,
                f"{verdict.score:g}",
                verdict.action,
                top,
            )
        console.print(table)
        if len(shown) > TABLE_ROW_LIMIT:
            console.print(f"... {len(shown) - TABLE_ROW_LIMIT} more not shown (use --jsonl)")
    summary = ", ".join(
        f"{counts[k]} {k}"
        for k in ("safe", "spam", "suspicious", "malicious", "unreadable")
        if counts[k]
    )
    console.print(f"{sum(counts.values())} messages: {summary or 'none found'}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option
@rules_option
@model_option
@click.option("--json", "as_json", is_flag=True, help="The verdict and every signal as JSON.")
@click.option(
    "--all-signals",
    is_flag=True,
    help="Compute every registered signal, not only those the rules read.",
)
def explain(
    path: Path,
    tenant_path: Path | None,
    rule_dirs: tuple[Path, ...],
    model: str | None,
    as_json: bool,
    all_signals: bool,
) -> None:
    """Show one message's verdict with full attribution: findings, evidence, signals, defects."""
    from mailwarden.signals import discover

    engine = _engine(tenant_path, rule_dirs, model=model)
    verdict, values = engine.explain(path.read_bytes(), source=str(path))
    names = sorted(discover()) if all_signals else sorted(engine.rules.signals_used())
    signals = {name: values[name] for name in names} if values is not None else {}
    if as_json:
        sys.stdout.buffer.write(
            orjson.dumps({"verdict": verdict.to_dict(), "signals": signals}, default=list) + b"\n"
        )
        return
    console = _console()
    style = _STYLE.get(verdict.verdict, "")
    console.print(
        f"[bold]{path}[/bold]\n  subject: {verdict.subject!r}\n  from: {verdict.from_addr}\n"
        f"  verdict: [{style}]{verdict.verdict}[/{style}]  category: {verdict.category or '-'}"
        f"  score: {verdict.score:g}  action: {verdict.action}\n"
        f"  scores: {verdict.scores or '{}'}\n"
        f"  rules {verdict.rules_version}, engine {verdict.engine_version}, "
        f"{verdict.elapsed_us} us",
        highlight=False,
    )
    table = Table(title="findings", title_justify="left")
    for column in ("symbol", "category", "score", "share", "evidence"):
        table.add_column(column, overflow="fold")
    for f in verdict.findings:
        share = f"{f.contribution:.0%}" if f.contribution else "-"
        table.add_row(f.symbol, f.category, f"{f.score:g}", share, f.evidence)
    console.print(table if verdict.findings else "no findings")
    if verdict.defects:
        console.print(f"defects: {', '.join(verdict.defects)}", highlight=False)
    signal_table = Table(title="signals", title_justify="left")
    signal_table.add_column("signal")
    signal_table.add_column("value", overflow="fold")
    for name, value in signals.items():
        if value or all_signals:
            signal_table.add_row(name, repr(value))
    console.print(signal_table)


@main.group()
def rules() -> None:
    """Check the rules: lint the files, run their sample messages."""


def _rule_dirs(dirs: tuple[Path, ...]) -> list[Path]:
    from mailwarden.detectors.rules import shipped_rules_dir

    return list(dirs) or [shipped_rules_dir()]


@rules.command("lint")
@click.argument("dirs", nargs=-1, type=click.Path(file_okay=False, exists=True, path_type=Path))
def rules_lint(dirs: tuple[Path, ...]) -> None:
    """Check rule files (default: the shipped rules): schema, names, comments, samples."""
    from mailwarden.detectors.rules.checks import lint

    report = lint(_rule_dirs(dirs))
    _finish(report.problems, f"{report.checked} rules linted")


@rules.command("test")
@click.argument("dirs", nargs=-1, type=click.Path(file_okay=False, exists=True, path_type=Path))
@tenant_option
def rules_test(dirs: tuple[Path, ...], tenant_path: Path | None) -> None:
    """Run every rule against its sample messages (and every ham sample), offline."""
    from mailwarden.detectors.rules.checks import run_tests

    report = run_tests(_rule_dirs(dirs), _tenant(tenant_path))
    _finish(report.problems, f"{report.checked} sample expectations checked")


def _finish(problems: list[str], summary: str) -> None:
    console = Console(stderr=True)
    for problem in problems:
        console.print(f"[red]FAIL[/red] {problem}", highlight=False)
    console.print(f"{summary}: {len(problems)} problem(s)", highlight=False)
    if problems:
        sys.exit(1)


@main.command("signals")
@click.option("--level", type=click.Choice(["message", "sender", "recipient"]))
def list_signals(level: str | None) -> None:
    """List every registered signal with its level, type and meaning."""
    from mailwarden.signals import discover

    table = Table()
    for column in ("signal", "level", "type", "meaning"):
        table.add_column(column, overflow="fold")
    for name, spec in sorted(discover().items()):
        if level is None or spec.level == level:
            table.add_row(name, spec.level, spec.type.__name__, spec.doc)
    Console().print(table)


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Service config YAML (tokens -> tenants, verdict log, limits). Default: the demo.",
)
@click.option("--host", help="Listen address (default: config, else 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default: config, else 8025).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: 1).")
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Verdict log SQLite file (default: config, else ./mailwarden-verdicts.sqlite).",
)
@click.option("--access-log", is_flag=True, help="Log every request (costs throughput).")
@click.option("--new-token", is_flag=True, help="Print a new API token and its config line.")
def serve(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    log_path: Path | None,
    access_log: bool,
    new_token: bool,
) -> None:
    """Run the HTTP API (needs the `service` extra): POST /v1/scan, feedback, metrics.

    With no --config it serves the embedded demo tenant with one token, taken from
    $MAILWARDEN_DEMO_TOKEN or made up and printed at start. See docs/service.md.
    """
    from mailwarden.service import config as service_config
    from mailwarden.service import server

    if new_token:
        fresh = service_config.new_token()
        digest = service_config.hash_token(fresh)
        click.echo(f"token:  {fresh}\nconfig: {{name: NAME, sha256: {digest}}}")
        return
    try:
        config, origin, token = server.prepare(
            config_path, host=host, port=port, workers=workers, log_path=log_path
        )
    except (service_config.ServiceConfigError, server.ServiceUnavailable) as exc:
        raise ConfigProblem(str(exc)) from exc
    server.announce(config, origin, token)
    server.serve(config, origin, access_log=access_log)


@main.command("milter")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Service config YAML: its tenants, verdict log and `milter:` section. Default: demo.",
)
@click.option("--socket", help="unix:/path or inet:PORT@127.0.0.1 (default: config).")
@click.option(
    "--on-error",
    type=click.Choice(["accept", "tempfail"]),
    help="accept: fail-open; tempfail: fail-closed (default: config, else accept).",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Verdict log SQLite file (default: config, else ./mailwarden-verdicts.sqlite).",
)
@click.option("--postfix", is_flag=True, help="Print the Postfix main.cf lines and exit.")
def milter_command(
    config_path: Path | None,
    socket: str | None,
    on_error: str | None,
    log_path: Path | None,
    postfix: bool,
) -> None:
    """Score mail inline in Postfix / Sendmail (needs the `milter` extra). See docs/milter.md."""
    from mailwarden.milter import server as milter_server
    from mailwarden.service.config import ServiceConfigError

    try:
        config, origin = milter_server.prepare(
            config_path,
            socket=socket,
            on_error=on_error,
            log_path=log_path,
            check_extra=not postfix,
            check_log=not postfix,
        )
    except (ServiceConfigError, milter_server.MilterUnavailable, ValueError) as exc:
        raise ConfigProblem(str(exc)) from exc
    if postfix:
        click.echo(milter_server.postfix_snippet(config.milter))
        return
    milter_server.run(config, origin)


@main.group()
def dataset() -> None:
    """Training data from the shared corpora: build the Parquet dataset, check fingerprints."""


def _data_root(data: Path | None) -> Path:
    from mailwarden.corpora import data_dir

    root = data or data_dir()
    if root is None or not (root / "corpora").is_dir():
        raise ConfigProblem(
            "no corpora found: pass --data DIR (holding corpora/) or set MAILWARDEN_DATA"
        )
    return root


data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The shared data folder (holding corpora/). Default: $MAILWARDEN_DATA or ../shared/data.",
)
corpora_option = click.option(
    "--corpora",
    default="all",
    show_default=True,
    help="Comma-separated corpora to use (spamassassin, csdmc2010, nazario, phishing_pot, enron, "
    "usrp_list).",
)
auth_option = click.option(
    "--drop-auth",
    is_flag=True,
    help="Drop authentication results too (only three corpora carry any).",
)


def _corpora(spec: str) -> tuple[str, ...]:
    from mailwarden.corpora import CORPORA

    if spec == "all":
        return CORPORA
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    unknown = [n for n in names if n not in CORPORA]
    if unknown or not names:
        raise click.BadParameter(f"unknown corpora {unknown}; known: {', '.join(CORPORA)}")
    return names


@dataset.command("build")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@data_option
@corpora_option
@click.option("--limit", type=click.IntRange(min=1), help="At most N messages of each corpus.")
@click.option("--bec", type=click.IntRange(min=0), default=0, help="Add N generated BEC attacks.")
@tenant_option
@auth_option
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def dataset_build(
    out: Path,
    data: Path | None,
    corpora: str,
    limit: int | None,
    bec: int,
    tenant_path: Path | None,
    drop_auth: bool,
    no_progress: bool,
) -> None:
    """Replay the labelled corpora through the engine in time order (fingerprints neutralised)
    and write one row per message to OUT.parquet: every numeric signal, text, label, category.

    Default tenant: Enron (the corpus the behavioral baselines are learned from)."""
    from mailwarden.training.dataset import MissingDependency, build_dataset

    names = _corpora(corpora)
    root = _data_root(data)
    tenant = _tenant(tenant_path) if tenant_path else None
    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=no_progress or not err.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task("reading", total=None)

        def report(stage: str, done: int, total: int | None) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        try:
            summary = build_dataset(
                out, root, names, limit=limit, bec=bec, tenant=tenant,
                keep_auth=not drop_auth, progress=report,
            )  # fmt: skip
        except MissingDependency as exc:
            raise ConfigProblem(str(exc)) from exc
    _console().print("\n".join(summary.lines()), highlight=False)


@dataset.command("check")
@data_option
@corpora_option
@click.option("--per-corpus", type=click.IntRange(min=20), default=400, show_default=True)
@tenant_option
@auth_option
def dataset_check(
    data: Path | None,
    corpora: str,
    per_corpus: int,
    tenant_path: Path | None,
    drop_auth: bool,
) -> None:
    """Can a classifier tell a message's corpus from its header fingerprints, before and after
    neutralisation? Prints held-out accuracy both ways, against chance."""
    from mailwarden.training.check import corpus_fingerprint_check
    from mailwarden.training.dataset import MissingDependency

    tenant = _tenant(tenant_path) if tenant_path else None
    try:
        report = corpus_fingerprint_check(
            _data_root(data), per_corpus, tenant, keep_auth=not drop_auth,
            corpora=_corpora(corpora),
        )  # fmt: skip
    except MissingDependency as exc:
        raise ConfigProblem(str(exc)) from exc
    _console().print("\n".join(report.lines()), highlight=False)


def _register_model_commands() -> None:
    from mailwarden.cli_models import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register_model_commands()

if __name__ == "__main__":
    main()
