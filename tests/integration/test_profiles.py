"""Public profiles (``/u/{name}``, ``/api/users/{name}``) through the real ASGI app.

Submissions go through the real submission service (a paper stored complete, so no arXiv call),
upvotes through the vote API. Comments are written as rows of the ``comments`` table (the comment
feature is its own module; profiles only read that table).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from paperfeed.config import Settings
from tests.integration.test_community import CHEAP_ARGON2, PAPER, PASSWORD

SNAPSHOT_ONLY = "1812.06145"  # in the snapshot sample, never featured: can be submitted


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        submission_max_age_days=100_000,
        **CHEAP_ARGON2,
    )


def account(app, username: str, *, admin: bool = False):
    return app.state.services.accounts.sign_up(
        username, f"{username.lower()}@example.org", PASSWORD, is_admin=admin
    )


def add_comment(engine, user_id: int, arxiv_id: str, html: str, *, when: datetime, **flags) -> None:
    with engine.begin() as conn:
        paper_id = conn.execute(text("SELECT id FROM papers WHERE arxiv_id = :a"), {"a": arxiv_id}).scalar()
        conn.execute(
            text(
                "INSERT INTO comments (paper_id, user_id, body, body_html, created_at, deleted_at, hidden_at)"
                " VALUES (:p, :u, :b, :h, :c, :d, :x)"
            ),
            {
                "p": paper_id,
                "u": user_id,
                "b": "markdown",
                "h": html,
                "c": when,
                "d": flags.get("deleted"),
                "x": flags.get("hidden"),
            },
        )


@pytest.fixture
def populated(app, engine):
    svc = app.state.services
    alice = account(app, "Alice_01", admin=True)
    svc.submissions.submit(alice, SNAPSHOT_ONLY)
    svc.votes.set_vote(alice, PAPER, True)
    add_comment(engine, alice.id, PAPER, "<p>Nice <em>paper</em></p>", when=datetime(2026, 8, 20, 10))
    add_comment(engine, alice.id, PAPER, "<p>second</p>", when=datetime(2026, 8, 21, 10))
    add_comment(
        engine, alice.id, PAPER, "<p>gone</p>", when=datetime(2026, 8, 21, 11), deleted=datetime(2026, 8, 21)
    )
    add_comment(
        engine, alice.id, PAPER, "<p>hidden</p>", when=datetime(2026, 8, 21, 12), hidden=datetime(2026, 8, 21)
    )
    return alice


def test_profile_json_lists_submitted_upvoted_and_comments(app, populated):
    client = TestClient(app)
    response = client.get("/api/users/alice_01")  # any case
    assert response.status_code == 200
    data = response.json()
    assert data["user"] == "Alice_01"
    assert data["isAdmin"] is True and "suspended" not in data
    assert data["createdAt"].endswith("Z")
    assert [i["paper"]["id"] for i in data["submitted"]] == [SNAPSHOT_ONLY]
    assert data["submitted"][0]["submittedBy"]["user"] == "Alice_01"
    assert data["numSubmitted"] == 1
    assert [i["paper"]["id"] for i in data["upvoted"]] == [PAPER]
    assert data["upvoted"][0]["paper"]["upvotes"] == 52 and data["numUpvoted"] == 1
    assert data["numComments"] == 2  # deleted and hidden comments are not counted
    assert [c["html"] for c in data["comments"]] == ["<p>second</p>", "<p>Nice <em>paper</em></p>"]
    assert data["comments"][0]["paper"]["id"] == PAPER and data["comments"][0]["paper"]["title"]
    assert client.get("/api/users/ALICE_01").json()["user"] == "Alice_01"


def test_profile_page(app, populated):
    client = TestClient(app)
    page = client.get("/u/ALICE_01")
    assert page.status_code == 200
    html = page.text
    assert '<h1 id="page-title">Alice_01</h1>' in html
    assert f'href="/papers/{SNAPSHOT_ONLY}"' in html and f'href="/papers/{PAPER}"' in html
    assert "1 paper submitted" in html and "2 comments" in html
    assert "<p>Nice <em>paper</em></p>" in html and "gone" not in html
    assert "suspended" not in html


def test_unknown_and_deleted_accounts_are_404(app):
    client = TestClient(app)
    assert client.get("/api/users/nobody").status_code == 404
    assert client.get("/api/users/nobody").json()["error"]["code"] == "not_found"
    assert client.get("/u/nobody").status_code == 404
    bob = account(app, "bob")
    assert client.get("/api/users/bob").status_code == 200
    app.state.services.accounts.delete_account(bob, PASSWORD)
    assert client.get("/api/users/bob").status_code == 404
    assert client.get("/u/bob").status_code == 404


def test_banned_users_show_as_suspended(app, engine):
    account(app, "carol")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET banned_at = :t WHERE username_key = 'carol'"), {"t": datetime(2026, 8, 1)}
        )
    client = TestClient(app)
    assert client.get("/api/users/carol").json()["suspended"] is True
    page = client.get("/u/carol")
    assert page.status_code == 200 and "This account is suspended." in page.text


def test_hostile_names_are_escaped_and_limits_checked(app):
    client = TestClient(app)
    nasty = "/u/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    response = client.get(nasty)
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.text and "&lt;script&gt;" in response.text
    api = client.get("/api/users/%3Cimg%20src%3Dx%3E")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    account(app, "dave")
    assert client.get("/api/users/dave?limit=0").status_code == 422
    assert client.get("/api/users/dave?limit=101").status_code == 422
    assert client.get("/api/users/dave?limit=1").json()["submitted"] == []


def test_header_links_to_the_signed_in_users_profile(app):
    from tests.integration.test_community import new_client, signup

    client = new_client(app)
    signup(client, "erin")
    page = client.get("/").text
    assert 'class="account-name" href="/u/erin"' in page
    assert client.get("/u/erin").status_code == 200
