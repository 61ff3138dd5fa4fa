"""Accounts service: sign-up, sign-in, server-side sessions, password change, deletion, API tokens.

Secrets handed to clients (session cookie values, API tokens) are random and stored only as
sha256 digests. Sign-in gives the same error for an unknown user and a wrong password and
costs one argon2 verification either way. Every sign-in creates a new session id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.community.errors import AccountSuspended, AuthenticationFailed, Conflict
from paperfeed.community.passwords import Passwords, check_policy
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.config import Settings
from paperfeed.db import accounts_store as store
from paperfeed.errors import InvalidInput, NotFound

USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
EMAIL_RE = re.compile(r"^[^@\s<>\"'(),;:\\]+@[^@\s<>\"'(),;:\\]+\.[^@\s<>\"'(),;:\\]+$")
TOKEN_PREFIX = "pf_"
SESSION_TOUCH_EVERY = timedelta(minutes=5)
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Account:
    """A live user as the rest of the app sees it (never carries the password hash)."""

    id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime
    banned: bool = False  # set by a moderator; banned accounts have no sessions or tokens


@dataclass(frozen=True)
class ApiTokenInfo:
    """A token's public description (its secret is shown only once, at creation)."""

    id: int
    name: str
    created_at: datetime
    last_used: datetime | None


