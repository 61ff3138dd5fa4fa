"""Accounts, sessions, CSRF, upvotes, API tokens and rate limits through the real ASGI app.

Real SQLite (Alembic), real argon2 (cheap parameters), real HTTP for the concurrency test.
"""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from paperfeed.app import create_app
from paperfeed.config import Settings
from tests.conftest import FIXTURES
from tests.servers import serve_app

PAPER = "2501.05441"  # featured on 2025-01-10 with 51 Hugging Face upvotes
DAY_PAGE = "/papers?date=2025-01-10"
PASSWORD = "correct horse battery"
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )


def make_app(settings, engine, clock, keyword_index, **overrides):
    if overrides:
        settings = settings.model_copy(update=overrides)
    return create_app(settings, clock=clock, engine=engine, keyword_index=keyword_index)


def new_client(app, **kwargs) -> TestClient:
    return TestClient(app, follow_redirects=False, **kwargs)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def signup(client: TestClient, username: str, email: str | None = None, password: str = PASSWORD):
    token = csrf_from(client.get("/signup").text)
    return client.post(
        "/signup",
        data={
            "csrf_token": token,
            "username": username,
            "email": email or f"{username.lower()}@example.org",
            "password": password,
            "password_confirm": password,
        },
    )


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def upvotes(client: TestClient, arxiv_id: str = PAPER) -> int:
    """The paper's count as an anonymous API client sees it."""
    return TestClient(client.app).get(f"/api/papers/{arxiv_id}").json()["upvotes"]


def vote_form(client: TestClient, action: str, page: str = DAY_PAGE):
    token = csrf_from(client.get(page).text)
    return client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": token, "action": action, "next": page})


# --------------------------------------------------------------------------- the main flow
def test_signup_login_upvote_unvote_through_html_forms(app):
    anonymous = new_client(app)
    page = anonymous.get(DAY_PAGE)
    assert page.headers["cache-control"].startswith("public")
    assert "set-cookie" not in page.headers
    assert "Sign in" in page.text and "/login?next=" in page.text
    assert 'class="votes-count">51<' in page.text

    client = new_client(app)
    created = signup(client, "alice")
    assert created.status_code == 303
    assert client.cookies.get("pf_session")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert login(client, "alice").status_code == 303

    page = client.get(DAY_PAGE)
    assert page.headers["cache-control"].startswith("private")
    assert "alice" in page.text and "Sign out" in page.text
    assert f'action="/papers/{PAPER}/upvote"' in page.text

    done = vote_form(client, "up")
    assert done.status_code == 303 and done.headers["location"] == DAY_PAGE
    assert upvotes(client) == 52  # 51 imported + 1 local
    page = client.get(DAY_PAGE).text
    assert 'class="votes vote-form voted"' in page and 'class="votes-count">52<' in page
    assert vote_form(client, "up").status_code == 303  # idempotent
    assert upvotes(client) == 52
    assert vote_form(client, "down").status_code == 303
    assert upvotes(client) == 51
    assert vote_form(client, "down").status_code == 303
    assert upvotes(client) == 51


def test_upvote_api_with_session_cookie_and_csrf_header(app):
    client = new_client(app)
    signup(client, "bob")
    token = csrf_from(client.get("/").text)
    up = client.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": token})
    assert up.status_code == 200
    assert up.json() == {"upvotes": 52, "upvoted": True}
    versioned = client.post(f"/api/papers/{PAPER}v2/upvote", headers={"X-CSRF-Token": token})
    assert versioned.json() == {"upvotes": 52, "upvoted": True}
    down = client.delete(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": token})
    assert down.json() == {"upvotes": 51, "upvoted": False}
    missing = client.post("/api/papers/9999.99999/upvote", headers={"X-CSRF-Token": token})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    anonymous = new_client(app).post(f"/api/papers/{PAPER}/upvote")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"


def test_paper_page_has_the_upvote_form(app):
    client = new_client(app)
    signup(client, "carol")
    page = client.get(f"/papers/{PAPER}")
    assert "votes-lg" in page.text and f'action="/papers/{PAPER}/upvote"' in page.text
    assert vote_form(client, "up", page=f"/papers/{PAPER}").headers["location"] == f"/papers/{PAPER}"
    assert 'votes-count">52<' in client.get(f"/papers/{PAPER}").text


def test_anonymous_upvote_form_sends_to_sign_in(app):
    client = new_client(app)
    client.get("/login")  # gets the pre-sign-in CSRF cookie
    token = csrf_from(client.get("/login").text)
    response = client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": token, "next": DAY_PAGE})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert upvotes(client) == 51


def test_imported_votes_survive_a_reimport(app, loaded):
    client = new_client(app)
    signup(client, "dave")
    vote_form(client, "up")
    loaded("hf-daily", FIXTURES / "hf_daily")
    assert upvotes(client) == 52


# --------------------------------------------------------------------------- CSRF
def test_csrf_missing_or_invalid_is_403(app):
    client = new_client(app)
    client.get("/login")
    missing = client.post("/login", data={"username": "x", "password": "y" * 8})
    assert missing.status_code == 403
    assert "CSRF" in missing.text
    wrong = client.post("/login", data={"csrf_token": "0" * 64, "username": "x", "password": "y" * 8})
    assert wrong.status_code == 403
    no_cookie = new_client(app).post("/signup", data={"csrf_token": csrf_from(client.get("/login").text)})
    assert no_cookie.status_code == 403

    signup(client, "erin")
    for path, data in [
        (f"/papers/{PAPER}/upvote", {"action": "up"}),
        ("/logout", {}),
        ("/settings/password", {"current_password": PASSWORD, "new_password": "x" * 12}),
        ("/settings/tokens", {"name": "t"}),
        ("/settings/delete", {"password": PASSWORD}),
    ]:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "nope"}).status_code == 403, path
    assert upvotes(client) == 51
    assert client.get("/settings").status_code == 200  # still signed in, account intact

    # a token issued to another session is not valid for this one
    other = new_client(app)
    signup(other, "frank")
    foreign = csrf_from(other.get("/").text)
    assert client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": foreign}).status_code == 403
    api = client.post(f"/api/papers/{PAPER}/upvote")
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf_failed"
    api = client.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": foreign})
    assert api.status_code == 403


