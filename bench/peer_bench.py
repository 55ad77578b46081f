"""mailwarden side by side with SpamAssassin and Rspamd: the same messages, one client, offline.

    .venv/bin/python bench/peer_bench.py                        # 2,000 messages, every engine
    .venv/bin/python bench/peer_bench.py --messages 300 --engines mailwarden,rspamd --json out.json
    .venv/bin/python bench/peer_bench.py --model default --held-out out/dataset.parquet

The messages are drawn reproducibly (`--seed`) from the shared corpora (every corpus, as
`mailwarden.corpora.sample_mix` draws them, then `--messages` of those), with their labels:
ham, spam, malicious. Each engine scores every message, one at a time, from this one process:

- mailwarden, in process: `Engine.scan` (demo tenant, no baselines).
- mailwarden, service: a real `mailwarden serve` (1 worker, verdict log fsynced as in
  production), POST /v1/scan?learn=false on one keep-alive connection.
- SpamAssassin: a private spamd on 127.0.0.1, spoken to with the spamd protocol (CHECK); its
  config is Debian's .pre files plus bench/peers/spamassassin/offline.cf.
- Rspamd: a private rspamd on 127.0.0.1 (2 normal workers), POST /checkv2; its config is
  Debian's /etc/rspamd with bench/peers/rspamd/ as the local config (network modules off).

`--model SPEC` runs mailwarden with a trained model beside the rules (in process and in the
service). A model must then be measured on mail it never trained on: `--held-out DATASET`
draws only from that dataset's test split (each source's newest 20%, which `mailwarden train`
never sees), so give the dataset the model was trained from. Labels are the corpora's with the
reviewed corrections applied (mailwarden/training/label_review.csv), the same for every engine.

Both peers run offline exactly as /work/shared/notes/peer-filters-offline.md describes; neither
has its network reputation feeds (RBLs, URIBLs, fuzzy hashes, Bayes), and neither does mailwarden.
Install them with `apt-get install spamassassin spamc spamd sa-compile rspamd`; an engine whose
package is missing is skipped with a message.

Reported per engine: per-message latency (wall, p50 / p99, one message in flight), the engine's
CPU per message (its server processes' user + system time, children included; for in-process,
this process) and so messages/s per core, and on the labels: precision of "flagged", recall on
malicious and on spam, false-positive rate on ham. "Flagged" is mailwarden's verdict other than
safe, SpamAssassin's "Spam: True" (score >= 5), Rspamd's action "add header", "rewrite
subject" or "reject" (score >= 6; its default greylist action at 4 is not a verdict).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from latency import percentile  # bench/ is on sys.path when run as a script

from mailwarden.corpora import CorpusMessage, data_dir, sample_mix

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
TOKEN = "mw_peer-bench-token-0123456789ab"
ENGINES = ("mailwarden", "service", "spamassassin", "rspamd")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mailwarden-peer-bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Skip(Exception):
    """An engine that cannot run here, and why."""


@dataclass
class Result:
    engine: str
    latencies_s: list[float] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    errors: int = 0
    note: str = ""

    def report(self) -> dict[str, float | int | str]:
        lat = sorted(self.latencies_s)
        n = len(lat)
        by: dict[str, list[bool]] = {}
        for label, flag in zip(self.labels, self.flagged, strict=True):
            by.setdefault(label, []).append(flag)
        positives = [f for label, f in zip(self.labels, self.flagged, strict=True) if f]
        true_pos = sum(
            1 for label, f in zip(self.labels, self.flagged, strict=True) if f and label != "ham"
        )

        def rate(label: str) -> float:
            values = by.get(label, [])
            return sum(values) / len(values) if values else float("nan")

        return {
            "engine": self.engine,
            "messages": n,
            "errors": self.errors,
            "p50_ms": 1000 * percentile(lat, 0.5) if lat else float("nan"),
            "p99_ms": 1000 * percentile(lat, 0.99) if lat else float("nan"),
            "cpu_ms_per_msg": 1000 * self.cpu_s / n if n else float("nan"),
            "msgs_per_core_s": n / self.cpu_s if self.cpu_s else float("nan"),
            "precision": true_pos / len(positives) if positives else float("nan"),
            "recall_malicious": rate("malicious"),
            "recall_spam": rate("spam"),
            "fp_rate_ham": rate("ham"),
            "note": self.note,
        }


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def session_cpu(sid: int) -> float:
    """User + system seconds of every process in session `sid`, reaped children included."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            total += sum(int(v) for v in fields[11:15])
    return total / CLK_TCK


