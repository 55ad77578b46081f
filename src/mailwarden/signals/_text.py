"""Cheap phrase search over a message's text, shared by the phrase signals.

Running twenty regex families over 20 KB of text costs milliseconds in Python (~15 ns per
character per pass), far over budget. So each message is scanned once into a set of word tokens
(bytes.translate + split, C speed), and a family's regex runs only in small windows around the
occurrences of its anchor words: a family whose anchors are absent costs a few set probes.

Every phrase of a family must contain at least one of its anchor words as a whole token (the
tests and bench/signals_bench.py --check-anchors verify that against full-text searches).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator

from mailwarden.message import Message

# Phrase signals read this much of `Message.searchable` (subject + top of the body): the lure
# sits at the top, and the token scan costs ~50 ns per word.
PHRASE_CHARS = 8_000
_WINDOW = 100  # characters searched either side of an anchor occurrence
_MAX_OCCURRENCES = 8  # windows per anchor word
_MAX_FINDS = 64  # occurrences looked at per anchor word (most are inside other words)
_SUFFIXES = ("s", "es", "ed", "d", "ing", "ly", "'s", "’s")
_POSSESSIVE = ("'s", "’s")

_table = bytearray(range(256))
for _c in string.punctuation:
    if _c != "'":
        _table[ord(_c)] = 32
_PUNCT_TO_SPACE = bytes(_table)

Entry = tuple[str, "re.Pattern[str] | None", tuple[int, ...]]

# Every anchor token of every family -> (family number, entry). A message's tokens are
# intersected with it once (C speed); a family then only looks at its own anchors that occur.
_INDEX: dict[bytes, list[tuple[int, Entry]]] = {}
_INDEX_KEYS: frozenset[bytes] = frozenset()
_FAMILIES = 0


class Scan:
    __slots__ = ("hits", "text", "words")

    def __init__(self, text: str, words: frozenset[bytes]) -> None:
        self.text = text
        self.words = words
        self.hits: dict[int, list[Entry]] = {}
        global _INDEX_KEYS
        if len(_INDEX_KEYS) != len(_INDEX):
            _INDEX_KEYS = frozenset(_INDEX)
        for token in words & _INDEX_KEYS:
            for family, entry in _INDEX[token]:
                self.hits.setdefault(family, []).append(entry)


def scan_message(m: Message) -> Scan:
    """The capped lower-case text, its word tokens and anchor hits, computed once per message."""
    cached: Scan | None = m.derived.get("phrase_scan")
    if cached is not None:
        return cached
    text = phrase_text(m.searchable)
    result = Scan(text, tokens(text))
    m.derived["phrase_scan"] = result
    return result


def phrase_text(searchable: str) -> str:
    """The part of a searchable text (`message.searchable_text`) that phrases are sought in."""
    text = searchable[:PHRASE_CHARS]
    return text.replace("\xa0", " ") if "\xa0" in text else text


def tokens(text: str) -> frozenset[bytes]:
    """The word tokens of a phrase text: UTF-8, ASCII punctuation as space, split on white
    space, as a set (C speed). The text model reads the same set."""
    return frozenset(text.encode("utf-8", "replace").translate(_PUNCT_TO_SPACE).split())


def scan(m: Message) -> tuple[str, frozenset[bytes]]:
    """The capped lower-case text and its word tokens, computed once per message."""
    found = scan_message(m)
    return found.text, found.words


def gap(n: int) -> str:
    """Up to `n` words between two parts of a phrase."""
    return rf"(?:[^\s]+\s+){{0,{n}}}"


_LITERAL = re.compile(r"^[\w']+$")


class Phrases:
    """A family of phrases: alternatives compiled into one regex, searched near anchor words.

    In a pattern a literal space stands for any run of white space (line breaks included), and
    " ?" for optional white space. Near an anchor only the alternatives that mention it (or a
    5-letter prefix of it) are tried, so a window costs a few small regexes, not the family's;
    an alternative that is one plain word is settled by the token set alone.
    """

    def __init__(self, anchors: str, *patterns: str, window: int = _WINDOW) -> None:
        global _FAMILIES
        self.number = _FAMILIES
        _FAMILIES += 1
        sources = [p.replace(" ?", r"\s*").replace(" ", r"\s+") for p in patterns]
        self.rx = _compile(sources, range(len(sources)))
        self.window = window
        literal = {p: i for i, p in enumerate(patterns) if _LITERAL.match(p)}
        compiled: dict[tuple[int, ...], re.Pattern[str] | None] = {}
        bases = list(dict.fromkeys([*anchors.split(), *literal]))
        for base in bases:
            key = base if len(base) <= 5 else base[:5]
            idx = tuple(
                i for i, p in enumerate(patterns) if key in p and p not in literal
            ) or tuple(i for i, p in enumerate(patterns) if p not in literal)
            if idx not in compiled:
                compiled[idx] = _compile(sources, idx) if idx else None
            forms = [base, *(base + s for s in (_POSSESSIVE if base in literal else _SUFFIXES))]
            for form in forms:
                token = form.encode("utf-8")
                if any(e[0] == self.number for e in _INDEX.get(token, ())):
                    continue
                if form in literal:  # the word itself is a phrase: no regex needed
                    entry: Entry = (form, None, (literal[form],))
                    _INDEX.setdefault(token, []).append((self.number, entry))
                if compiled[idx] is not None:
                    _INDEX.setdefault(token, []).append((self.number, (form, compiled[idx], idx)))

    def _windows(
        self, text: str, entries: list[Entry]
    ) -> Iterator[tuple[int, int, re.Pattern[str], tuple[int, ...]]]:
        size = len(text)
        for anchor, rx, idx in entries:
            if rx is None:
                continue
            start = 0
            last_hi = -1
            windows = 0
            for _ in range(_MAX_FINDS):
                pos = text.find(anchor, start)
                if pos < 0 or windows >= _MAX_OCCURRENCES:
                    break
                end = pos + len(anchor)
                start = end
                # only where the anchor is a whole word, not inside another one
                if (pos and text[pos - 1].isalnum()) or (end < size and text[end].isalnum()):
                    continue
                windows += 1
                lo, hi = max(0, pos - self.window), end + self.window
                if lo < last_hi:  # overlaps the previous window of this anchor
                    lo = last_hi - len(anchor)
                last_hi = hi
                yield lo, hi, rx, idx

    def search_scan(self, found: Scan) -> bool:
        entries = found.hits.get(self.number)
        if not entries:
            return False
        if any(rx is None for _a, rx, _i in entries):
            return True
        return any(
            rx.search(found.text, lo, hi) for lo, hi, rx, _ in self._windows(found.text, entries)
        )

    def search_text(self, text: str, words: frozenset[bytes]) -> bool:
        """For checks: search `text` as a message body would be searched."""
        return self.search_scan(Scan(text, words))

    def found(self, m: Message) -> bool:
        return self.search_scan(scan_message(m))

    def distinct(self, m: Message) -> int:
        """How many different alternatives of the family occur."""
        found = scan_message(m)
        entries = found.hits.get(self.number)
        if not entries:
            return 0
        seen: set[int] = {idx[0] for _a, rx, idx in entries if rx is None}
        for lo, hi, rx, idx in self._windows(found.text, entries):
            for hit in rx.finditer(found.text, lo, hi):
                if hit.lastindex is not None:
                    seen.add(idx[hit.lastindex - 1])
        return len(seen)


def _compile(sources: list[str], idx: Iterable[int]) -> re.Pattern[str]:
    alternatives = "|".join(f"({sources[i]})" for i in idx)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
