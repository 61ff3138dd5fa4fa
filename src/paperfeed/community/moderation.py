"""Moderation: users report comments; admins work the report queue, hide comments and papers, ban users.

Every admin action checks ``Account.is_admin`` here (``Forbidden`` otherwise), so the web layer
cannot forget it. Reports are rate limited per user (``report_user``) and a user's second report
of the same comment changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.clock import Clock
from paperfeed.community.accounts import Account
from paperfeed.community.errors import Forbidden
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.db import comments_store
from paperfeed.db import moderation_store as store
from paperfeed.errors import InvalidInput, NotFound

REASON_MAX_CHARS = 1000
RESOLUTIONS = ("hidden", "dismissed")


@dataclass(frozen=True)
class ReportResult:
    """Whether a report was filed now (``False``: this user had already reported the comment)."""

    comment_id: int
    arxiv_id: str
    created: bool


def require_admin(account: Account | None) -> Account:
    """The account when it is an admin; :class:`Forbidden` otherwise."""
    if account is None or not account.is_admin:
        raise Forbidden("Only moderators can do this.")
    return account


class ModerationService:
    """Reports, the moderation queue, hiding comments and papers, bans."""

    def __init__(self, engine: Engine, clock: Clock, limiter: RateLimiter) -> None:
        self.engine = engine
        self.clock = clock
        self.limiter = limiter

    def _now(self) -> datetime:
        return self.clock.now().replace(tzinfo=None)

    def _comment(self, comment_id: int) -> dict:
        with self.engine.connect() as conn:
            row = comments_store.comment_row(conn, comment_id)
        if row is None:
            raise NotFound(f"no comment {comment_id}")
        return row

    # ------------------------------------------------------------------ reports
    def report(self, account: Account, comment_id: int, reason: object) -> ReportResult:
        """Report a comment to the moderators (one report per user and comment)."""
        if account.banned:
            raise Forbidden("This account is suspended.")
        reason = " ".join(reason.split()) if isinstance(reason, str) else ""
        if not reason:
            raise InvalidInput("Say briefly why this comment should be reviewed.")
        if len(reason) > REASON_MAX_CHARS:
            raise InvalidInput(f"Keep the reason under {REASON_MAX_CHARS} characters.")
        row = self._comment(comment_id)
        if row["paper_hidden"] or row["deleted_at"] is not None:
            raise NotFound(f"no comment {comment_id}")
        self.limiter.hit("report_user", str(account.id), "reports")
        with self.engine.begin() as conn:
            created = store.insert_report(
                conn, comment_id=comment_id, reporter_id=account.id, reason=reason, now=self._now()
            )
        return ReportResult(comment_id, row["arxiv_id"], created)

    def queue(self, admin: Account) -> list[dict]:
        """Open reports, oldest first."""
        require_admin(admin)
        with self.engine.connect() as conn:
            return store.open_reports(conn)

    def resolve(self, admin: Account, report_id: int, resolution: str) -> str:
        """Close a report: ``hidden`` hides the comment (closing all its reports), ``dismissed`` closes
        this one. Returns the comment's paper arXiv id."""
        require_admin(admin)
        if resolution not in RESOLUTIONS:
            raise InvalidInput(f"resolution must be one of {', '.join(RESOLUTIONS)}")
        with self.engine.connect() as conn:
            report = store.report_row(conn, report_id)
        if report is None:
            raise NotFound(f"no report {report_id}")
        comment = self._comment(report["comment_id"])
        if resolution == "hidden":
            store.hide_comment_resolving(
                self.engine,
                comment_id=comment["id"],
                paper_id=comment["paper_id"],
                admin_id=admin.id,
                now=self._now(),
            )
        else:
            with self.engine.begin() as conn:
                store.resolve_reports(
                    conn,
                    comment_id=comment["id"],
                    admin_id=admin.id,
                    resolution="dismissed",
                    now=self._now(),
                    report_id=report_id,
                )
        return comment["arxiv_id"]

    # ------------------------------------------------------------------ hiding
    def set_comment_hidden(self, admin: Account, comment_id: int, hidden: bool) -> str:
        """Hide or unhide a comment (hiding also closes its open reports); returns its paper's id."""
        require_admin(admin)
        comment = self._comment(comment_id)
        if hidden:
            store.hide_comment_resolving(
                self.engine,
                comment_id=comment_id,
                paper_id=comment["paper_id"],
                admin_id=admin.id,
                now=self._now(),
            )
        else:
            store.set_comment_hidden(self.engine, comment_id, comment["paper_id"], None)
        return comment["arxiv_id"]

    def set_paper_hidden(self, admin: Account, raw_id: str, hidden: bool) -> str:
        """Hide a paper from listings, search, the API and its page (or show it again)."""
        require_admin(admin)
        arxiv_id = normalize_arxiv_id(raw_id)
        with self.engine.connect() as conn:
            paper = store.paper_by_arxiv_id(conn, arxiv_id)
        if paper is None:
            raise NotFound(f"no paper {arxiv_id} on this instance")
        if bool(paper["hidden"]) != hidden:
            store.set_paper_hidden(self.engine, paper["id"], hidden)
        return arxiv_id

    def hidden_papers(self, admin: Account) -> list[dict]:
        require_admin(admin)
        with self.engine.connect() as conn:
            return store.hidden_papers(conn)

    # ------------------------------------------------------------------ bans
    def _user(self, username: str) -> dict:
        with self.engine.connect() as conn:
            row = store.user_row(conn, (username or "").strip()) if (username or "").strip() else None
        if row is None:
            raise NotFound(f"no user {username!r}")
        return row

    def ban(self, admin: Account, username: str, reason: str = "") -> None:
        """Ban a user: they are signed out everywhere, their API tokens stop working, they cannot
        sign in, vote, submit or comment."""
        require_admin(admin)
        user = self._user(username)
        if user["id"] == admin.id:
            raise InvalidInput("You cannot ban yourself.")
        store.ban_user(
            self.engine, user["id"], reason=" ".join((reason or "").split())[:500], now=self._now()
        )

    def unban(self, admin: Account, username: str) -> None:
        require_admin(admin)
        store.unban_user(self.engine, self._user(username)["id"])

    def banned_users(self, admin: Account) -> list[dict]:
        require_admin(admin)
        with self.engine.connect() as conn:
            return store.banned_users(conn)
