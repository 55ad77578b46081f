"""Link signals: where the links go, and whether that place pretends to be somewhere else."""

from __future__ import annotations

import re
from functools import lru_cache

from mailwarden.context import Context
from mailwarden.domains import is_ip, registrable, to_unicode
from mailwarden.message import Link, Message
from mailwarden.signals import signal
from mailwarden.signals._data import abused_tld, brands_owning, free_hosting, image_host
from mailwarden.signals._lookalike import brand_lookalike, tenant_lookalike

MAX_LINKS = 200  # links looked at per message (a newsletter can carry thousands)

# Path/query tokens of login pages. Strong ones alone suffice; weak ones need a second token.
_CRED_STRONG = re.compile(
    r"(?:^|[/._?=&#+~-])(?:log-?in|log-?on|sign-?in|sign-?on|signin\w*|login\w*|verif(?:y|ication)"
    r"|validat(?:e|ion)|re-?auth\w*|authenticat\w*|passw(?:or)?d|webmail|owa|office-?365|o365"
    r"|outlook|microsoftonline|sharepoint|onedrive|wp-admin|wp-includes|unlock|recover(?:y)?"
    r"|sso|oauth2?|adfs|mfa|2fa|otp|credential\w*)(?=$|[/._?=&#+~-]|\d)"
)
_CRED_WEAK = re.compile(
    r"(?:^|[/._?=&#+~-])(account\w*|secur\w*|updat\w*|confirm\w*|billing|banking|session"
    r"|auth|id|portal|wallet|customer|client|support)(?=$|[/._?=&#+~-]|\d)"
)


def _path(href: str) -> str:
    """The path, query and fragment of a URL, lower-cased ("" when there is none)."""
    rest = href.partition("://")[2] if "://" in href else href
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    return rest[cut:].lower() if cut >= 0 else ""


def _host(link: Link) -> str:
    return to_unicode(link.host.lower().strip(".")) if link.host else ""


def _web_links(m: Message) -> list[Link]:
    return [lk for lk in m.links[:MAX_LINKS] if lk.host and lk.scheme not in ("mailto", "tel")]


def _hosts(m: Message) -> list[str]:
    """Distinct hosts of the web links, in order."""
    return list(dict.fromkeys(_host(lk) for lk in _web_links(m)))


@signal("message.link.count", int)
def count(m: Message, ctx: Context) -> int:
    """Number of links (HTML anchors, forms, images and plain-text URLs)."""
    return len(m.links)


@signal("message.link.domains", tuple)
def domains(m: Message, ctx: Context) -> tuple[str, ...]:
    """Distinct registrable domains of the links, in order of appearance."""
    return tuple(
        dict.fromkeys(lk.registrable or registrable(lk.host) for lk in _web_links(m) if lk.host)
    )


@lru_cache(maxsize=65536)
def _same_site(shown: str, href_registrable: str) -> bool:
    shown = to_unicode(shown.lower().strip(".").removeprefix("www."))
    if not shown or not href_registrable:
        return True
    shown_reg = registrable(shown)
    if shown_reg == href_registrable:
        return True
    # The same brand on another of its domains (paypal.com shown, paypal.me linked) is no lie.
    owners = brands_owning(shown)
    return bool(owners) and bool(set(owners) & set(brands_owning(href_registrable)))


@signal("message.link.text_mismatch", bool)
def text_mismatch(m: Message, ctx: Context) -> bool:
    """A link's visible text names a domain other than the registrable domain it really goes to."""
    for lk in _web_links(m):
        if lk.text_domain and lk.source in ("html", "form"):
            href_reg = lk.registrable or registrable(lk.host)
            if not _same_site(lk.text_domain, to_unicode(href_reg)):
                return True
    return False


@signal("message.link.ip_host", bool)
def ip_host(m: Message, ctx: Context) -> bool:
    """A link's host is an IP address."""
    return any(lk.is_ip or is_ip(lk.host) for lk in _web_links(m))


@signal("message.link.shortener", bool)
def shortener(m: Message, ctx: Context) -> bool:
    """A link goes through a URL shortener (bit.ly, tinyurl, ...)."""
    return any(lk.is_shortener for lk in m.links[:MAX_LINKS])


@signal("message.link.punycode", bool)
def punycode(m: Message, ctx: Context) -> bool:
    """A link host is punycode / an internationalised (non-ASCII) domain name."""
    for lk in _web_links(m):
        if lk.is_punycode or "xn--" in lk.host.lower() or not lk.host.isascii():
            return True
    return False


@signal("message.link.suspicious_tld", bool)
def suspicious_tld(m: Message, ctx: Context) -> bool:
    """A link's domain is in a high-abuse TLD (zip, mov, top, xyz, click, tk, ...)."""
    return any(abused_tld(h) for h in _hosts(m) if not is_ip(h))


@signal("message.link.lookalike_brand", str)
def lookalike_brand(m: Message, ctx: Context) -> str:
    """The brand a link domain imitates (typo, homoglyph, or brand inside another domain); ""."""
    for host in _hosts(m):
        found = brand_lookalike(host)
        if found:
            return found
    return ""


@signal("message.link.lookalike_tenant", str)
def lookalike_tenant(m: Message, ctx: Context) -> str:
    """The organisation domain a link domain imitates; "" when none."""
    doms = ctx.tenant.domains
    for host in _hosts(m):
        found = tenant_lookalike(doms, host)
        if found:
            return found
    return ""


@lru_cache(maxsize=65536)
def _login_path(path: str) -> bool:
    if not path or path == "/":
        return False
    if _CRED_STRONG.search(path):
        return True
    return len({g for g in _CRED_WEAK.findall(path)}) >= 2


@signal("message.link.credential_path", bool)
def credential_path(m: Message, ctx: Context) -> bool:
    """A link path looks like a login page (login, signin, verify, wp-admin...), off-brand."""
    tenant = ctx.tenant
    for lk in _web_links(m):
        if lk.source == "image":
            continue
        path = _path(lk.href)
        if not _login_path(path[:300]):
            continue
        host = _host(lk)
        if brands_owning(host) or tenant.is_internal_domain(host):
            continue
        return True
    return False


def _sharepoint_outside(host: str, tenant_labels: frozenset[str]) -> bool:
    """A SharePoint / OneDrive-for-business site of another organisation."""
    if not host.endswith(".sharepoint.com"):
        return False
    site = host[: -len(".sharepoint.com")].split(".")[-1].removesuffix("-my")
    return site not in tenant_labels


@signal("message.link.free_hosting", bool)
def free_hosting_link(m: Message, ctx: Context) -> bool:
    """A link is on free hosting / file sharing / form services abused for phishing."""
    labels = frozenset(d.split(".")[0].replace("-", "") for d in ctx.tenant.domains) | frozenset(
        d.split(".")[0] for d in ctx.tenant.domains
    )
    for lk in _web_links(m):
        if lk.source == "image":
            continue
        host = _host(lk)
        if free_hosting(host, _path(lk.href)):
            return True
        if _sharepoint_outside(host, labels):
            return True
        if "/ipfs/" in lk.href.lower():
            return True
    return False


@signal("message.link.image_host", bool)
def image_host_link(m: Message, ctx: Context) -> bool:
    """An image or link is hotlinked from a free public image host (imgur, ibb.co, postimg...)."""
    return any(image_host(h) for h in _hosts(m) if not is_ip(h))
