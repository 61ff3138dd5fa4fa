"""Follows through the real app: validation, idempotence, the cap, CSRF, the forms on the
paper and search pages, and the JSON API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from paperfeed.config import Settings
from tests.integration.test_community import CHEAP_ARGON2, csrf_from, signup

PAPER = "2501.05441"


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        follows_max_per_user=5,
        **CHEAP_ARGON2,
    )


@pytest.fixture
def client(app):
    client = TestClient(app, follow_redirects=False)
    assert signup(client, "alice").status_code == 303
    client.headers["X-CSRF-Token"] = csrf_from(client.get("/following").text)
    return client


def follows(client) -> list[dict]:
    return client.get("/api/follows").json()


def follow_rows(app) -> int:
    with app.state.services.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM follows")).scalar_one()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("cs.LG", "cs.LG"),
        ("CS.cl", "cs.CL"),
        ("math.ap", "math.AP"),
        ("hep-th", "hep-th"),
        ("astro-ph.co", "astro-ph.CO"),
        (" cond-mat.MES-HALL ", "cond-mat.mes-hall"),
        ("stat.ml", "stat.ML"),
    ],
)
def test_categories_are_validated_and_normalised(client, given, stored):
    response = client.post("/api/follows", json={"kind": "category", "value": given})
    assert response.status_code == 201 and response.json()["value"] == stored


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "category", "value": "cs.XX"}, "not an arXiv category"),
        ({"kind": "category", "value": "cs.LG; DROP TABLE"}, "not an arXiv category"),
        ({"kind": "author", "value": "   "}, "must not be empty"),
        ({"kind": "author", "value": "a" * 201}, "at most 200"),
        ({"kind": "query", "value": "q" * 251}, "at most 250"),
        ({"kind": "query", "value": "diffusion", "mode": "fuzzy"}, "mode must be"),
        ({"kind": "venue", "value": "NeurIPS"}, "kind must be"),
        ({"kind": "author", "value": 42}, "value must be a string"),
    ],
)
def test_bad_follows_are_refused_and_nothing_is_written(app, client, body, message):
    response = client.post("/api/follows", json=body)
    assert response.status_code == 400
    assert (
        response.json()["error"]["code"] == "invalid_input" and message in response.json()["error"]["message"]
    )
    assert follow_rows(app) == 0


def test_follow_is_idempotent_and_unfollow_too(client):
    first = client.post("/api/follows", json={"kind": "author", "value": "  Yann   LeCun "})
    assert first.status_code == 201 and first.json()["value"] == "Yann LeCun"
    again = client.post("/api/follows", json={"kind": "author", "value": "yann lecun"})
    assert again.status_code == 200 and again.json()["value"] == "Yann LeCun"
    query = client.post("/api/follows", json={"kind": "query", "value": "diffusion", "mode": "keyword"})
    assert query.status_code == 201 and query.json()["mode"] == "keyword"
    # following the same search again only changes its mode
    assert (
        client.post("/api/follows", json={"kind": "query", "value": "diffusion"}).json()["mode"] == "hybrid"
    )
    assert [(f["kind"], f["value"], f.get("mode")) for f in follows(client)] == [
        ("author", "Yann LeCun", None),
        ("query", "diffusion", "hybrid"),
    ]
    assert client.request(
        "DELETE", "/api/follows", json={"kind": "author", "value": "YANN LECUN"}
    ).json() == {"removed": True}
    assert client.request(
        "DELETE", "/api/follows", json={"kind": "author", "value": "Yann LeCun"}
    ).json() == {"removed": False}
    assert [f["kind"] for f in follows(client)] == ["query"]


def test_bad_json_body(client):
    response = client.post("/api/follows", content=b"not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"
    assert client.post("/api/follows", json=["cs.LG"]).status_code == 400


def test_cap_per_user(app, client):
    for category in ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "cs.RO"):
        assert client.post("/api/follows", json={"kind": "category", "value": category}).status_code == 201
    over = client.post("/api/follows", json={"kind": "category", "value": "cs.IR"})
    assert over.status_code == 409 and over.json()["error"]["code"] == "too_many_follows"
    # re-following something already followed is still fine at the cap
    assert client.post("/api/follows", json={"kind": "category", "value": "cs.LG"}).status_code == 200
    assert follow_rows(app) == 5


def test_write_api_with_session_needs_the_csrf_header(app, client):
    del client.headers["X-CSRF-Token"]
    response = client.post("/api/follows", json={"kind": "category", "value": "cs.LG"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"
    assert follow_rows(app) == 0


def test_html_forms_follow_list_and_unfollow(app, client):
    page = client.get("/following")
    assert page.status_code == 200 and "Nothing yet." in page.text
    token = csrf_from(page.text)
    done = client.post("/following", data={"csrf_token": token, "kind": "category", "value": "cs.cl"})
    assert done.status_code == 303 and done.headers["location"] == "/following"
    bad = client.post("/following", data={"csrf_token": token, "kind": "category", "value": "nonsense"})
    assert bad.status_code == 422 and "not an arXiv category" in bad.text
    client.post(
        "/following", data={"csrf_token": token, "kind": "query", "value": "gesture", "mode": "keyword"}
    )
    page = client.get("/following").text
    assert "cs.CL" in page and "“gesture” (keyword)" in page
    gone = client.post("/following/remove", data={"csrf_token": token, "kind": "category", "value": "cs.CL"})
    assert gone.status_code == 303
    assert [f["value"] for f in follows(client)] == ["gesture"]


def test_form_without_csrf_is_refused(app, client):
    response = client.post("/following", data={"kind": "category", "value": "cs.LG"})
    assert response.status_code == 403
    response = client.post("/following", data={"csrf_token": "forged", "kind": "category", "value": "cs.LG"})
    assert response.status_code == 403
    assert follow_rows(app) == 0
    assert client.post("/following/feed-token", data={"action": "create"}).status_code == 403
    assert client.post("/following/remove", data={"kind": "category", "value": "cs.LG"}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(app):
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/following").headers["location"] == "/login?next=/following"
    paper = anonymous.get(f"/papers/{PAPER}").text
    assert "to follow this paper" in paper and 'action="/following"' not in paper


def test_follow_buttons_on_paper_and_search_pages(client):
    paper = client.get(f"/papers/{PAPER}")
    assert paper.status_code == 200 and 'action="/following"' in paper.text
    detail = client.get(f"/api/papers/{PAPER}").json()
    author = detail["authors"][0]["name"]
    assert f'name="value" value="{author}"' in paper.text
    token = csrf_from(paper.text)
    back = client.post(
        "/following",
        data={"csrf_token": token, "kind": "author", "value": author, "next": f"/papers/{PAPER}"},
    )
    assert back.status_code == 303 and back.headers["location"] == f"/papers/{PAPER}"
    search = client.get("/search?q=video+generation&mode=keyword")
    assert "Follow this search" in search.text and 'name="mode" value="keyword"' in search.text
    client.post(
        "/following",
        data={"csrf_token": token, "kind": "query", "value": "video generation", "mode": "keyword"},
    )
    assert [(f["kind"], f["value"]) for f in follows(client)] == [
        ("author", author),
        ("query", "video generation"),
    ]


def test_a_deleted_account_loses_its_personal_feed(app, client):
    client.post("/api/follows", json={"kind": "category", "value": "cs.LG"})
    svc = app.state.services
    user_id = svc.accounts.user("alice").id
    feed_token = svc.feed_tokens.create(user_id)
    reader = TestClient(app)
    assert reader.get(f"/feeds/user/{feed_token}.xml").status_code == 200
    token = csrf_from(client.get("/settings").text)
    deleted = client.post("/settings/delete", data={"csrf_token": token, "password": "correct horse battery"})
    assert deleted.status_code == 303
    assert reader.get(f"/feeds/user/{feed_token}.xml").status_code == 404
