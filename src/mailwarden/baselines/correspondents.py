"""The domains an organisation corresponds with, and which of them a domain imitates.

A correspondent is a registrable domain outside the organisation that it has written to, or that
sent it mail judged safe on `CORRESPONDENT_MIN_SAFE_DAYS` distinct days (see `records.apply`).
Each store keeps them per tenant as an append-only log in learning order (records ``c:`` = how
many, ``c:<i>`` = the i-th), so online learning and a batch rebuild list them identically, and a
process that sees another's commits reads only the new entries.

`CorrespondentIndex` indexes that log for lookalike searches as it grows: adding a domain appends
it, and it is indexed (a few dict inserts, never a rebuild) when a lookalike question is first
asked, so a store that is never asked one does no lookalike work. A `Correspondents` snapshot is
the index plus how many of its domains existed when a view was taken, so a view's answers never
change when learning continues.

A host imitates correspondent ``acme-logistics.com`` when it is not itself a correspondent and,
trying these in order (the longest-standing correspondent wins within one):

1. its registrable label is the same, on a suffix one typo away or on a high-abuse TLD
   (``acme-logistics.co``, ``acme-logistics.top``; not ``.net`` or ``.de``: businesses own
   those too). Labels of 4+ letters;
2. the label has the same homoglyph skeleton, with rn->m style contractions or hyphens dropped
   (``acme-1ogistics``, ``acmelogistics``);
3. the label is one edit (Damerau-Levenshtein, on skeletons) from it, both of 6+ letters and
   neither an ordinary word (below):
   typos, doubled, dropped or swapped letters. Two edits are not enough: among thousands of real
   correspondents, unrelated businesses are often two edits apart (``ckbenergy``/``apbenergy``);
4. it adds a lure word: the whole correspondent domain in front of another
   (``acme-logistics.com.evil.io``), or the label (or the leading word of a hyphenated label)
   with words such as pay, billing, secure, support, mail, inc added, hyphenated or not
   (``acme-logistics-billing.com``, ``secure-acme.com``, ``acmepayments.com``,
   ``acme-invoices.com`` for ``acme-logistics.com``). An added word outside that list is a
   different business (``entergykoch.com`` is not Entergy's lookalike), and a correspondent's
   label as a mere subdomain (``acme.zendesk.com``, a helpdesk hosted for it) is not an
   imitation.

Ordinary words (``energy``, ``global``, ``houston``...) are never matched whole (rules 1 and 4):
two businesses sharing a word are not one imitating the other. Which hosts to exclude before
asking (the organisation's own, free-mail providers, brands' own domains) is the caller's choice.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein

MIN_WORD = 4  # shortest label matched whole (rules 1 and 4)
MIN_FUZZY = 6  # shortest labels compared by edit distance (rule 3)
MAX_WORDS = 4  # words of a label looked at (rule 4)
_CACHE_SIZE = 1 << 15
_WORD_SPLIT = re.compile(r"[-_]+")
# Ordinary words: shared by unrelated businesses, so never matched whole.
GENERIC_LABELS = frozenset(
    {"mail", "email", "info", "news", "online", "web", "home", "shop", "store", "bank", "group",
     "global", "world", "energy", "power", "service", "services", "solutions", "systems",
     "tech", "corp", "company", "international", "consulting", "partners", "capital",
     "financial", "finance", "management", "media", "digital", "data", "cloud", "secure",
     "login", "account", "accounts", "support", "help", "america", "american", "national",
     "first", "united", "general", "trade", "trading", "market", "markets", "network",
     "networks", "direct", "express", "travel", "health", "care", "resources", "holdings",
     "industries", "enterprises", "associates", "studio", "design", "office", "press", "post",
     "live", "life", "link", "site", "page", "team", "club", "city", "state", "county",
     "school", "college", "university", "mobile", "phone", "wireless", "internet",
     "computer", "software", "books", "music", "games", "sport", "sports", "free", "best",
     "smart", "green", "blue", "north", "south", "east", "west", "central", "pacific",
     "atlantic", "electric", "utility", "utilities", "petroleum", "insurance", "investments",
     "invest", "fund", "funds", "securities", "credit", "money", "payments", "billing",
     "invoice", "legal", "radio", "times", "daily", "weekly", "journal", "review", "report",
     "magazine", "business", "york", "texas", "houston", "london", "california"}
)  # fmt: skip
# Words an impersonator adds to a business's name to make a department or a service of it.
# Not mail, email, web, online: ISPs and telcos run their customers' mail on such names
# (sprintmail.com for sprint.com, flashmail.com beside flash.net).
LURE_WORDS = frozenset(
    {"pay", "payment", "payments", "billing", "bill", "bills", "invoice", "invoices", "remit",
     "remittance", "account", "accounts", "ap", "ar", "finance", "financial", "treasury",
     "bank", "banking", "wire", "transfer", "transfers", "secure", "security", "verify",
     "verification", "support", "help", "helpdesk", "service", "services", "login", "signin",
     "portal", "office", "hr", "payroll", "it", "admin",
     "team", "group", "inc", "corp", "co", "llc", "ltd", "intl", "global", "us", "usa", "hq",
     "official", "docs", "document", "documents", "files", "share", "orders", "order",
     "purchasing", "procurement", "vendor", "vendors", "supplier", "suppliers", "notify",
     "notification", "notifications", "alert", "alerts", "update", "updates", "info"}
)  # fmt: skip


def _lookalike_helpers() -> tuple[Any, Any, Any]:
    # Imported when first needed: the baselines load without the signals' reference data.
    from mailwarden.signals._data import abused_tld
    from mailwarden.signals._lookalike import skeleton, variants

    return skeleton, variants, abused_tld


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def _split(domain: str) -> tuple[str, str]:
    """``acme-logistics.co.uk`` -> (``acme-logistics``, ``co.uk``) by the public suffix list."""
    from mailwarden.domains import registrable

    label, _, suffix = registrable(domain).partition(".")
    return label, suffix


def _lure(rest: str) -> bool:
    """`rest` is one lure word or two run together (``payments``, ``securepay``)."""
    if rest in LURE_WORDS:
        return True
    return any(rest[:i] in LURE_WORDS and rest[i:] in LURE_WORDS for i in range(2, len(rest) - 1))


class CorrespondentIndex:
    """Correspondent domains in learning order, indexed for lookalike search; append-only."""

    def __init__(self) -> None:
        self.domains: list[str] = []
        self.position: dict[str, int] = {}  # registrable domain -> its place in `domains`
        self._suffix: list[str] = []  # position -> public suffix of its domain
        self._skel_of: list[str] = []  # position -> skeleton of its label
        self._label: dict[str, list[int]] = {}  # label of MIN_WORD+ letters -> positions (1)
        self._skeleton: dict[str, int] = {}  # skeleton, and without hyphens (2)
        self._near: dict[str, list[int]] = {}  # skeleton and its one-letter deletions (3)
        self._word: dict[str, int] = {}  # label or leading word, hyphens dropped (4)
        self._indexed = 0  # domains indexed so far (the rest wait for the next question)
        self._cache: dict[tuple[str, int], str] = {}

    def __len__(self) -> int:
        return len(self.domains)

    def add(self, domain: str) -> None:
        if domain not in self.position:
            self.position[domain] = len(self.domains)
            self.domains.append(domain)

    def _index_new(self) -> None:
        skeleton, _, _ = _lookalike_helpers()
        while self._indexed < len(self.domains):
            self._index(self._indexed, self.domains[self._indexed], skeleton)
            self._indexed += 1

    def _index(self, pos: int, domain: str, skeleton: Any) -> None:
        label, suffix = _split(domain)
        sk = skeleton(label)
        self._suffix.append(suffix)
        self._skel_of.append(sk)
        if len(label) >= MIN_WORD and label not in GENERIC_LABELS:
            self._label.setdefault(label, []).append(pos)
        for key in {sk, sk.replace("-", "")}:
            self._skeleton.setdefault(key, pos)
        if len(sk) >= MIN_FUZZY and label not in GENERIC_LABELS:
            for key in {sk, *_deletions(sk)}:
                self._near.setdefault(key, []).append(pos)
        words = [w for w in _WORD_SPLIT.split(sk) if w]
        for word in {sk.replace("-", "").replace("_", ""), words[0] if words else ""}:
            if len(word) >= MIN_WORD and word not in GENERIC_LABELS:
                self._word.setdefault(word, pos)

    def lookalike(self, host: str, n: int) -> str:
        """The correspondent (among the first `n`) that `host` imitates, or ""."""
        if n <= 0 or not host:
            return ""
        key = (host, n)
        found = self._cache.get(key)
        if found is None:
            if self._indexed < n:
                self._index_new()
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            found = self._cache[key] = self._match(host, n)
        return found

    def _match(self, host: str, n: int) -> str:
        from mailwarden.domains import is_ip, registrable, to_unicode

        host = to_unicode(host.strip().strip(".").lower())
        if "." not in host or is_ip(host):
            return ""
        reg = registrable(host)
        if "." not in reg:
            return ""
        own = self.position.get(reg)
        if own is not None and own < n:
            return ""  # a correspondent itself
        label, _, suffix = reg.partition(".")
        skeleton, variants, abused_tld = _lookalike_helpers()
        sk = skeleton(label)
        # 1. the same name on a suffix one typo away, or on a high-abuse TLD
        for pos in self._label.get(label, ()):
            if pos >= n:
                break
            other = self._suffix[pos]
            if abused_tld(host) or DamerauLevenshtein.distance(suffix, other, score_cutoff=1) <= 1:
                return self.domains[pos]
        # 2. the same skeleton: homoglyphs, rn -> m, hyphens dropped
        best: int | None = None
        for variant in variants(label):
            hit = self._skeleton.get(variant)
            if hit is None or hit >= n or (best is not None and hit >= best):
                continue
            if _split(self.domains[hit])[0] != label:  # the same name is rule 1's
                best = hit
        if best is not None:
            return self.domains[best]
        # 3. one edit away (an ordinary word is nobody's typo: energy.gov is not entergy.com)
        best = None if label in GENERIC_LABELS else self._near_by(sk, n)
        if best is not None:
            return self.domains[best]
        # 4. a lure word added
        best = self._lured(host, reg, label, sk, n)
        if best is not None:
            return self.domains[best]
        return ""

    def _near_by(self, sk: str, n: int) -> int | None:
        if len(sk) < MIN_FUZZY:
            return None
        best: int | None = None
        for key in (sk, *_deletions(sk)):
            for pos in self._near.get(key, ()):
                if pos >= n:
                    break  # positions are appended in order
                if best is not None and pos >= best:
                    continue
                target = self._skel_of[pos]
                if target != sk and DamerauLevenshtein.distance(sk, target, score_cutoff=1) <= 1:
                    best = pos
        return best

    def _lured(self, host: str, reg: str, label: str, sk: str, n: int) -> int | None:
        from mailwarden.domains import registrable

        # a correspondent's whole domain in front of another: acme.com.evil.io
        if host != reg:
            pos = self.position.get(registrable(host[: len(host) - len(reg) - 1]))
            if pos is not None and pos < n:
                return pos
        best: int | None = None

        def keep(pos: int | None) -> None:
            nonlocal best
            if pos is not None and pos < n and (best is None or pos < best):
                best = pos

        # words: acme-payments.com, secure-acme.com, acme-billing-inc.com
        words = [w for w in _WORD_SPLIT.split(sk) if w][:MAX_WORDS]
        if len(words) >= 2:
            for i, word in enumerate(words):
                pos = self._word.get(word)
                if pos is not None and all(_lure(w) for j, w in enumerate(words) if j != i):
                    keep(pos)
        # run together: acmepayments.com, secureacme.com
        flat = "".join(words)
        for i in range(MIN_WORD, len(flat) - 1):
            head, tail = flat[:i], flat[i:]
            if head in self._word and _lure(tail):
                keep(self._word[head])
            if tail in self._word and _lure(head):
                keep(self._word[tail])
        return best


class Correspondents:
    """The first `n` correspondents of an index: what a view saw. Immutable in effect: the
    index only grows, and every answer is computed over the first `n` domains alone."""

    __slots__ = ("_index", "n")

    def __init__(self, index: CorrespondentIndex | None = None, n: int = 0) -> None:
        self._index = index
        self.n = n if index is not None else 0

    def __len__(self) -> int:
        return self.n

    def __contains__(self, domain: object) -> bool:
        if self._index is None or not isinstance(domain, str):
            return False
        pos = self._index.position.get(domain)
        return pos is not None and pos < self.n

    def __iter__(self) -> Any:
        return iter(self._index.domains[: self.n] if self._index is not None else ())

    def lookalike(self, host: str) -> str:
        """The correspondent domain `host` imitates, or "" (see the module docstring)."""
        if self._index is None:
            return ""
        return self._index.lookalike(host, self.n)

    def __repr__(self) -> str:
        return f"Correspondents(n={self.n})"


NO_CORRESPONDENTS = Correspondents()
