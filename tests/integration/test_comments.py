"""Comments through the real ASGI app: API and no-JavaScript forms, threads, the edit window,
soft deletion, comment counts in listings, XSS in the rendered page, CSRF and rate limits.

Real SQLite (Alembic), real argon2 (cheap parameters), the injected ``FixedClock``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from paperfeed.app import create_app
from paperfeed.config import Settings
from tests.integration.test_community import CHEAP_ARGON2, PAPER, PASSWORD, csrf_from, new_client, signup

DAY = "2025-01-10"


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )


def make_app(settings, engine, clock, keyword_index, **overrides):
    return create_app(
        settings.model_copy(update=overrides), clock=clock, engine=engine, keyword_index=keyword_index
    )


def bearer(app, username: str, *, admin: bool = False) -> TestClient:
    """A client authenticated with a fresh API token of a new account."""
    accounts = app.state.services.accounts
    account = accounts.sign_up(username, f"{username}@example.org", PASSWORD, is_admin=admin)
    token = accounts.create_token(account, "tests")
    return new_client(app, headers={"Authorization": f"Bearer {token}"})


def post(client: TestClient, text: str, parent: int | None = None, paper: str = PAPER):
    body = {"text": text} if parent is None else {"text": text, "parent": parent}
    return client.post(f"/api/papers/{paper}/comments", json=body)


def anonymous(app) -> TestClient:
    return new_client(app)


def other_paper(app) -> str:
    """Another paper featured the same day."""
    items = anonymous(app).get(f"/api/daily_papers?date={DAY}&limit=100").json()
    return next(item["paper"]["id"] for item in items if item["paper"]["id"] != PAPER)


def num_comments(app, paper: str = PAPER) -> int:
    return anonymous(app).get(f"/api/papers/{paper}").json()["numComments"]


def day_item(app, paper: str = PAPER) -> dict:
    items = anonymous(app).get(f"/api/daily_papers?date={DAY}&limit=100").json()
    return next(item for item in items if item["paper"]["id"] == paper)


# --------------------------------------------------------------------------- API
def test_post_reply_and_thread_order(app):
    ada = bearer(app, "ada")
    bob = bearer(app, "bob")
    first = post(ada, "First *comment*")
    assert first.status_code == 201
    c1 = first.json()
    assert c1["author"] == "ada" and c1["text"] == "First *comment*"
    assert c1["html"] == "<p>First <em>comment</em></p>"
    assert c1["parent"] is None and c1["deleted"] is False and c1["hidden"] is False
    assert c1["createdAt"].endswith("Z") and c1["editedAt"] is None
    c2 = post(bob, "Second, top level").json()
    r1 = post(bob, "Reply to first", parent=c1["id"]).json()
    r1a = post(ada, "Reply to the reply", parent=r1["id"]).json()
    r2 = post(bob, "Another reply to first", parent=c1["id"]).json()
    assert r1["parent"] == c1["id"] and r1a["parent"] == r1["id"]
    thread = anonymous(app).get(f"/api/papers/{PAPER}/comments").json()
    assert [c["id"] for c in thread] == [c1["id"], r1["id"], r1a["id"], r2["id"], c2["id"]]
    assert [c["depth"] for c in thread] == [0, 1, 2, 1, 0]
    assert set(thread[0]) >= {"id", "author", "html", "text", "createdAt", "editedAt", "parent"}
    # a versioned id reads the same thread; another paper has none
    assert len(anonymous(app).get(f"/api/papers/{PAPER}v2/comments").json()) == 5
    assert anonymous(app).get(f"/api/papers/{other_paper(app)}/comments").json() == []


def test_num_comments_in_paper_and_daily_api(app):
    base = num_comments(app)
    base_item = day_item(app)["numComments"]
    assert base_item == base
    ada = bearer(app, "ada")
    first = post(ada, "counted").json()
    post(ada, "counted too", parent=first["id"])
    assert num_comments(app) == base + 2
    assert day_item(app)["numComments"] == base + 2
    assert ada.delete(f"/api/comments/{first['id']}").status_code == 200
    assert num_comments(app) == base + 1
    assert day_item(app)["numComments"] == base + 1


def test_cached_anonymous_listing_shows_the_new_count(app):
    page = anonymous(app).get(f"/papers?date={DAY}")
    assert page.status_code == 200
    base = num_comments(app)
    pattern = (
        rf'href="/papers/{re.escape(PAPER)}#discussion">.*?<span>(\d+)<span class="visually-hidden"> comments'
    )
    assert int(re.search(pattern, page.text, re.S).group(1)) == base
    post(bearer(app, "ada"), "hello")
    again = anonymous(app).get(f"/papers?date={DAY}")
    assert int(re.search(pattern, again.text, re.S).group(1)) == base + 1


def test_edit_window_and_who_may_edit(app, clock):
    ada = bearer(app, "ada")
    bob = bearer(app, "bob")
    admin = bearer(app, "root", admin=True)
    comment = post(ada, "typo here").json()
    edited = ada.patch(f"/api/comments/{comment['id']}", json={"text": "fixed **here**"})
    assert edited.status_code == 200
    assert (
        edited.json()["text"] == "fixed **here**"
        and edited.json()["html"] == "<p>fixed <strong>here</strong></p>"
    )
    assert edited.json()["editedAt"] is not None
    assert bob.patch(f"/api/comments/{comment['id']}", json={"text": "mine now"}).status_code == 403
    assert admin.patch(f"/api/comments/{comment['id']}", json={"text": "rewritten"}).status_code == 403
    assert ada.patch(f"/api/comments/{comment['id']}", json={"text": " "}).status_code == 422
    start = clock.at
    try:
        clock.at = start + timedelta(minutes=16)
        late = ada.patch(f"/api/comments/{comment['id']}", json={"text": "too late"})
        assert late.status_code == 403 and late.json()["error"]["code"] == "forbidden"
    finally:
        clock.at = start
    assert anonymous(app).get(f"/api/papers/{PAPER}/comments").json()[0]["text"] == "fixed **here**"


def test_soft_delete_keeps_replies_in_place(app):
    ada = bearer(app, "ada")
    bob = bearer(app, "bob")
    admin = bearer(app, "root", admin=True)
    parent = post(ada, "parent text").json()
    reply = post(bob, "a reply", parent=parent["id"]).json()
    assert bob.delete(f"/api/comments/{parent['id']}").status_code == 403
    gone = ada.delete(f"/api/comments/{parent['id']}")
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert ada.delete(f"/api/comments/{parent['id']}").status_code == 200  # idempotent
    thread = anonymous(app).get(f"/api/papers/{PAPER}/comments").json()
    assert [c["id"] for c in thread] == [parent["id"], reply["id"]]
    assert thread[0]["deleted"] is True and thread[0]["text"] == "" and thread[0]["html"] == ""
    assert thread[1]["text"] == "a reply"
    assert post(bob, "reply to deleted", parent=parent["id"]).status_code == 422
    assert admin.delete(f"/api/comments/{reply['id']}").status_code == 200  # moderators may delete
    page = anonymous(app).get(f"/papers/{PAPER}").text
    assert "parent text" not in page and "a reply" not in page and page.count("[deleted]") >= 2


def test_bad_input(settings, engine, clock, keyword_index, loaded):
    app = make_app(settings, engine, clock, keyword_index, comment_max_chars=50, comment_max_depth=2)
    ada = bearer(app, "ada")
    assert post(ada, "").status_code == 422
    assert post(ada, "   \n").status_code == 422
    too_long = post(ada, "x" * 51)
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "invalid_comment"
    assert ada.post(f"/api/papers/{PAPER}/comments", json={"text": 5}).status_code == 422
    assert ada.post(f"/api/papers/{PAPER}/comments", content=b"{not json").status_code == 422
    assert post(ada, "hi", paper="9999.99999").status_code == 404
    assert post(ada, "hi", parent=424242).status_code == 404
    top = post(ada, "top").json()
    assert post(ada, "wrong paper", parent=top["id"], paper=other_paper(app)).status_code == 404
    reply = post(ada, "depth 2", parent=top["id"])
    assert reply.status_code == 201
    assert post(ada, "depth 3", parent=reply.json()["id"]).status_code == 422
    assert ada.patch("/api/comments/424242", json={"text": "x"}).status_code == 404
    assert ada.delete("/api/comments/424242").status_code == 404
    assert anonymous(app).get("/api/papers/9999.99999/comments").status_code == 404
    # nothing half-written: only the two good comments exist
    assert len(anonymous(app).get(f"/api/papers/{PAPER}/comments").json()) == 2


def test_writes_need_an_account(app):
    denied = anonymous(app).post(f"/api/papers/{PAPER}/comments", json={"text": "hi"})
    assert denied.status_code == 401
    fake = new_client(app, headers={"Authorization": "Bearer pf_made-up"})
    assert post(fake, "hi").status_code == 401


def test_session_api_needs_the_csrf_header(app):
    client = new_client(app)
    signup(client, "carol")
    token = csrf_from(client.get(f"/papers/{PAPER}").text)
    assert client.post(f"/api/papers/{PAPER}/comments", json={"text": "no header"}).status_code == 403
    ok = client.post(f"/api/papers/{PAPER}/comments", json={"text": "with"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201 and ok.json()["author"] == "carol"


# --------------------------------------------------------------------------- HTML forms
def test_comment_forms_without_javascript(app):
    client = new_client(app)
    assert "Sign in to comment" in client.get(f"/papers/{PAPER}").text
    signup(client, "dora")
    page = client.get(f"/papers/{PAPER}").text
    assert 'id="new-comment"' in page and "$…$" in page
    posted = client.post(
        f"/papers/{PAPER}/comments", data={"csrf_token": csrf_from(page), "text": "From a *form*"}
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    match = re.fullmatch(rf"/papers/{re.escape(PAPER)}#comment-(\d+)", location)
    assert match
    comment_id = match.group(1)
    page = client.get(f"/papers/{PAPER}").text
    assert f'id="comment-{comment_id}"' in page and "From a <em>form</em>" in page
    assert 'href="/u/dora"' in page
    # reply, edit and delete through forms
    reply = client.post(
        f"/papers/{PAPER}/comments",
        data={"csrf_token": csrf_from(page), "text": "a reply", "parent": comment_id},
    )
    reply_id = reply.headers["location"].rsplit("-", 1)[1]
    edit = client.post(
        f"/comments/{reply_id}/edit", data={"csrf_token": csrf_from(page), "text": "edited reply"}
    )
    assert edit.status_code == 303 and edit.headers["location"].endswith(f"#comment-{reply_id}")
    delete = client.post(f"/comments/{comment_id}/delete", data={"csrf_token": csrf_from(page)})
    assert delete.status_code == 303
    page = client.get(f"/papers/{PAPER}").text
    assert "edited reply" in page and "From a <em>form</em>" not in page and "[deleted]" in page
    # empty text: a clear 422 page, nothing stored
    empty = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf_from(page), "text": "  "})
    assert empty.status_code == 422 and "empty" in empty.text


def test_comment_form_without_csrf_is_403(app):
    client = new_client(app)
    signup(client, "eve")
    assert client.post(f"/papers/{PAPER}/comments", data={"text": "no token"}).status_code == 403
    assert (
        client.post(f"/papers/{PAPER}/comments", data={"text": "bad", "csrf_token": "x"}).status_code == 403
    )
    assert anonymous(app).get(f"/api/papers/{PAPER}/comments").json() == []


def test_anonymous_form_post_goes_to_sign_in(app):
    client = new_client(app)
    token = csrf_from(client.get("/login").text)  # the paper page itself sets no cookie when signed out
    response = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": token, "text": "hi"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


XSS = [
    "<script>alert('pwned')</script>",
    "<img src=x onerror=alert('pwned')>",
    "[click me](javascript:alert('pwned'))",
    '<a href="javascript:alert(1)" onclick="alert(2)">x</a>',
    "<svg/onload=alert('pwned')>",
]


def test_xss_in_comments_is_escaped_in_the_paper_page(app):
    ada = bearer(app, "ada")
    for payload in XSS:
        assert post(ada, payload).status_code == 201
    page = anonymous(app).get(f"/papers/{PAPER}").text
    discussion = page[page.index('id="discussion"') :]
    assert "<script>alert" not in discussion
    assert "<img" not in discussion and "<svg" not in discussion
    assert not re.search(r"<a[^>]*javascript:", discussion, re.I)
    assert not re.search(r"<[^>]*\sonerror=", discussion, re.I)
    assert not re.search(r"<[^>]*\sonclick=", discussion, re.I)
    assert "&lt;script&gt;alert(" in discussion  # the payload is visible as text
    assert "&lt;img src=x onerror=alert(" in discussion
    assert "[click me](javascript:alert(" in discussion  # shown as text, not a link


def test_math_is_kept_for_katex(app):
    ada = bearer(app, "ada")
    source = r"We get $a_i * b_i$ and $$\sum_{k} x_k^2$$ here."
    comment = post(ada, source).json()
    assert r"$a_i * b_i$" in comment["html"] and r"$$\sum_{k} x_k^2$$" in comment["html"]
    page = anonymous(app).get(f"/papers/{PAPER}").text
    body = re.search(
        rf'id="comment-{comment["id"]}".*?<div class="comment-body math">(.*?)</div>', page, re.S
    )
    assert body and r"$a_i * b_i$" in body.group(1) and r"$$\sum_{k} x_k^2$$" in body.group(1)


def test_comment_rate_limit(settings, engine, clock, keyword_index, loaded):
    app = make_app(settings, engine, clock, keyword_index, rate_limit_comment_user="2/60")
    ada = bearer(app, "ada")
    assert post(ada, "one").status_code == 201
    assert post(ada, "two").status_code == 201
    limited = post(ada, "three")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    client = new_client(app)
    signup(client, "bea")
    page = client.get(f"/papers/{PAPER}").text
    for _ in range(2):
        client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf_from(page), "text": "x"})
    form = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf_from(page), "text": "x"})
    assert form.status_code == 429 and "Retry-After" in form.headers
    assert len(anonymous(app).get(f"/api/papers/{PAPER}/comments").json()) == 4


def test_deleted_account_shows_as_deleted(app):
    client = new_client(app)
    signup(client, "frank")
    page = client.get(f"/papers/{PAPER}").text
    client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf_from(page), "text": "frank was here"})
    settings_page = client.get("/settings").text
    gone = client.post(
        "/settings/delete", data={"csrf_token": csrf_from(settings_page), "password": PASSWORD}
    )
    assert gone.status_code == 303
    thread = anonymous(app).get(f"/api/papers/{PAPER}/comments").json()
    assert thread[0]["author"] is None and thread[0]["text"] == "frank was here"
    page = anonymous(app).get(f"/papers/{PAPER}").text
    assert "/u/frank" not in page and "[deleted]" in page and "frank was here" in page
