"""HTML fragments for forms sent by ``static/forms.js`` (``X-Requested-With: fetch``), through the
real ASGI app: comments (post, reply, edit, delete, errors) and follow buttons answer with the
re-rendered part of the page instead of a redirect; without the header the forms still redirect;
CSRF is still enforced; user text in a fragment is escaped. Also the month calendar page.

Real SQLite (Alembic), real argon2 (cheap parameters), the injected ``FixedClock``.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from paperfeed.config import Settings
from tests.integration.test_community import CHEAP_ARGON2, PAPER, csrf_from, signup

FETCH = {"X-Requested-With": "fetch", "Accept": "text/html"}


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        follows_max_per_user=2,
        **CHEAP_ARGON2,
    )


@pytest.fixture
def client(app) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert signup(client, "fran").status_code == 303
    return client


def token(client: TestClient, path: str = f"/papers/{PAPER}") -> str:
    return csrf_from(client.get(path).text)


def comment_rows(app) -> int:
    with app.state.services.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM comments")).scalar_one()


def follow_rows(app) -> int:
    with app.state.services.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM follows")).scalar_one()


def is_fragment(response) -> bool:
    return response.headers.get("x-paperfeed-fragment") == "1"


# --------------------------------------------------------------------------- comments
def test_comment_reply_edit_delete_answer_with_the_thread(client):
    csrf = token(client)
    posted = client.post(
        f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": "A *fetch* comment"}, headers=FETCH
    )
    assert posted.status_code == 200 and is_fragment(posted)
    assert posted.headers["cache-control"] == "private, no-store"
    body = posted.text
    assert body.lstrip().startswith('<div id="comments"') and "<html" not in body
    first = int(re.search(r'data-hash="comment-(\d+)"', body).group(1))
    assert f'data-focus="#comment-{first}"' in body and 'data-status="Comment posted."' in body
    assert "A <em>fetch</em> comment" in body and re.search(
        r"\d+ comments \(4 on the original listing\)", body
    )
    assert 'data-enhance="replace:#comments"' in body  # the new forms are enhanced too

    reply = client.post(
        f"/papers/{PAPER}/comments",
        data={"csrf_token": csrf, "text": "a reply", "parent": str(first)},
        headers=FETCH,
    )
    second = int(re.search(r'data-hash="comment-(\d+)"', reply.text).group(1))
    assert reply.status_code == 200 and 'data-status="Reply posted."' in reply.text
    assert f'id="comment-{second}" class="comment comment-depth-1' in reply.text

    edited = client.post(
        f"/comments/{second}/edit", data={"csrf_token": csrf, "text": "an **edited** reply"}, headers=FETCH
    )
    assert edited.status_code == 200 and "an <strong>edited</strong> reply" in edited.text
    assert 'data-status="Comment updated."' in edited.text and "· edited" in edited.text

    deleted = client.post(f"/comments/{first}/delete", data={"csrf_token": csrf}, headers=FETCH)
    assert deleted.status_code == 200 and 'data-status="Comment deleted."' in deleted.text
    assert "A <em>fetch</em> comment" not in deleted.text and "[deleted]" in deleted.text
    # the same thread the full page shows
    page = client.get(f"/papers/{PAPER}").text
    assert "an <strong>edited</strong> reply" in page and f'id="comment-{second}"' in page


def test_comment_error_comes_back_in_the_fragment_with_its_status(client, app):
    csrf = token(client)
    empty = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": "   "}, headers=FETCH)
    assert empty.status_code == 422 and is_fragment(empty)
    assert 'id="comment-error" class="form-error" role="alert"' in empty.text and "empty" in empty.text
    assert 'data-focus="#comment-error"' in empty.text
    too_long = "x" * (app.state.services.settings.comment_max_chars + 1)
    long = client.post(
        f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": too_long}, headers=FETCH
    )
    assert long.status_code == 422 and too_long in long.text  # the draft is kept in the textarea
    assert comment_rows(app) == 0
    # editing someone else's comment: the author's thread comes back with a 403 and the message
    other = TestClient(app, follow_redirects=False)
    signup(other, "gus")
    mine = other.post(f"/papers/{PAPER}/comments", data={"csrf_token": token(other), "text": "gus says"})
    gus_id = int(mine.headers["location"].rsplit("-", 1)[1])
    denied = client.post(
        f"/comments/{gus_id}/edit", data={"csrf_token": csrf, "text": "hijack"}, headers=FETCH
    )
    assert denied.status_code == 403 and is_fragment(denied) and "gus says" in denied.text
    assert "hijack" not in client.get(f"/api/papers/{PAPER}/comments").text
    # an unknown comment is no fragment: the usual error page
    missing = client.post("/comments/999999/edit", data={"csrf_token": csrf, "text": "x"}, headers=FETCH)
    assert missing.status_code == 404 and not is_fragment(missing)


def test_csrf_is_still_enforced_for_fetch(client, app):
    bad = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": "forged", "text": "no"}, headers=FETCH)
    assert bad.status_code == 403 and not is_fragment(bad)
    missing = client.post(f"/papers/{PAPER}/comments", data={"text": "no"}, headers=FETCH)
    assert missing.status_code == 403
    follow = client.post(
        "/following", data={"csrf_token": "forged", "kind": "author", "value": "cs.CL"}, headers=FETCH
    )
    assert follow.status_code == 403 and not is_fragment(follow)
    assert comment_rows(app) == 0 and follow_rows(app) == 0


def test_fragment_escapes_user_text(client):
    csrf = token(client)
    attack = "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    response = client.post(
        f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": attack}, headers=FETCH
    )
    assert response.status_code == 200
    assert "<script>alert" not in response.text and "<img" not in response.text
    assert 'href="javascript:' not in response.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in response.text  # shown as text
    too_long = "<b>bold</b>" * 2000
    error = client.post(
        f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": too_long}, headers=FETCH
    )
    assert error.status_code == 422 and "<b>bold</b>" not in error.text and "&lt;b&gt;bold" in error.text
    follow = client.post(
        "/following",
        data={"csrf_token": csrf, "kind": "author", "value": '"><script>alert(4)</script>', "next": "/"},
        headers=FETCH,
    )
    assert follow.status_code == 200 and "<script>alert(4)" not in follow.text
    assert "&lt;script&gt;alert(4)" in follow.text or "&#34;&gt;&lt;script&gt;" in follow.text


def test_without_the_fetch_header_forms_still_redirect(client):
    csrf = token(client)
    posted = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": "plain form"})
    assert posted.status_code == 303 and re.fullmatch(
        rf"/papers/{PAPER}#comment-\d+", posted.headers["location"]
    )
    assert not is_fragment(posted)
    follow = client.post(
        "/following",
        data={"csrf_token": csrf, "kind": "author", "value": "cs.CL", "next": f"/papers/{PAPER}"},
    )
    assert follow.status_code == 303 and follow.headers["location"] == f"/papers/{PAPER}"
    empty = client.post(f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": " "})
    assert empty.status_code == 422 and "<html" in empty.text  # the full error page, as before


# --------------------------------------------------------------------------- follows
def test_follow_and_unfollow_answer_with_the_button(client, app):
    csrf = token(client)
    author = client.get(f"/api/papers/{PAPER}").json()["authors"][0]["name"]  # fixture: no categories
    page = client.get(f"/papers/{PAPER}").text
    assert 'class="inline-form follow-form" method="post" action="/following" data-enhance="replace"' in page
    data = {"csrf_token": csrf, "kind": "author", "value": f"  {author} ", "next": f"/papers/{PAPER}"}
    followed = client.post("/following", data=data, headers=FETCH)
    assert followed.status_code == 200 and is_fragment(followed)
    body = followed.text.strip()
    assert body.startswith(
        '<form class="inline-form follow-form following" method="post" action="/following/remove"'
    )
    assert f'data-status="Following {author}."' in body and f"Following {author}<" in body
    assert f'name="next" value="/papers/{PAPER}"' in body  # the no-JS fallback still comes back here
    assert [f["value"] for f in client.get("/api/follows").json()] == [author]
    # the paper page now shows the followed state
    assert f"Following {author}<" in client.get(f"/papers/{PAPER}").text

    removed = client.post("/following/remove", data={**data, "value": author}, headers=FETCH)
    assert removed.status_code == 200 and f'data-status="Stopped following {author}."' in removed.text
    assert 'action="/following"' in removed.text and f"+ Follow {author}<" in removed.text
    assert follow_rows(app) == 0
    # a label (the search page's "this search") survives the round trip
    query = {
        "csrf_token": csrf,
        "kind": "query",
        "value": "diffusion",
        "mode": "keyword",
        "label": "this search",
    }
    saved = client.post("/following", data=query, headers=FETCH)
    assert "Following this search" in saved.text and 'name="mode" value="keyword"' in saved.text


def test_follow_errors_come_back_in_the_button(client, app):
    csrf = token(client)
    bad = client.post(
        "/following", data={"csrf_token": csrf, "kind": "category", "value": "cs.NOPE"}, headers=FETCH
    )
    assert bad.status_code == 422 and is_fragment(bad)
    assert 'class="form-error follow-error" role="alert"' in bad.text and "not an arXiv category" in bad.text
    for value in ("cs.CL", "cs.LG"):
        data = {"csrf_token": csrf, "kind": "category", "value": value}
        client.post("/following", data=data, headers=FETCH)
    over = client.post(
        "/following", data={"csrf_token": csrf, "kind": "category", "value": "math.AP"}, headers=FETCH
    )
    assert over.status_code == 409 and is_fragment(over) and "+ Follow math.AP" in over.text
    assert follow_rows(app) == 2


def test_anonymous_fetch_is_sent_to_sign_in(app):
    client = TestClient(app, follow_redirects=False)
    csrf = csrf_from(client.get("/login").text)
    response = client.post(
        f"/papers/{PAPER}/comments", data={"csrf_token": csrf, "text": "hi"}, headers=FETCH
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# --------------------------------------------------------------------------- calendar
def test_month_calendar(app):
    client = TestClient(app, follow_redirects=False)
    latest = client.get("/papers/calendar")
    assert latest.status_code == 302 and re.fullmatch(
        r"/papers/calendar/\d{4}-\d{2}", latest.headers["location"]
    )
    page = client.get("/papers/calendar/2025-01?date=2025-01-10")
    assert page.status_code == 200 and page.headers["cache-control"].startswith("public")
    html = page.text
    assert '<table class="calendar">' in html and "January 2025" in html
    counts = app.state.services.papers.day_counts(
        __import__("datetime").date(2025, 1, 1), __import__("datetime").date(2025, 1, 31)
    )
    assert counts  # the fixture has featured days in January 2025
    for day, count in counts.items():
        assert f'href="/papers?date={day.isoformat()}"' in html
        assert re.search(
            rf'{day.day}</span>\s*<span class="cal-count">'
            rf'<span class="visually-hidden">, </span>{count}<span class="cal-word"> papers?<',
            html,
        )
    assert 'aria-current="date"' in html and '<th scope="col"><abbr title="Monday">Mon</abbr></th>' in html
    assert html.count('<th scope="row" class="cal-week">') in (5, 6)  # Jan 2025: Dec 30 .. Feb 2
    assert (
        'href="/papers/calendar/2024-12" rel="prev"' in html
        and 'href="/papers/calendar/2025-02" rel="next"' in html
    )
    assert 'href="/papers/week/2025-W02"' in html
    # an empty month: no day links, still a page
    empty = client.get("/papers/calendar/1999-02").text
    assert "/papers?date=" not in empty and "0 papers featured" in empty
    for bad in ("2025-13", "nope", "0000-01"):
        response = client.get(f"/papers/calendar/{bad}")
        assert response.status_code == 400 and "invalid month" in response.text
    assert client.get("/papers/calendar/2025-01?date=bad").status_code == 400
    # the day page links to its month's calendar
    day_page = client.get("/papers?date=2025-01-10").text
    assert 'href="/papers/calendar/2025-01?date=2025-01-10">Calendar</a>' in day_page
