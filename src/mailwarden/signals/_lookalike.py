"""Lookalike domains: which protected name (a brand, or a tenant domain) a domain imitates.

A domain imitates a target when, not being one of the target's own domains, its registrable label
(``paypa1`` in ``paypa1.com``)

- has the same homoglyph skeleton as a target label (``pаypal`` with a Cyrillic ``а``,
  ``micr0soft``, ``rnicrosoft``: TR39 skeletons from `disarm`, plus rn/vv/cl contractions),
- is within a small Damerau-Levenshtein distance of one (1 for 6-8 letters, 2 for 9+; labels
  of 5 letters or fewer must match by skeleton: ``chase``/``chose`` is no lookalike), or, for a
  tenant's own short labels, is one of the typos registrars see for them (a doubled letter,
  two letters swapped, a letter written as a digit: ``ennron``, ``ernon``, ``3nron``), or
- the host carries a target label as a token or, for labels of 6+ letters, inside a label
  (``paypal-secure-login.com``, ``login.microsoftonline.com.evil.ru``, ``paypalaccount.net``).

Results are cached per host: domains repeat across messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

import disarm
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from mailwarden.domains import is_ip, registrable, to_unicode
from mailwarden.signals._data import BRANDS, abused_tld, brands_owning

# Labels that are ordinary words or too short to search inside other domains.
_NO_EMBED = frozenset(
    {"zoom", "meta", "live", "office", "steam", "ledger", "kraken", "stripe", "cash", "block",
     "ring", "mint", "next", "gen", "avg", "bb", "nu", "me", "mac", "ml", "wf", "cb", "fb",
     "kindle", "blockchain", "messenger"}
)  # fmt: skip
# Labels that are ordinary words: a lookalike as a whole token (outlook-verify.com), but not
# inside another label (healthcareoutlook.com, businessoutlook.net are not Microsoft).
_NO_INNER = frozenset({"outlook"})
_LEADING_NO_INNER = re.compile(
    rf"({'|'.join(sorted(_NO_INNER))})(?:\d|web|mail|log-?in|sign-?in|verif|secur|account|"
    r"online|office|update|support|owa|365)"
)
# Labels of brand domains that are ordinary words: never a lookalike target at all.
_NOT_TARGETS = frozenset(
    {"banco", "aim", "gen", "next", "oath", "mint", "tnt", "ring", "block", "cash"}
)
# Labels too ordinary for fuzzy matching (a typo of them is usually just another word).
# Compounds of ordinary words are among them: two edits turn rocketmail into rocketball.
_NO_FUZZY = frozenset(
    {"kindle", "ledger", "stripe", "kraken", "office", "norton", "venmo", "rocketmail"}
)
_CONTRACTIONS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("nn", "m"))
_DIGIT_FOR = {"o": "0", "l": "1", "i": "1", "e": "3", "a": "4", "s": "5", "g": "9", "b": "8"}
_TOKEN_SPLIT = re.compile(r"[.\-_]+")


def skeleton(text: str) -> str:
    """The homoglyph skeleton: ``pаypaI`` and ``paypa1`` both become ``paypal``."""
    try:
        key: str = disarm.skeleton_key(text, digit_policy="tr39")
    except Exception:  # noqa: BLE001 - odd code points must not break a signal
        return text
    return key


def short_typos(label: str) -> set[str]:
    """Typo-squats of a short label that no ordinary word produces: a doubled letter, two
    neighbours swapped, one letter written as a digit (no substitutions: chase/chose)."""
    out = {label[: i + 1] + label[i:] for i in range(len(label))}
    out |= {label[:i] + label[i + 1] + label[i] + label[i + 2 :] for i in range(len(label) - 1)}
    out |= {
        label[:i] + _DIGIT_FOR[c] + label[i + 1 :] for i, c in enumerate(label) if c in _DIGIT_FOR
    }
    out.discard(label)
    return out


def _variants(label: str) -> set[str]:
    """The label, its skeleton, and the skeleton with rn->m style contractions and no hyphens."""
    sk = skeleton(label)
    out = {label, sk, sk.replace("-", "")}
    for a, b in _CONTRACTIONS:
        if a in sk:
            out.add(sk.replace(a, b))
            out.add(sk.replace(a, b).replace("-", ""))
    return out


variants = _variants  # public: the correspondent index (baselines.correspondents) uses it


class Matcher:
    """Matches hosts against one set of protected labels (every brand, or one tenant)."""

    def __init__(
        self,
        targets: Iterable[tuple[str, str]],  # (label, what it stands for)
        is_own: Callable[[str], bool],
        same_label_other_suffix: bool,
        typos_of_short_labels: bool = False,
    ) -> None:
        self.by_label: dict[str, str] = {}
        for label, key in targets:
            label = label.lower()
            if len(label) >= 3 and label not in self.by_label and label not in _NOT_TARGETS:
                self.by_label[label] = key
        self.by_skeleton = {skeleton(lb): key for lb, key in self.by_label.items()}
        # Fuzzy candidates bucketed by length: a label can only be within distance k of labels
        # whose length differs by at most k.
        self.fuzzy: dict[int, list[str]] = {}
        for lb in self.by_label:
            if len(lb) >= 6 and lb not in _NO_FUZZY:
                for n in range(len(lb) - 2, len(lb) + 3):
                    self.fuzzy.setdefault(n, []).append(lb)
        # Short labels get no fuzzy matching (too many real words nearby), but a tenant's own
        # short name gets its distinctive typo-squats.
        self.by_typo = {
            typo: key
            for lb, key in self.by_label.items()
            if typos_of_short_labels and len(lb) < 6
            for typo in short_typos(lb)
        }
        self.tokens = {lb: k for lb, k in self.by_label.items() if lb not in _NO_EMBED}
        self.inner = [lb for lb in self.tokens if len(lb) >= 6 and lb not in _NO_INNER]
        self.is_own = is_own
        # Brands own their name in many country TLDs (amazon.de): a same label on another suffix
        # is only suspicious on a high-abuse TLD. A tenant's cousin domain (acme.co) always is.
        self.same_label_other_suffix = same_label_other_suffix
        self.match = lru_cache(maxsize=32768)(self._match)

    def _fuzzy(self, word: str) -> str:
        if len(word) < 6:
            return ""
        cutoff = 1 if len(word) < 9 else 2
        candidates = self.fuzzy.get(len(word))
        if not candidates:
            return ""
        found = process.extractOne(
            word, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=cutoff
        )
        if found is None:
            return ""
        label = found[0]
        # Both sides must be long enough for the distance they are allowed.
        if found[1] > (1 if len(label) < 9 else 2):
            return ""
        return self.by_label[label]

    def _match(self, host: str) -> str:
        host = to_unicode(host.strip().strip(".").lower())
        if not host or "." not in host or is_ip(host) or self.is_own(host):
            return ""
        reg = registrable(host)
        if "." not in reg:
            return ""
        label, _, suffix = reg.partition(".")
        prefix = host[: len(host) - len(suffix) - 1]  # everything before the public suffix
        if label in self.by_label:
            if self.same_label_other_suffix or abused_tld(host):
                return self.by_label[label]
        else:
            for variant in _variants(label):
                if variant in self.by_skeleton:
                    return self.by_skeleton[variant]
            found = self.by_typo.get(label) or self._fuzzy(skeleton(label))
            if found:
                return found
        # The protected name inside the host: paypal-secure-login.com, paypal.com.evil.ru.
        sk_prefix = skeleton(prefix)
        tokens = [t for t in _TOKEN_SPLIT.split(sk_prefix) if t]
        for token in tokens:
            if token in self.tokens:
                return self.tokens[token]
        compact = sk_prefix.replace("-", "").replace(".", "").replace("_", "")
        for lb in self.inner:
            if lb in compact:
                return self.tokens[lb]
        for token in tokens:
            # an ordinary-word label leading a token, then digits or login words: outlook365-
            # login.com, outlookwebverify.net (but not healthcareoutlook.com or outlookindia.com)
            lead = _LEADING_NO_INNER.match(token)
            if lead and lead.group(1) in self.tokens:
                return self.tokens[lead.group(1)]
        for token in tokens[:6]:
            if token != label:
                found = self._fuzzy(token)
                if found:
                    return found
        return ""


BRAND_MATCHER = Matcher(
    ((lb, b.id) for b in BRANDS.values() for lb in b.labels),
    is_own=lambda host: bool(brands_owning(host)),
    same_label_other_suffix=False,
)


def brand_lookalike(host: str) -> str:
    """The brand id `host` imitates, or ""."""
    return BRAND_MATCHER.match(host)


@lru_cache(maxsize=64)
def tenant_matcher(domains: tuple[str, ...]) -> Matcher:
    """One matcher per tenant (keyed by its domains), built on first use."""
    doms = tuple(d.lower() for d in domains)

    def is_own(host: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in doms)

    targets = []
    for d in doms:
        reg = registrable(d)
        if "." in reg:
            targets.append((reg.partition(".")[0], reg))
    return Matcher(targets, is_own=is_own, same_label_other_suffix=True, typos_of_short_labels=True)


def tenant_lookalike(domains: tuple[str, ...], host: str) -> str:
    """The tenant domain `host` imitates, or ""."""
    return tenant_matcher(domains).match(host)
