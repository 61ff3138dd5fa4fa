"""Atom feeds parse with feedparser and carry the right papers."""

from __future__ import annotations

import feedparser


def _parse(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def test_daily_feed_is_the_latest_day(client):
    feed = _parse(client, "/feeds/daily.xml")
    assert "2025-06-20" in feed.feed.title
    assert {e.link.rsplit("/", 1)[-1] for e in feed.entries} == {"2506.15154", "2506.14837"}
    entry = feed.entries[0]
    assert entry.title and entry.summary and entry.authors
    assert any(link.href == "https://arxiv.org/abs/" + entry.link.rsplit("/", 1)[-1] for link in entry.links)


def test_trending_feed(client):
    feed = _parse(client, "/feeds/trending.xml")
    assert feed.entries, "trending falls back to the newest feed window when nothing is recent"


def test_search_feed_escapes_everything(client):
    feed = _parse(client, "/feeds/search.xml?q=gesture%20recognition")
    titles = [e.title for e in feed.entries]
    assert any("Gesture" in t for t in titles)
    hostile = _parse(client, "/feeds/search.xml?q=%3Cscript%3E%26%22")
    assert "<script>" in hostile.feed.title  # text, correctly escaped in XML, round-trips as text


def test_empty_search_feed_is_valid(client):
    feed = _parse(client, "/feeds/search.xml?q=")
    assert feed.entries == []
