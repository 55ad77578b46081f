"""Tenant configuration: the organisation a message is scored for.

Typed and validated at load; a bad file fails with the file and key at fault
(`TenantConfigError`), never later in the middle of a scan.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mailwarden.config import ConfigError, load_yaml_model

Role = Literal["vip", "finance", "hr", "it", "executive_assistant"]


class Person(BaseModel):
    """Someone in the organisation whose name an attacker may borrow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    addresses: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()

    @field_validator("addresses")
    @classmethod
    def _lower_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for addr in value:
            if "@" not in addr:
                raise ValueError(f"not an email address: {addr!r}")
        return tuple(a.strip().lower() for a in value)


class Thresholds(BaseModel):
    """Score thresholds (sum of finding scores in the top category) and the action per verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suspicious: float = 4.0
    malicious: float = 8.0
    spam: float = 5.0
    reject: float = 15.0  # a malicious verdict at or above this score is rejected outright

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not 0 < self.suspicious <= self.malicious <= self.reject:
            raise ValueError("thresholds must satisfy 0 < suspicious <= malicious <= reject")
        if self.spam <= 0:
            raise ValueError("spam threshold must be positive")
        return self


class Actions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    safe: Literal["allow"] = "allow"
    spam: Literal["allow", "tag", "quarantine"] = "tag"
    suspicious: Literal["allow", "tag", "quarantine"] = "tag"
    malicious: Literal["tag", "quarantine", "reject"] = "quarantine"


class Tenant(BaseModel):
    """One organisation: its domains, people, lists and policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = ""
    domains: tuple[str, ...] = Field(min_length=1)
    people: tuple[Person, ...] = ()
    allow_senders: tuple[str, ...] = ()  # addresses or @domains never scored as attacks
    block_senders: tuple[str, ...] = ()  # addresses or @domains always malicious
    trusted_forwarders: tuple[str, ...] = ()  # hosts whose Received hops are internal
    thresholds: Thresholds = Thresholds()
    actions: Actions = Actions()
    disabled_rules: tuple[str, ...] = ()  # rule ids or symbols turned off for this tenant
    score_overrides: dict[str, float] = {}  # symbol -> score, as rspamd's local.d scores

    @field_validator("domains", "allow_senders", "block_senders", "trusted_forwarders")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value)

    # Derived lookups, built once: signals run per message and must not rebuild them.
    def model_post_init(self, __context: object) -> None:
        by_addr: dict[str, Person] = {}
        by_name: dict[str, Person] = {}
        for person in self.people:
            for addr in person.addresses:
                by_addr[addr] = person
            by_name[normalise_name(person.name)] = person
        object.__setattr__(self, "_person_by_addr", by_addr)
        object.__setattr__(self, "_person_by_name", by_name)

    def person_by_address(self, addr: str) -> Person | None:
        found: Person | None = self.__dict__.get("_person_by_addr", {}).get(addr.lower())
        return found

    def person_by_name(self, name: str) -> Person | None:
        found: Person | None = self.__dict__.get("_person_by_name", {}).get(normalise_name(name))
        return found

    def is_internal_domain(self, domain: str) -> bool:
        domain = domain.lower()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    def sender_listed(self, addr: str, listed: tuple[str, ...]) -> str:
        """The allow/block list entry matching `addr` ("a@b.com" or "@b.com"), or ""."""
        addr = addr.lower()
        domain = addr.rpartition("@")[2]
        for entry in listed:
            if entry == addr or (entry.startswith("@") and domain == entry[1:]):
                return entry
        return ""


def normalise_name(name: str) -> str:
    """'LAY, Kenneth' and 'kenneth  lay' both become 'kenneth lay'."""
    name = name.strip().strip("'\"").lower()
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    return " ".join(name.replace(".", " ").split())


class TenantConfigError(ConfigError):
    """A tenant file that cannot be used, naming the file and the key at fault."""


def load_tenant(path: str | Path) -> Tenant:
    return load_yaml_model(Path(path), Tenant, TenantConfigError)


def default_tenant() -> Tenant:
    """The embedded demo tenant (example.com) used when no tenant file is given."""
    source = resources.files("mailwarden.tenants").joinpath("default.yml")
    with resources.as_file(source) as path:
        return load_tenant(path)
