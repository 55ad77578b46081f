"""The service config file: which API tokens score mail for which tenant, where verdicts go.

    host: 127.0.0.1
    port: 8025
    workers: 2
    tenants:
      - file: tenants/acme.yml          # relative to this file; omit for the embedded demo
        tokens:
          - name: acme-mx               # shown in feedback records and logs, never secret
            sha256: 9f86d081884c7d65...  # sha256 hex of the token: the token is never stored
    verdict_log:
      path: verdicts.sqlite             # relative to this file
      store_raw: true                   # keep the message bytes for replay (see docs/service.md)
    limits:
      max_body_bytes: 26214400
      request_timeout_s: 10
    baselines: {type: sqlite, path: baselines.sqlite}   # optional behavioral store
    rule_dirs: [rules/]                 # optional extra rules, as `scan --rules`
    model: default                      # optional trained model, as `scan --model`

Typed and checked at load like the tenant files: a bad file fails with the file and the key at
fault (`ServiceConfigError`), and so does a tenant file it names. Tokens are random secrets of at
least 128 bits (`mailwarden serve --new-token` makes one), so a plain sha256 is the right hash:
there is nothing to brute-force, and a lookup costs one hash per request.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mailwarden.baselines import StoreConfig
from mailwarden.config import ConfigError, load_yaml_model
from mailwarden.milter.config import MilterSettings
from mailwarden.tenant import Tenant, TenantConfigError, default_tenant, load_tenant

DEMO_TOKEN_ENV = "MAILWARDEN_DEMO_TOKEN"
CONFIG_ENV = "MAILWARDEN_SERVICE_CONFIG_JSON"  # how `serve` hands the checked config to workers
DEFAULT_PORT = 8025


class ServiceConfigError(ConfigError):
    """A service config that cannot be used, naming the file and the key at fault."""


class TokenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class TenantEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = None  # None: the embedded demo tenant (example.com)
    tokens: tuple[TokenEntry, ...] = Field(min_length=1)


class VerdictLogConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("mailwarden-verdicts.sqlite")
    # Keep the raw message with its verdict, so it can be replayed and a missed attack
    # reported by feedback can be trained on. Off: only its sha256 ties the verdict to the bytes.
    store_raw: bool = True
    # How long a write waits for another process's lock before the request fails with 503.
    busy_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # Cap on the log file (bytes), so it cannot fill a disk it shares with the mail system:
    # at the cap, writes fail like a full disk (HTTP 503 log_disk_full). None: no cap.
    max_bytes: int | None = Field(default=None, ge=65536)


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)  # 413 above this
    max_batch_messages: int = Field(default=100, ge=1, le=10_000)
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)  # 504 after this


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    tenants: tuple[TenantEntry, ...] = Field(min_length=1)
    verdict_log: VerdictLogConfig = VerdictLogConfig()
    limits: Limits = Limits()
    baselines: StoreConfig | None = None
    rule_dirs: tuple[Path, ...] = ()  # extra rule directories, as `mailwarden scan --rules`
    # a trained model beside the rules, as `mailwarden scan --model`: "default" (packaged) or a
    # model / registry directory; one that cannot load leaves the rules deciding (said per verdict)
    model: str | None = None
    milter: MilterSettings = MilterSettings()  # `mailwarden milter` (docs/milter.md)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a token belongs to."""

    tenant: str
    token_name: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh API token: 192 random bits, URL-safe."""
    return "mw_" + secrets.token_urlsafe(24)


def load_service_config(path: Path) -> ServiceConfig:
    """Read and check a service config; relative paths in it resolve against its folder."""
    config = load_yaml_model(path, ServiceConfig, ServiceConfigError)
    base = path.resolve().parent
    tenants = tuple(
        entry.model_copy(update={"file": base / entry.file}) if entry.file else entry
        for entry in config.tenants
    )
    update: dict[str, object] = {"tenants": tenants}
    if not config.verdict_log.path.is_absolute():
        update["verdict_log"] = config.verdict_log.model_copy(
            update={"path": base / config.verdict_log.path}
        )
    update["rule_dirs"] = tuple(base / d for d in config.rule_dirs)
    baselines = config.baselines
    if baselines is not None and baselines.type == "sqlite" and not baselines.path.is_absolute():
        update["baselines"] = baselines.model_copy(update={"path": base / baselines.path})
    config = config.model_copy(update=update)
    resolve(config, str(path))  # fail now on bad tenant files and clashing ids or tokens
    return config


def demo_config(token: str | None = None) -> tuple[ServiceConfig, str]:
    """The embedded config `mailwarden serve` runs with no --config: the demo tenant, one token.

    The token is `$MAILWARDEN_DEMO_TOKEN` when set, else a fresh random one (the caller prints
    it). The verdict log is ./mailwarden-verdicts.sqlite.
    """
    token = token or os.environ.get(DEMO_TOKEN_ENV) or new_token()
    entry = TenantEntry(tokens=(TokenEntry(name="demo", sha256=hash_token(token)),))
    return ServiceConfig(tenants=(entry,)), token


def load_or_demo(
    path: Path | None, token: str | None = None
) -> tuple[ServiceConfig, str, str | None]:
    """(config, origin, demo token): the file at `path`, or with none the embedded demo config
    (`demo_config`) and its token."""
    if path is None:
        config, demo_token = demo_config(token)
        return config, "embedded demo config", demo_token
    return load_service_config(path), str(path), None


def resolve(config: ServiceConfig, origin: str) -> tuple[dict[str, Tenant], dict[str, Caller]]:
    """Load every tenant file and index the tokens: tenant id -> Tenant, token hash -> Caller.

    `origin` names the config in errors. Two entries for one tenant id, or one token hash
    given twice, are errors: a token must name exactly one tenant.
    """
    tenants: dict[str, Tenant] = {}
    callers: dict[str, Caller] = {}
    first_entry: dict[str, int] = {}
    for index, entry in enumerate(config.tenants):
        key = f"tenants.{index}"
        try:
            tenant = load_tenant(entry.file) if entry.file else default_tenant()
        except TenantConfigError as exc:
            raise ServiceConfigError(f"{origin}: {key}.file: {exc}") from exc
        if tenant.id in tenants:
            raise ServiceConfigError(
                f"{origin}: {key}.file: tenant id {tenant.id!r} is already served by "
                f"tenants.{first_entry[tenant.id]}"
            )
        tenants[tenant.id] = tenant
        first_entry[tenant.id] = index
        for token_index, token in enumerate(entry.tokens):
            if token.sha256 in callers:
                raise ServiceConfigError(
                    f"{origin}: {key}.tokens.{token_index}.sha256: the same token is already "
                    f"given to tenant {callers[token.sha256].tenant!r}"
                )
            callers[token.sha256] = Caller(tenant=tenant.id, token_name=token.name)
    return tenants, callers
