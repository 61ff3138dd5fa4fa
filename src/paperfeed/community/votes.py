"""Upvotes: one per user and paper, idempotent; ``papers.upvotes`` = imported base + local votes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.clock import Clock
from paperfeed.community.accounts import Account
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.db import votes_store
from paperfeed.errors import NotFound


@dataclass(frozen=True)
class VoteResult:
    """The paper's count after the change and whether the caller's vote is now on."""

    upvotes: int
    upvoted: bool


class VoteService:
    """Add and remove upvotes (rate limited per user)."""

    def __init__(self, engine: Engine, clock: Clock, limiter: RateLimiter) -> None:
        self.engine = engine
        self.clock = clock
        self.limiter = limiter

    def set_vote(self, account: Account, raw_id: str, on: bool) -> VoteResult:
        """Upvote (``on``) or remove the upvote; repeating either changes nothing."""
        arxiv_id = normalize_arxiv_id(raw_id)
        with self.engine.connect() as conn:
            paper_id = votes_store.paper_id_for(conn, arxiv_id)
        if paper_id is None:
            raise NotFound(f"no paper {arxiv_id} on this instance")
        self.limiter.hit("vote_user", str(account.id), "votes")
        count = votes_store.set_vote(
            self.engine,
            user_id=account.id,
            paper_id=paper_id,
            on=on,
            now=self.clock.now().replace(tzinfo=None),
        )
        return VoteResult(count, on)

    def voted_ids(self, account: Account) -> set[str]:
        """arXiv ids the user has upvoted."""
        with self.engine.connect() as conn:
            return votes_store.voted_arxiv_ids(conn, account.id)