@contextlib.contextmanager
def daemon(command: list[str], log: Path, ready: Callable[[], bool], what: str) -> Iterator[int]:
    """Run `command` in its own session until `ready()`; yield its pid; kill the session after."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240  # rspamd compiles its regexp cache on a first start
        while not ready():
            if process.poll() is not None:
                raise Skip(f"{what} exited at start: {log.read_text(errors='replace')[-1500:]}")
            if time.monotonic() > deadline:
                raise Skip(
                    f"{what} did not become ready: {log.read_text(errors='replace')[-1500:]}"
                )
            time.sleep(0.25)
        yield process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        time.sleep(0.5)  # let the workers of the session go too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def post_json(
    conn: http.client.HTTPConnection, path: str, raw: bytes, headers: dict[str, str]
) -> dict[str, object]:
    """POST a message, the JSON answer (RuntimeError unless HTTP 200)."""
    conn.request("POST", path, body=raw, headers=headers)
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"HTTP {answer.status}: {body[:200]!r}")
    found: dict[str, object] = orjson.loads(body)
    return found


def connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- engines --------------------------------------------------------------------------------


def run_mailwarden(messages: list[CorpusMessage], result: Result, model: str | None) -> None:
    from mailwarden.engine import Engine

    engine = Engine(model=model)
    engine.scan(messages[0].raw, learn=False)  # warm caches out of the count
    cpu = time.process_time()
    for message in messages:
        started = time.perf_counter()
        verdict = engine.scan(message.raw, learn=False)
        result.latencies_s.append(time.perf_counter() - started)
        result.flagged.append(verdict.verdict != "safe")
        result.labels.append(message.label)
    result.cpu_s = time.process_time() - cpu
    result.note = "in process, demo tenant, no baselines" + (f", model {model}" if model else "")


def run_service(
    messages: list[CorpusMessage], result: Result, folder: Path, model: str | None
) -> None:
    from mailwarden.service.config import hash_token

    port = free_port()
    config = folder / "service.yml"
    config.write_text(
        "tenants:\n  - tokens:\n      - name: bench\n"
        f"        sha256: {hash_token(TOKEN)}\n" + (f"model: {model}\n" if model else "")
    )
    command = [sys.executable, "-m", "mailwarden.cli", "serve", "--port", str(port)]
    command += ["--workers", "1", "--log", str(folder / "verdicts.sqlite")]
    command += ["--config", str(config)]

    def ready() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    with daemon(command, folder / "service.log", ready, "mailwarden serve") as pid:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"}

        def scan(raw: bytes) -> dict[str, object]:
            return post_json(conn, "/v1/scan?learn=false", raw, headers)

        scan(messages[0].raw)
        cpu = session_cpu(pid)
        for message in messages:
            started = time.perf_counter()
            try:
                verdict = scan(message.raw)
            except (OSError, RuntimeError, http.client.HTTPException):
                result.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            result.latencies_s.append(time.perf_counter() - started)
            result.flagged.append(verdict["verdict"] != "safe")
            result.labels.append(message.label)
        result.cpu_s = session_cpu(pid) - cpu
    result.note = "1 worker, HTTP keep-alive, verdict log fsynced per request" + (
        f", model {model}" if model else ""
    )


_SPAMD_ANSWER = re.compile(rb"Spam: (True|False|Yes|No) ; (-?[\d.]+) / (-?[\d.]+)")


def spamd_check(port: int, raw: bytes) -> tuple[bool, float]:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        head = f"CHECK SPAMC/1.5\r\nContent-length: {len(raw)}\r\nUser: bench\r\n\r\n"
        sock.sendall(head.encode() + raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    found = _SPAMD_ANSWER.search(answer)
    if not answer.startswith(b"SPAMD/") or found is None:
        raise RuntimeError(f"spamd answered {answer[:200]!r}")
    return found.group(1) in (b"True", b"Yes"), float(found.group(2))


def run_spamassassin(messages: list[CorpusMessage], result: Result, folder: Path) -> None:
    spamd = shutil.which("spamd") or ("/usr/sbin/spamd" if Path("/usr/sbin/spamd").exists() else "")
    if not spamd:
        raise Skip("spamd is not installed (apt-get install spamassassin spamc spamd sa-compile)")
    site = folder / "sa-site"
    site.mkdir()
    for pre in sorted(Path("/etc/spamassassin").glob("*.pre")):
        (site / pre.name).symlink_to(pre)
    shutil.copy(PEERS / "spamassassin" / "offline.cf", site / "offline.cf")
    port = free_port()
    command = [spamd, f"--listen=127.0.0.1:{port}", "--allowed-ips=127.0.0.1"]
    command += ["--max-children=2", "--nouser-config", f"--siteconfigpath={site}"]
    command += ["--syslog=stderr", f"--pidfile={folder / 'spamd.pid'}"]
    if os.geteuid() == 0:
        command += ["--username=nobody"]

    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING SPAMC/1.5\r\n\r\n")
                return b"PONG" in sock.recv(100)
        except OSError:
            return False

    with daemon(command, folder / "spamd.log", ready, "spamd") as pid:
        spamd_check(port, messages[0].raw)
        cpu = session_cpu(pid)
        for message in messages:
            started = time.perf_counter()
            try:
                spam, _ = spamd_check(port, message.raw)
            except (OSError, RuntimeError):
                result.errors += 1
                continue
            result.latencies_s.append(time.perf_counter() - started)
            result.flagged.append(spam)
            result.labels.append(message.label)
        result.cpu_s = session_cpu(pid) - cpu
    version = subprocess.run(
        ["spamassassin", "--version"], capture_output=True, text=True, check=False
    ).stdout.split("\n")[0]
    result.note = f"{version.strip()}, spamd protocol, offline.cf, required_score 5"


def run_rspamd(messages: list[CorpusMessage], result: Result, folder: Path) -> None:
    binary = shutil.which("rspamd")
    if not binary or not Path("/etc/rspamd/rspamd.conf").exists():
        raise Skip("rspamd is not installed (apt-get install rspamd)")
    port, controller = free_port(), free_port()
    cache = CACHE / "rspamd"  # its compiled regexp cache: minutes to build, kept between runs
    cache.mkdir(parents=True, exist_ok=True)
    command = [binary, "-f", "-i", "-c", str(PEERS / "rspamd" / "rspamd.conf")]
    command += ["--var=CONFDIR=/etc/rspamd", f"--var=LOCAL_CONFDIR={PEERS / 'rspamd'}"]
    command += [f"--var=DBDIR={cache}", f"--var=RUNDIR={folder}", f"--var=LOGDIR={folder}"]
    command += [f"--var=NORMAL_PORT={port}", f"--var=CONTROLLER_PORT={controller}"]
    headers = {"Hostname": "mx.bench.test", "Helo": "mx.bench.test"}

    def check(conn: http.client.HTTPConnection, raw: bytes) -> dict[str, object]:
        return post_json(conn, "/checkv2", raw, headers)

    def ready() -> bool:
        if not connects(port):
            return False
        try:
            check(http.client.HTTPConnection("127.0.0.1", port, timeout=5), b"Subject: x\r\n\r\nx")
            return True
        except (OSError, RuntimeError, http.client.HTTPException):
            return False

    with daemon(command, folder / "rspamd.out", ready, "rspamd") as pid:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        check(conn, messages[0].raw)
        cpu = session_cpu(pid)
        for message in messages:
            started = time.perf_counter()
            try:
                answer = check(conn, message.raw)
            except (OSError, RuntimeError, http.client.HTTPException):
                result.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            result.latencies_s.append(time.perf_counter() - started)
            result.flagged.append(answer["action"] in ("add header", "rewrite subject", "reject"))
            result.labels.append(message.label)
        result.cpu_s = session_cpu(pid) - cpu
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    result.note = f"{version.stdout.strip()}, /checkv2, 2 workers, action >= add header"


# --- main -----------------------------------------------------------------------------------


def draw(root: Path, count: int, seed: int, only: set[str] | None = None) -> list[CorpusMessage]:
    """`count` messages drawn reproducibly from every corpus (among the paths in `only` when
    given), with their labels, reviewed corrections applied."""
    from mailwarden.training.review import review_for

    mix = sample_mix(root, per_corpus=count // 6 + 50, seed=seed, only=only)
    mix.sort(key=lambda m: (m.corpus, m.path))
    chosen = random.Random(seed).sample(mix, min(count, len(mix)))
    for i, message in enumerate(chosen):
        review = review_for(hashlib.sha256(message.raw).hexdigest(), message.label)
        if review is not None:
            chosen[i] = dataclasses.replace(message, label=review.label)
    return [m for m in chosen if m.label in ("ham", "spam", "malicious")]


def held_out_paths(dataset: Path) -> set[str]:
    """The paths in `dataset`'s test split: mail a model trained on it never saw."""
    import pyarrow.parquet as pq

    table = pq.read_table(dataset, columns=["path", "split_time"])
    paths, splits = table.column("path").to_pylist(), table.column("split_time").to_pylist()
    return {p for p, s in zip(paths, splits, strict=True) if s == "test"}


