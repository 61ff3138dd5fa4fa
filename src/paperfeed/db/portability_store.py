"""SQL of whole-instance export and import (``paperfeed export`` / ``paperfeed import``).

Export side: a read snapshot (:func:`snapshot`) and id-ordered, chunked iterators over each
exported table that yield plain dicts, with people resolved to usernames and papers to arXiv ids,
so memory stays bounded however large the instance is.

Import side: bulk inserts of already validated chunks inside the caller's single transaction.
Papers get fresh ``change_seq`` values (so the search indexer picks them up); comments keep their
exported ids (the instance is empty, so they are free), which makes thread links stable.
:func:`finish_import` recomputes ``upvotes`` and ``num_comments`` from their rows, moves PostgreSQL id
sequences past the explicit comment ids and bumps ``feed_version``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, tuple_, update
from sqlalchemy.orm import aliased

from paperfeed.db import comments_store
from paperfeed.db.bulk import BulkInsert
from paperfeed.db.models import (
    Comment,
    CommentReport,
    FeedEntry,
    Follow,
    LibraryItem,
    Paper,
    PaperAuthor,
    PaperCategory,
    Subscription,
    User,
    Vote,
)
from paperfeed.db.sequences import FEED_VERSION, bump_counter, next_change_seqs

papers_t = Paper.__table__
authors_t = PaperAuthor.__table__
categories_t = PaperCategory.__table__
feed_t = FeedEntry.__table__
users_t = User.__table__
votes_t = Vote.__table__
comments_t = Comment.__table__
reports_t = CommentReport.__table__
library_t = LibraryItem.__table__
follows_t = Follow.__table__
subscriptions_t = Subscription.__table__

# every stored paper column but the surrogate id and the local change sequence
PAPER_COLUMNS = tuple(c.name for c in papers_t.columns if c.name not in ("id", "change_seq"))
USER_COLUMNS = ("username", "email", "is_admin", "created_at", "deleted_at", "banned_at", "ban_reason")
FEED_COLUMNS = ("feed_date", "featured_at", "submitted_by", "upvotes_at_import", "source")


# --------------------------------------------------------------------------- export
@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one consistent state of the database for the whole export."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
        return
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # pysqlite starts no transaction for reads on its own
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at."""
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows per exported table (for progress totals and the emptiness check)."""
    tables = {
        "user": users_t,
        "paper": papers_t,
        "vote": votes_t,
        "comment": comments_t,
        "comment_report": reports_t,
        "library_item": library_t,
        "follow": follows_t,
        "subscription": subscriptions_t,
    }
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in tables.items()
    }


def _chunks(conn: Connection, stmt, key_cols: Sequence, chunk: int) -> Iterator[list[dict]]:
    """Keyset pagination of ``stmt`` (whose result carries ``_k0``, ``_k1``... for ``key_cols``)."""
    last: tuple | None = None
    while True:
        page = stmt.order_by(*key_cols).limit(chunk)
        if last is not None:
            page = page.where(
                key_cols[0] > last[0] if len(key_cols) == 1 else tuple_(*key_cols) > tuple_(*last)
            )
        rows = [dict(r) for r in conn.execute(page).mappings()]
        if not rows:
            return
        last = tuple(rows[-1][f"_k{i}"] for i in range(len(key_cols)))
        for row in rows:
            for i in range(len(key_cols)):
                row.pop(f"_k{i}")
        yield rows
        if len(rows) < chunk:
            return


def iter_users(conn: Connection, chunk: int, *, with_password_hash: bool) -> Iterator[list[dict]]:
    cols = [users_t.c[c] for c in USER_COLUMNS]
    if with_password_hash:
        cols.append(users_t.c.password_hash)
    yield from _chunks(conn, select(*cols, users_t.c.id.label("_k0")), [users_t.c.id], chunk)


def iter_papers(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    """Papers with their ordered ``authors``, ``categories`` and ``feed_entries`` embedded."""
    stmt = select(*(papers_t.c[c] for c in PAPER_COLUMNS), papers_t.c.id.label("_k0"))
    last_id = 0
    while True:
        rows = [
            dict(r)
            for r in conn.execute(
                stmt.where(papers_t.c.id > last_id).order_by(papers_t.c.id).limit(chunk)
            ).mappings()
        ]
        if not rows:
            return
        ids = [r["_k0"] for r in rows]
        last_id = ids[-1]
        authors: dict[int, list[str]] = {i: [] for i in ids}
        for pid, name in conn.execute(
            select(authors_t.c.paper_id, authors_t.c.name)
            .where(authors_t.c.paper_id.in_(ids))
            .order_by(authors_t.c.paper_id, authors_t.c.position)
        ):
            authors[pid].append(name)
        categories: dict[int, list[str]] = {i: [] for i in ids}
        for pid, category in conn.execute(
            select(categories_t.c.paper_id, categories_t.c.category)
            .where(categories_t.c.paper_id.in_(ids))
            .order_by(categories_t.c.paper_id, categories_t.c.position)
        ):
            categories[pid].append(category)
        feeds: dict[int, list[dict]] = {i: [] for i in ids}
        for row in conn.execute(
            select(feed_t.c.paper_id, *(feed_t.c[c] for c in FEED_COLUMNS))
            .where(feed_t.c.paper_id.in_(ids))
            .order_by(feed_t.c.paper_id, feed_t.c.feed_date)
        ).mappings():
            feeds[row["paper_id"]].append({c: row[c] for c in FEED_COLUMNS})
        for row in rows:
            pid = row.pop("_k0")
            row["authors"], row["categories"], row["feed_entries"] = authors[pid], categories[pid], feeds[pid]
        yield rows
        if len(rows) < chunk:
            return


def iter_votes(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    stmt = select(
        papers_t.c.arxiv_id.label("paper"),
        users_t.c.username.label("user"),
        votes_t.c.created_at,
        votes_t.c.id.label("_k0"),
    ).select_from(
        votes_t.join(papers_t, papers_t.c.id == votes_t.c.paper_id).outerjoin(
            users_t, users_t.c.id == votes_t.c.user_id
        )
    )
    yield from _chunks(conn, stmt, [votes_t.c.id], chunk)


def iter_comments(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    """Comments in id order (a parent always comes before its replies)."""
    stmt = select(
        comments_t.c.id.label("exportId"),
        papers_t.c.arxiv_id.label("paper"),
        users_t.c.username.label("user"),
        comments_t.c.parent_id.label("parent"),
        comments_t.c.body,
        comments_t.c.body_html,
        comments_t.c.created_at,
        comments_t.c.edited_at,
        comments_t.c.deleted_at,
        comments_t.c.hidden_at,
        comments_t.c.id.label("_k0"),
    ).select_from(
        comments_t.join(papers_t, papers_t.c.id == comments_t.c.paper_id).outerjoin(
            users_t, users_t.c.id == comments_t.c.user_id
        )
    )
    yield from _chunks(conn, stmt, [comments_t.c.id], chunk)


def iter_comment_reports(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    reporter, resolver = aliased(users_t), aliased(users_t)
    stmt = select(
        reports_t.c.comment_id.label("comment"),
        reporter.c.username.label("reporter"),
        reports_t.c.reason,
        reports_t.c.created_at,
        reports_t.c.resolved_at,
        resolver.c.username.label("resolved_by"),
        reports_t.c.resolution,
        reports_t.c.id.label("_k0"),
    ).select_from(
        reports_t.outerjoin(reporter, reporter.c.id == reports_t.c.reporter_id).outerjoin(
            resolver, resolver.c.id == reports_t.c.resolved_by
        )
    )
    yield from _chunks(conn, stmt, [reports_t.c.id], chunk)


def iter_library_items(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    stmt = select(
        users_t.c.username.label("user"),
        papers_t.c.arxiv_id.label("paper"),
        library_t.c.created_at,
        library_t.c.user_id.label("_k0"),
        library_t.c.paper_id.label("_k1"),
    ).select_from(
        library_t.join(users_t, users_t.c.id == library_t.c.user_id).join(
            papers_t, papers_t.c.id == library_t.c.paper_id
        )
    )
    yield from _chunks(conn, stmt, [library_t.c.user_id, library_t.c.paper_id], chunk)


def iter_follows(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    stmt = select(
        users_t.c.username.label("user"),
        follows_t.c.kind,
        follows_t.c.value,
        follows_t.c.mode,
        follows_t.c.created_at,
        follows_t.c.id.label("_k0"),
    ).select_from(follows_t.join(users_t, users_t.c.id == follows_t.c.user_id))
    yield from _chunks(conn, stmt, [follows_t.c.id], chunk)


def iter_subscriptions(conn: Connection, chunk: int) -> Iterator[list[dict]]:
    stmt = select(
        subscriptions_t.c.email,
        users_t.c.username.label("user"),
        subscriptions_t.c.frequency,
        subscriptions_t.c.status,
        subscriptions_t.c.created_at,
        subscriptions_t.c.confirmed_at,
        subscriptions_t.c.unsubscribed_at,
        subscriptions_t.c.last_error,
        subscriptions_t.c.id.label("_k0"),
    ).select_from(subscriptions_t.outerjoin(users_t, users_t.c.id == subscriptions_t.c.user_id))
    yield from _chunks(conn, stmt, [subscriptions_t.c.id], chunk)


def iter_citation_rows(
    conn: Connection, chunk: int, *, library_user: str | None = None
) -> Iterator[list[dict]]:
    """Visible papers (all, or those in one user's library) with their ordered authors."""
    cols = (
        papers_t.c.arxiv_id,
        papers_t.c.title,
        papers_t.c.published_at,
        papers_t.c.abstract,
        papers_t.c.primary_category,
        papers_t.c.doi,
        papers_t.c.journal_ref,
    )
    stmt = select(*cols, papers_t.c.id.label("_k0")).where(papers_t.c.hidden.is_(False))
    if library_user is not None:
        stmt = (
            stmt.join(library_t, library_t.c.paper_id == papers_t.c.id)
            .join(users_t, users_t.c.id == library_t.c.user_id)
            .where(users_t.c.username_key == library_user.lower())
        )
    for rows in _chunks(conn, stmt, [papers_t.c.id], chunk):
        ids = [r["arxiv_id"] for r in rows]
        authors: dict[str, list[str]] = {i: [] for i in ids}
        for arxiv_id, name in conn.execute(
            select(papers_t.c.arxiv_id, authors_t.c.name)
            .join(authors_t, authors_t.c.paper_id == papers_t.c.id)
            .where(papers_t.c.arxiv_id.in_(ids))
            .order_by(authors_t.c.paper_id, authors_t.c.position)
        ):
            authors[arxiv_id].append(name)
        for row in rows:
            row["authors"] = authors[row["arxiv_id"]]
        yield rows


def user_exists(conn: Connection, username: str) -> bool:
    return (
        conn.execute(select(users_t.c.id).where(users_t.c.username_key == username.lower())).first()
        is not None
    )


# --------------------------------------------------------------------------- import
def insert_users(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert users (``password_hash`` may be absent: such users cannot sign in); ``{username_key: id}``."""
    values = [
        {c: r[c] for c in USER_COLUMNS}
        | {"username_key": r["username"].lower(), "password_hash": r.get("password_hash")}
        for r in rows
    ]
    conn.execute(insert(users_t), values)
    keys = [v["username_key"] for v in values]
    return dict(
        conn.execute(
            select(users_t.c.username_key, users_t.c.id).where(users_t.c.username_key.in_(keys))
        ).all()
    )


def insert_papers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert papers with authors, categories and feed entries; each gets a fresh ``change_seq``."""
    seqs = next_change_seqs(conn, len(rows))
    columns = (*PAPER_COLUMNS, "change_seq")
    BulkInsert(conn, papers_t, columns).execute(
        conn, [(*(r[c] for c in PAPER_COLUMNS), seq) for r, seq in zip(rows, seqs, strict=True)]
    )
    ids = paper_ids(conn, [r["arxiv_id"] for r in rows])
    BulkInsert(conn, authors_t, ("paper_id", "position", "name")).execute(
        conn, [(ids[r["arxiv_id"]], pos, name) for r in rows for pos, name in enumerate(r["authors"])]
    )
    BulkInsert(conn, categories_t, ("paper_id", "position", "category")).execute(
        conn, [(ids[r["arxiv_id"]], pos, cat) for r in rows for pos, cat in enumerate(r["categories"])]
    )
    BulkInsert(conn, feed_t, ("paper_id", *FEED_COLUMNS)).execute(
        conn,
        [(ids[r["arxiv_id"]], *(e[c] for c in FEED_COLUMNS)) for r in rows for e in r["feed_entries"]],
    )


def paper_ids(conn: Connection, arxiv_ids: Sequence[str]) -> dict[str, int]:
    """``{arxiv_id: id}`` for the stored ones among ``arxiv_ids``."""
    wanted = list(set(arxiv_ids))
    return dict(
        conn.execute(select(papers_t.c.arxiv_id, papers_t.c.id).where(papers_t.c.arxiv_id.in_(wanted))).all()
    )


def insert_votes(conn: Connection, rows: list[tuple[int | None, int, Any]]) -> None:
    """``(user_id, paper_id, created_at)`` rows."""
    BulkInsert(conn, votes_t, ("user_id", "paper_id", "created_at")).execute(conn, rows)


COMMENT_COLUMNS = (
    "id",
    "paper_id",
    "user_id",
    "parent_id",
    "body",
    "body_html",
    "created_at",
    "edited_at",
    "deleted_at",
    "hidden_at",
)


def insert_comments(conn: Connection, rows: list[tuple]) -> None:
    """Rows in :data:`COMMENT_COLUMNS` order, explicit ids, parents before replies."""
    BulkInsert(conn, comments_t, COMMENT_COLUMNS).execute(conn, rows)


REPORT_COLUMNS = (
    "comment_id",
    "reporter_id",
    "reason",
    "created_at",
    "resolved_at",
    "resolved_by",
    "resolution",
)


def insert_comment_reports(conn: Connection, rows: list[tuple]) -> None:
    BulkInsert(conn, reports_t, REPORT_COLUMNS).execute(conn, rows)


def insert_library_items(conn: Connection, rows: list[tuple]) -> None:
    """``(user_id, paper_id, created_at)`` rows."""
    BulkInsert(conn, library_t, ("user_id", "paper_id", "created_at")).execute(conn, rows)


def insert_follows(conn: Connection, rows: list[tuple]) -> None:
    """``(user_id, kind, value, mode, created_at)`` rows."""
    BulkInsert(conn, follows_t, ("user_id", "kind", "value", "mode", "created_at")).execute(conn, rows)


SUBSCRIPTION_COLUMNS = (
    "email",
    "user_id",
    "frequency",
    "status",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "last_error",
)


def insert_subscriptions(conn: Connection, rows: list[tuple]) -> None:
    BulkInsert(conn, subscriptions_t, SUBSCRIPTION_COLUMNS).execute(conn, rows)


def finish_import(conn: Connection) -> None:
    """Recompute the derived totals, fix PostgreSQL sequences, bump ``feed_version``.

    ``upvotes = base_upvotes + votes`` and ``num_comments = base_num_comments + comments that are
    neither deleted nor hidden`` (the rules of ``votes_store`` and ``comments_store``).
    """
    votes = select(func.count()).select_from(votes_t).where(votes_t.c.paper_id == papers_t.c.id)
    conn.execute(
        update(papers_t).values(
            upvotes=papers_t.c.base_upvotes + votes.scalar_subquery(),
            num_comments=comments_store.num_comments_expression(),
        )
    )
    if conn.dialect.name == "postgresql":  # explicit comment ids do not advance the id sequence
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('comments', 'id'), "
                "COALESCE((SELECT max(id) FROM comments), 0) + 1, false)"
            )
        )
    bump_counter(conn, FEED_VERSION)
