"""``DigestService``: which subscriptions are due, what their digest says, queueing and sending.

Periods: ``daily`` = the latest feed day with papers (days without papers are skipped because the
latest day simply does not change); ``weekly`` = the last complete ISO week (Monday–Sunday before
the current week in ``Settings.timezone``), skipped when it has no papers. A subscription is due
when the outbox has no ``digest:<frequency>:<period>:<subscription id>`` row yet, so re-running is
idempotent and a crash mid-batch resumes where it stopped.

Content: the top ``digest_trending_size`` papers of the period by the trending formula (rendered
once per period and shared by every mail) plus, for subscribers with an account, up to
``digest_personal_size`` personal picks with their reason line from the recommender.

:func:`send_digests` is the whole job (queue due digests, then deliver due outbox messages) as a
plain function for the CLI and a scheduler.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.config import Settings
from paperfeed.db import mail_store
from paperfeed.errors import NotFound, PaperfeedError
from paperfeed.mail.interfaces import EmailSender, OutgoingMail
from paperfeed.mail.messages import message_id_for, render, render_partial, unsubscribe_headers
from paperfeed.mail.outbox import DeliveryReport, Outbox, outbox_row, part_marker, part_row
from paperfeed.mail.subscriptions import FREQUENCIES, SubscriptionService, check_frequency
from paperfeed.papers.models import PaperItem
from paperfeed.papers.periods import Period, day_period, local_day, week_period
from paperfeed.papers.service import PaperService

log = logging.getLogger(__name__)
QUEUE_BATCH = 1000
# placeholders of the shared base render (plain ASCII: autoescaping leaves them unchanged)
_EMAIL = "pf-placeholder-address@invalid"
_UNSUBSCRIBE = "https://pf-placeholder.invalid/unsubscribe"


class Recommender(Protocol):
    """What the digest needs from ``paperfeed.personal.recommend.RecommendationService``."""

    def for_user(self, user_id: int, *, since: datetime, limit: int) -> list: ...


@dataclass(frozen=True)
class DigestPeriod:
    """The period a digest covers and its outbox key part."""

    frequency: str
    period: Period

    @property
    def label(self) -> str:
        return self.period.label

    def key(self, subscription_id: int | str) -> str:
        return f"digest:{self.frequency}:{self.period.label}:{subscription_id}"


@dataclass
class SharedPart:
    """The part of a digest that is the same for every subscriber of a period (rendered once)."""

    trending: list[dict]
    html: Markup
    text: str
    period_url: str
    key: str  # outbox key of the stored part (``part:digest:<frequency>:<period>:<content hash>``)

    @property
    def marker(self) -> str:
        return part_marker(self.key)


@dataclass
class QueueReport:
    frequency: str
    period: str | None
    queued: int = 0
    keys: list[str] = field(default_factory=list)
    previews: list[OutgoingMail] = field(default_factory=list)


@dataclass
class DigestRunReport:
    """Everything one ``digest send`` did."""

    queued: list[QueueReport] = field(default_factory=list)
    delivery: DeliveryReport | None = None


def _paper_view(paper: PaperItem, base_url: str) -> dict:
    authors = ", ".join(paper.authors[:4]) + (" et al." if len(paper.authors) > 4 else "")
    summary = " ".join((paper.ai_summary or paper.abstract or "").split())
    if len(summary) > 220:
        summary = summary[:220].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"
    return {
        "title": " ".join(paper.title.split()),
        "authors": authors,
        "summary": summary,
        "upvotes": paper.upvotes,
        "url": f"{base_url}/papers/{paper.arxiv_id}",
    }


class DigestService:
    """Digest periods, rendering and queueing for one instance."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        papers: PaperService,
        subscriptions: SubscriptionService,
        recommender: Recommender | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.papers = papers
        self.subscriptions = subscriptions
        self.recommender = recommender
        self.outbox = Outbox(engine, settings, clock)
        self.base_url = settings.base_url.rstrip("/")

    # ------------------------------------------------------------------ periods
    def period(self, frequency: str) -> DigestPeriod | None:
        """The period a ``frequency`` digest covers now, or ``None`` when there is nothing to send."""
        frequency = check_frequency(frequency)
        today = local_day(self.clock.now(), self.settings.timezone)
        if frequency == "daily":
            with self.engine.connect() as conn:
                day = mail_store.latest_feed_day(conn, today)
            return DigestPeriod("daily", day_period(day)) if day else None
        week = week_period(today - timedelta(days=7))
        if not self.papers.day_counts(week.start, week.end):
            return None
        return DigestPeriod("weekly", week)

    def _since(self, period: Period) -> datetime:
        """Where personal picks start: a day before the period (a feed day's papers are often featured
        the evening before, in the instance time zone)."""
        start = datetime.combine(period.start, time.min, tzinfo=ZoneInfo(self.settings.timezone))
        return start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None) - timedelta(days=1)

    # ------------------------------------------------------------------ rendering
    def shared_part(self, period: DigestPeriod) -> SharedPart:
        """Top trending papers of the period, rendered to HTML and text once."""
        page = self.papers.listing(period.period, sort="trending", limit=self.settings.digest_trending_size)
        trending = [_paper_view(p, self.base_url) for p in page.papers]
        if period.frequency == "weekly":
            period_url = f"{self.base_url}/papers/week/{period.label}"
        else:
            period_url = f"{self.base_url}/papers?date={period.label}"
        context = {"trending": trending, "period_label": period.label}
        html = Markup(render_partial("digest/trending.html", context))
        text = render_partial("digest/trending.txt", context)
        digest = hashlib.sha256((text + "\x00" + html).encode()).hexdigest()[:16]
        key = f"part:digest:{period.frequency}:{period.label}:{digest}"
        return SharedPart(trending, html, text, period_url, key)

    def picks_for(self, user_id: int | None, period: DigestPeriod) -> list[dict]:
        """Personal picks (title, url, reason) for an account, empty without one or a recommender."""
        if user_id is None or self.recommender is None or self.settings.digest_personal_size <= 0:
            return []
        try:
            recs = self.recommender.for_user(
                user_id, since=self._since(period.period), limit=self.settings.digest_personal_size
            )
        except PaperfeedError as exc:
            log.warning("no personal picks for user %s: %s", user_id, exc.message)
            return []
        picks = []
        for rec in recs[: self.settings.digest_personal_size]:
            view = _paper_view(rec.paper, self.base_url)
            view["reason"] = rec.reason[:1].upper() + rec.reason[1:] if rec.reason else ""
            picks.append(view)
        return picks

    def _context(
        self, period: DigestPeriod, shared: SharedPart, *, email: str, unsubscribe: str, picks, expand
    ):
        return {
            "site_name": self.settings.site_name,
            "base_url": self.base_url,
            "frequency": period.frequency,
            "period_label": period.label,
            "period_url": shared.period_url,
            "trending": shared.trending,
            "trending_html": shared.html if expand else Markup(shared.marker),
            "trending_text": shared.text if expand else shared.marker,
            "picks": picks,
            "email": email,
            "unsubscribe_url": unsubscribe,
        }

    def _mail(self, period: DigestPeriod, subscription_id: int, email: str, unsubscribe: str, rendered):
        subject, text, html = rendered
        headers = {
            "Message-ID": message_id_for(period.key(subscription_id), self.settings.mail_from),
            **unsubscribe_headers(unsubscribe, self.settings.mail_unsubscribe_mailto),
            "Precedence": "bulk",
            "Auto-Submitted": "auto-generated",
        }
        return OutgoingMail(self.settings.mail_from, email, subject, text, html, headers)

    def render_digest(
        self,
        period: DigestPeriod,
        shared: SharedPart,
        *,
        subscription_id: int,
        email: str,
        user_id: int | None,
        expand: bool = True,
        base: tuple[str, str, str] | None = None,
    ) -> OutgoingMail:
        """The digest mail for one subscriber.

        ``expand=False`` leaves the shared part's marker in the bodies (what the outbox stores).
        ``base``: the same digest rendered once with placeholder address and link, reused for
        subscribers without personal picks (two string replacements instead of a template render).
        """
        unsubscribe = self.subscriptions.unsubscribe_url(subscription_id, email)
        picks = self.picks_for(user_id, period)
        if base is not None and not picks:
            subject, text, html = base
            text = text.replace(_EMAIL, email).replace(_UNSUBSCRIBE, unsubscribe)
            html = html.replace(_EMAIL, str(escape(email))).replace(_UNSUBSCRIBE, str(escape(unsubscribe)))
            rendered = (subject, text, html)
        else:
            context = self._context(
                period, shared, email=email, unsubscribe=unsubscribe, picks=picks, expand=expand
            )
            rendered = render("digest", context)
        return self._mail(period, subscription_id, email, unsubscribe, rendered)

    def base_render(self, period: DigestPeriod, shared: SharedPart, *, expand: bool) -> tuple[str, str, str]:
        """The digest without personal picks, with placeholders for the address and unsubscribe link."""
        context = self._context(
            period, shared, email=_EMAIL, unsubscribe=_UNSUBSCRIBE, picks=[], expand=expand
        )
        return render("digest", context)

    # ------------------------------------------------------------------ queueing
    def queue_due(
        self,
        frequency: str,
        *,
        user_id: int | None = None,
        limit: int | None = None,
        dry_run: bool = False,
    ) -> QueueReport:
        """Render and queue the digests of every due subscription (``dry_run``: render only)."""
        period = self.period(frequency)
        report = QueueReport(frequency, period.label if period else None)
        if period is None:
            return report
        with self.engine.connect() as conn:
            due = mail_store.due_subscriptions(conn, frequency, period.key(""), user_id=user_id)
        if limit is not None:
            due = due[:limit]
        if not due:
            return report
        shared = self.shared_part(period)
        expand = dry_run  # the outbox stores the shared part once; previews show it in place
        base = self.base_render(period, shared, expand=expand)
        now = self.clock.now().replace(tzinfo=None)
        if not dry_run:
            self.outbox.queue([part_row(key=shared.key, text=shared.text, html=str(shared.html), now=now)])
        batch: list[dict] = []
        for sub in due:
            mail = self.render_digest(
                period,
                shared,
                subscription_id=sub["id"],
                email=sub["email"],
                user_id=sub["user_id"],
                expand=expand,
                base=base,
            )
            if dry_run:
                report.previews.append(mail)
                continue
            key = period.key(sub["id"])
            report.keys.append(key)
            batch.append(
                outbox_row(
                    key=key, kind="digest", mail=mail, now=now, subscription_id=sub["id"], part=shared.key
                )
            )
            if len(batch) >= QUEUE_BATCH:
                report.queued += self.outbox.queue(batch)
                batch = []
        if batch:
            report.queued += self.outbox.queue(batch)
        return report

    def preview(self, user_id: int, email: str, frequency: str = "daily") -> OutgoingMail | None:
        """The next digest a user would get (``/digest/preview``); ``None`` when there is no period."""
        period = self.period(frequency)
        if period is None:
            return None
        info = self.subscriptions.of_user(user_id)
        sub_id = info.id if info else 0
        return self.render_digest(
            period, self.shared_part(period), subscription_id=sub_id, email=email, user_id=user_id
        )