def test_every_form_post_route_demands_csrf(app):
    client = new_client(app)
    signup(client, "grace")
    routes = []
    for route in app.routes:  # included routers are wrapped in recent FastAPI versions
        inner = getattr(route, "original_router", None)
        routes.extend(inner.routes if inner is not None else [route])
    form_routes = [
        r.path.replace("{arxiv_id:path}", PAPER).replace("{token_id}", "1")
        for r in routes
        if "POST" in (getattr(r, "methods", None) or ()) and not r.path.startswith("/api/")
    ]
    assert len(form_routes) >= 8
    # these take a signed, single-purpose token as their proof instead of a session, so a CSRF
    # token would add nothing (RFC 8058 one-click unsubscribe must even work without cookies);
    # without a valid token they refuse with 400 and change nothing
    token_authenticated = {"/subscriptions/confirm", "/unsubscribe/{token}"}
    for path in form_routes:
        expected = 400 if path in token_authenticated else 403
        assert client.post(path, data={}).status_code == expected, path


# --------------------------------------------------------------------------- XSS, sessions
def test_xss_in_username_is_escaped(app):
    client = new_client(app)
    payload = "<script>alert(1)</script>"
    response = signup(client, payload, email="x@example.org")
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    login_page = login(client, payload)
    assert "<script>alert(1)" not in login_page.text


def test_session_id_changes_at_login(app):
    client = new_client(app)
    signup(client, "heidi")
    first = client.cookies.get("pf_session")
    assert login(client, "heidi").status_code == 303
    second = client.cookies.get("pf_session")
    assert second and second != first
    # the pre-login session is gone server-side
    stale = new_client(app, cookies={"pf_session": first})
    assert stale.get("/settings").status_code == 303
    # a session id planted by an attacker is never adopted
    planted = new_client(app, cookies={"pf_session": "attacker-chosen-value"})
    response = login(planted, "heidi")
    assert response.status_code == 303
    issued = re.search(r"pf_session=([^;]+)", response.headers["set-cookie"]).group(1)
    assert issued not in ("attacker-chosen-value", first, second)


def test_logout_ends_the_session_server_side(app):
    client = new_client(app)
    signup(client, "ivan")
    cookie = client.cookies.get("pf_session")
    assert client.get("/settings").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert response.status_code == 303
    replay = new_client(app, cookies={"pf_session": cookie})
    assert replay.get("/settings").status_code == 303
    assert replay.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": "x"}).status_code == 401
    assert "Sign in" in replay.get("/").text


