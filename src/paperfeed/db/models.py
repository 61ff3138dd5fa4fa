"""ORM table definitions (SQLAlchemy 2 declarative). The Alembic migrations mirror these.

Times are stored as naive UTC ``DateTime`` values; feed days are plain ``Date`` values in the
instance time zone (``Settings.timezone``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Paper(Base):
    """One arXiv paper, merged from every source that mentioned it."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    abstract: Mapped[str] = mapped_column(Text, nullable=False, default="")
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    primary_category: Mapped[str | None] = mapped_column(String(64))
    doi: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    comments: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(Text)
    report_no: Mapped[str | None] = mapped_column(Text)
    submitter: Mapped[str | None] = mapped_column(Text)
    latest_version: Mapped[int | None] = mapped_column(Integer)
    github_repo: Mapped[str | None] = mapped_column(Text)
    project_page: Mapped[str | None] = mapped_column(Text)
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[str | None] = mapped_column(Text)  # JSON list
    base_upvotes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    base_num_comments: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    num_comments: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source_hashes: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON {source: hash}
    change_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    modified_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        Index("ix_papers_change_seq", "change_seq"),
        Index("ix_papers_published_at", "published_at"),
    )


class PaperAuthor(Base):
    """An author of a paper, in the order the paper lists them."""

    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_paper_authors_name", "name"),)


class PaperCategory(Base):
    """An arXiv category of a paper; position 0 is the primary category."""

    __tablename__ = "paper_categories"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (Index("ix_paper_categories_category", "category", "paper_id"),)


class FeedEntry(Base):
    """A paper featured on the daily feed of a given day (one row per paper and day)."""

    __tablename__ = "feed_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)
    feed_date: Mapped[date] = mapped_column(Date, nullable=False)
    featured_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    submitted_by: Mapped[str | None] = mapped_column(Text)
    upvotes_at_import: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source: Mapped[str] = mapped_column(String(32), nullable=False)

    __table_args__ = (
        UniqueConstraint("paper_id", "feed_date", name="uq_feed_entries_paper_date"),
        Index("ix_feed_entries_date", "feed_date"),
        Index("ix_feed_entries_submitted_by", "submitted_by"),
    )


class IngestRun(Base):
    """One run of an ingest command: what it read, wrote and where it stopped."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # running | done | failed
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    checkpoint: Mapped[str | None] = mapped_column(Text)  # source-specific resume position
    records_read: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    inserted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bad_records: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    feed_entries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_ingest_runs_source_location", "source", "location"),)


class Counter(Base):
    """Named monotonically increasing counters (e.g. the paper change sequence)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class User(Base):
    """An account. ``username_key`` (lower-cased) makes names unique regardless of case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    username_key: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)  # NULL once deleted
    password_hash: Mapped[str | None] = mapped_column(Text)  # NULL once deleted
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    banned_at: Mapped[datetime | None] = mapped_column(DateTime)  # set by a moderator
    ban_reason: Mapped[str | None] = mapped_column(Text)


class UserSession(Base):
    """A signed-in browser. ``id`` is the sha256 of the cookie value (the cookie is never stored)."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)


class ApiToken(Base):
    """A personal API token for ``Authorization: Bearer``; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_used: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)


class Vote(Base):
    """One local upvote. ``user_id`` is NULL for votes of deleted (anonymised) accounts."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("user_id", "paper_id", name="uq_votes_user_paper"),
        Index("ix_votes_paper_id", "paper_id"),
    )


class RateLimitBucket(Base):
    """Requests counted per key (``login-ip:1.2.3.4``) and fixed time window, shared by all workers."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # unix seconds
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Comment(Base):
    """A comment in a paper's discussion; ``parent_id`` makes threads.

    ``body`` is the author's markdown; ``body_html`` the sanitised rendering stored at write
    time. Deleting keeps the row (so replies keep their place) with ``deleted_at`` set and the
    text cleared; ``user_id`` is NULL once the author's account is deleted.
    """

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)  # hidden by a moderator

    __table_args__ = (
        Index("ix_comments_paper_id", "paper_id", "id"),
        Index("ix_comments_user_id", "user_id"),
    )


class CommentReport(Base):
    """A user's report of a comment, waiting in the moderators' queue until resolved."""

    __tablename__ = "comment_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), nullable=False)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(32))  # hidden | dismissed

    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_id", name="uq_comment_reports_comment_reporter"),
        Index("ix_comment_reports_open", "resolved_at", "id"),
    )


class LibraryItem(Base):
    """A paper a user saved to their library."""

    __tablename__ = "library_items"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (Index("ix_library_items_paper_id", "paper_id"),)


class Follow(Base):
    """Something a user follows: a category (``cs.CL``), an author name, or a saved search.

    ``kind`` is ``category`` | ``author`` | ``query``; for ``query`` ``mode`` says how the saved
    search runs (``keyword`` | ``semantic`` | ``hybrid``).
    """

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    mode: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "value", name="uq_follows_user_kind_value"),
        Index("ix_follows_kind_value", "kind", "value"),
    )


class FeedToken(Base):
    """The secret token of a user's personal Atom feed (only its sha256 is stored; revocable)."""

    __tablename__ = "feed_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class Subscription(Base):
    """An email digest subscription, with or without an account.

    ``status``: ``pending`` (waiting for the double opt-in click) | ``active`` | ``unsubscribed``
    | ``bounced`` (a permanent SMTP failure). Nothing but the confirmation mail is sent before
    ``active``.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)  # lower-cased
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    frequency: Mapped[str] = mapped_column(String(16), nullable=False)  # daily | weekly
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_subscriptions_status_frequency", "status", "frequency"),
        Index("ix_subscriptions_user_id", "user_id"),
    )


class OutboxMessage(Base):
    """One mail to send. ``dedupe_key`` (e.g. ``digest:daily:2026-08-21:sub-42``) is unique, so
    queueing twice or re-running a crashed batch never produces a second copy.

    ``status``: ``pending`` | ``sent`` | ``failed`` (permanent); transient failures stay
    ``pending`` with ``attempts`` and ``next_attempt_at`` pushed back.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # confirm | digest
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON object
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)


class JobLease(Base):
    """Who runs a scheduled job right now (``paperfeed.jobs.leases``): one row per job name.

    A lease is held while ``holder`` is set and ``expires_at`` is in the future; the holder renews
    it while the job runs; an expired lease may be taken over by any node.
    """

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class PaperVector(Base):
    """A paper's embedding for one model: the source of truth every node's vector index follows.

    ``content_hash`` is the signed 64-bit hash of the embedded text (``document_text``);
    ``paper_seq`` the paper's ``change_seq`` the row was computed or last verified for (a paper
    whose ``change_seq`` is newer is work for an embedding worker); ``vector_seq`` comes from the
    ``vector_change`` counter, bumped whenever the vector or hash changes, so nodes follow new
    vectors by a cursor. ``vector`` is ``dim`` little-endian float16 values.
    """

    __tablename__ = "paper_vectors"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[int] = mapped_column(BigInteger, nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    paper_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    vector_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (Index("ix_paper_vectors_model_seq", "model", "vector_seq"),)


class EmbedClaim(Base):
    """An embedding worker's claim on a paper (``db.vectors_store``): live until ``claimed_until``;
    a claim of a worker that died expires and the paper is claimed again."""

    __tablename__ = "embed_claims"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    worker: Mapped[str] = mapped_column(String(200), nullable=False)
    claimed_until: Mapped[datetime] = mapped_column(DateTime, nullable=False)
