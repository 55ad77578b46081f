"""Host and domain helpers shared by the parser and the signals (pure, cached)."""

from __future__ import annotations

import contextlib
import ipaddress
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

_PSL = PublicSuffixList()  # ships its own list: no download, ever


@lru_cache(maxsize=65536)
def is_ip(host: str) -> bool:
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def registrable(host: str) -> str:
    """The registrable domain of `host` ("mail.google.co.uk" -> "google.co.uk").

    IP hosts and names with no public suffix are returned as they are, lower-cased, so a link to
    ``http://192.0.2.1/`` still has a domain to report.
    """
    host = host.strip().strip(".").lower()
    if not host or is_ip(host):
        return host
    try:
        found = _PSL.privatesuffix(host)
    except Exception:  # noqa: BLE001 - a malformed label must not break parsing
        found = None
    return found or host


@lru_cache(maxsize=65536)
def to_unicode(host: str) -> str:
    """Decode punycode labels ("xn--pypal-4ve.com" -> "pаypal.com"); leave others as they are."""
    if "xn--" not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)
