"""HTML bodies with selectolax (lexbor): visible text, hidden text, links, forms, images, scripts.

No HTML library drops ``display:none`` text for you (DESIGN.md), so hidden elements are found here
from inline styles and attributes: ``display:none``, ``visibility:hidden``, zero or tiny font
sizes, zero opacity, zero height with hidden overflow, the ``hidden`` attribute, and text whose
colour equals its background (white-on-white and friends). Their text goes to `hidden_text` and
is left out of the visible text. Styles from ``<style>`` blocks and classes are not evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode

from mailwarden.message import INVISIBLE
from mailwarden.parse import limits

# Elements worth a look: one lexbor pass (a selector list costs one pass per selector).
_CANDIDATES = "[style], font[color], [hidden]"
_COLOR_TOKEN = re.compile(r"#[0-9a-f]{3,8}\b|rgba?\([^)]*\)|[a-z]+")
_DECL = re.compile(r"([a-z-]+)\s*:\s*([^;]+)")
_SIZE = re.compile(r"(\d*\.?\d+)\s*(px|pt|em|rem|%|vw|vh)?")
_MAX_HIDDEN_CHARS = 64 * 1024
_MAX_ANCESTORS = 8

_NAMED = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "whitesmoke": (245, 245, 245),
    "snow": (255, 250, 250),
    "ivory": (255, 255, 240),
}
_WHITE = (255, 255, 255)


@dataclass(slots=True)
class HtmlInfo:
    text: str = ""
    hidden: str = ""
    anchors: list[tuple[str, str]] = field(default_factory=list)  # (href, shown text)
    images: list[str] = field(default_factory=list)
    form_actions: list[str] = field(default_factory=list)
    forms: int = 0
    scripts: int = 0


def _color(value: str) -> tuple[int, int, int] | None:
    value = value.strip().lower().replace("!important", "").strip()
    if value.startswith("#"):
        digits = value[1:7]
        try:
            if len(digits) == 3:
                return (int(digits[0] * 2, 16), int(digits[1] * 2, 16), int(digits[2] * 2, 16))
            if len(digits) == 6:
                return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
        except ValueError:
            return None
        return None
    if value.startswith("rgb"):
        inner = value[value.find("(") + 1 : value.find(")")].replace(" ", "").split(",")
        try:
            return (int(inner[0]), int(inner[1]), int(inner[2]))
        except (ValueError, IndexError):
            return None
    return _NAMED.get(value.split()[0] if value else value)


def _same(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2]) <= 24


def _declarations(style: str) -> dict[str, str]:
    return {k: v.strip() for k, v in _DECL.findall(style.lower())}


def _background(decls: dict[str, str], node: LexborNode) -> tuple[int, int, int] | None:
    value = decls.get("background-color") or decls.get("background")
    if value:
        for token in _COLOR_TOKEN.findall(value):
            found = _color(token)
            if found is not None:
                return found
        if "url(" in value:
            return (-1000, -1000, -1000)  # an image: whatever colour, not comparable
    bgcolor = node.attributes.get("bgcolor")
    return _color(bgcolor) if bgcolor else None


def _inherited_background(node: LexborNode) -> tuple[int, int, int]:
    """The nearest background colour set inline on an ancestor; white when none is."""
    parent = node.parent
    for _ in range(_MAX_ANCESTORS):
        if parent is None or parent.tag in ("html", "-undef", "#document"):
            break
        style = parent.attributes.get("style") or ""
        found = _background(_declarations(style) if "background" in style else {}, parent)
        if found is not None:
            return found
        parent = parent.parent
    return _WHITE


def _tiny(size: str) -> bool:
    match = _SIZE.match(size)
    if match is None:
        return False
    number = float(match.group(1))
    unit = match.group(2) or "px"
    if unit in ("px", "pt"):
        return number <= 1.5
    if unit in ("em", "rem"):
        return number <= 0.1
    return number <= 10 if unit == "%" else number <= 0.1


def _is_hidden(node: LexborNode, style: str) -> bool:
    decls = _declarations(style) if style else {}
    if decls:
        if decls.get("display", "").startswith("none"):
            return True
        if decls.get("visibility", "").startswith(("hidden", "collapse")):
            return True
        size = decls.get("font-size")
        if size and _tiny(size):
            return True
        opacity = decls.get("opacity")
        if opacity:
            try:
                if float(opacity.split()[0].rstrip("%")) <= 0.05:
                    return True
            except (ValueError, IndexError):
                pass
        height = decls.get("max-height") or decls.get("height")
        if height and "hidden" in decls.get("overflow", "") and _SIZE.match(height):
            match = _SIZE.match(height)
            if match is not None and float(match.group(1)) == 0:
                return True
    raw_color = decls.get("color") or (node.attributes.get("color") if node.tag == "font" else "")
    if not raw_color:
        return False
    color = _color(raw_color)
    if color is None:
        return False
    background = _background(decls, node)
    if background is None:
        if color[0] + color[1] + color[2] < 3 * 235:
            return False  # only light text can vanish on the default (white) background
        background = _inherited_background(node)
    return _same(color, background)


def _may_hide(style: str) -> bool:
    """A cheap first look at an inline style: could anything in it hide the element?"""
    norm = style.lower().replace(" ", "")
    return (
        "none" in norm
        or "hidden" in norm
        or "collapse" in norm
        or "opacity:0" in norm
        or "font-size:0" in norm
        or "font-size:1p" in norm
        or "font-size:." in norm
        or "height:0" in norm
        or "color:#f" in norm
        or "color:white" in norm
        or "color:rgb(2" in norm
        or ("ackground" in norm and "color:" in norm.replace("background-color:", ""))
    )


def _hidden_roots(tree: LexborHTMLParser) -> list[LexborNode]:
    """Hidden elements, outermost only (a hidden child of a hidden parent is counted once)."""
    hidden: list[LexborNode] = []
    hidden_ids: set[int] = set()
    for checked, node in enumerate(tree.css(_CANDIDATES)):
        if checked >= limits.MAX_STYLED_ELEMENTS:
            break
        attrs = node.attributes
        if "hidden" in attrs:
            is_hidden = True
        else:
            style = attrs.get("style") or ""
            if node.tag != "font" and not _may_hide(style):
                continue
            is_hidden = _is_hidden(node, style)
        if not is_hidden or node.tag in ("html", "body"):
            continue
        ancestor = node.parent
        nested = False
        while ancestor is not None:
            if ancestor.mem_id in hidden_ids:
                nested = True
                break
            ancestor = ancestor.parent
        if not nested:
            hidden.append(node)
            hidden_ids.add(node.mem_id)
    return hidden


def _clean(text: str) -> str:
    if not text.isascii():
        text = INVISIBLE.sub("", text)  # they split words: "Pay\u200bPal"
    return " ".join(text.split())


def parse_html(html: str) -> HtmlInfo:
    """Everything the engine reads from one HTML body. May raise on pathological input."""
    info = HtmlInfo()
    tree = LexborHTMLParser(html, options=LexborDocumentOptions.WO_EVENTS)
    for node in tree.css("a[href], area[href], img[src], form, script"):
        tag = node.tag
        if tag == "img":
            src = node.attributes.get("src")
            if src:
                info.images.append(src)
        elif tag == "form":
            info.forms += 1
            action = node.attributes.get("action")
            if action:
                info.form_actions.append(action.strip())
        elif tag == "script":
            info.scripts += 1
        else:
            href = node.attributes.get("href")
            if href:
                info.anchors.append((href, _clean(node.text())))

    tree.strip_tags(["script", "style", "template", "title"])
    hidden = _hidden_roots(tree)
    if hidden:
        texts = [_clean(node.text(separator=" ")) for node in hidden]
        info.hidden = " ".join(t for t in texts if t)[:_MAX_HIDDEN_CHARS]
        for node in hidden:
            node.decompose()
    root = tree.body or tree.root
    info.text = _clean(root.text(separator=" ")) if root is not None else ""
    return info
