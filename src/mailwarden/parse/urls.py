"""Links: hosts and flags from hrefs, and URLs found in plain text by one regex.

DESIGN.md: a regex over plain text is 63 us per message where urlextract takes 27 ms. Host facts
(registrable domain, IP, punycode, shortener) are cached per host: hosts repeat across messages.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from importlib import resources

from mailwarden.domains import is_ip, registrable
from mailwarden.message import Link
from mailwarden.parse import limits


def _load_shorteners() -> frozenset[str]:
    try:
        text = resources.files("mailwarden").joinpath("data", "shorteners.txt").read_text("utf-8")
    except OSError:
        return frozenset()
    hosts = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return frozenset(host for host in hosts if host)


SHORTENERS: frozenset[str] = _load_shorteners()

# A URL in running text: a scheme or a bare "www." host, up to whitespace or a delimiter.
# Found from their literal parts ("://", "www.") so the regex engine can skip ahead instead of
# trying every position; the scheme before "://" is checked by hand.
_URL_TAIL = r"[^\s<>\"'`{}|\\^\[\]]+"
_AFTER_SCHEME = re.compile("://" + _URL_TAIL)
_WWW = re.compile(r"(?<![\w.])[wW]{3}\." + _URL_TAIL)
_TEXT_SCHEMES = frozenset({"http", "https", "ftp", "hxxp", "hxxps"})
_TRAILING = ".,;:!?)]}'\"*>"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,15}):")
_KEEP_SCHEMES = frozenset({"http", "https", "ftp", "hxxp", "hxxps"})
# A schemeless href or an anchor text that names a host: "evil.ru", "www.paypal.com/login".
_HOSTLIKE = re.compile(
    r"(?:(?:https?|hxxps?)://)?((?:[\w-]{1,63}\.)+(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59}))"
    r"(?::\d{1,5})?(?:[/?#]\S*)?\.?",
    re.I,
)
_HOST_END = re.compile(r"[/?#\\]")


@lru_cache(maxsize=32768)
def host_facts(host: str) -> tuple[str, bool, bool, bool]:
    """(registrable, is_ip, is_punycode, is_shortener) for a lower-cased host."""
    ip = is_ip(host)
    reg = registrable(host)
    punycode = not ip and ("xn--" in host or not host.isascii())
    shortener = False
    if not ip:
        labels = host.split(".")
        shortener = any(".".join(labels[i:]) in SHORTENERS for i in range(len(labels) - 1))
    return reg, ip, punycode, shortener


def split_url(href: str) -> tuple[str, str] | None:
    """(scheme, host) of an href worth keeping, or None (mailto:, cid:, relative paths...)."""
    scheme = ""
    rest = href
    match = _SCHEME.match(href)
    if match and not href.startswith("www."):
        scheme = match.group(1).lower()
        if scheme not in _KEEP_SCHEMES:
            if scheme.isdigit() or "." in scheme:
                scheme, rest = "", href  # "host:8080/path" is a host with a port
            else:
                return None
        else:
            rest = href[match.end() :]
    if scheme:
        rest = rest.lstrip("/\\")
    elif rest.startswith("//"):
        rest = rest[2:]
    elif not _HOSTLIKE.match(rest):
        return None  # a relative path or an anchor, not a place on the internet
    end = _HOST_END.search(rest)
    authority = rest[: end.start()] if end else rest
    host = authority.rpartition("@")[2]  # http://paypal.com@evil.ru/ goes to evil.ru
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        host = host.partition(":")[0]
    # "=" never belongs to a host: it is what undecoded quoted-printable leaves ("www.x.com=20")
    host = host.partition("=")[0].strip().strip(".").lower()
    if not host:
        return None
    return scheme, host


def text_domain(text: str) -> str:
    """The host an anchor's visible text names, when the whole text looks like a URL or host."""
    text = text.strip()
    if not text or len(text) > 2048 or " " in text:
        return ""
    match = _HOSTLIKE.fullmatch(text)
    return match.group(1).lower() if match else ""


def make_link(href: str, text: str, source: str) -> Link | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    parts = split_url(href)
    if parts is None:
        return None
    scheme, host = parts
    reg, ip, punycode, shortener = host_facts(host)
    return Link(
        href=href,
        text=text,
        host=host,
        registrable=reg,
        scheme=scheme,
        source=source,
        text_domain=text_domain(text) if text else "",
        is_ip=ip,
        is_punycode=punycode,
        is_shortener=shortener,
    )


def text_urls(text: str) -> list[str]:
    """URLs and bare ``www.`` hosts in plain text, in order, trailing punctuation removed."""
    found: list[tuple[int, int]] = []
    if "://" in text:
        for match in _AFTER_SCHEME.finditer(text):
            colon = match.start()
            begin = colon
            while begin > 0 and colon - begin < 5 and text[begin - 1].isalpha():
                begin -= 1
            if text[begin:colon].lower() in _TEXT_SCHEMES:
                found.append((begin, match.end()))
            if len(found) >= limits.MAX_LINKS:
                break
    if "www." in text or "WWW." in text:
        starts = [begin for begin, _ in found]  # scheme URLs, in order, never overlapping
        ends = [end for _, end in found]
        for match in _WWW.finditer(text):
            at = match.start()
            index = bisect.bisect_right(starts, at) - 1
            if index < 0 or at >= ends[index]:  # not inside a URL already found
                found.append((at, match.end()))
            if len(found) >= 2 * limits.MAX_LINKS:
                break
        found.sort()
    out = []
    for begin, end in found:
        url = text[begin:end].rstrip(_TRAILING)
        if url.endswith("(") or ("(" in url and ")" not in url):
            url = url.split("(", 1)[0]
        if len(url) > 8:
            out.append(url)
    return out[: limits.MAX_LINKS]


class LinkCollector:
    """Links in first-seen order, de-duplicated by href, capped at `limits.MAX_LINKS`."""

    __slots__ = ("links", "seen")

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.seen: set[str] = set()

    def add(self, href: str, text: str, source: str) -> None:
        if len(self.links) >= limits.MAX_LINKS:
            return
        href = href.strip()
        if href in self.seen:
            return
        self.seen.add(href)
        link = make_link(href, text, source)
        if link is not None:
            self.links.append(link)
