"""The mail outbox: queue rendered messages once (by ``dedupe_key``) and deliver them with retries.

Delivery walks pending rows in id order. Each message is handed to the ``EmailSender`` and marked
``sent`` right after, in its own short transaction, so a crash mid-batch re-sends at most the one
message that was in flight (it keeps its ``Message-ID``, so receivers can drop the copy).
Transient failures push ``next_attempt_at`` back exponentially (``mail_retry_base_seconds`` × 2^n)
until ``mail_max_attempts``; permanent failures (SMTP 5xx) fail the row and mark the subscription
``bounced``. Messages whose subscription is no longer eligible (unsubscribed before a queued
digest went out) are failed with a reason instead of sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from paperfeed.clock import Clock
from paperfeed.config import Settings
from paperfeed.db import mail_store
from paperfeed.db.engine import write_lock
from paperfeed.mail.interfaces import EmailSender, OutgoingMail, PermanentMailError, TransientMailError

log = logging.getLogger(__name__)

# which subscription states a message kind may still be sent in
_ELIGIBLE = {"confirm": {"pending"}, "digest": {"active"}}


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


PART_HEADER = "_part"  # private key in the stored headers JSON: the shared part this row embeds


def part_marker(key: str) -> str:
    """The placeholder a digest body holds where the shared part ``key`` goes (expanded at send time)."""
    return f"<!--pf-part:{key}-->"


def outbox_row(
    *,
    key: str,
    kind: str,
    mail: OutgoingMail,
    now: datetime,
    subscription_id: int | None,
    part: str | None = None,
) -> dict:
    """An outbox row for ``mail`` (``now`` is naive UTC); ``part``: the shared part key it embeds."""
    headers = {"From": mail.sender, **mail.headers}
    if part is not None:
        headers[PART_HEADER] = part
    return {
        "dedupe_key": key,
        "subscription_id": subscription_id,
        "kind": kind,
        "recipient": mail.recipient,
        "subject": mail.subject,
        "body_text": mail.body_text,
        "body_html": mail.body_html,
        "headers": json.dumps(headers),
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def part_row(*, key: str, text: str, html: str, now: datetime) -> dict:
    """A shared part (e.g. a period's trending list) stored once, status ``part``: never sent itself."""
    return {
        "dedupe_key": key,
        "subscription_id": None,
        "kind": "part",
        "recipient": "",
        "subject": "",
        "body_text": text,
        "body_html": html,
        "headers": "{}",
        "status": "part",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


def mail_of(row: dict, parts: dict[str, tuple[str, str | None]] | None = None) -> OutgoingMail:
    """The message stored in an outbox row, with its shared part (``parts[key] = (text, html)``) put in."""
    headers = json.loads(row["headers"] or "{}")
    sender = headers.pop("From", "")
    part = headers.pop(PART_HEADER, None)
    text, html = row["body_text"], row["body_html"]
    if part is not None:
        if parts is None or part not in parts:
            raise LookupError(f"shared part {part!r} is missing from the outbox")
        part_text, part_html = parts[part]
        marker = part_marker(part)
        text = text.replace(marker, part_text, 1)
        if html is not None:
            html = html.replace(marker, part_html or "", 1)
    return OutgoingMail(
        sender=sender,
        recipient=row["recipient"],
        subject=row["subject"],
        body_text=text,
        body_html=html,
        headers=headers,
    )


class Outbox:
    """Queue and deliver outbox messages for one instance."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._parts: dict[str, tuple[str, str | None]] = {}  # shared parts are immutable: cache them

    def _now(self) -> datetime:
        return self.clock.now().replace(tzinfo=None)

    def queue(self, rows: list[dict]) -> int:
        """Insert rows (duplicates by ``dedupe_key`` are ignored); returns how many were new."""
        with write_lock(self.engine), self.engine.begin() as conn:
            return mail_store.enqueue(conn, rows)

    def deliver_due(
        self,
        sender: EmailSender,
        *,
        limit: int | None = None,
        only_key: str | None = None,
    ) -> DeliveryReport:
        """Send every due pending message (or just ``only_key``); at most ``limit`` sends."""
        report = DeliveryReport()
        after_id = 0
        while limit is None or report.sent + report.retried + report.failed < limit:
            with self.engine.connect() as conn:
                if only_key is not None:
                    row = mail_store.outbox_row(conn, only_key)
                    rows = (
                        [row]
                        if row and row["status"] == "pending" and row["next_attempt_at"] <= self._now()
                        else []
                    )
                    if rows:
                        sub = (
                            mail_store.subscription_by_id(conn, row["subscription_id"])
                            if row["subscription_id"]
                            else None
                        )
                        rows[0]["subscription_status"] = sub["status"] if sub else None
                else:
                    rows = mail_store.due_outbox(conn, self._now(), after_id=after_id, limit=200)
            if not rows:
                break
            for row in rows:
                after_id = row["id"]
                if limit is not None and report.sent + report.retried + report.failed >= limit:
                    break
                self._deliver(sender, row, report)
            if only_key is not None:
                break
        return report

    def _parts_for(self, row: dict) -> dict[str, tuple[str, str | None]]:
        """The shared parts loaded so far, plus the one ``row`` embeds (read once per delivery pass)."""
        part = json.loads(row["headers"] or "{}").get(PART_HEADER)
        if part is not None and part not in self._parts:
            with self.engine.connect() as conn:
                stored = mail_store.outbox_row(conn, part)
            if stored is not None:
                self._parts[part] = (stored["body_text"], stored["body_html"])
        return self._parts

    def _deliver(self, sender: EmailSender, row: dict, report: DeliveryReport) -> None:
        eligible = _ELIGIBLE.get(row["kind"])
        status = row.get("subscription_status")
        if row["subscription_id"] is not None and eligible is not None and status not in eligible:
            with write_lock(self.engine), self.engine.begin() as conn:
                mail_store.mark_failed(
                    conn, row["id"], attempts=row["attempts"], error=f"not sent: subscription is {status}"
                )
            report.skipped += 1
            return
        attempts = row["attempts"] + 1
        try:
            mail = mail_of(row, self._parts_for(row))
        except LookupError as exc:  # its shared part was deleted: it can never be sent
            with write_lock(self.engine), self.engine.begin() as conn:
                mail_store.mark_failed(conn, row["id"], attempts=row["attempts"], error=str(exc))
            report.failed += 1
            return
        try:
            sender.send(mail)
        except PermanentMailError as exc:
            with write_lock(self.engine), self.engine.begin() as conn:
                mail_store.mark_failed(conn, row["id"], attempts=attempts, error=exc.message)
                if row["subscription_id"] is not None:
                    mail_store.update_subscription(
                        conn, row["subscription_id"], status="bounced", last_error=exc.message[:1000]
                    )
            report.failed += 1
            report.errors.append(f"{row['recipient']}: {exc.message}")
            log.warning("mail to %s bounced: %s", row["recipient"], exc.message)
            return
        except TransientMailError as exc:
            with write_lock(self.engine), self.engine.begin() as conn:
                if attempts >= self.settings.mail_max_attempts:
                    mail_store.mark_failed(
                        conn, row["id"], attempts=attempts, error=f"gave up: {exc.message}"
                    )
                    if row["subscription_id"] is not None:
                        mail_store.update_subscription(
                            conn, row["subscription_id"], last_error=exc.message[:1000]
                        )
                    report.failed += 1
                else:
                    delay = self.settings.mail_retry_base_seconds * 2 ** (attempts - 1)
                    mail_store.mark_retry(
                        conn,
                        row["id"],
                        attempts=attempts,
                        next_attempt_at=self._now() + timedelta(seconds=delay),
                        error=exc.message,
                    )
                    report.retried += 1
            report.errors.append(f"{row['recipient']}: {exc.message}")
            log.warning("mail to %s failed (attempt %d): %s", row["recipient"], attempts, exc.message)
            return
        with write_lock(self.engine), self.engine.begin() as conn:
            mail_store.mark_sent(conn, row["id"], self._now())
        report.sent += 1
