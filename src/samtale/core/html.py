"""HTML safety: everything shown as HTML passes through here first."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"alt", "title", "width", "height", "data-src"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


_IMG_SRC = re.compile(r"(<img\b[^>]*?\s)src(\s*=)", re.IGNORECASE)


def _keep_safe_image_sources(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "data-src":
        return value if value.strip().lower().startswith(("https://", "http://", "cid:")) else None
    return value


def sanitize(raw: str) -> str:
    """Keep formatting, drop scripts, handlers, javascript: URLs and remote loads.

    Images keep their address as `data-src` only: nothing loads when a message is shown. Inline
    images (`cid:`) are pointed at their attachment when rendered, remote ones only when the
    agent clicks "Load remote images"."""
    return nh3.clean(
        _IMG_SRC.sub(r"\1data-src\2", raw),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_keep_safe_image_sources,
    )


_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|tr|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)


def to_text(raw_html: str) -> str:
    cleaned = nh3.clean(_BLOCK_END.sub("\n", raw_html), tags=set())
    lines = [line.strip() for line in html.unescape(cleaned).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n{2,}", text.strip()) if p]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
