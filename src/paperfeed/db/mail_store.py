"""SQL for email: digest subscriptions and the mail outbox (``subscriptions``, ``mail_outbox``).

The outbox's unique ``dedupe_key`` makes queueing idempotent (``INSERT ... ON CONFLICT DO NOTHING``);
every state change of a row is its own short transaction, so a crash loses at most the one
message in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Connection, String, and_, cast, func, literal, select, update

from paperfeed.db.models import FeedEntry, OutboxMessage, Paper, Subscription, User
from paperfeed.db.upsert import insert_for

subs_t = Subscription.__table__
outbox_t = OutboxMessage.__table__
users_t = User.__table__
feed_t = FeedEntry.__table__
papers_t = Paper.__table__


# --------------------------------------------------------------------------- subscriptions
def subscription_by_email(conn: Connection, email: str) -> dict | None:
    row = conn.execute(select(subs_t).where(subs_t.c.email == email.lower())).first()
    return dict(row._mapping) if row else None


def subscription_by_id(conn: Connection, subscription_id: int) -> dict | None:
    row = conn.execute(select(subs_t).where(subs_t.c.id == subscription_id)).first()
    return dict(row._mapping) if row else None


def subscription_of_user(conn: Connection, user_id: int) -> dict | None:
    row = conn.execute(
        select(subs_t).where(subs_t.c.user_id == user_id).order_by(subs_t.c.id.desc()).limit(1)
    ).first()
    return dict(row._mapping) if row else None


def insert_subscription(
    conn: Connection,
    *,
    email: str,
    frequency: str,
    status: str,
    now: datetime,
    user_id: int | None = None,
) -> int:
    """Insert a subscription; returns its id (the caller handles a unique-email race)."""
    result = conn.execute(
        subs_t.insert().values(
            email=email.lower(),
            frequency=frequency,
            status=status,
            user_id=user_id,
            created_at=now,
            confirmed_at=now if status == "active" else None,
        )
    )
    return int(result.inserted_primary_key[0])


def insert_subscriptions(conn: Connection, rows: Sequence[dict]) -> None:
    """Bulk insert (benchmarks, imports): rows with email, frequency, status, user_id, created_at."""
    if rows:
        conn.execute(subs_t.insert(), list(rows))


def update_subscription(conn: Connection, subscription_id: int, **values) -> None:
    conn.execute(update(subs_t).where(subs_t.c.id == subscription_id).values(**values))


def due_subscriptions(
    conn: Connection,
    frequency: str,
    key_prefix: str,
    *,
    user_id: int | None = None,
    confirmed_before: datetime | None = None,
) -> list[dict]:
    """Active subscriptions of ``frequency`` without an outbox row ``<key_prefix><id>`` yet."""
    key = literal(key_prefix) + cast(subs_t.c.id, String)
    query = (
        select(subs_t.c.id, subs_t.c.email, subs_t.c.user_id, subs_t.c.frequency, users_t.c.username)
        .select_from(
            subs_t.outerjoin(outbox_t, outbox_t.c.dedupe_key == key).outerjoin(
                users_t, and_(users_t.c.id == subs_t.c.user_id, users_t.c.deleted_at.is_(None))
            )
        )
        .where(subs_t.c.status == "active", subs_t.c.frequency == frequency, outbox_t.c.id.is_(None))
        .order_by(subs_t.c.id)
    )
    if user_id is not None:
        query = query.where(subs_t.c.user_id == user_id)
    if confirmed_before is not None:
        query = query.where(subs_t.c.confirmed_at <= confirmed_before)
    return [dict(row._mapping) for row in conn.execute(query)]


def user_id_by_username(conn: Connection, username: str) -> int | None:
    return conn.execute(
        select(users_t.c.id).where(users_t.c.username_key == username.lower(), users_t.c.deleted_at.is_(None))
    ).scalar()


def user_email(conn: Connection, user_id: int) -> str | None:
    return conn.execute(
        select(users_t.c.email).where(users_t.c.id == user_id, users_t.c.deleted_at.is_(None))
    ).scalar()


def latest_feed_day(conn: Connection, until: date) -> date | None:
    """The newest feed day on or before ``until`` with a visible paper (the daily digest's day)."""
    return conn.execute(
        select(func.max(feed_t.c.feed_date))
        .select_from(feed_t.join(papers_t, papers_t.c.id == feed_t.c.paper_id))
        .where(feed_t.c.feed_date <= until, papers_t.c.hidden.is_(False))
    ).scalar()


# --------------------------------------------------------------------------- outbox
def enqueue(conn: Connection, rows: Iterable[dict]) -> int:
    """Queue messages; rows whose ``dedupe_key`` exists are skipped. Returns how many were new."""
    rows = list(rows)
    if not rows:
        return 0
    insert = insert_for(conn)
    before = conn.execute(select(func.count()).select_from(outbox_t)).scalar_one()
    conn.execute(insert(outbox_t).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
    return conn.execute(select(func.count()).select_from(outbox_t)).scalar_one() - before


def outbox_row(conn: Connection, dedupe_key: str) -> dict | None:
    row = conn.execute(select(outbox_t).where(outbox_t.c.dedupe_key == dedupe_key)).first()
    return dict(row._mapping) if row else None


def due_outbox(conn: Connection, now: datetime, *, after_id: int = 0, limit: int = 500) -> list[dict]:
    """Pending messages whose ``next_attempt_at`` has come, with their subscription's status, by id."""
    query = (
        select(outbox_t, subs_t.c.status.label("subscription_status"))
        .select_from(outbox_t.outerjoin(subs_t, subs_t.c.id == outbox_t.c.subscription_id))
        .where(outbox_t.c.status == "pending", outbox_t.c.next_attempt_at <= now, outbox_t.c.id > after_id)
        .order_by(outbox_t.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def mark_sent(conn: Connection, outbox_id: int, now: datetime) -> None:
    conn.execute(
        update(outbox_t)
        .where(outbox_t.c.id == outbox_id)
        .values(status="sent", sent_at=now, attempts=outbox_t.c.attempts + 1, last_error=None)
    )


def mark_retry(
    conn: Connection, outbox_id: int, *, attempts: int, next_attempt_at: datetime, error: str
) -> None:
    conn.execute(
        update(outbox_t)
        .where(outbox_t.c.id == outbox_id)
        .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:1000])
    )


def mark_failed(conn: Connection, outbox_id: int, *, attempts: int, error: str) -> None:
    conn.execute(
        update(outbox_t)
        .where(outbox_t.c.id == outbox_id)
        .values(status="failed", attempts=attempts, last_error=error[:1000])
    )


def outbox_counts(conn: Connection) -> dict[str, int]:
    """Messages per status (for reports)."""
    rows = conn.execute(select(outbox_t.c.status, func.count()).group_by(outbox_t.c.status))
    return {row[0]: row[1] for row in rows}
