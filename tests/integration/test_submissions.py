"""Submitting papers by arXiv id: service rules, ``POST /api/papers/submit`` and the ``/submit`` page.

Real SQLite, real tantivy index, real ASGI app, and a real loopback HTTP server that serves the
recorded arXiv answers (``tests/arxiv_server.py``). The clock is pinned shortly after the
recorded paper 2201.13452 (first version 2022-01-31).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from paperfeed.app import create_app
from paperfeed.clock import FixedClock
from paperfeed.config import Settings
from paperfeed.ingest.arxiv_api import ArxivClient
from tests.arxiv_server import fake_arxiv
from tests.conftest import FIXTURES
from tests.integration.test_community import CHEAP_ARGON2, csrf_from, signup

RECENT = "2201.13452"  # first version 2022-01-31T18:59:34Z
OLD = "1309.4668"  # 2013
NOW = datetime(2022, 2, 3, 15, 0, tzinfo=UTC)  # Thursday; 10:00 in New York
TODAY = "2022-02-03"
SECONDS_TO_NY_MIDNIGHT = 14 * 3600 + 1


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var",
        secret_key="test-secret-key-not-for-production",
        arxiv_min_interval_seconds=0,
        **CHEAP_ARGON2,
    )


@pytest.fixture
def arxiv():
    with fake_arxiv() as server:
        yield server


@pytest.fixture
def make_app(settings, engine, keyword_index, arxiv):
    def _make(now: datetime = NOW, **overrides):
        client = ArxivClient(arxiv.url, min_interval=0, timeout=2, retries=1, backoff=0)
        return create_app(
            settings.model_copy(update=overrides),
            clock=FixedClock(now),
            engine=engine,
            keyword_index=keyword_index,
            arxiv_client=client,
        )

    return _make


def bearer(app, username: str = "alice") -> TestClient:
    svc = app.state.services
    account = svc.accounts.sign_up(username, f"{username}@example.org", "correct horse battery")
    token = svc.accounts.create_token(account, "test")
    return TestClient(app, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False)


def submit(client: TestClient, arxiv_id: str):
    return client.post("/api/papers/submit", json={"id": arxiv_id})


# --------------------------------------------------------------------------- API
def test_submit_features_the_paper_today_and_makes_it_searchable(make_app, arxiv):
    app = make_app()
    alice = bearer(app)
    created = submit(alice, f"https://arxiv.org/abs/{RECENT}v1")
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["paper"]["id"] == RECENT
    assert item["title"].startswith("Asymptotic Analysis for a Nonlinear Reaction-Diffusion System")
    assert [a["name"] for a in item["paper"]["authors"]] == ["Hong-Ming Yin", "Jun Zou"]
    assert item["paper"]["publishedAt"] == "2022-01-31T18:59:34.000Z"
    assert item["submittedBy"]["user"] == "alice"
    assert item["feedDate"] == TODAY
    assert item["submittedOnDailyAt"] == "2022-02-03T15:00:00.000Z"
    assert arxiv.requests_for(RECENT) == 1

    anonymous = TestClient(app)
    day = anonymous.get(f"/api/daily_papers?date={TODAY}").json()
    assert [i["paper"]["id"] for i in day] == [RECENT]
    assert anonymous.get(f"/api/daily_papers?date={TODAY}&submitter=alice").json()[0]["paper"]["id"] == RECENT
    paper = anonymous.get(f"/api/papers/{RECENT}").json()
    assert paper["categories"] == ["math.AP"]
    found = anonymous.get("/api/papers/search?q=reaction-diffusion infectious&mode=keyword").json()
    assert found and found[0]["paper"]["id"] == RECENT
    assert "Reaction-Diffusion" in anonymous.get(f"/papers?date={TODAY}").text


def test_already_featured_gets_409_with_the_existing_item(make_app, arxiv):
    app = make_app()
    alice, bob = bearer(app, "alice"), bearer(app, "bob")
    assert submit(alice, RECENT).status_code == 201
    again = submit(bob, f"{RECENT}v2")
    assert again.status_code == 409
    body = again.json()
    assert body["error"]["code"] == "already_featured"
    assert body["item"]["paper"]["id"] == RECENT and body["item"]["submittedBy"]["user"] == "alice"
    assert arxiv.requests_for(RECENT) == 1  # no second arXiv call
    assert len(TestClient(app).get(f"/api/daily_papers?date={TODAY}").json()) == 1


@pytest.mark.parametrize("bad", ["not-an-id", "2403.1", "https://example.org/abs/2403.01234", ""])
def test_bad_id_is_422(make_app, arxiv, bad):
    response = submit(bearer(make_app()), bad)
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"invalid_arxiv_id", "invalid_input"}
    assert arxiv.log == []


def test_missing_body_field_is_422(make_app):
    response = bearer(make_app()).post("/api/papers/submit", json={"arxiv": RECENT})
    assert response.status_code == 422


def test_error_entry_from_arxiv_is_422(make_app, arxiv):
    arxiv.script[RECENT] = [("error_entry", 400)]
    response = submit(bearer(make_app()), RECENT)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_arxiv_id"


def test_too_old_paper_is_refused_with_the_default_window(make_app):
    response = submit(bearer(make_app()), OLD)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "paper_too_old" and "at most 14 days old" in error["message"]


def test_unknown_id_is_404(make_app):
    response = submit(bearer(make_app()), "1201.56789")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_arxiv_id"


def test_arxiv_down_is_503_and_garbage_is_502(make_app, arxiv):
    app = make_app()
    alice = bearer(app)
    arxiv.script[RECENT] = [("status", 503)]
    down = submit(alice, RECENT)
    assert down.status_code == 503
    assert (
        down.json()["error"]["code"] == "arxiv_unavailable"
        and "unavailable" in down.json()["error"]["message"]
    )
    arxiv.script[RECENT] = [("html",)]
    garbage = submit(alice, RECENT)
    assert garbage.status_code == 502 and garbage.json()["error"]["code"] == "arxiv_bad_response"
    arxiv.script[RECENT] = [("recorded",)]
    assert submit(alice, RECENT).status_code == 201  # nothing was stored by the failures


def test_daily_cap_is_429_until_the_next_feed_day(make_app):
    app = make_app(submissions_per_day=2, submission_max_age_days=100_000)
    alice = bearer(app)
    assert submit(alice, "1309.4668").status_code == 201
    assert submit(alice, "1606.02159").status_code == 201
    over = submit(alice, "1610.08734")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "submission_limit"
    assert over.headers["retry-after"] == str(SECONDS_TO_NY_MIDNIGHT)
    assert submit(bearer(app, "bob"), "1610.08734").status_code == 201  # per user
    tomorrow = make_app(
        datetime(2022, 2, 4, 6, 0, tzinfo=UTC), submissions_per_day=2, submission_max_age_days=100_000
    )
    token_client = TestClient(tomorrow, headers=dict(alice.headers))
    assert submit(token_client, "2102.00018").status_code == 201


def test_no_weekend_rule(make_app):
    saturday = datetime(2022, 2, 5, 15, 0, tzinfo=UTC)
    closed = submit(bearer(make_app(saturday, submission_no_weekend=True)), RECENT)
    assert closed.status_code == 403 and closed.json()["error"]["code"] == "submissions_closed"
    assert "weekend" in closed.json()["error"]["message"]
    assert int(closed.headers["retry-after"]) > 86400
    assert submit(bearer(make_app(saturday), "bob"), RECENT).status_code == 201  # rule off by default


def test_paper_already_stored_with_full_metadata_needs_no_arxiv_call(make_app, arxiv, ingest):
    ingest("arxiv-snapshot", FIXTURES / "snapshot_300.jsonl.gz")  # 1812.06145: v1 2025-10-13
    arxiv.script["1812.06145"] = [("status", 503)]
    app = make_app(datetime(2025, 10, 20, 15, 0, tzinfo=UTC))
    created = submit(bearer(app), "1812.06145")
    assert created.status_code == 201, created.text
    assert created.json()["title"].startswith("Improving the Performance of Unimodal Dynamic Hand-Gesture")
    assert created.json()["feedDate"] == "2025-10-20"
    assert arxiv.log == []


def test_api_needs_authentication_and_csrf_for_cookies(make_app):
    app = make_app()
    assert submit(TestClient(app), RECENT).status_code == 401
    browser = TestClient(app, follow_redirects=False)
    signup(browser, "carol")
    assert submit(browser, RECENT).status_code == 403  # session cookie but no X-CSRF-Token
    token = csrf_from(browser.get("/submit").text)
    ok = browser.post("/api/papers/submit", json={"id": RECENT}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201


# --------------------------------------------------------------------------- HTML
def test_submit_page_flow_with_csrf(make_app):
    app = make_app(submission_no_weekend=True)
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/submit").headers["location"] == "/login?next=/submit"
    assert 'href="/submit"' not in anonymous.get("/").text

    browser = TestClient(app, follow_redirects=False)
    signup(browser, "dana")
    page = browser.get("/submit")
    assert page.status_code == 200
    assert 'href="/submit"' in page.text
    assert "at most 14 days old" in page.text and "5 papers per day" in page.text
    assert "No submissions on Saturdays and Sundays" in page.text and "used 0 today" in page.text
    token = csrf_from(page.text)

    assert browser.post("/submit", data={"arxiv_id": RECENT}).status_code == 403
    assert browser.post("/submit", data={"arxiv_id": RECENT, "csrf_token": "forged"}).status_code == 403

    bad = browser.post("/submit", data={"arxiv_id": "<script>x</script>", "csrf_token": token})
    assert bad.status_code == 422 and "not an arXiv id" in bad.text and "<script>x</script>" not in bad.text

    done = browser.post("/submit", data={"arxiv_id": f"arXiv:{RECENT}v1", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/papers/{RECENT}?submitted=1"
    landed = browser.get(done.headers["location"])
    assert "on today&#39;s feed" in landed.text or "on today's feed" in landed.text
    assert "used 1 today" in browser.get("/submit").text

    again = browser.post("/submit", data={"arxiv_id": RECENT, "csrf_token": token})
    assert again.status_code == 409 and "already featured" in again.text
    assert f'href="/papers/{RECENT}"' in again.text

    old = browser.post("/submit", data={"arxiv_id": OLD, "csrf_token": token})
    assert old.status_code == 422 and "at most 14 days old" in old.text


def test_submission_attempts_are_rate_limited_even_when_they_fail(make_app):
    app = make_app(rate_limit_submit_user="3/3600")
    alice = bearer(app)
    for _ in range(3):
        assert submit(alice, "not-an-id").status_code == 422
    limited = submit(alice, RECENT)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert submit(bearer(app, "bob"), RECENT).status_code == 201  # per user
