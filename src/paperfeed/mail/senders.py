"""``EmailSender`` implementations: ``SmtpSender`` (smtplib), ``ConsoleSender``, ``MemorySender``.

``PAPERFEED_SMTP_URL`` forms (see docs/mail.md):

* ``smtp://host[:25]`` — plain SMTP (a local relay or test sink);
* ``smtp+starttls://user:pass@host[:587]`` — upgrade with STARTTLS, then authenticate;
* ``smtps://user:pass@host[:465]`` — TLS from the first byte (implicit TLS).

User and password are URL-decoded (``%40`` for ``@``). ``?timeout=SECONDS`` overrides the timeout.
SMTP 4xx answers, timeouts and connection errors raise :class:`TransientMailError`; 5xx answers raise
:class:`PermanentMailError`. One connection is kept open across sends and re-opened after errors.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from paperfeed.config import Settings
from paperfeed.errors import InvalidInput
from paperfeed.mail.interfaces import EmailSender, OutgoingMail, PermanentMailError, TransientMailError
from paperfeed.mail.messages import build_message

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpConfig:
    """A parsed ``PAPERFEED_SMTP_URL``."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    timeout: float


def parse_smtp_url(url: str, *, timeout: float = 10.0) -> SmtpConfig:
    """Parse ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URLs; :class:`InvalidInput` otherwise."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInput(
            f"PAPERFEED_SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// (got {parts.scheme!r})"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise InvalidInput(f"PAPERFEED_SMTP_URL has an invalid port: {exc}") from exc
    if not parts.hostname:
        raise InvalidInput("PAPERFEED_SMTP_URL has no host")
    query = parse_qs(parts.query)
    if "timeout" in query:
        try:
            timeout = float(query["timeout"][0])
        except ValueError as exc:
            raise InvalidInput("PAPERFEED_SMTP_URL timeout must be a number of seconds") from exc
    return SmtpConfig(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


def _classify(code: int, text: str) -> TransientMailError | PermanentMailError:
    message = f"SMTP {code}: {text}"[:500]
    if 500 <= code <= 599:
        return PermanentMailError(message)
    return TransientMailError(message)


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmtpSender:
    """Sends through an SMTP server; keeps one connection (thread-safe by a lock) and reconnects."""

    def __init__(
        self, config: SmtpConfig, *, clock_now=None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.config = config
        self._now = clock_now or (lambda: datetime.now(UTC))
        self._ssl = ssl_context
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 10.0) -> SmtpSender:
        return cls(parse_smtp_url(url, timeout=timeout))

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = self._ssl or ssl.create_default_context()
        if cfg.scheme == "smtps":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            conn.ehlo_or_helo_if_needed()
            if cfg.scheme == "smtp+starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except BaseException:
            _quietly_close(conn)
            raise
        return conn

    def send(self, message: OutgoingMail) -> None:
        """Deliver ``message``; raise :class:`TransientMailError` / :class:`PermanentMailError`."""
        mime = build_message(message, now=self._now())
        self.send_mime(mime, parseaddr(message.sender)[1], message.recipient)

    def send_mime(self, mime: EmailMessage, envelope_from: str, recipient: str) -> None:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                self._conn.send_message(mime, from_addr=envelope_from, to_addrs=[recipient])
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                code, text = next(iter(exc.recipients.values()), (550, b"recipient refused"))
                raise _classify(code, _decode(text)) from exc
            except smtplib.SMTPAuthenticationError as exc:
                self._drop()
                raise TransientMailError(f"SMTP authentication failed: {exc.smtp_code}") from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise _classify(exc.smtp_code, _decode(exc.smtp_error)) from exc
            except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts, TLS
                self._drop()
                raise TransientMailError(f"SMTP connection failed: {exc}"[:500]) from exc

    def _reset(self) -> None:
        """After a refused message: keep the connection if it still answers RSET, else drop it."""
        if self._conn is None:
            return
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            _quietly_close(self._conn)
            self._conn = None

    def close(self) -> None:
        """Say QUIT and close the connection (it is re-opened on the next send)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._conn.quit()
                self._drop()


def _quietly_close(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        conn.close()


class ConsoleSender:
    """Prints every message (as it would go on the wire) to a stream: development without SMTP."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: OutgoingMail) -> None:
        out = self.stream or sys.stdout
        out.write(build_message(message, now=datetime.now(UTC)).as_string())
        out.write("\n" + "-" * 72 + "\n")
        out.flush()

    def close(self) -> None:
        return None


class MemorySender:
    """Collects messages in ``outbox`` (tests, previews); can be told to fail for some recipients."""

    def __init__(self) -> None:
        self.outbox: list[OutgoingMail] = []
        self.fail: dict[str, Exception] = {}

    def send(self, message: OutgoingMail) -> None:
        error = self.fail.get(message.recipient)
        if error is not None:
            raise error
        self.outbox.append(message)

    def close(self) -> None:
        return None


def sender_from_settings(settings: Settings, *, stream: TextIO | None = None) -> EmailSender:
    """SMTP when ``PAPERFEED_SMTP_URL`` is set, else the console (mails are printed to stderr)."""
    if settings.smtp_url:
        return SmtpSender.from_url(settings.smtp_url, timeout=settings.smtp_timeout_seconds)
    return ConsoleSender(stream or sys.stderr)


def close_sender(sender: EmailSender) -> None:
    """Close a sender's connection if it has one."""
    close = getattr(sender, "close", None)
    if callable(close):
        close()
