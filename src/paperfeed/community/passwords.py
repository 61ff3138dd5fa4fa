"""Password hashing (argon2id via argon2-cffi) and the password policy.

Cost parameters come from ``Settings`` (tests lower them; defaults follow RFC 9106's
low-memory profile). A hash made with other parameters is flagged for re-hashing at sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from paperfeed.config import Settings
from paperfeed.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 1024


def hasher_for(settings: Settings) -> PasswordHasher:
    """An argon2id hasher with the instance's cost parameters."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=max(settings.argon2_memory_kib, 8 * settings.argon2_parallelism),
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )


def check_policy(password: str) -> None:
    """Raise :class:`InvalidInput` for a password that is too short or absurdly long."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Passwords may have at most {MAX_LENGTH} characters.")


class Passwords:
    """Hash and verify passwords with one configured hasher."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = hasher_for(settings)
        # verified against when the user does not exist, so both paths cost the same
        self._dummy = self._hasher.hash("paperfeed-no-such-user")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an unknown user (``None``) still pays for one hash."""
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError):
            return True
