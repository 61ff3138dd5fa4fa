"""Comment markdown → safe HTML (markdown-it-py, then an explicit ``nh3`` allow-list).

Raw HTML in comments is never passed through (``html=False``) and the rendered HTML is cleaned
again with ``nh3``: only the tags below survive, links keep only ``http``/``https``/``mailto``
targets and get ``rel="nofollow noopener ugc"``. TeX math (``$...$``, ``$$...$$``, ``\\(...\\)``,
``\\[...\\]``) is taken out before markdown runs and put back afterwards as escaped text, so
``_`` and ``*`` inside formulas are not turned into emphasis and the page's KaTeX auto-render
(elements with the ``math`` class) sees the TeX exactly as written.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener ugc"

# the same delimiters as static/site.js (display first, so ``$$`` is never read as two ``$``)
MATH_RE = re.compile(
    r"\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)"
    r"|(?<!\\)\$(?=[^\s$])((?:\\\$|[^$])+?)(?<=[^\s\\])\$(?!\d)"
)
# private-use characters mark where a formula was taken out; users cannot send them
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER_RE = re.compile(f"{_OPEN}(\\d+){_CLOSE}")

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Keep only absolute http(s)/mailto link targets; a formula placeholder drops the attribute."""
    if _OPEN in value or "%EE%80%80" in value.upper():
        return None
    if attribute == "href" and not value.strip().lower().startswith(("http://", "https://", "mailto:")):
        return None
    return value


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment down to the comment allow-list."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )


def render_markdown(text: str) -> str:
    """Render comment markdown to sanitised HTML with TeX math kept verbatim (escaped) for KaTeX."""
    source = (text or "").replace("\r\n", "\n").replace(_OPEN, "").replace(_CLOSE, "")
    formulas: list[str] = []

    def protect(match: re.Match[str]) -> str:
        formulas.append(match.group(0))
        return f"{_OPEN}{len(formulas) - 1}{_CLOSE}"

    protected = MATH_RE.sub(protect, source)
    cleaned = sanitize_html(_md.render(protected))
    if not formulas:
        return cleaned.strip()
    restored = _PLACEHOLDER_RE.sub(lambda m: html.escape(formulas[int(m.group(1))], quote=True), cleaned)
    return restored.replace(_OPEN, "").replace(_CLOSE, "").strip()