def test_session_cookie_flags(app):
    client = new_client(app)
    response = signup(client, "judy")
    cookie = response.headers["set-cookie"]
    assert "pf_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    secure = new_client(app, base_url="https://testserver")
    response = signup(secure, "judy2")
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_user_look_the_same(app):
    client = new_client(app)
    signup(client, "karl")
    wrong = login(new_client(app), "karl", "not the password")
    unknown = login(new_client(app), "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = re.search(r'class="form-error" role="alert">([^<]+)<', wrong.text).group(1)
    assert message == re.search(r'class="form-error" role="alert">([^<]+)<', unknown.text).group(1)
    assert message == "Incorrect username or password."
    assert login(new_client(app), "KARL").status_code == 303  # usernames are case-insensitive


def test_signup_rules(app):
    client = new_client(app)
    assert signup(client, "ab").status_code == 422
    assert signup(client, "short-pw", password="1234567").status_code == 422
    assert signup(client, "bad-mail", email="not-an-email").status_code == 422
    assert signup(client, "Lena").status_code == 303
    other = new_client(app)
    assert signup(other, "lena", email="other@example.org").status_code == 409
    assert signup(other, "lena2", email="LENA@example.org").status_code == 409


def test_change_password_ends_other_sessions(app):
    laptop, phone = new_client(app), new_client(app)
    signup(laptop, "mallory")
    login(phone, "mallory")
    token = csrf_from(laptop.get("/settings").text)
    bad = laptop.post(
        "/settings/password",
        data={"csrf_token": token, "current_password": "wrong-one!", "new_password": "new password 1"},
    )
    assert bad.status_code == 400 and "not correct" in bad.text
    ok = laptop.post(
        "/settings/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": "new password 1"},
    )
    assert ok.status_code == 200 and "Password changed" in ok.text
    assert laptop.get("/settings").status_code == 200
    assert phone.get("/settings").status_code == 303
    assert login(new_client(app), "mallory").status_code == 401
    assert login(new_client(app), "mallory", "new password 1").status_code == 303


# --------------------------------------------------------------------------- API tokens
def test_api_token_works_until_revoked(app):
    client = new_client(app)
    signup(client, "nina")
    page = client.post(
        "/settings/tokens", data={"csrf_token": csrf_from(client.get("/settings").text), "name": "script"}
    )
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    token = re.search(r'<code class="token-value">(pf_[^<]+)</code>', page.text).group(1)
    bearer = new_client(app, headers={"Authorization": f"Bearer {token}"})
    up = bearer.post(f"/api/papers/{PAPER}/upvote")  # no CSRF needed with a token
    assert up.status_code == 200 and up.json() == {"upvotes": 52, "upvoted": True}
    settings_page = client.get("/settings").text
    assert "script" in settings_page and token not in settings_page  # shown only once
    token_id = re.search(r'action="/settings/tokens/(\d+)/revoke"', settings_page).group(1)
    revoked = client.post(
        f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(settings_page)}
    )
    assert revoked.status_code == 200 and "Token revoked" in revoked.text
    denied = bearer.delete(f"/api/papers/{PAPER}/upvote")
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "not_authenticated"
    assert (
        new_client(app, headers={"Authorization": "Bearer pf_made-up"})
        .post(f"/api/papers/{PAPER}/upvote")
        .status_code
        == 401
    )
    assert upvotes(client) == 52


def test_tokens_are_stored_hashed(app, engine):
    client = new_client(app)
    signup(client, "oscar")
    page = client.post("/settings/tokens", data={"csrf_token": csrf_from(client.get("/settings").text)})
    token = re.search(r'<code class="token-value">(pf_[^<]+)</code>', page.text).group(1)
    cookie = client.cookies.get("pf_session")
    with engine.connect() as conn:
        stored_tokens = [r[0] for r in conn.execute(text("SELECT token_hash FROM api_tokens"))]
        stored_sessions = [r[0] for r in conn.execute(text("SELECT id FROM sessions"))]
        hashes = [r[0] for r in conn.execute(text("SELECT password_hash FROM users"))]
    assert token not in stored_tokens and len(stored_tokens[0]) == 64
    assert cookie not in stored_sessions
    assert hashes[0].startswith("$argon2id$")


# --------------------------------------------------------------------------- deletion
def test_account_deletion_keeps_the_vote_count(app, engine):
    client = new_client(app)
    signup(client, "peggy")
    vote_form(client, "up")
    assert upvotes(client) == 52
    page = client.get("/settings").text
    wrong = client.post("/settings/delete", data={"csrf_token": csrf_from(page), "password": "wrong pass"})
    assert wrong.status_code == 400
    gone = client.post("/settings/delete", data={"csrf_token": csrf_from(page), "password": PASSWORD})
    assert gone.status_code == 303
    assert upvotes(client) == 52
    with engine.connect() as conn:
        assert conn.execute(text("SELECT user_id FROM votes")).all() == [(None,)]
        row = conn.execute(text("SELECT deleted_at, email, password_hash FROM users")).one()
    assert row[0] is not None and row[1] is None and row[2] is None
    assert login(new_client(app), "peggy").status_code == 401
    assert signup(new_client(app), "peggy", email="peggy2@example.org").status_code == 409
    # someone else's vote and un-vote still count the anonymous one
    other = new_client(app)
    signup(other, "quinn")
    vote_form(other, "up")
    assert upvotes(other) == 53
    vote_form(other, "down")
    assert upvotes(other) == 52


