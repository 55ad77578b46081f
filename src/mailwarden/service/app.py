"""The ASGI app (Starlette): scan, batch, feedback, verdict look-up, health, metrics, OpenAPI.

One `Service` per worker process: one Engine per tenant (sharing one loaded rule set), one scan
thread, one verdict log writer. A request is answered only after its rows are fsynced in the log.

Scans run on the event loop itself, one message at a time: a scan is about a millisecond of
pure CPU, and handing it to a thread cost more than it saved (the GIL hand-offs between the loop,
a scan thread and the log writer pushed p99 at 500 req/s from ~6 ms to ~25 ms; see
bench/service_bench.py). More parallelism comes from more worker processes. The request timeout
is enforced at every await (reading the body, between the messages of a batch, waiting for the
log); one message's scan is not interrupted, and the parser's caps bound it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailwarden.baselines import BaselineStore, open_store
from mailwarden.engine import Engine
from mailwarden.service.config import CONFIG_ENV, Caller, ServiceConfig, hash_token, resolve
from mailwarden.service.log import FeedbackRow, LogUnavailable, VerdictLog, VerdictRow, new_id
from mailwarden.service.metrics import CONTENT_TYPE, Metrics
from mailwarden.service.openapi import spec
from mailwarden.verdict import Verdict

MAX_FEEDBACK_BYTES = 64 * 1024
_JSON = "application/json"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mailwarden"'}

log = logging.getLogger("mailwarden.service")


class ApiError(Exception):
    """An answer other than 200: status, a stable code, and what to do about it."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict_id: str = Field(min_length=1, max_length=100)
    label: Literal["false_positive", "missed_attack"]
    note: str = Field(default="", max_length=2000)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=_JSON)


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": code, "detail": detail})
    return Response(body, status_code=status, media_type=_JSON, headers=headers)


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, "bad_request", f"learn must be true or false, not {value!r}")


Handler = Callable[[Request], Awaitable[Response]]


