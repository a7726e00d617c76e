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
    "img": {"alt", "title", "width", "height", "src"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


# Applied to nh3's own output, which is normalized: every attribute is ` name="value"` with `"` and
# `>` escaped inside values, so a tag ends at the first `>` and this scan is linear.
_IMG_SRC = re.compile(r'(<img(?: [a-z-]+="[^"]*")*) src="')


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.strip().lower().startswith(("https://", "http://", "cid:")) else None
    if attribute == "href" and value.strip().lower().startswith("cid:"):
        return None
    return value


MAX_DEPTH = 64  # elements nested deeper are shown as text
_OPEN_OR_CLOSE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]{0,15})")
# Not counted: void elements (no content), and elements whose start closes an open one of their kind
# (`<p>a<p>b`, `<li>`, `<td>` …): a thousand of them in a row nest nothing.
_FLAT = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
        "optgroup",
        "tbody",
        "thead",
        "tfoot",
        "colgroup",
        "rb",
        "rt",
        "rp",
    ]
)


def _bounded_depth(raw: str) -> str:
    """The HTML parser behind nh3 checks the stack of open elements at every tag, so its work grows
    with the square of the nesting depth (1 MB of `<div><b>` took minutes). Start tags that would
    open an element deeper than MAX_DEPTH are turned into text (`&lt;`); real mail never nests that
    deep. One linear scan; the count errs towards deeper (it does not know implied end tags)."""
    if raw.count("<") <= MAX_DEPTH:
        return raw
    out: list[str] = []
    depth = last = 0
    for match in _OPEN_OR_CLOSE.finditer(raw):
        name = match.group(2).lower()
        if name in _FLAT:
            continue
        if match.group(1):
            depth = max(0, depth - 1)
        elif depth < MAX_DEPTH:
            depth += 1
        else:
            out.append(raw[last : match.start()])
            out.append("&lt;")
            last = match.start() + 1
    if not out:
        return raw
    out.append(raw[last:])
    return "".join(out)


def sanitize(raw: str) -> str:
    """Keep formatting, drop scripts, handlers, javascript: URLs and remote loads.

    Images keep their address as `data-src` only: nothing loads when a message is shown. Inline
    images (`cid:`) are pointed at their attachment when rendered, remote ones only when the
    agent clicks "Load remote images"."""
    clean = nh3.clean(
        _bounded_depth(raw),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_attribute_filter,
    )
    return _IMG_SRC.sub(r'\1 data-src="', clean) if "<img" in clean else clean


_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|tr|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)


def to_text(raw_html: str) -> str:
    cleaned = nh3.clean(_BLOCK_END.sub("\n", _bounded_depth(raw_html)), tags=set())
    lines = [line.strip() for line in html.unescape(cleaned).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n{2,}", text.strip()) if p]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
