"""Mail templates, message building, signed tokens and SMTP URL parsing (no server needed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from markupsafe import Markup

from paperfeed.errors import InvalidInput
from paperfeed.mail import tokens
from paperfeed.mail.interfaces import OutgoingMail
from paperfeed.mail.messages import (
    TEMPLATE_NAMES,
    TEMPLATES_DIR,
    build_message,
    message_id_for,
    render,
    render_partial,
    unsubscribe_headers,
)
from paperfeed.mail.senders import MemorySender, parse_smtp_url

EVIL = '<script>alert("x")</script> & Co'
PAPER = {
    "title": EVIL,
    "authors": "A. Author",
    "summary": "Sum <b>mary</b>",
    "upvotes": 3,
    "url": "https://x/p/1",
}


def _contexts() -> dict[str, dict]:
    trending_ctx = {"trending": [PAPER], "period_label": "2026-08-21"}
    return {
        "confirm": {
            "site_name": "paperfeed",
            "base_url": "https://papers.example",
            "email": "a@example.org",
            "frequency": "daily",
            "confirm_url": "https://papers.example/subscriptions/confirm?token=c.1.2.abc",
            "expires_days": "3",
        },
        "digest": {
            "site_name": "paperfeed",
            "base_url": "https://papers.example",
            "frequency": "weekly",
            "period_label": "2026-W34",
            "period_url": "https://papers.example/papers/week/2026-W34",
            "trending": [PAPER],
            "trending_html": Markup(render_partial("digest/trending.html", trending_ctx)),
            "trending_text": render_partial("digest/trending.txt", trending_ctx),
            "picks": [{**PAPER, "reason": "Because you follow cs.CL"}],
            "email": "a@example.org",
            "unsubscribe_url": "https://papers.example/unsubscribe/u.1.0.sig",
        },
    }


def test_every_template_folder_is_known_and_complete():
    folders = sorted(p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir())
    assert folders == sorted(TEMPLATE_NAMES)
    for name in TEMPLATE_NAMES:
        for part in ("subject.txt", "body.txt", "body.html"):
            assert (TEMPLATES_DIR / name / part).is_file()


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_render_every_template(name):
    subject, text, html = render(name, _contexts()[name])
    assert subject and "\n" not in subject
    assert text.strip() and html.strip()
    assert "<script>" not in html  # autoescaped
    assert "<link" not in html and "<img" not in html and "<style" not in html  # inline CSS, no remote images
    assert "<table" in html
    if name == "digest":
        assert EVIL in text  # text is not HTML-escaped
        assert "&lt;script&gt;" in html
        assert "Because you follow cs.CL" in text and "Because you follow cs.CL" in html
        assert "https://papers.example/unsubscribe/u.1.0.sig" in text
        assert "https://papers.example/unsubscribe/u.1.0.sig" in html
    else:
        assert "https://papers.example/subscriptions/confirm?token=c.1.2.abc" in text


def test_message_is_multipart_alternative_with_rfc8058_headers():
    headers = {"Message-ID": message_id_for("digest:daily:2026-08-21:7", "pf <noreply@papers.example>")}
    headers.update(unsubscribe_headers("https://papers.example/unsubscribe/t", "unsub@papers.example"))
    mail = OutgoingMail(
        "pf <noreply@papers.example>", "a@example.org", "Hi", "text body", "<p>html</p>", headers
    )
    raw = build_message(mail, now=datetime(2026, 8, 21, 12, tzinfo=UTC)).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["List-Unsubscribe"].startswith("<https://papers.example/unsubscribe/t>")
    assert "<mailto:unsub@papers.example" in parsed["List-Unsubscribe"]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<[0-9a-f]{32}@papers\.example>", parsed["Message-ID"])
    assert parsed["Date"] and parsed["From"] == "pf <noreply@papers.example>"
    # the same outbox key always gives the same Message-ID (a re-sent copy can be recognised)
    assert headers["Message-ID"] == message_id_for("digest:daily:2026-08-21:7", "noreply@papers.example")


def test_tokens_roundtrip_tamper_and_expiry():
    token = tokens.make_token("secret", tokens.CONFIRM, 42, "A@Example.org", issued=1000)
    claims = tokens.read_token(token, tokens.CONFIRM)
    tokens.check_token("secret", claims, "a@example.org", now=1000 + 3600, max_age=86400)
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.check_token("secret", claims, "a@example.org", now=1000 + 86401, max_age=86400)
    with pytest.raises(tokens.InvalidToken):
        tokens.check_token("other-secret", claims, "a@example.org")
    with pytest.raises(tokens.InvalidToken):
        tokens.check_token("secret", claims, "b@example.org")  # bound to the address
    forged = token.replace(".42.", ".43.")
    with pytest.raises(tokens.InvalidToken):
        tokens.check_token("secret", tokens.read_token(forged, tokens.CONFIRM), "a@example.org")
    with pytest.raises(tokens.InvalidToken):
        tokens.read_token(token, tokens.UNSUBSCRIBE)  # wrong purpose
    for junk in ("", None, "c.x.1.sig", "c.1.2", "c.1.2.3.4"):
        with pytest.raises(tokens.InvalidToken):
            tokens.read_token(junk, tokens.CONFIRM)
    unsub = tokens.make_token("secret", tokens.UNSUBSCRIBE, 42, "a@example.org")
    tokens.check_token("secret", tokens.read_token(unsub, tokens.UNSUBSCRIBE), "a@example.org")  # no expiry


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", ("smtp", "127.0.0.1", 2525, None, None)),
        ("smtp://mail.local", ("smtp", "mail.local", 25, None, None)),
        (
            "smtp+starttls://user:p%40ss@smtp.example:587",
            ("smtp+starttls", "smtp.example", 587, "user", "p@ss"),
        ),
        ("smtps://u:pw@smtp.example", ("smtps", "smtp.example", 465, "u", "pw")),
    ],
)
def test_smtp_url_forms(url, expected):
    cfg = parse_smtp_url(url)
    assert (cfg.scheme, cfg.host, cfg.port, cfg.username, cfg.password) == expected


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://h:notaport", "smtp://h?timeout=soon"])
def test_bad_smtp_urls_are_clear_errors(url):
    with pytest.raises(InvalidInput):
        parse_smtp_url(url)


def test_memory_sender_collects():
    sender = MemorySender()
    sender.send(OutgoingMail("a@x", "b@x", "s", "t"))
    assert [m.recipient for m in sender.outbox] == ["b@x"]