# --------------------------------------------------------------------------- rate limits
def test_sign_in_is_rate_limited(settings, engine, clock, keyword_index, loaded):
    app = make_app(settings, engine, clock, keyword_index, rate_limit_login_user="3/300")
    signup(new_client(app), "rita")
    for _ in range(3):
        assert login(new_client(app), "rita", "wrong password").status_code == 401
    limited = login(new_client(app), "rita")  # even the right password waits
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 300
    assert "Too many sign-in attempts" in limited.text


def test_sign_up_and_votes_are_rate_limited(settings, engine, clock, keyword_index, loaded):
    app = make_app(
        settings, engine, clock, keyword_index, rate_limit_signup_ip="2/3600", rate_limit_vote_user="3/60"
    )
    client = new_client(app)
    assert signup(client, "sam1").status_code == 303
    assert signup(new_client(app), "sam2").status_code == 303
    third = signup(new_client(app), "sam3")
    assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
    token = csrf_from(client.get("/").text)
    for _ in range(3):
        assert client.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": token}).status_code == 200
    api = client.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": token})
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "rate_limited"
    assert int(api.headers["retry-after"]) > 0
    form = client.post(f"/papers/{PAPER}/upvote", data={"csrf_token": token, "action": "down"})
    assert form.status_code == 429 and "text/html" in form.headers["content-type"]
    assert "retry-after" in form.headers


def test_limits_are_shared_between_app_instances(settings, engine, clock, keyword_index, loaded):
    """Two apps (think: two workers) over one database count together."""
    first = make_app(settings, engine, clock, keyword_index, rate_limit_login_ip="2/300")
    second = make_app(settings, engine, clock, keyword_index, rate_limit_login_ip="2/300")
    assert login(new_client(first), "u1").status_code == 401
    assert login(new_client(second), "u2").status_code == 401
    assert login(new_client(first), "u3").status_code == 429


# --------------------------------------------------------------------------- concurrency
def test_fifty_concurrent_toggles_give_the_exact_count(app, engine):
    accounts = app.state.services.accounts
    tokens = []
    for i in range(50):
        account = accounts.sign_up(f"voter{i}", f"voter{i}@example.org", PASSWORD)
        tokens.append(accounts.create_token(account, "load"))

    with (
        serve_app(app) as base,
        httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=100)) as http,
    ):

        def hammer(requests):
            barrier = threading.Barrier(len(requests))
            errors = []

            def worker(method, token):
                try:
                    barrier.wait()
                    response = http.request(
                        method, f"/api/papers/{PAPER}/upvote", headers={"Authorization": f"Bearer {token}"}
                    )
                    response.raise_for_status()
                except Exception as exc:  # collected and reported below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=r) for r in requests]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors

        hammer([("POST", t) for t in tokens])
        assert http.get(f"/api/papers/{PAPER}").json()["upvotes"] == 51 + 50
        # half take their vote back while the other half vote again (idempotent)
        hammer([("DELETE", t) for t in tokens[:25]] + [("POST", t) for t in tokens[25:]])
        assert http.get(f"/api/papers/{PAPER}").json()["upvotes"] == 51 + 25
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT base_upvotes, upvotes, (SELECT count(*) FROM votes v WHERE v.paper_id = p.id) "
                "FROM papers p WHERE arxiv_id = :id"
            ),
            {"id": PAPER},
        ).one()
    assert row == (51, 76, 25)


def test_sign_in_rehashes_when_the_cost_changes(settings, engine, clock, keyword_index):
    weak = make_app(settings, engine, clock, keyword_index)
    weak.state.services.accounts.sign_up("tess", "tess@example.org", PASSWORD)
    strong = make_app(settings, engine, clock, keyword_index, argon2_time_cost=2)
    strong.state.services.accounts.authenticate("tess", PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert stored.startswith("$argon2id$") and ",t=2," in stored
    assert weak.state.services.accounts.authenticate("tess", PASSWORD).username == "tess"


def test_migration_0002_downgrades_and_upgrades(settings, engine):
    from alembic import command
    from sqlalchemy import inspect

    from paperfeed.db.engine import alembic_config

    cfg = alembic_config(settings.resolved_database_url)
    command.downgrade(cfg, "0001")
    assert not inspect(engine).has_table("votes")
    assert inspect(engine).has_table("papers")
    command.upgrade(cfg, "head")
    tables = set(inspect(engine).get_table_names())
    assert {"users", "sessions", "api_tokens", "votes", "rate_limits"} <= tables
