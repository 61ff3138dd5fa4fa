"""The JSON API through the real ASGI app, and Hugging Face's own client against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.servers import serve_app


def test_daily_papers_for_a_date_sorted_by_upvotes(client):
    response = client.get("/api/daily_papers", params={"date": "2025-01-10"})
    assert response.status_code == 200
    items = response.json()
    assert len(items) == 9
    upvotes = [item["paper"]["upvotes"] for item in items]
    assert upvotes == sorted(upvotes, reverse=True)
    top = items[0]
    assert top["paper"]["id"] == "2501.05441"
    assert top["paper"]["upvotes"] == 51
    assert top["title"] == top["paper"]["title"]
    assert top["paper"]["authors"][0]["name"] == "Yiwen Huang"
    assert top["publishedAt"].endswith("Z")


def test_default_is_the_latest_day_with_papers(client):
    items = client.get("/api/daily_papers").json()
    assert {item["paper"]["id"] for item in items} == {"2506.15154", "2506.14837"}


def test_week_and_month_views(client):
    week = client.get("/api/daily_papers", params={"week": "2025-W02"}).json()  # Jan 6..12 2025
    assert {i["feedDate"] for i in week} == {"2025-01-10"}
    month = client.get("/api/daily_papers", params={"month": "2025-01", "limit": 100}).json()
    assert len(month) == 12
    assert {i["feedDate"] for i in month} == {"2025-01-02", "2025-01-10"}


def test_paging_and_limits(client):
    first = client.get("/api/daily_papers", params={"date": "2025-01-10", "limit": 4, "p": 0}).json()
    second = client.get("/api/daily_papers", params={"date": "2025-01-10", "limit": 4, "p": 1}).json()
    third = client.get("/api/daily_papers", params={"date": "2025-01-10", "limit": 4, "p": 2}).json()
    ids = [i["paper"]["id"] for i in first + second + third]
    assert len(ids) == 9 == len(set(ids))


def test_sort_by_published_and_trending(client):
    by_time = client.get("/api/daily_papers", params={"month": "2025-01", "sort": "publishedAt"}).json()
    stamps = [i["publishedAt"] for i in by_time]
    assert stamps == sorted(stamps, reverse=True)
    trending = client.get("/api/daily_papers", params={"date": "2025-01-10", "sort": "trending"}).json()
    assert len(trending) == 9


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"date": "2025-13-40"}, 400),
        ({"date": "yesterday"}, 400),
        ({"week": "2025-W99"}, 400),
        ({"month": "2025-00"}, 400),
        ({"limit": 1000}, 422),
        ({"limit": 0}, 422),
        ({"p": -1}, 422),
        ({"sort": "random"}, 400),
        ({"date": "2025-01-10", "week": "2025-W02"}, 400),
    ],
)
def test_bad_parameters_are_json_errors(client, params, status):
    response = client.get("/api/daily_papers", params=params)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["message"]


def test_unknown_date_is_an_empty_list(client):
    assert client.get("/api/daily_papers", params={"date": "1999-01-01"}).json() == []


def test_paper_by_id_and_versioned_id(client):
    paper = client.get("/api/papers/2501.05441").json()
    assert paper["id"] == "2501.05441"
    assert paper["upvotes"] == 51
    assert paper["feedDays"] == ["2025-01-10"]
    assert client.get("/api/papers/2501.05441v3").json()["id"] == "2501.05441"


def test_unknown_and_malformed_paper_ids(client):
    missing = client.get("/api/papers/2501.99999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = client.get("/api/papers/not-an-id")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"


def test_paper_markdown(client):
    response = client.get("/papers/2501.05441.md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.text.startswith("# ")
    assert "https://arxiv.org/abs/2501.05441" in response.text


def test_search_ranks_and_highlights(client):
    response = client.get("/api/papers/search", params={"q": "gesture recognition", "limit": 5})
    assert response.status_code == 200
    items = response.json()
    assert items, "expected keyword hits in the fixture data"
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert any(
        "<b>" in (i.get("highlightedTitle") or "") + (i.get("highlightedSummary") or "") for i in items
    )
    assert response.headers["x-search-mode"] == "keyword"


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "AND(", "title:[a TO", "' OR 1=1 --", "foo:bar", "*", "\\", "((()))", "a" * 2000, "NOT"],
)
def test_search_never_fails_on_syntax(client, query):
    response = client.get("/api/papers/search", params={"q": query[:1000]})
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_search_validation(client):
    assert client.get("/api/papers/search", params={"q": "x", "limit": 500}).status_code == 422
    assert client.get("/api/papers/search", params={"q": "x", "mode": "magic"}).status_code == 400
    assert client.get("/api/papers/search", params={"q": "x", "from": "2025-99-01"}).status_code == 400


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["papers"] > 300
    assert body["keyword_index_docs"] > 300


def test_openapi_document(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/daily_papers" in spec["paths"]


HF_CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from huggingface_hub import HfApi
    api = HfApi(endpoint=sys.argv[1])
    day = list(api.list_daily_papers(date="2025-01-10"))
    week = list(api.list_daily_papers(week="2025-W02", sort="trending", limit=5))
    month = list(api.list_daily_papers(month="2025-01", p=0, limit=50))
    found = list(api.list_papers(query="gesture recognition", limit=3))
    info = api.paper_info("2501.05441")
    text = api.read_paper("2501.05441")
    print(json.dumps({
        "day": [[p.id, p.title, p.upvotes, [a.name for a in p.authors], p.summary[:40],
                 p.published_at.isoformat(), p.submitted_at.isoformat()] for p in day],
        "week": [p.id for p in week],
        "month": len(month),
        "search": [[p.id, p.title] for p in found],
        "info": [info.id, info.title, info.upvotes, len(info.authors), info.published_at.isoformat()],
        "markdown": text[:200],
    }))
    """
)


def test_hugging_face_client_works_against_a_real_server(app):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    with serve_app(app) as base_url:
        result = subprocess.run(
            [sys.executable, "-c", HF_CLIENT_SCRIPT, base_url],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    day = data["day"]
    assert len(day) == 9
    assert day[0][0] == "2501.05441" and day[0][2] == 51
    assert day[0][3][0] == "Yiwen Huang"
    assert all(row[1] and row[4] for row in day)
    assert len(data["week"]) == 5
    assert data["month"] == 12
    assert data["search"], "list_papers returned nothing"
    info = data["info"]
    assert info[0] == "2501.05441" and info[2] == 51 and info[3] > 0 and info[1]
    assert data["markdown"].startswith("# ")


def test_daily_listing_is_cached_and_revalidates_after_writes(client, ingest, tmp_path):
    url = "/api/daily_papers?date=2025-01-10"
    first = client.get(url)
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url).content == first.content
    # a newer HF snapshot of that day raises one paper's upvotes: the cached page must go stale
    day_file = tmp_path / "2025-01-10.json"
    day_file.write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": "2501.05441",
                        "title": "The GAN is dead; long live the GAN!",
                        "upvotes": 99,
                        "authors": [{"name": "Yiwen Huang"}],
                    },
                    "numComments": 4,
                }
            ]
        )
    )
    ingest("hf-daily", day_file)
    fresh = client.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    assert fresh.json()[0]["paper"]["upvotes"] == 99
