"""A real SMTP server on loopback for tests (aiosmtpd): stores what it receives, can refuse on demand.

``SmtpSink`` runs an aiosmtpd ``Controller`` on 127.0.0.1 with a free port. ``sink.messages`` are
the parsed messages received; ``sink.reject[rcpt] = (451, "...")`` answers RCPT TO with that code;
``sink.hold_after(n)`` makes DATA of every message after the n-th wait (never accepted) until
``sink.release()`` — a deterministic point to kill a sender at.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.servers import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.sink.reject.get(address.lower())
        if code is not None:
            return f"{code[0]} {code[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            hold = self.sink.hold_at is not None and len(self.sink.messages) >= self.sink.hold_at
        if hold:
            self.sink.held.set()
            while not self.sink.released.is_set():
                await asyncio.sleep(0.02)
            return "421 closing"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpSink:
    """Received messages and the knobs of the test SMTP server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"smtp://127.0.0.1:{port}"
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reject: dict[str, tuple[int, str]] = {}
        self.lock = threading.Lock()
        self.hold_at: int | None = None
        self.held = threading.Event()
        self.released = threading.Event()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.messages)}")
            time.sleep(0.02)

    def hold_after(self, count: int) -> None:
        self.hold_at = count

    def release(self) -> None:
        self.hold_at = None
        self.released.set()


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """Run a sink for the duration of the block."""
    sink = SmtpSink(free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.release()
        controller.stop()
