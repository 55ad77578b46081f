"""The HTTP service as a client uses it: scan, feedback, look-ups, tokens, limits, metrics, and a
real multi-worker server killed mid-load that loses no acknowledged verdict."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner
from starlette.routing import Route
from starlette.testclient import TestClient

from mailwarden.cli import EXIT_USAGE, main
from mailwarden.service import server
from mailwarden.service.app import create_app
from mailwarden.service.config import (
    ServiceConfig,
    ServiceConfigError,
    hash_token,
    load_service_config,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
PHISH = (SAMPLES / "credential_phishing_m365_password_expiry.eml").read_bytes()
HAM = (SAMPLES / "ham_docusign_envelope.eml").read_bytes()
DEMO_TOKEN = "mw_demo-token-for-tests-0123456789"
GLOBEX_TOKEN = "mw_globex-token-for-tests-0123456789"

GLOBEX_TENANT = """\
id: globex
name: Globex
domains: [globex.example]
people:
  - name: Hank Scorpio
    addresses: [hank@globex.example]
    roles: [vip]
"""


def write_config(tmp: Path, extra: str = "", workers: int = 1) -> Path:
    (tmp / "globex.yml").write_text(GLOBEX_TENANT)
    config = tmp / "service.yml"
    config.write_text(
        f"workers: {workers}\n"
        "tenants:\n"
        "  - tokens: [{name: demo-mx, sha256: " + hash_token(DEMO_TOKEN) + "}]\n"
        "  - file: globex.yml\n"
        "    tokens: [{name: globex-mx, sha256: " + hash_token(GLOBEX_TOKEN) + "}]\n"
        "verdict_log: {path: verdicts.sqlite}\n" + extra
    )
    return config


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


DEMO, GLOBEX = auth(DEMO_TOKEN), auth(GLOBEX_TOKEN)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    config = load_service_config(write_config(tmp_path_factory.mktemp("service")))
    with TestClient(create_app(config)) as test_client:
        yield test_client


def scan(client: TestClient, raw: bytes, headers: dict[str, str]) -> dict[str, object]:
    response = client.post("/v1/scan", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def logged_verdicts(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        count: int = conn.execute("SELECT count(*) FROM verdicts").fetchone()[0]
    return count


# --- scanning and looking up ------------------------------------------------------------------


def test_a_phishing_sample_is_malicious_and_its_verdict_is_logged(client: TestClient) -> None:
    verdict = scan(client, PHISH, DEMO)
    assert verdict["verdict"] == "malicious"
    assert verdict["category"] == "credential_phishing"
    assert verdict["tenant"] == "example"
    assert verdict["schema_version"] == 1
    assert re.fullmatch(r"[0-9a-f-]{36}", str(verdict["id"]))

    stored = client.get(f"/v1/verdicts/{verdict['id']}", headers=DEMO).json()
    assert {k: stored[k] for k in verdict} == verdict
    assert stored["feedback"] == [] and stored["raw_stored"] is True
    raw = client.get(f"/v1/verdicts/{verdict['id']}/raw", headers=DEMO)
    assert raw.content == PHISH and raw.headers["content-type"] == "message/rfc822"


def test_malformed_input_gets_a_verdict_with_defects_and_empty_input_a_400(
    client: TestClient,
) -> None:
    verdict = scan(client, b"\x00\xff\xfe not a message\r\n\r\n\x80", DEMO)
    assert "not-mime" in verdict["defects"]  # type: ignore[operator]
    empty = client.post("/v1/scan", content=b"", headers=DEMO)
    assert empty.status_code == 400 and empty.json()["error"] == "empty_body"


def test_batch_scores_each_message_in_order(client: TestClient) -> None:
    messages = [base64.b64encode(m).decode() for m in (PHISH, HAM)]
    response = client.post("/v1/scan/batch", json={"messages": messages}, headers=DEMO)
    assert response.status_code == 200, response.text
    verdicts = response.json()["verdicts"]
    assert [v["verdict"] for v in verdicts] == ["malicious", "safe"]
    for verdict in verdicts:
        assert client.get(f"/v1/verdicts/{verdict['id']}", headers=DEMO).status_code == 200
    bad = client.post("/v1/scan/batch", json={"messages": ["%%%"]}, headers=DEMO)
    assert bad.status_code == 400 and "messages[0]" in bad.json()["detail"]
    many = client.post("/v1/scan/batch", json={"messages": messages * 51}, headers=DEMO)
    assert many.status_code == 413


def test_feedback_round_trip(client: TestClient) -> None:
    verdict = scan(client, HAM, DEMO)
    sent = {"verdict_id": verdict["id"], "label": "missed_attack", "note": "fake DocuSign"}
    response = client.post("/v1/feedback", json=sent, headers=DEMO)
    assert response.status_code == 200, response.text
    feedback = response.json()
    assert feedback["label"] == "missed_attack" and feedback["token_name"] == "demo-mx"

    stored = client.get(f"/v1/verdicts/{verdict['id']}", headers=DEMO).json()
    assert [(f["id"], f["label"], f["note"]) for f in stored["feedback"]] == [
        (feedback["id"], "missed_attack", "fake DocuSign")
    ]
    wrong_label = client.post("/v1/feedback", json={**sent, "label": "meh"}, headers=DEMO)
    assert wrong_label.status_code == 400 and "label" in wrong_label.json()["detail"]
    unknown = client.post("/v1/feedback", json={**sent, "verdict_id": "nope"}, headers=DEMO)
    assert unknown.status_code == 404


# --- tokens and tenants -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Basic {DEMO_TOKEN}"}],
    ids=["no-token", "unknown-token", "wrong-scheme"],
)
def test_no_or_wrong_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/scan", content=HAM, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_one_tenant_never_sees_another_tenants_verdicts_or_feedback(client: TestClient) -> None:
    demo = scan(client, PHISH, DEMO)
    globex = scan(client, PHISH, GLOBEX)
    assert (demo["tenant"], globex["tenant"]) == ("example", "globex")
    for path in (f"/v1/verdicts/{demo['id']}", f"/v1/verdicts/{demo['id']}/raw"):
        assert client.get(path, headers=GLOBEX).status_code == 404
    sneaky = {"verdict_id": demo["id"], "label": "false_positive", "note": "globex was here"}
    assert client.post("/v1/feedback", json=sneaky, headers=GLOBEX).status_code == 404
    assert client.get(f"/v1/verdicts/{demo['id']}", headers=DEMO).json()["feedback"] == []
    assert client.get(f"/v1/verdicts/{globex['id']}", headers=GLOBEX).status_code == 200
    assert client.get(f"/v1/verdicts/{globex['id']}", headers=DEMO).status_code == 404


# --- metrics, health, OpenAPI -----------------------------------------------------------------


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rpartition(" ")[2])
    return 0.0


def test_metrics_counters_move(client: TestClient) -> None:
    before = client.get("/metrics").text
    scan(client, PHISH, DEMO)
    client.post("/v1/scan", content=HAM)  # no token
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    labels = {
        "tenant": "example",
        "verdict": "malicious",
        "category": "credential_phishing",
        "action": "reject",
    }
    assert metric(text, "mailwarden_verdicts_total", **labels) == (
        metric(before, "mailwarden_verdicts_total", **labels) + 1
    )
    symbol = {"symbol": "CRED_LINK_LOOKALIKE_BRAND"}
    assert metric(text, "mailwarden_findings_total", **symbol) > metric(
        before, "mailwarden_findings_total", **symbol
    )
    unauthorized = {"kind": "unauthorized"}
    assert metric(text, "mailwarden_errors_total", **unauthorized) == (
        metric(before, "mailwarden_errors_total", **unauthorized) + 1
    )
    count = "mailwarden_http_request_duration_seconds_count"
    assert metric(text, count, route="/v1/scan") >= metric(before, count, route="/v1/scan") + 2


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_openapi_describes_every_route_and_nothing_else(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = {
        (route.path, method)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert described == served


# --- limits and failures ----------------------------------------------------------------------


def small_app(tmp_path: Path, extra: str) -> TestClient:
    config = load_service_config(write_config(tmp_path, extra))
    return TestClient(create_app(config))


def test_a_body_over_the_limit_is_413_declared_or_streamed(tmp_path: Path) -> None:
    with small_app(tmp_path, "limits: {max_body_bytes: 4096}\n") as client:
        declared = client.post("/v1/scan", content=b"x" * 5000, headers=DEMO)
        assert declared.status_code == 413 and declared.json()["error"] == "too_large"
        streamed = client.post("/v1/scan", content=iter([b"x" * 3000] * 2), headers=DEMO)
        assert streamed.status_code == 413
        assert scan(client, HAM[:4000], DEMO)["id"]
    assert logged_verdicts(tmp_path / "verdicts.sqlite") == 1


def test_a_slow_request_is_504_and_acknowledges_nothing(tmp_path: Path) -> None:
    with small_app(tmp_path, "limits: {request_timeout_s: 0.2}\n") as client:
        engine = client.app.state.service.engines["example"]  # type: ignore[attr-defined]
        fast = engine.scan

        def slow(raw: bytes, **kwargs: object) -> object:
            time.sleep(0.5)
            return fast(raw, **kwargs)

        engine.scan = slow
        response = client.post("/v1/scan", content=HAM, headers=DEMO)
        assert response.status_code == 504 and response.json()["error"] == "timeout"
        assert "id" not in response.json()  # (its row may be logged: logged, never acked)
        engine.scan = fast
        verdict = scan(client, HAM, DEMO)
        assert client.get(f"/v1/verdicts/{verdict['id']}", headers=DEMO).status_code == 200


def test_a_locked_log_is_503_and_writes_nothing(tmp_path: Path) -> None:
    extra = "verdict_log: {path: verdicts.sqlite, busy_timeout_s: 0.2}\n"
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("verdict_log: {path: verdicts.sqlite}\n", extra))
    with TestClient(create_app(load_service_config(config))) as client:
        scan(client, HAM, DEMO)
        blocker = sqlite3.connect(tmp_path / "verdicts.sqlite", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        response = client.post("/v1/scan", content=PHISH, headers=DEMO)
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "log_locked"
        assert "lock" in response.json()["detail"]
        blocker.execute("ROLLBACK")
        blocker.close()
        scan(client, PHISH, DEMO)
    assert logged_verdicts(tmp_path / "verdicts.sqlite") == 2


def test_a_full_log_is_503_and_never_half_writes(tmp_path: Path) -> None:
    extra = "verdict_log: {path: verdicts.sqlite, max_bytes: 131072}\n"
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("verdict_log: {path: verdicts.sqlite}\n", extra))
    acked: list[str] = []
    with TestClient(create_app(load_service_config(config))) as client:
        for index in range(60):  # distinct messages: each stores its raw bytes
            raw = HAM.replace(b"Subject: ", b"Subject: %d " % index, 1) + os.urandom(3000)
            response = client.post("/v1/scan", content=raw, headers=DEMO)
            if response.status_code != 200:
                break
            acked.append(response.json()["id"])
        assert response.status_code == 503, "the capped log never filled"
        assert response.json()["error"] == "log_disk_full"
        assert "full" in response.json()["detail"]
    with sqlite3.connect(tmp_path / "verdicts.sqlite") as conn:
        logged = [row[0] for row in conn.execute("SELECT id FROM verdicts ORDER BY id")]
        orphans = conn.execute(
            "SELECT count(*) FROM verdicts WHERE sha256 NOT IN (SELECT sha256 FROM messages)"
        ).fetchone()[0]
    assert sorted(acked) == logged and orphans == 0


def test_with_a_baseline_store_the_service_scores_and_learns(tmp_path: Path) -> None:
    with small_app(tmp_path, "baselines: {type: sqlite, path: baselines.sqlite}\n") as client:
        first = scan(client, HAM, DEMO)
        again = scan(client, HAM, DEMO)
        unlearned = client.post("/v1/scan?learn=false", content=HAM, headers=DEMO)
        assert unlearned.status_code == 200
    for verdict in (first, again, unlearned.json()):
        assert not [d for d in verdict["defects"] if d.startswith("baseline-error")]  # type: ignore[union-attr]
    assert (tmp_path / "baselines.sqlite").stat().st_size > 0


# --- config and the command -------------------------------------------------------------------


def test_a_bad_config_names_the_file_and_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "limits: {max_body_bytes: lots}\n")
    with pytest.raises(ServiceConfigError, match=r"service\.yml: limits\.max_body_bytes"):
        load_service_config(config)
    (tmp_path / "globex.yml").unlink()
    config = write_config(tmp_path)
    (tmp_path / "globex.yml").write_text("id: globex\ndomains: []\n")
    with pytest.raises(ServiceConfigError, match=r"tenants\.1\.file: .*globex\.yml: domains"):
        load_service_config(config)


def test_one_token_cannot_name_two_tenants(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(hash_token(GLOBEX_TOKEN), hash_token(DEMO_TOKEN)))
    with pytest.raises(ServiceConfigError, match=r"tenants\.1\.tokens\.0\.sha256"):
        load_service_config(config)


def test_serve_without_the_service_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server, "SERVICE_MODULES", ("uvicorn", "no_such_module_mailwarden"))
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == EXIT_USAGE
    assert "pip install 'mailwarden[service]'" in result.output
    assert "no_such_module_mailwarden" in result.output


def test_serve_new_token_prints_a_token_and_its_hash() -> None:
    result = CliRunner().invoke(main, ["serve", "--new-token"])
    assert result.exit_code == 0
    token = re.search(r"token:\s+(\S+)", result.output)
    assert token and hash_token(token.group(1)) in result.output


def test_the_embedded_demo_config_takes_its_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MAILWARDEN_DEMO_TOKEN", DEMO_TOKEN)
    config, origin, token = server.prepare(None, log_path=tmp_path / "log.sqlite")
    assert token == DEMO_TOKEN and origin == "embedded demo config"
    assert config.tenants[0].tokens[0].sha256 == hash_token(DEMO_TOKEN)
    assert isinstance(config, ServiceConfig) and config.host == "127.0.0.1"


# --- a real server, killed mid-load -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailwarden.cli",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: workers included in the kill
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx2.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "died")
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the server did not become ready")


def test_sigkill_mid_load_loses_no_acknowledged_verdict_or_feedback(tmp_path: Path) -> None:
    config = write_config(tmp_path, workers=2)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    feedback: dict[str, str] = {}  # feedback id -> verdict id
    lock = threading.Lock()
    stop = threading.Event()

    def load(index: int) -> None:
        tokens = (DEMO, GLOBEX)
        with httpx2.Client(base_url=base, timeout=5) as http:
            sent = 0
            while not stop.is_set():
                headers = tokens[sent % 2]
                raw = PHISH if sent % 3 else HAM
                try:
                    response = http.post("/v1/scan", content=raw, headers=headers)
                    if response.status_code != 200:
                        continue
                    verdict_id = response.json()["id"]
                    with lock:
                        acked.append(verdict_id)
                    if sent % 4 == 0:
                        note = {"verdict_id": verdict_id, "label": "false_positive"}
                        answer = http.post("/v1/feedback", json=note, headers=headers)
                        if answer.status_code == 200:
                            with lock:
                                feedback[answer.json()["id"]] = verdict_id
                except httpx2.HTTPError:
                    return  # the server is gone
                sent += 1

    process = start_server(config, port)
    try:
        threads = [threading.Thread(target=load, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)  # mid-load: requests are in flight
        process.wait()
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        stop.set()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert len(acked) >= 50 and feedback

    process = start_server(config, port)
    try:
        with httpx2.Client(base_url=base, timeout=5) as http:
            tenant_of = {}
            for verdict_id in acked:
                for headers in (DEMO, GLOBEX):
                    response = http.get(f"/v1/verdicts/{verdict_id}", headers=headers)
                    if response.status_code == 200:
                        tenant_of[verdict_id] = response.json()
                        break
            assert set(tenant_of) == set(acked), "an acknowledged verdict was lost"
            stored = {f["id"] for record in tenant_of.values() for f in record["feedback"]}
            assert set(feedback) <= stored, "acknowledged feedback was lost"
            metrics = http.get("/metrics").text  # whichever worker answers sums both
            route = {"route": "/v1/verdicts/{verdict_id}", "status": "200"}
            assert metric(metrics, "mailwarden_http_responses_total", **route) == len(acked)
        with sqlite3.connect(tmp_path / "verdicts.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_configured_model_that_cannot_load_leaves_the_rules_scoring(tmp_path: Path) -> None:
    config = load_service_config(write_config(tmp_path, extra="model: /nonexistent/model\n"))
    with TestClient(create_app(config)) as test_client:
        verdict = scan(test_client, PHISH, DEMO)
    assert verdict["verdict"] == "malicious"  # the rules still decide
    assert "model-unavailable:model" in verdict["defects"]  # type: ignore[operator]
