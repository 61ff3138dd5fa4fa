"""FeedTokenService: the secret, revocable token in a user's personal Atom feed URL.

One token per user. Creating a token replaces (revokes) the previous one; the token is shown
once and only its sha256 digest is stored, like API tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.db import follows_store as store

MAX_TOKEN_CHARS = 200


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FeedTokenService:
    """Create, rotate, revoke and resolve personal feed tokens."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def create(self, user_id: int) -> str:
        """A new token for the user (the old one, if any, stops working at once)."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            store.replace_feed_token(
                conn, user_id=user_id, digest=digest(token), now=self.clock.now().replace(tzinfo=None)
            )
        return token

    def revoke(self, user_id: int) -> bool:
        with self.engine.begin() as conn:
            return store.delete_feed_token(conn, user_id)

    def created_at(self, user_id: int) -> datetime | None:
        """When the user's current token was made (``None``: no token)."""
        with self.engine.connect() as conn:
            return store.feed_token_created(conn, user_id)

    def owner(self, token: str) -> dict | None:
        """``{id, username}`` of the token's live owner, or ``None`` for an unknown/revoked token."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        with self.engine.connect() as conn:
            return store.feed_token_user(conn, digest(token))
