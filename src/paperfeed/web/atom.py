"""Atom 1.0 documents built with ElementTree (so every value is escaped correctly)."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from paperfeed.papers.models import PaperItem

ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM_NS)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _stamp(value: datetime | None) -> str:
    value = value or datetime(1970, 1, 1)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(
    *,
    title: str,
    feed_url: str,
    page_url: str,
    base_url: str,
    items: list[PaperItem],
    updated: datetime | None,
    subtitle: str | None = None,
) -> bytes:
    """Serialise ``items`` as an Atom feed; each entry links to our paper page and to arXiv."""
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _el(feed, "id", feed_url)
    _el(feed, "title", title)
    if subtitle:
        _el(feed, "subtitle", subtitle)
    _el(feed, "updated", _stamp(updated))
    _el(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    _el(feed, "link", rel="alternate", href=page_url, type="text/html")
    _el(feed, "generator", "paperfeed")
    for item in items:
        entry = _el(feed, "entry")
        _el(entry, "id", f"{base}/papers/{item.arxiv_id}")
        _el(entry, "title", item.title)
        _el(entry, "link", rel="alternate", href=f"{base}/papers/{item.arxiv_id}", type="text/html")
        _el(entry, "link", rel="related", href=item.abs_url, type="text/html", title="arXiv")
        _el(entry, "updated", _stamp(item.featured_at or item.published_at))
        if item.published_at:
            _el(entry, "published", _stamp(item.published_at))
        for name in item.authors or ["Unknown"]:
            author = _el(entry, "author")
            _el(author, "name", name)
        for category in item.categories:
            _el(entry, "category", term=category)
        _el(entry, "summary", item.abstract, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
