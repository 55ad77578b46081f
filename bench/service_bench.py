"""Load benchmark of the HTTP service: a real `mailwarden serve` on loopback, driven open-loop.

    .venv/bin/python bench/service_bench.py                      # 2 workers, 500 req/s, 20 s
    .venv/bin/python bench/service_bench.py --workers 1 --rate 300 --duration 30 --json out.json

Starts `mailwarden serve` (demo tenant, a fresh verdict log in a temporary folder, fsync on every
commit as in production) with N worker processes, then POSTs messages from the shared corpora
(`sample_mix`, every corpus, sizes as they come) to /v1/scan at a fixed rate. Open loop: request
i is due at start + i / rate whatever happened to earlier ones, on as many keep-alive
connections as it takes, and its latency is measured from when it was due, so a stalled server
cannot hide its queue (no coordinated omission). Reports p50 / p90 / p99 / max latency,
achieved throughput and errors, plus the generator's own lag (send time minus due time) and CPU,
to show whether the generator kept up. Everything shares this machine's cores; the generator
is a minimal HTTP/1.1 client on asyncio (uvloop when installed), not httpx.

Skips cleanly (exit 0) when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson
from latency import percentile  # bench/ is on sys.path when run as a script

from mailwarden.corpora import data_dir, sample_mix

TOKEN = "mw_service-bench-token-0123456789"
IDLE_S = 2.0  # under uvicorn's 5 s keep-alive timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(workers: int, port: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MAILWARDEN_DEMO_TOKEN": TOKEN}
    command = [sys.executable, "-m", "mailwarden.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--log", str(folder / "verdicts.sqlite")]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((folder / "server.log").read_text())
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the server did not become ready")


def request_bytes(raw: bytes) -> bytes:
    head = (
        "POST /v1/scan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: message/rfc822\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    )
    return head.encode() + raw


_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Generator:
    def __init__(self, port: int, max_connections: int) -> None:
        self.port = port
        self.max_connections = max_connections
        # (reader, writer, last used): connections idle over IDLE_S are dropped, not reused,
        # so the server's keep-alive timeout never closes one under a request.
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.free = asyncio.Condition()

    async def connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, used = self.idle.pop()
            if time.monotonic() - used < IDLE_S:
                return reader, writer
            writer.close()
            self.opened -= 1
        if self.opened < self.max_connections:
            self.opened += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return reader, writer
        async with self.free:
            await self.free.wait_for(lambda: bool(self.idle))
            reader, writer, _ = self.idle.pop()
            return reader, writer

    async def send(self, payload: bytes) -> int:
        reader, writer = await self.connection()
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        length = _LENGTH.search(head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        self.idle.append((reader, writer, time.monotonic()))
        async with self.free:
            self.free.notify()
        return int(head[9:12])

    async def run(
        self, payloads: list[bytes], rate: float, duration: float
    ) -> tuple[list[float], list[float], dict[str, int], float]:
        """(latencies s, send lags s, status counts, elapsed s) of one open-loop run."""
        total = int(rate * duration)
        latencies: list[float] = []
        lags: list[float] = []
        statuses: dict[str, int] = {}
        tasks: set[asyncio.Task[None]] = set()

        async def fire(index: int, due: float) -> None:
            lags.append(time.perf_counter() - due)
            try:
                status = str(await self.send(payloads[index % len(payloads)]))
            except (OSError, asyncio.IncompleteReadError) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter() + 0.05
        for index in range(total):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(fire(index, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return latencies, lags, statuses, time.perf_counter() - start

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2)


def server_means(port: int) -> dict[str, float]:
    """Mean engine time and mean durable-write time per request, from /metrics (ms)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values: dict[str, float] = {}
    for name in ("scan_duration_seconds", "verdict_log_write_duration_seconds"):
        sums = re.search(rf"mailwarden_{name}_sum (\S+)", text)
        counts = re.search(rf"mailwarden_{name}_count (\S+)", text)
        if sums and counts and float(counts.group(1)):
            values[name] = round(float(sums.group(1)) / float(counts.group(1)) * 1000, 3)
    return values


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at rate, not kept")
    parser.add_argument("--per-corpus", type=int, default=100)
    parser.add_argument("--connections", type=int, default=256, help="most open at once")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    root = data_dir()
    if root is None:
        print("no ../shared/data/corpora here: nothing to benchmark", file=sys.stderr)
        return 0
    mix = sample_mix(root, args.per_corpus)
    payloads = [request_bytes(m.raw) for m in mix]
    sizes = sorted(len(m.raw) for m in mix)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = asyncio.new_event_loop

    with tempfile.TemporaryDirectory(prefix="mailwarden-bench-") as folder:
        port = free_port()
        server = start_server(args.workers, port, Path(folder))
        try:
            generator = Generator(port, args.connections)
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(generator.run(payloads, args.rate, args.warmup))
                cpu_before = resource.getrusage(resource.RUSAGE_SELF)
                latencies, lags, statuses, elapsed = runner.run(
                    generator.run(payloads, args.rate, args.duration)
                )
                cpu_after = resource.getrusage(resource.RUSAGE_SELF)
                generator.close()
            means = server_means(port)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies.sort()
    lags.sort()
    ok = statuses.get("200", 0)
    report = {
        "workers": args.workers,
        "cpus": os.cpu_count(),
        # Anything else running shares the cores: a load average near or over 1 before the
        # run means the figures include someone else's work.
        "loadavg_1m_before": load_before,
        "target_rate": args.rate,
        "duration_s": args.duration,
        "messages": len(mix),
        "message_bytes_p50_p99_max": [
            sizes[len(sizes) // 2],
            sizes[int(len(sizes) * 0.99)],
            sizes[-1],
        ],
        "requests": len(latencies),
        "ok": ok,
        "statuses": statuses,
        "achieved_rps": round(ok / elapsed, 1),
        "latency_ms": {
            "p50": ms(latencies, 0.50),
            "p90": ms(latencies, 0.90),
            "p99": ms(latencies, 0.99),
            "max": round(latencies[-1] * 1000, 2),
        },
        "generator": {
            "lag_ms_p50": ms(lags, 0.50),
            "lag_ms_p99": ms(lags, 0.99),
            "cpu_share_of_one_core": round(cpu / elapsed, 3),
            "connections_opened": generator.opened,
        },
        "server_mean_ms": means,
    }
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