def send_digests(
    service: DigestService,
    sender: EmailSender,
    *,
    frequencies: tuple[str, ...] = FREQUENCIES,
    username: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
) -> DigestRunReport:
    """The ``digest send`` job: queue due digests, then deliver every due outbox message.

    ``username`` limits queueing to that account's subscription; ``limit`` caps the digests queued
    per frequency and the mails delivered; ``dry_run`` renders and returns previews, writing nothing.
    """
    user_id = None
    if username is not None:
        with service.engine.connect() as conn:
            user_id = mail_store.user_id_by_username(conn, username)
        if user_id is None:
            raise NotFound(f"no user {username!r}")
    report = DigestRunReport()
    for frequency in frequencies:
        report.queued.append(service.queue_due(frequency, user_id=user_id, limit=limit, dry_run=dry_run))
    if dry_run:
        return report
    if user_id is None:
        report.delivery = service.outbox.deliver_due(sender, limit=limit)
    else:  # only this account's digests
        report.delivery = DeliveryReport()
        for queued in report.queued:
            for key in queued.keys:
                one = service.outbox.deliver_due(sender, only_key=key)
                for name in ("sent", "retried", "failed", "skipped"):
                    setattr(report.delivery, name, getattr(report.delivery, name) + getattr(one, name))
                report.delivery.errors.extend(one.errors)
    return report
