"""Signed tokens for mail links: confirm (expiring) and unsubscribe (non-expiring, bound to one address).

Format: ``<purpose>.<subscription id>.<issued unix seconds>.<signature>`` where the signature is
the URL-safe base64 of HMAC-SHA256(instance secret, purpose|id|issued|email). Binding the email
means a token stops working if the subscription row is ever reused for another address. Checked
with a constant-time comparison. (``itsdangerous`` is not installed, so this is hmac + base64.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from paperfeed.errors import PaperfeedError

CONFIRM = "c"
UNSUBSCRIBE = "u"
_PURPOSES = {CONFIRM, UNSUBSCRIBE}


class InvalidToken(PaperfeedError):
    """A mail link that was tampered with, is malformed, or has expired."""

    code = "invalid_token"
    http_status = 400


@dataclass(frozen=True)
class TokenClaims:
    """What a token says before its signature is checked against the stored subscription."""

    purpose: str
    subscription_id: int
    issued: int
    signature: str


def _signature(secret: str, purpose: str, subscription_id: int, issued: int, email: str) -> str:
    message = f"{purpose}|{subscription_id}|{issued}|{email.lower()}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def make_token(secret: str, purpose: str, subscription_id: int, email: str, issued: int = 0) -> str:
    """A token for ``purpose`` (``CONFIRM``/``UNSUBSCRIBE``) bound to a subscription and its email."""
    if purpose not in _PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return (
        f"{purpose}.{subscription_id}.{issued}.{_signature(secret, purpose, subscription_id, issued, email)}"
    )


def read_token(token: str | None, purpose: str) -> TokenClaims:
    """Parse a token of ``purpose`` (signature not yet checked); :class:`InvalidToken` when malformed."""
    parts = (token or "").strip().split(".")
    if len(parts) != 4 or parts[0] != purpose or not parts[1].isdigit() or not parts[2].isdigit():
        raise InvalidToken("This link is invalid or incomplete. Copy the whole link from the email.")
    if len(parts[1]) > 18 or len(parts[2]) > 12 or len(parts[3]) > 64:
        raise InvalidToken("This link is invalid or incomplete. Copy the whole link from the email.")
    return TokenClaims(parts[0], int(parts[1]), int(parts[2]), parts[3])


def check_token(
    secret: str, claims: TokenClaims, email: str, *, now: int | None = None, max_age: int | None = None
) -> None:
    """Raise :class:`InvalidToken` unless the signature matches ``email`` (and the token is fresh)."""
    expected = _signature(secret, claims.purpose, claims.subscription_id, claims.issued, email)
    if not hmac.compare_digest(expected.encode(), claims.signature.encode()):
        raise InvalidToken("This link is invalid or incomplete. Copy the whole link from the email.")
    if (
        max_age is not None
        and now is not None
        and not (claims.issued <= now + 300 and now - claims.issued <= max_age)
    ):
        raise InvalidToken("This link has expired. Subscribe again to get a new one.")
