"""Digest subscriptions end to end: real app, real SQLite, a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from paperfeed.db.models import OutboxMessage, Subscription
from paperfeed.mail.digests import send_digests
from paperfeed.mail.senders import SmtpSender
from tests.smtp_server import smtp_sink


@pytest.fixture
def sink():
    with smtp_sink() as running:
        yield running


@pytest.fixture
def mail_app(settings, engine, clock, keyword_index, loaded, sink):
    from paperfeed.app import create_app

    return create_app(
        settings,
        clock=clock,
        engine=engine,
        keyword_index=keyword_index,
        mailer=SmtpSender.from_url(sink.url),
    )


@pytest.fixture
def mail_client(mail_app):
    with TestClient(mail_app) as test_client:
        yield test_client


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _confirm_link(message) -> str:
    return re.search(r"https?://\S+/subscriptions/confirm\?token=\S+", _text(message)).group(0)


def _send(app):
    svc = app.state.services
    return send_digests(svc.digests, svc.mailer)


def _status(engine, email: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(Subscription.status).where(Subscription.email == email)).scalar()


def _confirm(client: TestClient, message) -> None:
    page = client.get(_path(_confirm_link(message)))
    assert page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post("/subscriptions/confirm", data={"token": token})
    assert done.status_code == 200
    assert "subscribed" in done.text


def test_double_opt_in_end_to_end(mail_app, mail_client, sink, engine):
    answer = mail_client.post(
        "/api/subscriptions", json={"email": "Reader@Example.org", "frequency": "daily"}
    )
    assert answer.status_code == 202
    assert answer.json()["status"] == "pending"
    sink.wait_for(1)
    assert len(sink.messages) == 1
    confirm = sink.messages[0]
    assert confirm["To"] == "reader@example.org"
    assert "Confirm" in confirm["Subject"]

    report = _send(mail_app)  # nothing but the confirmation before the click
    assert report.delivery.sent == 0
    assert len(sink.messages) == 1
    assert _status(engine, "reader@example.org") == "pending"

    # the GET only shows a button (mail scanners prefetch links): still pending
    assert mail_client.get(_path(_confirm_link(confirm))).status_code == 200
    assert _status(engine, "reader@example.org") == "pending"
    _confirm(mail_client, confirm)
    assert _status(engine, "reader@example.org") == "active"

    report = _send(mail_app)
    assert report.delivery.sent == 1
    assert len(sink.to("reader@example.org")) == 2
    digest = sink.messages[-1]
    assert digest.get_content_type() == "multipart/alternative"
    assert {part.get_content_type() for part in digest.iter_parts()} == {"text/plain", "text/html"}
    assert "SonicVerse" in _text(digest)  # the top trending paper of the latest fixture day
    assert "SonicVerse" in digest.get_body(("html",)).get_content()
    assert re.fullmatch(r"<https?://\S+/unsubscribe/\S+>(, <mailto:\S+>)?", digest["List-Unsubscribe"])
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert digest["Message-ID"] and digest["Date"]

    # re-running sends nothing new
    report = _send(mail_app)
    assert report.delivery.sent == 0
    assert sum(r.queued for r in report.queued) == 0
    assert len(sink.messages) == 2


def test_one_click_unsubscribe_then_no_more_mail(mail_app, mail_client, sink, engine, settings):
    mail_client.post("/api/subscriptions", json={"email": "a@example.org", "frequency": "daily"})
    sink.wait_for(1)
    _confirm(mail_client, sink.messages[0])
    svc = mail_app.state.services
    queued = svc.digests.queue_due("daily")  # queued, not yet delivered
    assert queued.queued == 1
    with engine.connect() as conn:
        row = conn.execute(select(OutboxMessage.headers).where(OutboxMessage.kind == "digest")).scalar_one()
    url = re.search(r"<(https?://[^>]+/unsubscribe/[^>]+)>", row).group(1)

    fresh = TestClient(mail_app)  # a mail client: no cookies, no login, no CSRF token
    answer = fresh.post(
        _path(url),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert "set-cookie" not in {k.lower() for k in answer.headers}
    assert _status(engine, "a@example.org") == "unsubscribed"
    again = fresh.post(_path(url), content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200  # idempotent

    report = _send(mail_app)
    assert report.delivery.sent == 0 and report.delivery.skipped == 1
    assert len(sink.to("a@example.org")) == 1  # only the confirmation

    # the GET shows a confirmation page with a button that POSTs
    page = fresh.get(_path(url))
    assert page.status_code == 200
    assert 'method="post"' in page.text and "List-Unsubscribe" in page.text


def test_no_information_leak_and_resend_window(mail_client, sink, clock, engine):
    first = mail_client.post("/api/subscriptions", json={"email": "b@example.org", "frequency": "weekly"})
    second = mail_client.post("/api/subscriptions", json={"email": "b@example.org", "frequency": "weekly"})
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    sink.wait_for(1)
    assert len(sink.to("b@example.org")) == 1  # re-sent at most once per window
    _confirm(mail_client, sink.messages[0])
    third = mail_client.post("/api/subscriptions", json={"email": "b@example.org", "frequency": "weekly"})
    assert third.status_code == 202 and third.json() == first.json()  # active: same answer, no mail
    assert len(sink.to("b@example.org")) == 1

    mail_client.post("/api/subscriptions", json={"email": "c@example.org", "frequency": "daily"})
    clock.at = clock.at + timedelta(minutes=11)
    mail_client.post("/api/subscriptions", json={"email": "c@example.org", "frequency": "daily"})
    sink.wait_for(3)
    assert len(sink.to("c@example.org")) == 2


def test_bad_input_is_a_clear_4xx_and_writes_nothing(mail_client, engine, sink):
    for body in (
        {"email": "not-an-address", "frequency": "daily"},
        {"email": "x@example.org", "frequency": "hourly"},
        {"frequency": "daily"},
    ):
        answer = mail_client.post("/api/subscriptions", json=body)
        assert answer.status_code in (400, 422)
        assert set(answer.json()["error"]) == {"code", "message"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Subscription)).scalar_one() == 0
    assert sink.messages == []


def test_rate_limited_per_address(mail_client):
    answers = [
        mail_client.post(
            "/api/subscriptions", json={"email": "d@example.org", "frequency": "daily"}
        ).status_code
        for _ in range(6)
    ]
    assert answers[:5] == [202] * 5
    assert answers[5] == 429


def test_tampered_and_expired_tokens_change_nothing(mail_client, sink, engine, clock):
    mail_client.post("/api/subscriptions", json={"email": "e@example.org", "frequency": "daily"})
    sink.wait_for(1)
    link = _path(_confirm_link(sink.messages[0]))
    token = link.split("token=", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "c.1.0.x", "garbage", "", token.replace("c.", "u.", 1)):
        page = mail_client.post("/subscriptions/confirm", data={"token": bad})
        assert page.status_code == 400
        assert mail_client.get("/subscriptions/confirm", params={"token": bad}).status_code == 400
    assert _status(engine, "e@example.org") == "pending"

    bad_unsub = mail_client.post("/unsubscribe/u.1.0.forged", content=b"List-Unsubscribe=One-Click")
    assert bad_unsub.status_code == 400
    assert mail_client.get("/unsubscribe/u.1.0.forged").status_code == 400

    clock.at = clock.at + timedelta(days=3, minutes=1)  # confirm links expire after 3 days
    expired = mail_client.post("/subscriptions/confirm", data={"token": token})
    assert expired.status_code == 400
    assert "expired" in expired.text
    assert _status(engine, "e@example.org") == "pending"


def test_signed_in_user_subscribes_own_address_directly(mail_app, mail_client, sink, engine):
    svc = mail_app.state.services
    account = svc.accounts.sign_up("reader", "Me@Example.org", "correct horse battery staple")
    token = svc.accounts.create_token(account, "t")
    answer = mail_client.post(
        "/api/subscriptions",
        json={"email": "me@example.org", "frequency": "daily"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 202 and answer.json()["status"] == "active"
    assert _status(engine, "me@example.org") == "active"
    assert sink.messages == []  # no confirmation needed
    # another address still needs the double opt-in
    other = mail_client.post(
        "/api/subscriptions",
        json={"email": "other@example.org", "frequency": "daily"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert other.json()["status"] == "pending"


def test_subscribe_form_without_javascript(mail_client, sink):
    page = mail_client.get("/subscribe")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = mail_client.post(
        "/subscribe", data={"csrf_token": csrf, "email": "f@example.org", "frequency": "weekly"}
    )
    assert done.status_code == 200
    assert "Check your inbox" in done.text
    sink.wait_for(1)
    assert sink.messages[0]["To"] == "f@example.org"
    refused = mail_client.post("/subscribe", data={"email": "g@example.org", "frequency": "weekly"})
    assert refused.status_code == 403  # no CSRF token
    assert 'href="/subscribe"' in mail_client.get("/").text  # linked from every page


def test_digest_preview_needs_sign_in_and_shows_the_digest(mail_app, mail_client):
    assert mail_client.get("/digest/preview", follow_redirects=False).status_code == 303
    svc = mail_app.state.services
    svc.accounts.sign_up("viewer", "viewer@example.org", "correct horse battery staple")
    page = mail_client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    mail_client.post(
        "/login", data={"csrf_token": csrf, "username": "viewer", "password": "correct horse battery staple"}
    )
    preview = mail_client.get("/digest/preview")
    assert preview.status_code == 200
    assert "SonicVerse" in preview.text