def table(reports: list[dict[str, float | int | str]]) -> str:
    lines = [
        "| engine | messages | p50 ms | p99 ms | CPU ms/msg | msgs/s per core | precision "
        "| recall malicious | recall spam | FP rate ham |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        lines.append(
            f"| {r['engine']} | {r['messages']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['cpu_ms_per_msg']:.2f} | {r['msgs_per_core_s']:.0f} | {r['precision']:.3f} "
            f"| {r['recall_malicious']:.3f} | {r['recall_spam']:.3f} | {r['fp_rate_ham']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset")
    parser.add_argument("--json", type=Path, help="write the reports here")
    parser.add_argument("--model", help="mailwarden with this model beside the rules (default)")
    parser.add_argument(
        "--held-out", type=Path, help="draw only from this dataset's test split (for --model)"
    )
    args = parser.parse_args()
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(wanted) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    root = data_dir()
    if root is None:
        print("peer_bench: no shared corpora (../shared/data): skipped")
        return
    only = held_out_paths(args.held_out) if args.held_out else None
    messages = draw(root, args.messages, args.seed, only)
    counts: dict[str, int] = {}
    for m in messages:
        counts[m.label] = counts.get(m.label, 0) + 1
    where = f", test split of {args.held_out}" if args.held_out else ""
    print(f"peer_bench: {len(messages)} messages (seed {args.seed}{where}): {counts}", flush=True)
    reports = []
    with tempfile.TemporaryDirectory(prefix="mailwarden-peer-bench-") as tmp:
        Path(tmp).chmod(0o755)  # spamd reads its config as `nobody` when started by root
        for name in wanted:
            folder = Path(tmp) / name
            folder.mkdir(mode=0o755)
            result = Result(name)
            started = time.monotonic()
            try:
                if name == "mailwarden":
                    run_mailwarden(messages, result, args.model)
                elif name == "service":
                    run_service(messages, result, folder, args.model)
                elif name == "spamassassin":
                    run_spamassassin(messages, result, folder)
                else:
                    run_rspamd(messages, result, folder)
            except Skip as exc:
                print(f"peer_bench: {name} skipped: {exc}", flush=True)
                continue
            report = result.report()
            reports.append(report)
            print(
                f"peer_bench: {name} done in {time.monotonic() - started:.0f} s: "
                f"{orjson.dumps(report).decode()}",
                flush=True,
            )
    print()
    print(table(reports))
    if args.json:
        payload = {
            "messages": len(messages),
            "seed": args.seed,
            "labels": counts,
            "model": args.model,
            "held_out": str(args.held_out) if args.held_out else None,
        }
        args.json.write_bytes(orjson.dumps({**payload, "reports": reports}))


if __name__ == "__main__":
    main()
