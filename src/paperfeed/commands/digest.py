"""``paperfeed digest send``: queue the due email digests and deliver the outbox (idempotent).

Thin: builds the services, takes a per-instance lock (one sender at a time; the lock dies with
the process, so a killed run never blocks the next), calls :func:`paperfeed.mail.digests.send_digests`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import Engine

from paperfeed.clock import Clock, SystemClock
from paperfeed.commands import migrated_engine, settings_of
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput


def build_digest_service(settings: Settings, engine: Engine, clock: Clock, *, personal: bool = True):
    """A :class:`DigestService` wired like the web app (with personal picks when available)."""
    from paperfeed.community.ratelimit import RateLimiter
    from paperfeed.mail.digests import DigestService
    from paperfeed.mail.subscriptions import SubscriptionService
    from paperfeed.papers.service import PaperService

    papers = PaperService(engine, settings, clock)
    subscriptions = SubscriptionService(engine, settings, clock, RateLimiter(engine, settings, clock))
    recommender = _recommender(settings, engine, clock, papers) if personal else None
    return DigestService(engine, settings, clock, papers, subscriptions, recommender)


def _recommender(settings: Settings, engine: Engine, clock: Clock, papers):
    """The personal recommender (``paperfeed.personal.recommend``), or ``None`` when not installed."""
    try:
        from paperfeed.personal.recommend import RecommendationService
    except ImportError:
        return None
    from paperfeed.search.keyword import TantivyKeywordIndex
    from paperfeed.search.semantic import shared_embedder_provider
    from paperfeed.search.service import SearchService
    from paperfeed.search.vectors import VectorIndex

    keyword = TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    vectors = VectorIndex(settings.index_dir)
    search = SearchService.from_settings(
        settings, keyword, papers, vectors=vectors, embedder=shared_embedder_provider(settings)
    )
    return RecommendationService(engine, settings, clock, papers, search, vectors)


@contextmanager
def send_lock(settings: Settings) -> Iterator[None]:
    """Hold ``<data_dir>/digest-send.lock`` (exclusive, non-blocking) or raise :class:`InvalidInput`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = Path(settings.data_dir) / "digest-send.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InvalidInput("another `paperfeed digest send` is running for this instance") from exc
        yield
    finally:
        os.close(fd)


@click.group("digest")
def digest_group() -> None:
    """Email digests (daily / weekly: trending + personal picks)."""


@digest_group.command("send")
@click.option("--dry-run", is_flag=True, help="Render and print what would be sent; write nothing.")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default=None, help="Only this kind.")
@click.option("--user", "username", default=None, help="Only the digest of this account's subscription.")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most N digests queued / mails sent.")
@click.pass_context
def digest_send(
    ctx: click.Context, dry_run: bool, frequency: str | None, username: str | None, limit: int | None
) -> None:
    """Send the due digests (and retry queued mails). Safe to re-run: nothing is sent twice."""
    from paperfeed.mail.digests import send_digests
    from paperfeed.mail.senders import close_sender, sender_from_settings

    settings = settings_of(ctx)
    engine = migrated_engine(settings)
    service = build_digest_service(settings, engine, SystemClock())
    frequencies = (frequency,) if frequency else ("daily", "weekly")
    sender = sender_from_settings(settings)
    if dry_run:
        report = send_digests(
            service, sender, frequencies=frequencies, username=username, limit=limit, dry_run=True
        )
        for queued in report.queued:
            for mail in queued.previews:
                click.echo(f"To: {mail.recipient}\nSubject: {mail.subject}\n")
                click.echo(mail.body_text)
                click.echo("-" * 72)
        for queued in report.queued:
            click.echo(
                f"{queued.frequency}: {len(queued.previews)} digest(s) would be sent"
                + (f" for {queued.period}" if queued.period else " (no period with papers)"),
                err=True,
            )
        return
    with send_lock(settings):
        try:
            report = send_digests(service, sender, frequencies=frequencies, username=username, limit=limit)
        finally:
            close_sender(sender)
    for queued in report.queued:
        where = f"for {queued.period}" if queued.period else "(no period with papers)"
        click.echo(f"{queued.frequency}: {queued.queued} digest(s) queued {where}", err=True)
    delivery = report.delivery
    if delivery is not None:
        click.echo(
            f"mail: {delivery.sent} sent, {delivery.retried} to retry later, {delivery.failed} failed, "
            f"{delivery.skipped} skipped",
            err=True,
        )
        for error in delivery.errors[:20]:
            click.echo(f"  {error}", err=True)
