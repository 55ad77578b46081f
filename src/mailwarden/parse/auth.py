"""Authentication-Results (RFC 8601), Received-SPF and ARC-Authentication-Results, by regex.

A small tolerant parser (DESIGN.md: 14 us where `authres` takes 420 us and raises on malformed
headers). Comments in parentheses are dropped, the authserv-id is skipped, and each
``method=result key=value ...`` clause becomes one `AuthResult`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailwarden.message import AuthResult

_COMMENT = re.compile(r"\([^()]*\)")
_METHOD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*([A-Za-z][A-Za-z0-9_-]*)")
_PROPERTY = re.compile(r'([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*("[^"]*"|[^\s;]+)')
_ARC_INSTANCE = re.compile(r"\s*i\s*=\s*\d+\s*;")
_SPF_RESULT = re.compile(r"\s*([A-Za-z]+)")

_MAX_CLAUSES = 50


def _strip_comments(value: str) -> str:
    if "(" not in value:
        return value
    for _ in range(4):  # nested comments, a few levels deep
        stripped = _COMMENT.sub(" ", value)
        if stripped == value:
            break
        value = stripped
    return value


def _properties(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((key.lower(), val.strip('"')) for key, val in _PROPERTY.findall(text))


def authentication_results(value: str) -> list[AuthResult]:
    """Results from one Authentication-Results (or ARC-Authentication-Results) value."""
    value = _strip_comments(value)
    arc = _ARC_INSTANCE.match(value)
    if arc:
        value = value[arc.end() :]
    out: list[AuthResult] = []
    for index, clause in enumerate(value.split(";")[:_MAX_CLAUSES]):
        match = _METHOD.match(clause)
        if match is None:
            continue  # the authserv-id, "none", or garbage
        method = match.group(1).lower()
        if index == 0 and "." in method:
            continue  # an authserv-id that happens to be followed by "=" (not a method)
        out.append(AuthResult(method, match.group(2).lower(), _properties(clause[match.end() :])))
    return out


def received_spf(value: str) -> AuthResult | None:
    """``Received-SPF: Pass (comment) client-ip=1.2.3.4; envelope-from=a@b; ...``."""
    match = _SPF_RESULT.match(value)
    if match is None:
        return None
    return AuthResult("spf", match.group(1).lower(), _properties(_strip_comments(value)))


def collect(
    auth_results: Iterable[str], received_spfs: Iterable[str], arc_results: Iterable[str]
) -> tuple[AuthResult, ...]:
    """All results, newest header first; Received-SPF fills in SPF, ARC results fill in all.

    ARC-Authentication-Results count only when there is no Authentication-Results at all (they
    record what an earlier hop saw), and Received-SPF only when no result already names spf.
    """
    out: list[AuthResult] = []
    for value in auth_results:
        out.extend(authentication_results(value))
    if not out:
        for value in arc_results:
            out.extend(authentication_results(value))
    if not any(result.method == "spf" for result in out):
        for value in received_spfs:
            spf = received_spf(value)
            if spf is not None:
                out.append(spf)
    return tuple(out)
