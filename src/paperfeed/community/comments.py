"""Comments: post (top-level or reply), edit within a window, soft delete, and read a paper's thread.

Markdown is rendered and sanitised once, at write time (``community.markdown``); readers get the
stored HTML. What a viewer sees depends on who they are: deleted comments show no text, hidden
ones show their text only to admins and to their author, and authors whose account was deleted
show as ``None`` (rendered "[deleted]").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.clock import Clock
from paperfeed.community.accounts import Account
from paperfeed.community.errors import Forbidden
from paperfeed.community.markdown import render_markdown
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.config import Settings
from paperfeed.db import comments_store as store
from paperfeed.errors import NotFound, PaperfeedError


class InvalidComment(PaperfeedError):
    """Empty or too long comment text, or a reply nested too deep (422, also in the JSON API)."""

    code = "invalid_comment"
    http_status = 422


@dataclass(frozen=True)
class CommentView:
    """One comment as a given viewer may see it (``text``/``html`` empty when deleted or hidden)."""

    id: int
    arxiv_id: str
    parent_id: int | None
    depth: int  # 0 for top-level comments
    author: str | None  # None once the author's account is deleted
    text: str
    html: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    mine: bool
    can_edit: bool
    can_delete: bool


def thread_order(rows: list[dict]) -> list[tuple[dict, int]]:
    """Rows (oldest first) in thread order: each comment followed by its replies; with depths."""
    children: dict[int | None, list[dict]] = {}
    ids = {row["id"] for row in rows}
    for row in rows:
        parent = row["parent_id"] if row["parent_id"] in ids else None
        children.setdefault(parent, []).append(row)
    ordered: list[tuple[dict, int]] = []
    stack = [(row, 0) for row in reversed(children.get(None, []))]
    while stack:
        row, depth = stack.pop()
        ordered.append((row, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(row["id"], [])))
    return ordered


class CommentService:
    """Post, edit, delete and list comments (posting and editing rate limited per user)."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock, limiter: RateLimiter) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.limiter = limiter

    def _now(self) -> datetime:
        return self.clock.now().replace(tzinfo=None)

    def _paper_id(self, raw_id: str) -> tuple[str, int]:
        arxiv_id = normalize_arxiv_id(raw_id)
        with self.engine.connect() as conn:
            paper_id = store.visible_paper_id(conn, arxiv_id)
        if paper_id is None:
            raise NotFound(f"no paper {arxiv_id} on this instance")
        return arxiv_id, paper_id

    def _clean_text(self, text: object) -> str:
        if not isinstance(text, str) or not text.strip():
            raise InvalidComment("Write something first: the comment is empty.")
        text = text.replace("\r\n", "\n").strip()
        if len(text) > self.settings.comment_max_chars:
            raise InvalidComment(
                f"Comments are at most {self.settings.comment_max_chars:,} characters "
                f"(this one has {len(text):,})."
            )
        return text

    def _edit_deadline(self, row: dict) -> datetime:
        return row["created_at"] + timedelta(minutes=self.settings.comment_edit_minutes)

    def _view(
        self, row: dict, depth: int, viewer: Account | None, now: datetime, arxiv_id: str
    ) -> CommentView:
        mine = viewer is not None and row["user_id"] == viewer.id
        admin = viewer is not None and viewer.is_admin
        deleted = row["deleted_at"] is not None
        hidden = row["hidden_at"] is not None
        shown = not deleted and (not hidden or mine or admin)
        author = None if row["user_id"] is None or row["author_deleted_at"] is not None else row["username"]
        return CommentView(
            id=row["id"],
            arxiv_id=arxiv_id,
            parent_id=row["parent_id"],
            depth=depth,
            author=author,
            text=row["body"] if shown else "",
            html=row["body_html"] if shown else "",
            created_at=row["created_at"],
            edited_at=row["edited_at"],
            deleted=deleted,
            hidden=hidden,
            mine=mine,
            can_edit=mine and not deleted and not hidden and now <= self._edit_deadline(row),
            can_delete=(mine or admin) and not deleted,
        )

    # ------------------------------------------------------------------ reading
    def thread(self, raw_id: str, viewer: Account | None = None) -> list[CommentView]:
        """A paper's comments in thread order (each followed by its replies, oldest first)."""
        arxiv_id, paper_id = self._paper_id(raw_id)
        with self.engine.connect() as conn:
            rows = store.thread_rows(conn, paper_id)
        now = self._now()
        return [self._view(row, depth, viewer, now, arxiv_id) for row, depth in thread_order(rows)]

    def get(self, comment_id: int, viewer: Account | None = None) -> CommentView:
        """One comment (of a visible paper) as ``viewer`` sees it."""
        row = self._row(comment_id)
        with self.engine.connect() as conn:
            depth = store.depth_of(conn, comment_id, self.settings.comment_max_depth + 1) - 1
        return self._view(row, depth, viewer, self._now(), row["arxiv_id"])

    def _row(self, comment_id: int) -> dict:
        with self.engine.connect() as conn:
            row = store.comment_row(conn, comment_id)
        if row is None or row["paper_hidden"]:
            raise NotFound(f"no comment {comment_id}")
        return row

    # ------------------------------------------------------------------ writing
    def post(self, account: Account, raw_id: str, text: object, parent: int | None = None) -> CommentView:
        """Add a comment; ``parent`` makes it a reply (same paper, at most ``comment_max_depth`` deep)."""
        if account.banned:
            raise Forbidden("This account is suspended and cannot comment.")
        arxiv_id, paper_id = self._paper_id(raw_id)
        body = self._clean_text(text)
        if parent is not None:
            with self.engine.connect() as conn:
                parent_row = store.comment_row(conn, parent)
                if parent_row is None or parent_row["paper_id"] != paper_id:
                    raise NotFound(f"no comment {parent} on paper {arxiv_id}")
                if (
                    store.depth_of(conn, parent, self.settings.comment_max_depth)
                    >= self.settings.comment_max_depth
                ):
                    raise InvalidComment(
                        f"Replies nest at most {self.settings.comment_max_depth} levels deep: "
                        "reply higher up the thread."
                    )
            if parent_row["deleted_at"] is not None:
                raise InvalidComment("That comment was deleted; it cannot get new replies.")
        html = render_markdown(body)
        self.limiter.hit("comment_user", str(account.id), "comments")
        comment_id = store.insert_comment(
            self.engine,
            paper_id=paper_id,
            user_id=account.id,
            parent_id=parent,
            body=body,
            body_html=html,
            now=self._now(),
        )
        return self.get(comment_id, account)

    def edit(self, account: Account, comment_id: int, text: object) -> CommentView:
        """Rewrite one's own comment within ``comment_edit_minutes`` of posting it (nobody else may)."""
        row = self._row(comment_id)
        if row["user_id"] != account.id:
            raise Forbidden("Only the author can edit a comment.")
        if row["deleted_at"] is not None:
            raise NotFound(f"comment {comment_id} was deleted")
        if row["hidden_at"] is not None:
            raise Forbidden("A moderator hid this comment; it cannot be edited.")
        if self._now() > self._edit_deadline(row):
            raise Forbidden(
                f"Comments can be edited for {self.settings.comment_edit_minutes} minutes after posting."
            )
        body = self._clean_text(text)
        self.limiter.hit("comment_user", str(account.id), "comments")
        store.update_body(
            self.engine, comment_id, body=body, body_html=render_markdown(body), now=self._now()
        )
        return self.get(comment_id, account)

    def delete(self, account: Account, comment_id: int) -> CommentView:
        """Soft-delete a comment (its author or an admin); deleting twice changes nothing."""
        row = self._row(comment_id)
        if row["user_id"] != account.id and not account.is_admin:
            raise Forbidden("Only the author or a moderator can delete a comment.")
        if row["deleted_at"] is None:
            store.soft_delete(self.engine, comment_id, row["paper_id"], self._now())
        return self.get(comment_id, account)
