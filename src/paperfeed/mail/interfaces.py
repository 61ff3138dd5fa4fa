"""The ``EmailSender`` protocol, the ``OutgoingMail`` value it sends, and the mail errors.

Senders (``senders.py``) raise :class:`TransientMailError` for failures worth retrying later
(SMTP 4xx, timeouts, refused connections) and :class:`PermanentMailError` for the ones that will
never succeed (SMTP 5xx: unknown mailbox, rejected content).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from paperfeed.errors import PaperfeedError


@dataclass(frozen=True)
class OutgoingMail:
    """One rendered message: envelope, subject, text and HTML bodies and extra headers.

    ``headers`` holds ``From``, ``Message-ID``, ``List-Unsubscribe`` ... exactly as they are stored
    in the outbox, so a retried message is byte-for-byte the same apart from ``Date``.
    """

    sender: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class MailError(PaperfeedError):
    """Sending a mail failed."""

    code = "mail_failed"
    http_status = 503


class TransientMailError(MailError):
    """Worth retrying later (SMTP 4xx, connection refused, timeout)."""

    code = "mail_transient"


class PermanentMailError(MailError):
    """Will never succeed for this recipient (SMTP 5xx)."""

    code = "mail_permanent"


class EmailSender(Protocol):
    """Delivers one message or raises :class:`TransientMailError` / :class:`PermanentMailError`."""

    def send(self, message: OutgoingMail) -> None: ...
