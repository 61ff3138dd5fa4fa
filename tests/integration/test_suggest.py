"""``GET /api/papers/suggest``: search-as-you-type suggestions from the keyword index (real app + index)."""

from __future__ import annotations


def test_suggestions_are_titles_from_the_keyword_index(client):
    full = client.get("/api/papers/search", params={"q": "transformer", "mode": "keyword", "limit": 8}).json()
    response = client.get("/api/papers/suggest", params={"q": "transformer"})
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    items = response.json()
    assert 0 < len(items) <= 8
    assert [i["id"] for i in items] == [f["paper"]["id"] for f in full]
    assert set(items[0]) == {"id", "title", "authors"}
    assert "\n" not in items[0]["title"] and len(items[0]["authors"]) <= 3


def test_short_or_empty_queries_suggest_nothing(client):
    for q in ("", " ", "a", " x "):
        response = client.get("/api/papers/suggest", params={"q": q})
        assert response.status_code == 200 and response.json() == []
    assert client.get("/api/papers/suggest").json() == []


def test_limit_and_bad_input(client):
    assert len(client.get("/api/papers/suggest", params={"q": "learning", "limit": 3}).json()) == 3
    for params in ({"q": "learning", "limit": 0}, {"q": "learning", "limit": 21}, {"q": "x" * 1001}):
        response = client.get("/api/papers/suggest", params=params)
        assert response.status_code == 422
        assert response.json()["error"]["code"]


def test_query_syntax_never_breaks_suggestions(client):
    for q in ('"unclosed', "a:b (c", "-- ** ??", "title:)"):
        response = client.get("/api/papers/suggest", params={"q": q})
        assert response.status_code == 200, q
        assert isinstance(response.json(), list)


def test_suggest_is_not_taken_for_a_paper_id(client):
    assert client.get("/api/papers/suggest?q=graph").status_code == 200
    assert client.get("/api/papers/suggest").json() == []
