"""SQL for personalisation: follows, the signals "For you" reads (upvotes, library) and
personal feed tokens (stored as sha256 digests only; callers pass digests in).

Times are naive UTC. Author follows match case-insensitively, so uniqueness of an author follow
is checked on ``lower(value)`` here (the table's unique key is on the exact value).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, String, delete, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError

from paperfeed.db.models import FeedToken, Follow, LibraryItem, Paper, User, Vote
from paperfeed.db.upsert import insert_for

follows_t = Follow.__table__
tokens_t = FeedToken.__table__
votes_t = Vote.__table__
library_t = LibraryItem.__table__
papers_t = Paper.__table__
users_t = User.__table__

FOLLOW_COLUMNS = (
    follows_t.c.id,
    follows_t.c.kind,
    follows_t.c.value,
    follows_t.c.mode,
    follows_t.c.created_at,
)


# --------------------------------------------------------------------------- follows
def _match(user_id: int, kind: str, value: str):
    conditions = [follows_t.c.user_id == user_id, follows_t.c.kind == kind]
    if kind == "author":
        conditions.append(func.lower(follows_t.c.value) == value.lower())
    else:
        conditions.append(follows_t.c.value == value)
    return conditions


def find_follow(conn: Connection, user_id: int, kind: str, value: str) -> dict | None:
    row = conn.execute(select(*FOLLOW_COLUMNS).where(*_match(user_id, kind, value))).mappings().first()
    return dict(row) if row else None


def count_follows(conn: Connection, user_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(follows_t).where(follows_t.c.user_id == user_id)
        ).scalar_one()
    )


def insert_follow(
    conn: Connection, *, user_id: int, kind: str, value: str, mode: str | None, now: datetime
) -> bool:
    """Insert a follow; ``False`` when the same one already exists (a concurrent insert included)."""
    insert = insert_for(conn)
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(follows_t)
                .values(user_id=user_id, kind=kind, value=value, mode=mode, created_at=now)
                .on_conflict_do_nothing()
            )
    except IntegrityError:
        return False
    return result.rowcount > 0


def set_follow_mode(conn: Connection, follow_id: int, mode: str | None) -> None:
    conn.execute(follows_t.update().where(follows_t.c.id == follow_id).values(mode=mode))


def delete_follow(conn: Connection, user_id: int, kind: str, value: str) -> bool:
    return conn.execute(delete(follows_t).where(*_match(user_id, kind, value))).rowcount > 0


def follows_of(conn: Connection, user_id: int) -> list[dict]:
    """A user's follows: categories, then authors, then saved searches, oldest first within each."""
    rows = conn.execute(
        select(*FOLLOW_COLUMNS)
        .where(follows_t.c.user_id == user_id)
        .order_by(follows_t.c.kind, follows_t.c.id)
    ).mappings()
    return [dict(r) for r in rows]


# --------------------------------------------------------------------------- signals
def profile_papers(conn: Connection, user_id: int) -> list[dict]:
    """The papers a user upvoted or saved, newest signal first.

    Each row: ``paper_id``, ``arxiv_id``, ``title``, ``source`` (``upvoted`` | ``saved``),
    ``at``. A paper both upvoted and saved appears once, as ``upvoted``.
    """
    voted = select(
        votes_t.c.paper_id, votes_t.c.created_at.label("at"), literal("upvoted", String(8)).label("src")
    ).where(votes_t.c.user_id == user_id)
    saved = select(
        library_t.c.paper_id, library_t.c.created_at.label("at"), literal("saved", String(8)).label("src")
    ).where(library_t.c.user_id == user_id)
    signals = union_all(voted, saved).subquery()
    rows = conn.execute(
        select(signals.c.paper_id, signals.c.at, signals.c.src, papers_t.c.arxiv_id, papers_t.c.title)
        .select_from(signals.join(papers_t, papers_t.c.id == signals.c.paper_id))
        .where(papers_t.c.hidden.is_(False))
        .order_by(signals.c.at.desc(), signals.c.paper_id.desc())
    )
    out: dict[int, dict] = {}
    for row in rows:
        known = out.get(row.paper_id)
        if known is None:
            out[row.paper_id] = {
                "paper_id": row.paper_id,
                "arxiv_id": row.arxiv_id,
                "title": row.title,
                "source": row.src,
                "at": row.at,
            }
        elif row.src == "upvoted":
            known["source"] = "upvoted"
    return list(out.values())


# --------------------------------------------------------------------------- feed tokens
def replace_feed_token(conn: Connection, *, user_id: int, digest: str, now: datetime) -> None:
    """Store the user's feed token digest, replacing (revoking) any previous one."""
    conn.execute(delete(tokens_t).where(tokens_t.c.user_id == user_id))
    conn.execute(tokens_t.insert().values(user_id=user_id, token_hash=digest, created_at=now))


def delete_feed_token(conn: Connection, user_id: int) -> bool:
    return conn.execute(delete(tokens_t).where(tokens_t.c.user_id == user_id)).rowcount > 0


def feed_token_created(conn: Connection, user_id: int) -> datetime | None:
    return conn.execute(select(tokens_t.c.created_at).where(tokens_t.c.user_id == user_id)).scalar()


def feed_token_user(conn: Connection, digest: str) -> dict | None:
    """``{id, username}`` of the live (not deleted, not banned) user owning the token, or ``None``."""
    row = (
        conn.execute(
            select(users_t.c.id, users_t.c.username)
            .select_from(tokens_t.join(users_t, users_t.c.id == tokens_t.c.user_id))
            .where(
                tokens_t.c.token_hash == digest, users_t.c.deleted_at.is_(None), users_t.c.banned_at.is_(None)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
