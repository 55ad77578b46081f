"""Reference data the signals read: free-mail providers, brands, abused TLDs, free hosting.

Loaded once at import from the packaged ``mailwarden/data`` files; every lookup here is a set or
dict probe, cached where a domain is worked on (domains repeat across messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from mailwarden.domains import registrable


def _read(name: str) -> str:
    return resources.files("mailwarden").joinpath("data", name).read_text(encoding="utf-8")


def _lines(name: str) -> list[str]:
    out = []
    for line in _read(name).splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line:
            out.append(line)
    return out


FREEMAIL: frozenset[str] = frozenset(_lines("freemail.txt"))
ABUSED_TLDS: frozenset[str] = frozenset(_lines("abused_tlds.txt"))

_hosting = _lines("free_hosting.txt")
# "docs.google.com/forms" -> host suffix "docs.google.com" with a path prefix "/forms".
FREE_HOSTING_HOSTS: frozenset[str] = frozenset(e for e in _hosting if "/" not in e)
FREE_HOSTING_PATHS: dict[str, tuple[str, ...]] = {}
for _entry in _hosting:
    if "/" in _entry:
        _host, _, _path = _entry.partition("/")
        FREE_HOSTING_PATHS[_host] = (*FREE_HOSTING_PATHS.get(_host, ()), "/" + _path)


@dataclass(frozen=True, slots=True)
class Brand:
    id: str
    name: str
    keywords: tuple[str, ...]  # named anywhere (subject, display name, body)
    display: tuple[str, ...]  # named only in a display name made of service words
    labels: tuple[str, ...]  # domain labels a lookalike imitates
    domains: frozenset[str]  # the brand's own domains (registrable or host)


def _load_brands() -> dict[str, Brand]:
    raw = yaml.safe_load(_read("brands.yml"))
    brands: dict[str, Brand] = {}
    for bid, spec in raw.items():
        domains = tuple(str(d).lower() for d in spec["domains"])
        labels = spec.get("labels") or [registrable(d).split(".", 1)[0] for d in domains]
        brands[bid] = Brand(
            id=bid,
            name=str(spec.get("name", bid)),
            keywords=tuple(str(k).lower() for k in spec.get("keywords", ())),
            display=tuple(str(k).lower() for k in spec.get("display", ())),
            labels=tuple(dict.fromkeys(str(lb).lower() for lb in labels)),
            domains=frozenset(domains),
        )
    return brands


BRANDS: dict[str, Brand] = _load_brands()
# Every domain any brand owns, mapped to the brands that own it.
_BRAND_BY_DOMAIN: dict[str, tuple[str, ...]] = {}
for _b in BRANDS.values():
    for _d in _b.domains:
        _BRAND_BY_DOMAIN[_d] = (*_BRAND_BY_DOMAIN.get(_d, ()), _b.id)


def parent_domains(host: str) -> list[str]:
    """``a.b.example.com`` -> [a.b.example.com, b.example.com, example.com, com]."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


@lru_cache(maxsize=65536)
def brands_owning(host: str) -> tuple[str, ...]:
    """The brands whose own domains `host` is (or is under); () for everyone else."""
    host = host.lower().strip(".")
    if not host:
        return ()
    for parent in parent_domains(host):
        owners = _BRAND_BY_DOMAIN.get(parent)
        if owners:
            return owners
    return ()


def is_brand_domain(host: str, brand_id: str) -> bool:
    return brand_id in brands_owning(host)


@lru_cache(maxsize=65536)
def is_freemail(domain: str) -> bool:
    domain = domain.lower()
    return domain in FREEMAIL or registrable(domain) in FREEMAIL


@lru_cache(maxsize=65536)
def abused_tld(host: str) -> bool:
    host = host.lower().strip(".")
    if "." not in host:
        return False
    last = host.rpartition(".")[2]
    if last in ABUSED_TLDS:
        return True
    last_two = ".".join(host.rsplit(".", 2)[-2:])
    return last_two in ABUSED_TLDS


def free_hosting(host: str, path: str) -> bool:
    """`host` (with its URL path) is on a free hosting / file sharing / form service."""
    host = host.lower().strip(".")
    for parent in parent_domains(host):
        if parent in FREE_HOSTING_HOSTS:
            return True
        prefixes = FREE_HOSTING_PATHS.get(parent)
        if prefixes and path.lower().startswith(prefixes):
            return True
    return False


IMAGE_HOSTS: frozenset[str] = frozenset(_lines("image_hosts.txt"))


@lru_cache(maxsize=65536)
def image_host(host: str) -> bool:
    """`host` is a free public image host (imgur, ibb.co, postimg...)."""
    return any(parent in IMAGE_HOSTS for parent in parent_domains(host.lower().strip(".")))
