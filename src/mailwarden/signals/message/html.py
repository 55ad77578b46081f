"""HTML body signals: hidden text, forms, scripts, HTML-only bodies."""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal

HIDDEN_TEXT_MIN_CHARS = 20  # a preheader snippet of a few words is not "content"


@signal("message.html.hidden_chars", int)
def hidden_chars(m: Message, ctx: Context) -> int:
    """Characters of HTML text hidden from the reader (display:none, zero font size...)."""
    return len("".join(m.hidden_text.split()))


@signal("message.html.hidden_text", bool)
def hidden_text(m: Message, ctx: Context) -> bool:
    """Hidden HTML text (display:none, font-size:0, same colour...) of 20+ characters."""
    if not m.hidden_text:
        return False
    compact = "".join(m.hidden_text.split())
    return len(compact) >= HIDDEN_TEXT_MIN_CHARS and any(c.isalpha() for c in compact[:200])


@signal("message.html.form", bool)
def html_form(m: Message, ctx: Context) -> bool:
    """The HTML body contains a form."""
    return m.html_forms > 0 or bool(m.html_form_actions)


@signal("message.html.script", bool)
def html_script(m: Message, ctx: Context) -> bool:
    """The HTML body contains script."""
    return m.html_scripts > 0


@signal("message.html.only", bool)
def html_only(m: Message, ctx: Context) -> bool:
    """An HTML body with no text/plain alternative."""
    if not m.html:
        return False
    # The parser puts the HTML's visible text in `text` when there is no plain part.
    return not m.text or m.text == m.html_text
