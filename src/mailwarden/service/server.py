"""`mailwarden serve`: check the config, prepare the verdict log, run uvicorn with N workers.

The parent process checks everything a worker will need (config, tenant files, tokens, the log
file) so that a mistake fails once, loudly, before any worker starts. It then hands the checked
config to the workers in the environment (``MAILWARDEN_SERVICE_CONFIG_JSON``) and runs uvicorn;
with ``workers > 1`` uvicorn's supervisor spawns the worker processes, which share the listening
socket and the verdict log (SQLite WAL), each with its own engines, and restarts one that dies.

Stop it with SIGINT / SIGTERM (graceful). To kill it hard, kill its whole process group: the
workers are children of the supervisor.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from mailwarden.service.config import (
    CONFIG_ENV,
    DEMO_TOKEN_ENV,
    ServiceConfig,
    load_or_demo,
    resolve,
)
from mailwarden.service.log import LogUnavailable, VerdictLog

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SERVICE_MODULES = ("uvicorn", "starlette", "prometheus_client")


class ServiceUnavailable(RuntimeError):
    """The service cannot start: the `service` extra is missing or its log cannot be opened."""


def missing_modules() -> list[str]:
    return [name for name in SERVICE_MODULES if importlib.util.find_spec(name) is None]


def prepare(
    config_path: Path | None,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    log_path: Path | None = None,
) -> tuple[ServiceConfig, str, str | None]:
    """The checked config with command-line overrides, its name, and the demo token if any.

    Raises `ServiceConfigError` for a bad config and `ServiceUnavailable` for a missing extra
    or a verdict log that cannot be opened.
    """
    missing = missing_modules()
    if missing:
        raise ServiceUnavailable(
            f"`mailwarden serve` needs the service extra (missing: {', '.join(missing)}): "
            "pip install 'mailwarden[service]'"
        )
    config, origin, token = load_or_demo(config_path)
    update: dict[str, object] = {}
    if host is not None:
        update["host"] = host
    if port is not None:
        update["port"] = port
    if workers is not None:
        update["workers"] = workers
    if log_path is not None:
        update["verdict_log"] = config.verdict_log.model_copy(update={"path": log_path})
    if update:
        config = ServiceConfig.model_validate({**config.model_dump(), **update})
    # Absolute from here on: the workers resolve nothing against their own directory.
    config = config.model_copy(
        update={
            "verdict_log": config.verdict_log.model_copy(
                update={"path": config.verdict_log.path.resolve()}
            )
        }
    )
    resolve(config, origin)
    # Create the file, its schema and WAL mode once, here, before workers race to do it.
    verdict_log = VerdictLog(config.verdict_log.path, busy_timeout_s=10.0)
    try:
        verdict_log.open()
    except (LogUnavailable, OSError) as exc:
        raise ServiceUnavailable(
            f"cannot open the verdict log {config.verdict_log.path}: {exc}"
        ) from exc
    finally:
        verdict_log.close()
    return config, origin, token


def serve(config: ServiceConfig, origin: str, *, access_log: bool = False) -> None:
    """Run until interrupted (blocks)."""
    import uvicorn

    os.environ[CONFIG_ENV] = config.model_dump_json()
    os.environ[CONFIG_ENV + "_ORIGIN"] = origin
    if config.workers > 1 and not os.environ.get(MULTIPROC_ENV):
        folder = tempfile.mkdtemp(prefix="mailwarden-metrics-")
        os.environ[MULTIPROC_ENV] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    uvicorn.run(
        "mailwarden.service.app:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )


def announce(config: ServiceConfig, origin: str, token: str | None) -> None:
    where = f"http://{config.host}:{config.port}"
    lines = [
        f"mailwarden: serving on {where} with {config.workers} worker(s) ({origin})",
        f"mailwarden: verdict log {config.verdict_log.path}"
        + ("" if config.verdict_log.store_raw else " (raw messages not stored)"),
    ]
    if importlib.util.find_spec("uvloop") is None:
        lines.append(
            "mailwarden: warning: uvloop is not installed; on the stdlib event loop this service "
            "measured ~30x slower (pip install 'mailwarden[service]')"
        )
    if token is not None:
        lines.append(f"mailwarden: demo tenant token: {token}  (set {DEMO_TOKEN_ENV} to choose it)")
        lines.append(
            f"  curl -H 'Authorization: Bearer {token}' --data-binary @samples/"
            f"credential_phishing_m365_password_expiry.eml {where}/v1/scan"
        )
    print("\n".join(lines), file=sys.stderr, flush=True)
