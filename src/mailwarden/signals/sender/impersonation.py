"""Impersonation: a display name that borrows a brand or a person of the organisation."""

from __future__ import annotations

import re
from functools import lru_cache

import disarm
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._brands import display_brand
from mailwarden.signals._data import is_brand_domain
from mailwarden.signals._lookalike import skeleton
from mailwarden.tenant import Person, Tenant, normalise_name

VIP_ROLES = frozenset({"vip", "executive"})

# What surrounds a name in a display name: "Dana Whitfield (CEO)", "Dana Whitfield - Example
# Corp", "Dana Whitfield via DocuSign", "Dr. Dana Whitfield", "'Dana Whitfield' <dana@x>".
_PARENS = re.compile(r"[(\[{<].*?(?:[)\]}>]|$)")
_TAIL = re.compile(r"\s+(?:[-|/–—:,]|via|on behalf of|from|at)\s+.*$", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")
_TITLES = re.compile(r"^(?:(?:mr|mrs|ms|miss|dr|prof|sir)\.?\s+)+", re.IGNORECASE)
_SUFFIX = re.compile(r",?\s+(?:jr|sr|ii|iii|ceo|cfo|coo|cto|president|chairman)\.?$", re.I)


def clean_display_name(name: str) -> str:
    """The person's name inside a display name, as `normalise_name` wants it."""
    name = _EMAIL.sub(" ", name)
    name = _PARENS.sub(" ", name)
    name = name.replace('"', " ").replace("'", " ").strip()
    name = _TAIL.sub("", name)
    name = _TITLES.sub("", name.strip())
    name = _SUFFIX.sub("", name)
    return " ".join(name.split())


class _People:
    """Name lookups for one tenant: exact, homoglyph skeleton, and one-typo matches."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.by_skeleton: dict[str, Person] = {}
        self.by_norm: dict[str, Person] = {}
        for person in tenant.people:
            norm = normalise_name(person.name)
            self.by_norm[norm] = person
            self.by_skeleton.setdefault(skeleton(norm), person)
        self.names = [n for n in self.by_norm if len(n) >= 10]
        self.lookup = lru_cache(maxsize=16384)(self._lookup)

    def _lookup(self, display: str) -> Person | None:
        cleaned = clean_display_name(display)
        if not cleaned:
            return None
        person = self.tenant.person_by_name(cleaned)
        if person is not None:
            return person
        norm = normalise_name(cleaned)
        if not norm.isascii() or any(c.isdigit() for c in norm):
            person = self.by_skeleton.get(skeleton(norm))
            if person is not None:
                return person
        if len(norm) >= 10 and self.names:
            found = process.extractOne(
                norm, self.names, scorer=DamerauLevenshtein.distance, score_cutoff=1
            )
            if found is not None:
                return self.by_norm[found[0]]
        return None


_PEOPLE: dict[int, _People] = {}


def _people(tenant: Tenant) -> _People:
    index = _PEOPLE.get(id(tenant))
    if index is None or index.tenant is not tenant:
        if len(_PEOPLE) > 32:
            _PEOPLE.clear()
        index = _PEOPLE[id(tenant)] = _People(tenant)
    return index


def matched_person(m: Message, ctx: Context) -> Person | None:
    """The tenant person whose name the From display name carries, if any."""
    if m.from_ is None or not m.from_.name.strip():
        return None
    return _people(ctx.tenant).lookup(m.from_.name)


@signal("sender.vip_name", str)
def vip_name(m: Message, ctx: Context) -> str:
    """The tenant person (any role) whose name the display name matches ("" none)."""
    person = matched_person(m, ctx)
    return person.name if person is not None else ""


@signal("sender.vip_impersonation", bool)
def vip_impersonation(m: Message, ctx: Context) -> bool:
    """The display name is a tenant VIP's, but the From address is not one of theirs."""
    person = matched_person(m, ctx)
    if person is None or VIP_ROLES.isdisjoint(person.roles):
        return False
    addr = m.from_.addr.lower() if m.from_ is not None else ""
    return addr not in person.addresses


@signal("sender.employee_impersonation", bool)
def employee_impersonation(m: Message, ctx: Context) -> bool:
    """The display name is a tenant person's, and the From address is outside the tenant."""
    person = matched_person(m, ctx)
    if person is None or m.from_ is None:
        return False
    addr = m.from_.addr.lower()
    if addr in person.addresses:
        return False
    return not ctx.tenant.is_internal_domain(m.from_.domain)


@signal("sender.display_name_brand", str)
def display_name_brand(m: Message, ctx: Context) -> str:
    """The well-known brand (id) the display name names ("PayPal Service" -> "paypal"); ""."""
    return display_brand(m.from_.name) if m.from_ is not None else ""


@signal("sender.brand_domain_mismatch", bool)
def brand_domain_mismatch(m: Message, ctx: Context) -> bool:
    """The display name names a brand, but the From domain is not one of that brand's domains."""
    brand = display_name_brand(m, ctx)
    if not brand or m.from_ is None:
        return False
    return not is_brand_domain(m.from_.domain or "", brand)


@lru_cache(maxsize=65536)
def _name_homoglyph(name: str) -> bool:
    if name.isascii():
        return False
    try:
        if disarm.is_mixed_script(name, per_word=True):
            return True
        # Compatibility forms (fullwidth, mathematical letters) and invisibles in a name.
        return bool(disarm.has_anomalies(name)) if hasattr(disarm, "has_anomalies") else False
    except Exception:  # noqa: BLE001
        return False


@lru_cache(maxsize=65536)
def _domain_homoglyph(domain: str) -> bool:
    if domain.isascii() and "xn--" not in domain:
        return False
    try:
        _flag, analysis = disarm.is_suspicious_hostname(domain)
    except Exception:  # noqa: BLE001
        return True
    # A whole-script confusable label (Cyrillic "аррӏе") only counts under a Latin TLD:
    # москва.рф is Russian, not a spoof.
    tld_latin = domain.rpartition(".")[2].isascii()
    wsc = list(analysis.label_whole_script_confusable)[:-1] if tld_latin else []
    return bool(
        analysis.mixed_script
        or any(wsc)
        or analysis.bidi_control
        or analysis.has_invisible
        or analysis.compat_fold
    )


@signal("sender.homoglyph", bool)
def homoglyph(m: Message, ctx: Context) -> bool:
    """The display name or From domain mixes scripts or carries confusable look-alike characters."""
    if m.from_ is None:
        return False
    return _name_homoglyph(m.from_.name) or _domain_homoglyph(m.from_.domain)
