"""ProfileService: what a user's public profile shows — submissions, upvotes, recent comments.

Names match regardless of case; deleted and unknown accounts are :class:`NotFound`. Suspended
(banned) accounts still have a profile, marked ``suspended``. Every list is capped (the newest
``limit`` entries) and comes with its full count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from paperfeed.db import profiles_store
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.papers.models import PaperItem
from paperfeed.papers.service import attach_people

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
COMMENTS_SHOWN = 20


@dataclass(frozen=True)
class ProfileComment:
    """A comment as listed on its author's profile (``html`` is sanitised at write time)."""

    id: int
    arxiv_id: str
    paper_title: str
    html: str
    created_at: datetime


@dataclass(frozen=True)
class Profile:
    """A public profile."""

    username: str
    created_at: datetime
    is_admin: bool
    suspended: bool
    submitted: list[PaperItem]
    num_submitted: int
    upvoted: list[PaperItem]
    num_upvoted: int
    comments: list[ProfileComment]
    num_comments: int


class ProfileService:
    """Public profile queries over one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def profile(self, username: str, *, limit: int = DEFAULT_LIMIT) -> Profile:
        """The profile of ``username`` (any case); ``limit`` caps the submitted/upvoted lists."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        name = (username or "").strip()
        if not name or len(name) > 64:
            raise NotFound(f"no user {name[:64]!r}")
        with self.engine.connect() as conn:
            user = profiles_store.user_by_name(conn, name)
            if user is None:
                raise NotFound(f"no user {name!r}")
            submitted_rows = profiles_store.submitted_rows(conn, user["username"], limit=limit)
            upvoted_rows = profiles_store.upvoted_rows(conn, user["id"], limit=limit)
            comments = [
                ProfileComment(
                    id=row["id"],
                    arxiv_id=row["arxiv_id"],
                    paper_title=row["title"],
                    html=row["body_html"],
                    created_at=row["created_at"],
                )
                for row in profiles_store.recent_comments(conn, user["id"], limit=COMMENTS_SHOWN)
            ]
            return Profile(
                username=user["username"],
                created_at=user["created_at"],
                is_admin=bool(user["is_admin"]),
                suspended=user["banned_at"] is not None,
                submitted=attach_people(conn, submitted_rows),
                num_submitted=profiles_store.count_submitted(conn, user["username"]),
                upvoted=attach_people(conn, upvoted_rows),
                num_upvoted=profiles_store.count_upvoted(conn, user["id"]),
                comments=comments,
                num_comments=profiles_store.count_comments(conn, user["id"]),
            )