class Service:
    """Everything one worker process holds; built at startup (lifespan), closed at shutdown."""

    def __init__(self, config: ServiceConfig, origin: str = "service config") -> None:
        self.config = config
        self.origin = origin
        self.limits = config.limits
        self.metrics = Metrics()
        self.log = VerdictLog(
            config.verdict_log.path,
            store_raw=config.verdict_log.store_raw,
            busy_timeout_s=config.verdict_log.busy_timeout_s,
            max_bytes=config.verdict_log.max_bytes,
        )
        self.engines: dict[str, Engine] = {}
        self.callers: dict[str, Caller] = {}
        self.store: BaselineStore | None = None
        self.ready = False
        self._openapi = orjson.dumps(spec())

    # --- lifecycle --------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            self._load()
            self.log.open()
            self.ready = True
            yield
        finally:
            self.ready = False
            self.log.close()
            self._close_store()

    def _load(self) -> None:
        from mailwarden.detectors.rules import RuleSet

        tenants, self.callers = resolve(self.config, self.origin)
        rules = RuleSet.load(self.config.rule_dirs)
        if self.config.baselines is not None:
            self.store = open_store(self.config.baselines)
        self.engines = {
            tid: Engine(tenant, rules=rules, store=self.store, model=self.config.model)
            for tid, tenant in tenants.items()
        }

    def _close_store(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    # --- plumbing ---------------------------------------------------------------------------

    def endpoint(self, route: str, handler: Handler) -> Handler:
        """`handler` with the request timeout, errors as JSON, and latency and status metrics."""
        seconds = self.metrics.request_seconds.labels(route)

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.limits.request_timeout_s):
                    response = await handler(request)
            except ApiError as exc:
                self.metrics.errors.labels(exc.code).inc()
                response = _error(exc.status, exc.code, exc.detail, exc.headers)
            except LogUnavailable as exc:
                code = f"log_{exc.reason}"
                self.metrics.errors.labels(code).inc()
                response = _error(503, code, str(exc), {"Retry-After": "1"})
            except TimeoutError:
                self.metrics.errors.labels("timeout").inc()
                response = _error(
                    504,
                    "timeout",
                    f"no answer within {self.limits.request_timeout_s:g} s "
                    "(limits.request_timeout_s); nothing was acknowledged",
                )
            except Exception:  # a 500 with a reason, and the traceback in the service log
                log.exception("internal error on %s", route)
                self.metrics.errors.labels("internal").inc()
                response = _error(500, "internal", "internal error; see the service log")
            seconds.observe(time.perf_counter() - started)
            self.metrics.responses.labels(route, str(response.status_code)).inc()
            return response

        return run

    def caller(self, request: Request) -> Caller:
        header = request.headers.get("authorization")
        if not header:
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'", _CHALLENGE)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'", _CHALLENGE)
        caller = self.callers.get(hash_token(token))
        if caller is None:
            raise ApiError(
                401,
                "unauthorized",
                "unknown token",
                {"WWW-Authenticate": 'Bearer realm="mailwarden", error="invalid_token"'},
            )
        return caller

    async def body(self, request: Request, limit: int) -> bytes:
        """The request body, refused (413) as soon as it is known to exceed `limit`."""
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise ApiError(400, "bad_request", f"bad Content-Length {declared!r}")
            if int(declared) > limit:
                raise ApiError(
                    413, "too_large", f"body of {declared} bytes is over the {limit}-byte limit"
                )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "too_large", f"body is over the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    async def scan_and_log(self, caller: Caller, raws: Sequence[bytes], learn: bool) -> list[bytes]:
        """Score `raws`, log every verdict durably, return their JSON."""
        verdicts, rows, bodies = await self._score(self.engines[caller.tenant], caller, raws, learn)
        started = time.perf_counter()
        await self.log.append(rows)
        self.metrics.log_seconds.observe(time.perf_counter() - started)
        for verdict in verdicts:
            self.metrics.count_verdict(verdict)
        return bodies

    async def _score(
        self, engine: Engine, caller: Caller, raws: Sequence[bytes], learn: bool
    ) -> tuple[list[Verdict], list[VerdictRow], list[bytes]]:
        verdicts: list[Verdict] = []
        rows: list[VerdictRow] = []
        bodies: list[bytes] = []
        keep_raw = self.log.store_raw
        for index, raw in enumerate(raws):
            if index:
                await asyncio.sleep(0)  # a batch lets other requests (and its timeout) in
            verdict_id = new_id()
            verdict = engine.scan(raw, source=f"http:{verdict_id}", learn=learn)
            row = VerdictRow.of(
                verdict_id, caller.tenant, caller.token_name, verdict, raw if keep_raw else None
            )
            rows.append(row)
            verdicts.append(verdict)
            bodies.append(row.verdict_json)
        return verdicts, rows, bodies

    # --- routes -----------------------------------------------------------------------------

    async def scan(self, request: Request) -> Response:
        caller = self.caller(request)
        learn = _flag(request.query_params.get("learn"), True)
        raw = await self.body(request, self.limits.max_body_bytes)
        if not raw:
            raise ApiError(400, "empty_body", "POST the raw RFC 5322 message as the body")
        (body,) = await self.scan_and_log(caller, [raw], learn)
        return _json(body)

    async def scan_batch(self, request: Request) -> Response:
        caller = self.caller(request)
        payload = await self.body(request, self.limits.max_body_bytes)
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "bad_request", f"body is not JSON: {exc}") from exc
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            raise ApiError(
                400, "bad_request", 'expected {"messages": ["<base64 raw message>", ...]}'
            )
        if len(messages) > self.limits.max_batch_messages:
            raise ApiError(
                413,
                "too_large",
                f"{len(messages)} messages is over the limit of "
                f"{self.limits.max_batch_messages} (limits.max_batch_messages)",
            )
        learn = data.get("learn", True)
        if not isinstance(learn, bool):
            raise ApiError(400, "bad_request", "learn must be true or false")
        raws: list[bytes] = []
        for index, text in enumerate(messages):
            try:
                raws.append(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise ApiError(
                    400, "bad_request", f"messages[{index}] is not base64: {exc}"
                ) from exc
            if not raws[-1]:
                raise ApiError(400, "empty_body", f"messages[{index}] is empty")
        bodies = await self.scan_and_log(caller, raws, learn) if raws else []
        return _json(b'{"verdicts":[' + b",".join(bodies) + b"]}")

    async def feedback(self, request: Request) -> Response:
        caller = self.caller(request)
        payload = await self.body(request, MAX_FEEDBACK_BYTES)
        try:
            wanted = FeedbackRequest.model_validate_json(payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ApiError(400, "bad_request", problems) from exc
        row = FeedbackRow(
            id=new_id(),
            verdict_id=wanted.verdict_id,
            tenant=caller.tenant,
            label=wanted.label,
            note=wanted.note,
            token_name=caller.token_name,
            created_at=_now(),
        )
        (found,) = await self.log.append([row])
        if not found:
            raise ApiError(404, "not_found", f"no verdict {wanted.verdict_id} for this tenant")
        self.metrics.feedback.labels(caller.tenant, row.label).inc()
        record = {
            "id": row.id,
            "verdict_id": row.verdict_id,
            "label": row.label,
            "note": row.note,
            "token_name": row.token_name,
            "created_at": row.created_at,
        }
        return _json(orjson.dumps(record))

    async def get_verdict(self, request: Request) -> Response:
        caller = self.caller(request)
        verdict_id = request.path_params["verdict_id"]
        record = self.log.verdict(verdict_id, caller.tenant)
        if record is None:
            raise ApiError(404, "not_found", f"no verdict {verdict_id} for this tenant")
        return _json(orjson.dumps(record))

    async def get_raw(self, request: Request) -> Response:
        caller = self.caller(request)
        verdict_id = request.path_params["verdict_id"]
        raw = self.log.raw(verdict_id, caller.tenant)
        if raw is None:
            raise ApiError(
                404,
                "not_found",
                f"no verdict {verdict_id} for this tenant, or its message was not stored",
            )
        return Response(raw, media_type="message/rfc822")

    async def healthz(self, request: Request) -> Response:
        return _json(b'{"status":"ok"}')

    async def readyz(self, request: Request) -> Response:
        if not self.ready or not self.engines:
            return _error(503, "not_ready", "still starting, or shutting down")
        self.log.ping()
        return _json(b'{"status":"ready"}')

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE)

    async def openapi(self, request: Request) -> Response:
        return _json(self._openapi)


def create_app(config: ServiceConfig, origin: str = "service config") -> Starlette:
    service = Service(config, origin)
    table: list[tuple[str, str, Handler]] = [
        ("/v1/scan", "POST", service.scan),
        ("/v1/scan/batch", "POST", service.scan_batch),
        ("/v1/feedback", "POST", service.feedback),
        ("/v1/verdicts/{verdict_id}", "GET", service.get_verdict),
        ("/v1/verdicts/{verdict_id}/raw", "GET", service.get_raw),
        ("/healthz", "GET", service.healthz),
        ("/readyz", "GET", service.readyz),
        ("/metrics", "GET", service.metrics_text),
        ("/openapi.json", "GET", service.openapi),
    ]
    routes = [
        Route(path, service.endpoint(path, handler), methods=[method])
        for path, method, handler in table
    ]
    app = Starlette(routes=routes, lifespan=service.lifespan)
    app.state.service = service
    return app


def app_from_env() -> Starlette:
    """The app of one worker process: `serve` hands the checked config over in the environment."""
    config = ServiceConfig.model_validate_json(os.environ[CONFIG_ENV])
    return create_app(config, os.environ.get(CONFIG_ENV + "_ORIGIN", "service config"))


__all__ = ["ApiError", "Service", "app_from_env", "create_app", "new_id"]