def digest(secret: str) -> str:
    """sha256 hex of a session id or API token (what the database stores)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _account(row: dict) -> Account:
    return Account(
        row["id"],
        row["username"],
        row["email"],
        bool(row["is_admin"]),
        row["created_at"],
        banned=row.get("banned_at") is not None,
    )


def validate_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput("Usernames are 3–32 characters: letters, digits, '_' and '-'.")
    return username


def validate_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 320 or not EMAIL_RE.fullmatch(email):
        raise InvalidInput("Enter a valid email address.")
    return email


class AccountService:
    """Accounts, sessions and tokens over one database."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock, limiter: RateLimiter) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.limiter = limiter
        self.passwords = Passwords(settings)

    def _now(self) -> datetime:
        return self.clock.now().replace(tzinfo=None)

    # ------------------------------------------------------------------ sign-up / sign-in
    def sign_up(
        self, username: str, email: str, password: str, *, is_admin: bool = False, ip: str | None = None
    ) -> Account:
        """Create an account (rate limited per IP when ``ip`` is given)."""
        if ip is not None:
            self.limiter.hit("signup_ip", ip, "sign-ups")
        username = validate_username(username)
        email = validate_email(email)
        check_policy(password)
        with self.engine.connect() as conn:
            taken = store.username_or_email_taken(conn, username, email)
        if taken:
            raise Conflict(
                "That username is taken." if taken == "username" else "An account with that email exists."
            )
        password_hash = self.passwords.hash(password)
        try:
            with self.engine.begin() as conn:
                user_id = store.insert_user(
                    conn,
                    username=username,
                    email=email,
                    password_hash=password_hash,
                    is_admin=is_admin,
                    now=self._now(),
                )
                row = store.user_by_id(conn, user_id)
        except store.DuplicateUser as exc:
            raise Conflict("That username or email is taken.") from exc
        return _account(row)

    def authenticate(self, username: str, password: str, *, ip: str | None = None) -> Account:
        """The account for these credentials, or :class:`AuthenticationFailed` (same message always)."""
        if ip is not None:
            self.limiter.hit("login_ip", ip, "sign-in attempts")
        self.limiter.hit("login_user", (username or "").strip()[:64] or "-", "sign-in attempts")
        with self.engine.connect() as conn:
            row = store.user_by_username(conn, (username or "").strip()) if username else None
        stored = row["password_hash"] if row else None
        if not self.passwords.verify(stored, password or "") or row is None:
            raise AuthenticationFailed()
        if row.get("banned_at") is not None:
            raise AccountSuspended()
        if self.passwords.needs_rehash(stored):
            with self.engine.begin() as conn:
                store.set_password_hash(conn, row["id"], self.passwords.hash(password))
        return _account(row)

    def user(self, username: str) -> Account:
        with self.engine.connect() as conn:
            row = store.user_by_username(conn, username)
        if row is None:
            raise NotFound(f"no user {username!r}")
        return _account(row)

    # ------------------------------------------------------------------ sessions
    def create_session(self, user_id: int, *, replaces: str | None = None) -> str:
        """Start a session (a new random id every time); ends ``replaces`` (the pre-login session)."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self.engine.begin() as conn:
            if replaces:
                store.delete_session(conn, digest(replaces))
            store.delete_expired_sessions(conn, now)
            store.insert_session(
                conn,
                digest=digest(token),
                user_id=user_id,
                now=now,
                expires=now + timedelta(days=self.settings.session_days),
            )
        return token

    def session_account(self, token: str | None) -> Account | None:
        """The account signed in with this session cookie value, or ``None``."""
        if not token or len(token) > 200:
            return None
        now = self._now()
        key = digest(token)
        with self.engine.connect() as conn:
            found = store.session_user(conn, key, now)
        if found is None:
            return None
        row, last_seen = found
        if now - last_seen > SESSION_TOUCH_EVERY:
            with self.engine.begin() as conn:
                store.touch_session(conn, key, now)
        return _account(row)

    def end_session(self, token: str | None) -> None:
        """Sign out: the session is deleted server-side, so the old cookie is useless."""
        if token:
            with self.engine.begin() as conn:
                store.delete_session(conn, digest(token))

    # ------------------------------------------------------------------ account changes
    def change_password(self, account: Account, current: str, new: str, *, keep_session: str | None) -> None:
        """Change the password (current one required) and end every other session."""
        with self.engine.connect() as conn:
            row = store.user_by_id(conn, account.id)
        if row is None or not self.passwords.verify(row["password_hash"], current or ""):
            raise AuthenticationFailed("Your current password is not correct.")
        check_policy(new)
        with self.engine.begin() as conn:
            store.set_password_hash(conn, account.id, self.passwords.hash(new))
            store.delete_sessions_of(conn, account.id, keep=digest(keep_session) if keep_session else None)

    def set_password(self, username: str, new: str) -> None:
        """Administrative reset (CLI): set a password and end every session."""
        check_policy(new)
        account = self.user(username)
        with self.engine.begin() as conn:
            store.set_password_hash(conn, account.id, self.passwords.hash(new))
            store.delete_sessions_of(conn, account.id)

    def delete_account(self, account: Account, password: str) -> None:
        """Delete an account: its votes stay counted but anonymous; the name stays reserved."""
        with self.engine.connect() as conn:
            row = store.user_by_id(conn, account.id)
        if row is None or not self.passwords.verify(row["password_hash"], password or ""):
            raise AuthenticationFailed("Your password is not correct.")
        with self.engine.begin() as conn:
            store.mark_deleted(conn, account.id, self._now())

    # ------------------------------------------------------------------ API tokens
    def create_token(self, account: Account, name: str = "") -> str:
        """A new personal API token; the plaintext is returned here once and never stored."""
        name = " ".join((name or "").split())[:100] or "token"
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            store.insert_token(conn, user_id=account.id, name=name, digest=digest(token), now=self._now())
        return token

    def tokens(self, account: Account) -> list[ApiTokenInfo]:
        with self.engine.connect() as conn:
            return [ApiTokenInfo(**row) for row in store.tokens_of(conn, account.id)]

    def revoke_token(self, account: Account, token_id: int) -> None:
        with self.engine.begin() as conn:
            if not store.revoke_token(conn, account.id, token_id, self._now()):
                raise NotFound("no such token")

    def token_account(self, token: str | None) -> Account | None:
        """The account owning an unrevoked API token, or ``None``."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.engine.connect() as conn:
            found = store.token_user(conn, digest(token))
        if found is None:
            return None
        row, token_id, last_used = found
        now = self._now()
        if last_used is None or now - last_used > TOKEN_TOUCH_EVERY:
            with self.engine.begin() as conn:
                store.touch_token(conn, token_id, now)
        return _account(row)
