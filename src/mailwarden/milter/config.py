"""The `milter:` section of the service config: where the milter listens and what it does when
it cannot score a message.

    milter:
      socket: unix:/run/mailwarden/milter.sock   # or inet:8890@127.0.0.1
      on_error: accept            # fail-open; `tempfail`: fail-closed
      scan_timeout_s: 5
      max_scan_bytes: 8388608
      oversize: truncate          # truncate | tempfail | reject | skip
      default_tenant: acme        # for recipients outside every tenant's domains
      metrics_port: 9466          # Prometheus /metrics on 127.0.0.1 (needs prometheus-client)

Pure pydantic: importing it does not need the `milter` extra (pymilter). The tenants, the
verdict log, the baselines and extra rules come from the rest of the same file (see
docs/service.md), so the HTTP service and the milter score for the same tenants into the same log.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_SOCKET = "unix:/run/mailwarden/milter.sock"
_SOCKET = re.compile(r"^(unix|local):/.+$|^inet:\d{1,5}@[0-9A-Za-z.\-\[\]:]+$|^inet6:\d{1,5}@.+$")


class MilterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # libmilter's address syntax: unix:/path (recommended: over TCP, Postfix's small writes
    # stalled ~40 ms per exchange on loopback; see docs/milter.md) or inet:PORT@127.0.0.1.
    socket: str = DEFAULT_SOCKET
    # A unix socket's mode and group: the MTA's user must be able to write to it (Postfix's
    # smtpd runs as `postfix`: socket_group: postfix, or run the milter in that group).
    socket_mode: int = Field(default=0o660, ge=0, le=0o777)
    socket_group: str | None = None
    # accept: fail-open (a message that could not be scored or logged is delivered, with an
    # X-Mailwarden-Error header); tempfail: fail-closed (4.x.x: the sender's MTA retries).
    on_error: Literal["accept", "tempfail"] = "accept"
    scan_timeout_s: float = Field(default=5.0, gt=0, le=300)  # scoring deadline per message
    log_timeout_s: float = Field(default=5.0, gt=0, le=300)  # verdict log commit deadline
    # How many bytes (headers and body) are buffered and scored. Above it, `oversize`:
    # truncate: score the first max_scan_bytes and record a `scan-truncated` defect;
    # tempfail: 452 4.3.4; reject: 552 5.3.4; skip: deliver unscored with X-Mailwarden-Error.
    max_scan_bytes: int = Field(default=8 * 1024 * 1024, ge=4096)
    oversize: Literal["truncate", "tempfail", "reject", "skip"] = "truncate"
    # The tenant for a recipient outside every tenant's domains; None: such mail is delivered
    # unscored (with X-Mailwarden-Error) unless the config serves exactly one tenant.
    default_tenant: str | None = None
    learn: bool = True  # update the behavioral baselines (when the config has a store)
    top_symbols: int = Field(default=5, ge=0, le=50)  # symbols listed in X-Mailwarden-Symbols
    name: str = Field(default="milter", min_length=1, max_length=100)  # token_name in the log
    timeout_s: int = Field(default=30, ge=1, le=3600)  # libmilter's I/O timeout with the MTA
    # Prometheus metrics over HTTP (GET /metrics) on metrics_host:metrics_port; None: off.
    # Needs prometheus-client (the `service` extra). Loopback by default: scrape it locally.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"

    @field_validator("socket")
    @classmethod
    def _socket(cls, value: str) -> str:
        if not _SOCKET.match(value):
            raise ValueError(
                f"{value!r} is not a milter socket: use unix:/absolute/path or inet:PORT@HOST"
            )
        return value
