"""SQL for job leases (``job_leases``): atomic acquire / renew / release, success and error marks.

Acquiring is one conditional ``UPDATE ... WHERE holder IS NULL OR expires_at <= now OR holder = me``
after an ``INSERT ... ON CONFLICT DO NOTHING`` of the row: the database serialises the two
updates of the same row, so exactly one contender sees ``rowcount == 1`` on SQLite and PostgreSQL
alike, whichever process or node it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from paperfeed.db.models import JobLease
from paperfeed.db.upsert import insert_for

leases_t = JobLease.__table__


@dataclass
class LeaseRow:
    """One ``job_leases`` row as read."""

    name: str
    holder: str | None
    acquired_at: datetime | None
    expires_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None


def try_acquire(conn: Connection, name: str, holder: str, *, now: datetime, expires_at: datetime) -> bool:
    """Take the lease ``name`` for ``holder`` if it is free, expired or already ours."""
    insert = insert_for(conn)
    conn.execute(insert(leases_t).values(name=name).on_conflict_do_nothing(index_elements=["name"]))
    result = conn.execute(
        update(leases_t)
        .where(
            leases_t.c.name == name,
            or_(leases_t.c.holder.is_(None), leases_t.c.expires_at <= now, leases_t.c.holder == holder),
        )
        .values(holder=holder, acquired_at=now, expires_at=expires_at)
    )
    return result.rowcount == 1


def renew(conn: Connection, name: str, holder: str, *, expires_at: datetime) -> bool:
    """Push the expiry of a lease we hold; ``False`` when it is no longer ours."""
    result = conn.execute(
        update(leases_t)
        .where(leases_t.c.name == name, leases_t.c.holder == holder)
        .values(expires_at=expires_at)
    )
    return result.rowcount == 1


def release(
    conn: Connection, name: str, holder: str, *, now: datetime, success: bool, error: str | None = None
) -> bool:
    """Give the lease up and record the outcome; ``False`` when it was no longer ours."""
    values: dict = {"holder": None, "expires_at": None}
    if success:
        values.update(last_success_at=now, last_error=None)
    else:
        values["last_error"] = (error or "failed")[:2000]
    result = conn.execute(
        update(leases_t).where(leases_t.c.name == name, leases_t.c.holder == holder).values(**values)
    )
    return result.rowcount == 1


def get_lease(conn: Connection, name: str) -> LeaseRow | None:
    """The row of lease ``name`` (``None`` when the job never ran)."""
    row = conn.execute(select(leases_t).where(leases_t.c.name == name)).first()
    return LeaseRow(**row._mapping) if row else None


def all_leases(conn: Connection) -> list[LeaseRow]:
    """Every lease row, by name."""
    return [LeaseRow(**row._mapping) for row in conn.execute(select(leases_t).order_by(leases_t.c.name))]
