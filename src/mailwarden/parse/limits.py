"""Caps that keep one hostile message from costing more than its share of a core.

Every cap turns into a defect when it is hit, so a message that was only partly read says so.
"""

from __future__ import annotations

MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # body beyond this is not parsed: `message-too-large`
MAX_HEADER_BYTES = 512 * 1024  # header block beyond this is ignored: `headers-too-large`
MAX_HEADERS = 1_000  # header fields kept: `too-many-headers`
MAX_DEPTH = 50  # MIME nesting (multipart and message/rfc822): `nesting-too-deep`
MAX_PARTS = 500  # MIME parts walked: `too-many-parts`
MAX_HTML_CHARS = 512 * 1024  # HTML kept and parsed (characters)
MAX_TEXT_CHARS = 1024 * 1024  # plain-text body kept (characters)
MAX_LINKS = 500  # links kept, after de-duplication by href
MAX_RECEIVED = 100  # Received hops parsed
MAX_STYLED_ELEMENTS = 2_000  # HTML elements whose inline style is inspected for hiding tricks
MAX_ARCHIVE_MEMBERS = 1_000  # zip member names kept
MAX_ARCHIVE_ENTRIES = 20_000  # a zip declaring more entries is not listed: `archive-bomb`
MAX_ARCHIVE_TOTAL = 1024 * 1024 * 1024  # declared uncompressed bytes of one zip: `archive-bomb`
MAX_ARCHIVE_RATIO = 200  # declared uncompressed / compressed, when over MIN_BOMB_TOTAL
MIN_BOMB_TOTAL = 50 * 1024 * 1024  # ratios only count for archives declaring this much
MAX_QP_SCAN_BYTES = 256 * 1024  # bytes of each quoted-printable body checked for bad escapes
