"""Digest sending: periods, content, retries, bounces, idempotency and a crash mid-batch.

Real SQLite, a real SMTP server (aiosmtpd) on loopback, the real CLI as a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from paperfeed.clock import FixedClock
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.config import Settings
from paperfeed.db import mail_store
from paperfeed.db.models import OutboxMessage, Subscription
from paperfeed.mail.digests import DigestService, send_digests
from paperfeed.mail.senders import SmtpSender
from paperfeed.mail.subscriptions import SubscriptionService
from paperfeed.papers.service import PaperService
from tests.cli import run_cli
from tests.smtp_server import smtp_sink

SECRET = "test-secret-key-not-for-production"


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var",
        secret_key=SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        mail_retry_base_seconds=60,
        mail_max_attempts=3,
    )


@pytest.fixture
def sink():
    with smtp_sink() as running:
        yield running


def _service(settings, engine, clock, recommender=None) -> DigestService:
    papers = PaperService(engine, settings, clock)
    subs = SubscriptionService(engine, settings, clock, RateLimiter(engine, settings, clock))
    return DigestService(engine, settings, clock, papers, subs, recommender)


def _add_active(engine, emails, *, frequency="daily", user_id=None):
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        mail_store.insert_subscriptions(
            conn,
            [
                {
                    "email": e,
                    "frequency": frequency,
                    "status": "active",
                    "user_id": user_id,
                    "created_at": now,
                    "confirmed_at": now,
                }
                for e in emails
            ],
        )


def _outbox(engine, email):
    with engine.connect() as conn:
        row = conn.execute(select(OutboxMessage).where(OutboxMessage.recipient == email)).first()
        return dict(row._mapping) if row else None


def _sub_status(engine, email):
    with engine.connect() as conn:
        return conn.execute(select(Subscription.status).where(Subscription.email == email)).scalar()


def test_transient_failure_is_retried_later_with_backoff(settings, engine, clock, loaded, sink):
    _add_active(engine, ["slow@example.org", "ok@example.org"])
    sink.reject["slow@example.org"] = (451, "4.3.0 try again later")
    service = _service(settings, engine, clock)
    sender = SmtpSender.from_url(sink.url)

    report = send_digests(service, sender, frequencies=("daily",))
    assert report.delivery.sent == 1 and report.delivery.retried == 1
    row = _outbox(engine, "slow@example.org")
    assert row["status"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"]
    assert row["next_attempt_at"] == clock.now().replace(tzinfo=None) + timedelta(seconds=60)

    del sink.reject["slow@example.org"]
    again = send_digests(service, sender, frequencies=("daily",))  # not due yet
    assert again.delivery.sent == 0
    clock.at = clock.at + timedelta(seconds=61)
    later = send_digests(service, sender, frequencies=("daily",))
    assert later.delivery.sent == 1
    assert _outbox(engine, "slow@example.org")["status"] == "sent"
    assert len(sink.to("slow@example.org")) == 1 and len(sink.to("ok@example.org")) == 1


def test_gives_up_after_max_attempts(settings, engine, clock, loaded, sink):
    _add_active(engine, ["down@example.org"])
    sink.reject["down@example.org"] = (421, "4.4.2 busy")
    service = _service(settings, engine, clock)
    sender = SmtpSender.from_url(sink.url)
    for _ in range(3):
        send_digests(service, sender, frequencies=("daily",))
        clock.at = clock.at + timedelta(hours=1)
    row = _outbox(engine, "down@example.org")
    assert row["status"] == "failed" and row["attempts"] == 3 and row["last_error"].startswith("gave up")
    assert _sub_status(engine, "down@example.org") == "active"  # not a bounce


def test_permanent_failure_bounces_the_subscription(settings, engine, clock, loaded, sink):
    _add_active(engine, ["gone@example.org"])
    sink.reject["gone@example.org"] = (550, "5.1.1 no such user")
    service = _service(settings, engine, clock)
    report = send_digests(service, SmtpSender.from_url(sink.url), frequencies=("daily",))
    assert report.delivery.failed == 1
    assert _outbox(engine, "gone@example.org")["status"] == "failed"
    with engine.connect() as conn:
        sub = mail_store.subscription_by_email(conn, "gone@example.org")
    assert sub["status"] == "bounced" and "550" in sub["last_error"]
    assert sink.messages == []


def test_unreachable_server_is_transient(settings, engine, clock, loaded):
    from tests.servers import free_port

    _add_active(engine, ["x@example.org"])
    service = _service(settings, engine, clock)
    report = send_digests(service, SmtpSender.from_url(f"smtp://127.0.0.1:{free_port()}?timeout=2"))
    assert report.delivery.retried == 1
    assert _outbox(engine, "x@example.org")["status"] == "pending"


def test_weekly_digest_covers_the_last_complete_iso_week(settings, engine, loaded, sink):
    clock = FixedClock(datetime(2025, 1, 15, 12, tzinfo=UTC))  # Wednesday of 2025-W03
    _add_active(engine, ["weekly@example.org"], frequency="weekly")
    _add_active(engine, ["daily@example.org"], frequency="daily")
    service = _service(settings, engine, clock)
    assert service.period("weekly").label == "2025-W02"  # Jan 6–12, holds the 2025-01-10 fixture day
    assert service.period("daily").label == "2025-01-10"  # the latest feed day up to today
    report = send_digests(service, SmtpSender.from_url(sink.url), frequencies=("weekly",))
    assert report.delivery.sent == 1
    (mail,) = sink.to("weekly@example.org")
    assert "2025-W02" in mail["Subject"]
    assert sink.to("daily@example.org") == []
    empty = FixedClock(datetime(2025, 3, 5, 12, tzinfo=UTC))  # the week before has no papers
    assert _service(settings, engine, empty).period("weekly") is None


def test_personal_picks_for_subscribers_with_an_account(settings, engine, clock, loaded, sink):
    from paperfeed.community.accounts import AccountService
    from paperfeed.community.votes import VoteService

    try:
        from paperfeed.personal.recommend import RecommendationService
    except ImportError:  # pragma: no cover - the recommender is a separate feature
        pytest.skip("paperfeed.personal.recommend is not available")
    from paperfeed.search.keyword import TantivyKeywordIndex
    from paperfeed.search.semantic import EmbedderProvider
    from paperfeed.search.service import SearchService
    from paperfeed.search.vectors import VectorIndex

    limiter = RateLimiter(engine, settings, clock)
    accounts = AccountService(engine, settings, clock, limiter)
    account = accounts.sign_up("reader", "reader@example.org", "correct horse battery staple")
    papers = PaperService(engine, settings, clock)
    day = papers.listing(papers.resolve_period(), limit=10).papers
    assert len(day) >= 2
    VoteService(engine, clock, limiter).set_vote(account, day[0].arxiv_id, True)
    vectors = VectorIndex(settings.index_dir)
    search = SearchService.from_settings(
        settings,
        TantivyKeywordIndex(settings.index_dir),
        papers,
        vectors=vectors,
        embedder=EmbedderProvider(None, enabled=False),
    )
    recommender = RecommendationService(engine, settings, clock, papers, search, vectors)
    service = _service(settings, engine, clock, recommender)
    subs = service.subscriptions
    assert subs.subscribe("reader@example.org", "daily", account=account).status == "active"
    _add_active(engine, ["anon@example.org"])

    send_digests(service, SmtpSender.from_url(sink.url), frequencies=("daily",))
    (mine,) = sink.to("reader@example.org")
    (anon,) = sink.to("anon@example.org")
    text = mine.get_body(("plain",)).get_content()
    assert "PICKED FOR YOU" in text
    picks = text.split("PICKED FOR YOU", 1)[1].split("TRENDING", 1)[0]
    upvoted, other = (" ".join(p.title.split()) for p in day[:2])
    assert other in picks and upvoted not in picks  # what you upvoted is your profile, not news
    reason_line = picks.split(other, 1)[1].strip().splitlines()[0]
    assert reason_line and not reason_line.startswith("http")  # each pick carries its reason
    assert "Picked for you" in mine.get_body(("html",)).get_content()
    assert "PICKED FOR YOU" not in anon.get_body(("plain",)).get_content()


def test_dry_run_and_user_filter_via_cli(settings, engine, loaded, sink):
    _add_active(engine, ["one@example.org", "two@example.org"])
    env = {"PAPERFEED_SECRET_KEY": SECRET, "PAPERFEED_SMTP_URL": sink.url}
    dry = run_cli(settings.data_dir, "digest", "send", "--dry-run", "--frequency", "daily", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "To: one@example.org" in dry.stdout and "SonicVerse" in dry.stdout
    assert "2 digest(s) would be sent" in dry.stderr
    with engine.connect() as conn:
        assert mail_store.outbox_counts(conn) == {}
    assert sink.messages == []

    unknown = run_cli(settings.data_dir, "digest", "send", "--user", "nobody", env=env)
    assert unknown.returncode == 1
    assert "no user" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = run_cli(settings.data_dir, "digest", "send", "--frequency", "hourly", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr

    sent = run_cli(settings.data_dir, "digest", "send", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "2 sent" in sent.stderr
    rerun = run_cli(settings.data_dir, "digest", "send", env=env)
    assert rerun.returncode == 0 and "0 sent" in rerun.stderr
    assert len(sink.messages) == 2


def test_crash_mid_batch_then_rerun_sends_each_digest_exactly_once(settings, engine, loaded, sink):
    emails = [f"reader{n:02d}@example.org" for n in range(30)]
    _add_active(engine, emails)
    env = dict(
        os.environ,
        PAPERFEED_DATA_DIR=str(settings.data_dir),
        PAPERFEED_SECRET_KEY=SECRET,
        PAPERFEED_SMTP_URL=sink.url,
    )
    sink.hold_after(7)  # the 8th DATA hangs unanswered: the sender is mid-batch when we kill it
    process = subprocess.Popen(
        [sys.executable, "-m", "paperfeed.cli", "digest", "send"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert sink.held.wait(60), "the sender never reached the 8th mail"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert len(sink.messages) == 7
    sink.release()
    with engine.connect() as conn:
        counts = mail_store.outbox_counts(conn)
    # every digest was queued before sending started; the trending part is stored once, not per mail
    assert counts == {"sent": 7, "pending": 23, "part": 1}

    rerun = run_cli(
        settings.data_dir,
        "digest",
        "send",
        env={"PAPERFEED_SECRET_KEY": SECRET, "PAPERFEED_SMTP_URL": sink.url},
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "23 sent" in rerun.stderr
    received = sorted(m["To"] for m in sink.messages)
    assert received == sorted(emails)  # every subscriber exactly once
    assert len({m["Message-ID"] for m in sink.messages}) == 30
