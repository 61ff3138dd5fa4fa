"""SQL for accounts: users, server-side sessions and personal API tokens.

Session ids and API tokens are stored only as sha256 hex digests; callers pass digests in.
Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from paperfeed.db.models import ApiToken, User, UserSession, Vote

users_t = User.__table__
sessions_t = UserSession.__table__
tokens_t = ApiToken.__table__
votes_t = Vote.__table__

USER_COLUMNS = (
    users_t.c.id,
    users_t.c.username,
    users_t.c.email,
    users_t.c.password_hash,
    users_t.c.is_admin,
    users_t.c.created_at,
    users_t.c.deleted_at,
    users_t.c.banned_at,
)


class DuplicateUser(Exception):
    """The username (any case) or email is taken."""


def insert_user(
    conn: Connection, *, username: str, email: str, password_hash: str, is_admin: bool, now: datetime
) -> int:
    """Create a user row; raises :class:`DuplicateUser` when the name or email is taken."""
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(users_t).values(
                    username=username,
                    username_key=username.lower(),
                    email=email,
                    password_hash=password_hash,
                    is_admin=is_admin,
                    created_at=now,
                )
            )
    except IntegrityError as exc:
        raise DuplicateUser(str(exc.orig)) from exc
    return int(result.inserted_primary_key[0])


def username_or_email_taken(conn: Connection, username: str, email: str) -> str | None:
    """``"username"`` or ``"email"`` when one is already used (deleted accounts keep their name)."""
    if conn.execute(select(users_t.c.id).where(users_t.c.username_key == username.lower())).first():
        return "username"
    if conn.execute(select(users_t.c.id).where(users_t.c.email == email)).first():
        return "email"
    return None


def user_by_username(conn: Connection, username: str) -> dict | None:
    """A live (not deleted) user by name, any case."""
    row = (
        conn.execute(
            select(*USER_COLUMNS).where(
                users_t.c.username_key == username.lower(), users_t.c.deleted_at.is_(None)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def user_by_id(conn: Connection, user_id: int) -> dict | None:
    """A live (not deleted) user by id."""
    row = (
        conn.execute(select(*USER_COLUMNS).where(users_t.c.id == user_id, users_t.c.deleted_at.is_(None)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(users_t).where(users_t.c.id == user_id).values(password_hash=password_hash))


def mark_deleted(conn: Connection, user_id: int, now: datetime) -> None:
    """Anonymise an account: votes lose their owner (but still count), sessions and tokens go."""
    conn.execute(update(votes_t).where(votes_t.c.user_id == user_id).values(user_id=None))
    conn.execute(delete(sessions_t).where(sessions_t.c.user_id == user_id))
    conn.execute(delete(tokens_t).where(tokens_t.c.user_id == user_id))
    conn.execute(
        update(users_t)
        .where(users_t.c.id == user_id)
        .values(deleted_at=now, email=None, password_hash=None, is_admin=False)
    )


# --------------------------------------------------------------------------- sessions
def insert_session(conn: Connection, *, digest: str, user_id: int, now: datetime, expires: datetime) -> None:
    conn.execute(
        insert(sessions_t).values(
            id=digest, user_id=user_id, created_at=now, expires_at=expires, last_seen=now
        )
    )


def session_user(conn: Connection, digest: str, now: datetime) -> tuple[dict, datetime] | None:
    """(user, last_seen) for a live, unexpired session of a live user."""
    row = (
        conn.execute(
            select(*USER_COLUMNS, sessions_t.c.last_seen)
            .select_from(sessions_t.join(users_t, users_t.c.id == sessions_t.c.user_id))
            .where(
                sessions_t.c.id == digest,
                sessions_t.c.expires_at > now,
                users_t.c.deleted_at.is_(None),
                users_t.c.banned_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    data = dict(row)
    return data, data.pop("last_seen")


def touch_session(conn: Connection, digest: str, now: datetime) -> None:
    conn.execute(update(sessions_t).where(sessions_t.c.id == digest).values(last_seen=now))


def delete_session(conn: Connection, digest: str) -> None:
    conn.execute(delete(sessions_t).where(sessions_t.c.id == digest))


def delete_sessions_of(conn: Connection, user_id: int, *, keep: str | None = None) -> int:
    """End every session of a user except ``keep``; returns how many ended."""
    stmt = delete(sessions_t).where(sessions_t.c.user_id == user_id)
    if keep:
        stmt = stmt.where(sessions_t.c.id != keep)
    return conn.execute(stmt).rowcount


def delete_expired_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(sessions_t).where(sessions_t.c.expires_at <= now)).rowcount


# --------------------------------------------------------------------------- API tokens
def insert_token(conn: Connection, *, user_id: int, name: str, digest: str, now: datetime) -> int:
    result = conn.execute(
        insert(tokens_t).values(user_id=user_id, name=name, token_hash=digest, created_at=now)
    )
    return int(result.inserted_primary_key[0])


def token_user(conn: Connection, digest: str) -> tuple[dict, int, datetime | None] | None:
    """(user, token id, last used) for an unrevoked token of a live user."""
    row = (
        conn.execute(
            select(*USER_COLUMNS, tokens_t.c.id.label("token_id"), tokens_t.c.last_used)
            .select_from(tokens_t.join(users_t, users_t.c.id == tokens_t.c.user_id))
            .where(
                tokens_t.c.token_hash == digest,
                tokens_t.c.revoked_at.is_(None),
                users_t.c.deleted_at.is_(None),
                users_t.c.banned_at.is_(None),
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    data = dict(row)
    return data, data.pop("token_id"), data.pop("last_used")


def touch_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(tokens_t).where(tokens_t.c.id == token_id).values(last_used=now))


def tokens_of(conn: Connection, user_id: int) -> list[dict]:
    """A user's unrevoked tokens, newest first (no secrets: only names and dates)."""
    rows = conn.execute(
        select(tokens_t.c.id, tokens_t.c.name, tokens_t.c.created_at, tokens_t.c.last_used)
        .where(tokens_t.c.user_id == user_id, tokens_t.c.revoked_at.is_(None))
        .order_by(tokens_t.c.id.desc())
    ).mappings()
    return [dict(r) for r in rows]


def revoke_token(conn: Connection, user_id: int, token_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(tokens_t)
        .where(tokens_t.c.id == token_id, tokens_t.c.user_id == user_id, tokens_t.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0
