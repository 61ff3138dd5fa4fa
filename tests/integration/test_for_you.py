"""For you: ranking from follows, upvotes and vectors, the page, the API and the personal Atom feed.

Real SQLite, real tantivy, the real ASGI app; the vector index is real with injected vectors
(so the similarity test does not need the model), and one instance with semantic search off.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import feedparser
import numpy as np
import pytest
from fastapi.testclient import TestClient

from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.search.vectors import VectorIndex
from tests.conftest import FIXTURES, TEST_NOW
from tests.integration.personal_data import week_rows, write_week
from tests.integration.test_community import CHEAP_ARGON2, csrf_from, signup

SIMILAR_SOURCE = "1904.11093"  # "Deep Sparse Representation-based Classification" (cs.CV, 21 upvotes)
SIMILAR_TARGET = "2008.03186"  # a cs.CE paper with 23 upvotes, given a vector next to the source's
GESTURE_PAPER = "1812.06145"  # "... Dynamic Hand-Gesture Recognition ..." (cs.CV)


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )


@pytest.fixture
def week(ingest, tmp_path):
    """The fixture snapshot plus 32 of its papers featured in the week before TEST_NOW."""
    ingest("arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz")
    ingest("hf-daily", write_week(tmp_path / "week.jsonl"))


@pytest.fixture
def vectors(settings, week):
    """A real vector index with random unit vectors, except that SIMILAR_TARGET sits next to
    SIMILAR_SOURCE (cosine ≈ 0.95); random 384-d vectors are nearly orthogonal (cosine < 0.3)."""
    cl, other = week_rows()
    ids = [r["id"] for r in cl + other]
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(len(ids), 384)).astype(np.float32)
    source = matrix[ids.index(SIMILAR_SOURCE)]
    matrix[ids.index(SIMILAR_TARGET)] = source + 0.3 * rng.normal(size=384).astype(np.float32) * (
        np.linalg.norm(source) / np.sqrt(384)
    )
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    index.upsert(ids, matrix, model="test:random")
    return index


@pytest.fixture
def app(settings, engine, clock, keyword_index, week, vectors):
    return create_app(settings, clock=clock, engine=engine, keyword_index=keyword_index, vector_index=vectors)


def user_client(app, name: str = "alice") -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert signup(client, name).status_code == 303
    client.headers["X-CSRF-Token"] = csrf_from(client.get("/following").text)
    return client


def follow(client: TestClient, kind: str, value: str, mode: str | None = None):
    body = {"kind": kind, "value": value} | ({"mode": mode} if mode else {})
    response = client.post("/api/follows", json=body)
    assert response.status_code in (200, 201), response.text
    return response


def for_you(client: TestClient, limit: int = 50) -> list[dict]:
    response = client.get(f"/api/for-you?limit={limit}")
    assert response.status_code == 200, response.text
    return response.json()


def test_category_follow_puts_those_papers_first_with_the_reason(app):
    client = user_client(app)
    follow(client, "category", "cs.CL")
    items = for_you(client)
    is_cl = ["cs.CL" in i["paper"]["categories"] for i in items]
    n_cl = sum(is_cl)
    assert n_cl >= 5 and is_cl == [True] * n_cl + [False] * (len(items) - n_cl)
    assert all(i["reason"] == "because you follow cs.CL" for i in items[:n_cl])
    assert all(i["reason"] == "popular recently" for i in items[n_cl:])
    # within the followed category the popularity prior breaks the tie: most upvoted first
    votes = [i["paper"]["upvotes"] for i in items[:n_cl]]
    assert votes == sorted(votes, reverse=True)
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    # daily-item shape plus the reason
    assert {"paper", "title", "summary", "publishedAt", "numComments", "reason"} <= set(items[0])


def test_author_follow_matches_case_insensitively(app):
    client = user_client(app)
    follow(client, "author", "mahdi ABAVISANI")
    items = for_you(client)
    top = {i["paper"]["id"] for i in items[:2]}
    assert top == {GESTURE_PAPER, SIMILAR_SOURCE}
    assert {i["reason"] for i in items[:2]} == {"because you follow mahdi ABAVISANI"}


def test_saved_keyword_search_lifts_its_hits(app):
    client = user_client(app)
    follow(client, "query", "hand gesture recognition", mode="keyword")
    items = for_you(client)
    assert items[0]["paper"]["id"] == GESTURE_PAPER
    assert items[0]["reason"] == "matches your saved search “hand gesture recognition”"


def test_similar_to_an_upvoted_paper_and_upvoted_papers_are_left_out(app):
    client = user_client(app)
    assert client.post(f"/api/papers/{SIMILAR_SOURCE}/upvote").status_code == 200
    items = for_you(client)
    ids = [i["paper"]["id"] for i in items]
    assert SIMILAR_SOURCE not in ids
    assert ids[0] == SIMILAR_TARGET
    assert (
        items[0]["reason"]
        == "similar to “Deep Sparse Representation-based Classification”, which you upvoted"
    )
    assert all(i["reason"] == "popular recently" for i in items[1:])


def test_strongest_reason_wins(app):
    client = user_client(app)
    client.post(f"/api/papers/{SIMILAR_SOURCE}/upvote")
    follow(client, "category", "cs.CE")  # SIMILAR_TARGET is cs.CE: category 1.0 < similarity ≈ 1.8
    first = for_you(client)[0]
    assert first["paper"]["id"] == SIMILAR_TARGET and first["reason"].startswith("similar to “Deep Sparse")


def test_user_without_signals_gets_trending(app):
    client = user_client(app)
    items = for_you(client, limit=10)
    assert {i["reason"] for i in items} == {"trending"}
    # the same order as the public trending page (same window, same formula)
    trending = app.state.services.papers.trending(limit=10).papers
    assert [i["paper"]["id"] for i in items] == [p.arxiv_id for p in trending]


def test_without_vectors_or_semantic_search_follows_still_work(
    settings, engine, clock, keyword_index, week, tmp_path
):
    for vector_index in (VectorIndex(tmp_path / "empty", refresh_seconds=0.0), None):
        off = settings.model_copy(update={"semantic_search": vector_index is not None})
        app = create_app(
            off, clock=clock, engine=engine, keyword_index=keyword_index, vector_index=vector_index
        )
        client = user_client(app, "bob" if vector_index is not None else "carol")
        client.post(f"/api/papers/{SIMILAR_SOURCE}/upvote")
        follow(client, "category", "cs.CL")
        items = for_you(client)
        assert items[0]["reason"] == "because you follow cs.CL"
        assert not any(i["reason"].startswith("similar") for i in items)


def test_service_api_and_window(app):
    svc = app.state.services
    user = svc.accounts.sign_up("dora", "dora@example.org", "correct horse battery")
    svc.follows.follow(user.id, "category", "cs.cl")
    since = svc.recommendations.default_since()
    assert since == TEST_NOW.replace(tzinfo=None) - timedelta(days=7)
    recs = svc.recommendations.for_user(user.id, since=since, limit=3)
    assert len(recs) == 3 and all(r.reason == "because you follow cs.CL" for r in recs)
    assert recs[0].score >= recs[1].score >= recs[2].score and recs[0].paper.arxiv_id
    # a window after every feed entry holds nothing; a wider one holds more
    assert svc.recommendations.for_user(user.id, since=TEST_NOW, limit=5) == []
    wide = svc.recommendations.for_user(user.id, since=datetime(2026, 8, 1), limit=200)
    assert len(wide) == 32


def test_stale_instance_uses_the_newest_week(settings, engine, clock, keyword_index, loaded):
    app = create_app(settings, clock=clock, engine=engine, keyword_index=keyword_index)
    since = app.state.services.recommendations.default_since()
    assert datetime(2025, 6, 12) < since < datetime(2025, 6, 20)  # the fixture's last day is 2025-06-20


def test_for_you_page(app):
    anonymous = TestClient(app)
    page = anonymous.get("/for-you")
    assert page.status_code == 200 and "Sign in" in page.text and "/login?next=/for-you" in page.text
    client = user_client(app)
    assert 'href="/for-you"' in client.get("/").text  # in the header for signed-in users
    follow(client, "category", "cs.CL")
    page = client.get("/for-you")
    assert page.status_code == 200 and page.headers["cache-control"].startswith("private")
    assert page.text.count("because you follow cs.CL") >= 5
    first_card = page.text.index('class="card"')
    assert page.text.index("because you follow cs.CL") < first_card


def test_api_needs_an_account(app):
    anonymous = TestClient(app)
    assert anonymous.get("/api/for-you").status_code == 401
    assert anonymous.get("/api/for-you").json()["error"]["code"] == "not_authenticated"
    assert anonymous.get("/api/follows").status_code == 401
    assert anonymous.post("/api/follows", json={"kind": "category", "value": "cs.CL"}).status_code == 401
    assert anonymous.get("/api/for-you", headers={"Authorization": "Bearer nope"}).status_code == 401
    # a personal API token works without cookies
    svc = app.state.services
    user = svc.accounts.sign_up("erin", "erin@example.org", "correct horse battery")
    token = svc.accounts.create_token(user, "script")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (
        anonymous.post(
            "/api/follows", json={"kind": "category", "value": "cs.CL"}, headers=bearer
        ).status_code
        == 201
    )
    assert (
        anonymous.get("/api/for-you?limit=2", headers=bearer).json()[0]["reason"]
        == "because you follow cs.CL"
    )
    assert anonymous.get("/api/for-you?limit=0", headers=bearer).status_code == 422


def _feed_link(html: str) -> str:
    match = re.search(r"http://127\.0\.0\.1:8000(/feeds/user/[A-Za-z0-9_-]+\.xml)", html)
    assert match, "no feed link on the page"
    return match.group(1)


def test_personal_atom_feed_create_rotate_revoke(app):
    client = user_client(app)
    follow(client, "category", "cs.CL")
    token = csrf_from(client.get("/following").text)
    created = client.post("/following/feed-token", data={"csrf_token": token, "action": "create"})
    assert created.status_code == 200
    url = _feed_link(created.text)
    assert _feed_link(created.text) not in client.get("/following").text  # shown once
    reader = TestClient(app)  # no cookies: the secret URL is the only key
    response = reader.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo and feed.feed.title == "paperfeed: for alice"
    api_ids = [i["paper"]["id"] for i in for_you(client)]
    assert [e.link.rsplit("/papers/", 1)[1] for e in feed.entries] == api_ids
    assert feed.entries[0].summary.startswith("For you: because you follow cs.CL.")
    # only the digest is stored
    stored = (
        app.state.services.engine.connect().exec_driver_sql("SELECT token_hash FROM feed_tokens").scalar()
    )
    assert stored and stored not in url and len(stored) == 64
    # rotating kills the old link
    rotated = client.post("/following/feed-token", data={"csrf_token": token, "action": "create"})
    new_url = _feed_link(rotated.text)
    assert new_url != url and reader.get(url).status_code == 404 and reader.get(new_url).status_code == 200
    # revoking kills the current one
    assert (
        client.post("/following/feed-token", data={"csrf_token": token, "action": "revoke"}).status_code
        == 200
    )
    assert reader.get(new_url).status_code == 404
    assert reader.get(new_url).json()["error"]["code"] == "not_found"
    assert reader.get("/feeds/user/unknown-token.xml").status_code == 404
