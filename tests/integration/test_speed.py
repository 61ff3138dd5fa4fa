"""Transfer size and caching (``web/speed.py``): gzip for pages and JSON, immutable versioned static files."""

from __future__ import annotations

import re

import httpx


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+\?v=[^"]+)"', html)


def test_pages_and_json_are_gzipped_when_accepted(client):
    for path in ("/", "/papers/trending", "/api/daily_papers"):
        raw = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert raw.status_code == 200
        assert raw.headers["content-encoding"] == "gzip", path
        assert "accept-encoding" in raw.headers["vary"].lower()
        assert int(raw.headers["content-length"]) < len(raw.content) / 2  # decoded body is much bigger
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == raw.content


def test_etag_revalidation_still_works_with_gzip(client):
    first = client.get("/", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["etag"]
    again = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_versioned_static_files_are_immutable(client):
    urls = static_urls(client.get("/").text)
    assert any("site.css" in u for u in urls) and any("keys.js" in u for u in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    css = client.get(next(u for u in urls if "site.css" in u), headers={"Accept-Encoding": "gzip"})
    assert css.headers["content-encoding"] == "gzip"


def test_unversioned_static_files_revalidate(client):
    response = client.get("/static/site.css")
    assert "immutable" not in response.headers.get("cache-control", "")
    etag = response.headers["etag"]
    assert client.get("/static/site.css", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/static/missing.css?v=1").status_code == 404
    assert "immutable" not in client.get("/static/missing.css?v=1").headers.get("cache-control", "")


def test_gzip_over_a_real_socket(app):
    from tests.servers import serve_app

    with serve_app(app) as url:
        response = httpx.get(url + "/papers/trending", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "<html" in response.text
