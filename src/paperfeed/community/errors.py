"""Domain errors of the community services (mapped to HTTP statuses by ``web``, exit codes by the CLI)."""

from __future__ import annotations

from paperfeed.errors import PaperfeedError


class AuthenticationFailed(PaperfeedError):
    """Wrong credentials. One message for unknown users and wrong passwords (no user enumeration)."""

    code = "invalid_credentials"
    http_status = 401

    def __init__(self, message: str = "Incorrect username or password.") -> None:
        super().__init__(message)


class AccountSuspended(AuthenticationFailed):
    """A moderator banned this account: it cannot sign in (the sign-in form shows this message)."""

    code = "account_suspended"
    http_status = 403

    def __init__(self, message: str = "This account is suspended.") -> None:
        super().__init__(message)


class Forbidden(PaperfeedError):
    """Signed in, but not allowed to do this (not the author, not an admin, banned, too late to edit)."""

    code = "forbidden"
    http_status = 403


class NotAuthenticated(PaperfeedError):
    """The request needs a signed-in user or an API token."""

    code = "not_authenticated"
    http_status = 401

    def __init__(self, message: str = "Sign in (or send an API token) to do this.") -> None:
        super().__init__(message)


class Conflict(PaperfeedError):
    """The name or email is taken."""

    code = "conflict"
    http_status = 409


class RateLimited(PaperfeedError):
    """Too many requests; ``retry_after`` says how many seconds to wait."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int, what: str = "requests") -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"Too many {what}. Try again in {self.retry_after} seconds.")
