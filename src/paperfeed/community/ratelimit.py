"""Fixed-window rate limits kept in the database (``rate_limits``), so several workers agree.

A limit is ``N/SECONDS`` (from ``Settings``); :meth:`RateLimiter.hit` counts one request for a key
and raises :class:`RateLimited` (with ``retry_after``) once the window's count exceeds N.
"""

from __future__ import annotations

from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.community.errors import RateLimited
from paperfeed.config import Settings
from paperfeed.db import ratelimit_store


def parse_limit(spec: str) -> tuple[int, int]:
    """``"10/300"`` → ``(10, 300)``."""
    count, _, seconds = spec.partition("/")
    return int(count), int(seconds)


class RateLimiter:
    """Counts requests per key and named limit: ``login_ip``, ``login_user``, ``signup_ip``, ``vote_user``."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def hit(self, limit: str, key: str, what: str = "requests") -> None:
        """Count one request; raise :class:`RateLimited` when over ``Settings.rate_limit_<limit>``."""
        if not self.settings.rate_limit_enabled:
            return
        allowed, window = parse_limit(getattr(self.settings, f"rate_limit_{limit}"))
        now = int(self.clock.now().timestamp())
        start = now - now % window
        count = ratelimit_store.hit(self.engine, f"{limit}:{key.lower()}"[:200], start)
        if count > allowed:
            raise RateLimited(start + window - now, what)
