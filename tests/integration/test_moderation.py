"""Moderation through the real ASGI app: reports and the queue, hiding comments and papers, bans,
and 403 for everyone who is not an admin."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from paperfeed.config import Settings
from tests.integration.test_comments import DAY, anonymous, bearer, make_app, num_comments, post
from tests.integration.test_community import (
    CHEAP_ARGON2,
    PAPER,
    PASSWORD,
    csrf_from,
    login,
    new_client,
    signup,
)


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )


def admin_client(app, username: str = "root") -> TestClient:
    """A browser signed in as a new admin."""
    app.state.services.accounts.sign_up(username, f"{username}@example.org", PASSWORD, is_admin=True)
    client = new_client(app)
    assert login(client, username).status_code == 303
    return client


def browser(app, username: str) -> TestClient:
    client = new_client(app)
    assert signup(client, username).status_code == 303
    return client


def form(client: TestClient, path: str, page: str = "/settings", **data):
    return client.post(path, data={"csrf_token": csrf_from(client.get(page).text), **data})


def thread(client: TestClient) -> list[dict]:
    return client.get(f"/api/papers/{PAPER}/comments").json()


def test_report_queue_hide_flow(app):
    author = browser(app, "alice")
    reporter = browser(app, "mallory")
    admin = admin_client(app)
    page = author.get(f"/papers/{PAPER}").text
    location = form(author, f"/papers/{PAPER}/comments", f"/papers/{PAPER}", text="rude words here").headers[
        "location"
    ]
    comment_id = int(location.rsplit("-", 1)[1])
    base = num_comments(app)
    # the reporter sees a report form on the comment and files a report
    page = reporter.get(f"/papers/{PAPER}").text
    assert f'action="/comments/{comment_id}/report"' in page
    reported = form(reporter, f"/comments/{comment_id}/report", f"/papers/{PAPER}", reason="insulting")
    assert reported.status_code == 303 and reported.headers["location"].endswith(f"#comment-{comment_id}")
    # the queue shows it to admins only
    queue = admin.get("/admin/reports")
    assert queue.status_code == 200 and "insulting" in queue.text and "rude words here" in queue.text
    assert reporter.get("/admin/reports").status_code == 403
    report_id = re.search(r'action="/admin/reports/(\d+)/resolve"', queue.text).group(1)
    hidden = form(admin, f"/admin/reports/{report_id}/resolve", "/admin/reports", action="hide")
    assert hidden.status_code == 303
    assert "No open reports" in admin.get("/admin/reports").text
    # others see the placeholder; the author and admins still see the text
    public = anonymous(app).get(f"/papers/{PAPER}").text
    assert "[hidden by a moderator]" in public and "rude words here" not in public
    assert "[hidden by a moderator]" in reporter.get(f"/papers/{PAPER}").text
    assert "rude words here" in author.get(f"/papers/{PAPER}").text
    assert "rude words here" in admin.get(f"/papers/{PAPER}").text
    api = thread(anonymous(app))[0]
    assert api["hidden"] is True and api["text"] == "" and api["html"] == ""
    assert num_comments(app) == base - 1
    # unhide brings it back
    assert form(admin, f"/admin/comments/{comment_id}/unhide", f"/papers/{PAPER}").status_code == 303
    assert "rude words here" in anonymous(app).get(f"/papers/{PAPER}").text
    assert num_comments(app) == base


def test_reports_via_api_duplicates_dismiss_and_rate_limit(settings, engine, clock, keyword_index, loaded):
    app = make_app(settings, engine, clock, keyword_index, rate_limit_report_user="3/3600")
    author = bearer(app, "alice")
    reporter = bearer(app, "mallory")
    comments = [post(author, f"comment {i}").json()["id"] for i in range(4)]
    first = reporter.post(f"/api/comments/{comments[0]}/report", json={"reason": "spam"})
    assert first.status_code == 201 and first.json()["new"] is True
    again = reporter.post(f"/api/comments/{comments[0]}/report", json={"reason": "spam!"})
    assert again.status_code == 200 and again.json()["new"] is False
    assert reporter.post(f"/api/comments/{comments[1]}/report", json={"reason": " "}).status_code == 400
    assert reporter.post("/api/comments/424242/report", json={"reason": "x"}).status_code == 404
    assert reporter.post(f"/api/comments/{comments[1]}/report", json={"reason": "spam"}).status_code == 201
    limited = reporter.post(f"/api/comments/{comments[2]}/report", json={"reason": "spam"})
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    admin = admin_client(app)
    queue = admin.get("/admin/reports").text
    assert queue.count('class="report"') == 2
    report_id = re.search(r'action="/admin/reports/(\d+)/resolve"', queue).group(1)
    assert (
        form(admin, f"/admin/reports/{report_id}/resolve", "/admin/reports", action="dismiss").status_code
        == 303
    )
    assert admin.get("/admin/reports").text.count('class="report"') == 1
    assert all(not c["hidden"] for c in thread(anonymous(app)))


def test_hide_paper_removes_it_everywhere(app):
    admin = admin_client(app)
    assert any(i["paper"]["id"] == PAPER for i in anonymous(app).get(f"/api/daily_papers?date={DAY}").json())
    assert PAPER in anonymous(app).get(f"/papers?date={DAY}").text  # cached for signed-out visitors
    page = admin.get(f"/papers/{PAPER}").text
    assert 'action="/admin/papers/hide"' in page
    hidden = form(admin, "/admin/papers/hide", arxiv_id=PAPER)
    assert hidden.status_code == 303 and "notice=" in hidden.headers["location"]
    assert PAPER in admin.get("/admin").text  # listed as hidden, with an unhide button
    day = anonymous(app).get(f"/api/daily_papers?date={DAY}").json()
    assert all(i["paper"]["id"] != PAPER for i in day)
    assert anonymous(app).get(f"/api/papers/{PAPER}").status_code == 404
    assert anonymous(app).get(f"/papers/{PAPER}").status_code == 404
    assert f"/papers/{PAPER}" not in anonymous(app).get(f"/papers?date={DAY}").text
    search = anonymous(app).get("/api/papers/search", params={"q": PAPER, "mode": "keyword"}).json()
    assert all(i["paper"]["id"] != PAPER for i in search)
    voter = bearer(app, "victor")
    assert voter.post(f"/api/papers/{PAPER}/upvote").status_code == 404
    assert post(voter, "hello").status_code == 404
    assert form(admin, "/admin/papers/unhide", arxiv_id=PAPER).status_code == 303
    assert anonymous(app).get(f"/api/papers/{PAPER}").status_code == 200
    assert form(admin, "/admin/papers/hide", arxiv_id="9999.99999").status_code == 404


def test_ban_signs_out_and_blocks(app):
    victim = browser(app, "trent")
    token = app.state.services.accounts.create_token(app.state.services.accounts.user("trent"), "cli")
    api = new_client(app, headers={"Authorization": f"Bearer {token}"})
    assert post(api, "before the ban").status_code == 201
    admin = admin_client(app)
    banned = form(admin, "/admin/users/ban", "/admin", username="trent", reason="spam")
    assert banned.status_code == 303
    assert "trent" in admin.get("/admin").text
    # the old session is gone: the page is signed out, the session API is refused
    page = victim.get(f"/papers/{PAPER}").text
    assert "Sign in to comment" in page and 'class="account-name"' not in page
    assert (
        victim.post(
            f"/api/papers/{PAPER}/comments", json={"text": "x"}, headers={"X-CSRF-Token": "x"}
        ).status_code
        == 401
    )
    # the API token is refused: no comments, votes or submissions
    assert post(api, "after the ban").status_code == 401
    assert api.post(f"/api/papers/{PAPER}/upvote").status_code == 401
    assert api.post("/api/papers/submit", json={"id": "2501.00001"}).status_code == 401
    # signing in again says the account is suspended
    refused = login(new_client(app), "trent")
    assert refused.status_code in (401, 403) and "suspended" in refused.text
    assert "pf_session" not in refused.cookies
    # unban: sign-in works again
    assert form(admin, "/admin/users/unban", "/admin", username="trent").status_code == 303
    assert login(new_client(app), "trent").status_code == 303
    assert form(admin, "/admin/users/ban", "/admin", username="nobody-here").status_code == 404
    assert form(admin, "/admin/users/ban", "/admin", username="root").status_code == 422


def test_non_admins_get_403(app):
    user = browser(app, "oscar")
    ada = bearer(app, "ada")
    comment_id = post(ada, "a comment").json()["id"]
    assert user.get("/admin").status_code == 403
    assert user.get("/admin/reports").status_code == 403
    for path, data in (
        ("/admin/users/ban", {"username": "ada"}),
        ("/admin/users/unban", {"username": "ada"}),
        ("/admin/papers/hide", {"arxiv_id": PAPER}),
        ("/admin/papers/unhide", {"arxiv_id": PAPER}),
        (f"/admin/comments/{comment_id}/hide", {}),
        ("/admin/reports/1/resolve", {"action": "hide"}),
    ):
        assert form(user, path, **data).status_code == 403, path
    assert num_comments(app) >= 1 and not thread(anonymous(app))[0]["hidden"]
    assert anonymous(app).get(f"/api/papers/{PAPER}").status_code == 200
    signed_out = new_client(app).get("/admin")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    admin = admin_client(app)
    assert 'href="/admin"' in admin.get("/settings").text
    assert 'href="/admin"' not in user.get("/settings").text
