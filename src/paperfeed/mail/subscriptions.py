"""``SubscriptionService``: digest subscriptions with double opt-in, confirmation and unsubscribe.

* ``subscribe`` validates and lower-cases the address, rate limits per IP and per address, and
  answers the same way whatever the address's state (no information leak). A new, unsubscribed or
  bounced address becomes ``pending`` and gets a confirmation mail; a pending address gets it again
  at most once per ``mail_confirm_resend_minutes`` (the outbox ``dedupe_key`` carries the time
  bucket); an active address gets nothing. A signed-in user subscribing their own account address
  is active at once.
* ``confirm`` / ``unsubscribe`` take signed tokens (``tokens.py``): confirm links expire, unsubscribe
  links do not but only work for the address they were made for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from paperfeed.clock import Clock
from paperfeed.community.accounts import Account, validate_email
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.config import Settings
from paperfeed.db import mail_store
from paperfeed.db.engine import write_lock
from paperfeed.errors import InvalidInput
from paperfeed.mail import tokens
from paperfeed.mail.interfaces import EmailSender, OutgoingMail
from paperfeed.mail.messages import message_id_for, render
from paperfeed.mail.outbox import Outbox, outbox_row

FREQUENCIES = ("daily", "weekly")


@dataclass(frozen=True)
class SubscribeResult:
    """What the caller may reveal: ``pending`` (check your inbox) or ``active`` (own account address)."""

    status: str
    email: str


@dataclass(frozen=True)
class SubscriptionInfo:
    id: int
    email: str
    frequency: str
    status: str
    user_id: int | None


def _info(row: dict) -> SubscriptionInfo:
    return SubscriptionInfo(row["id"], row["email"], row["frequency"], row["status"], row["user_id"])


def check_frequency(frequency: str) -> str:
    frequency = (frequency or "").strip().lower()
    if frequency not in FREQUENCIES:
        raise InvalidInput("frequency must be daily or weekly")
    return frequency


class SubscriptionService:
    """Subscriptions over one database; the confirmation mail goes through the outbox + ``mailer``."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        limiter: RateLimiter,
        mailer: EmailSender | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.limiter = limiter
        self.mailer = mailer
        self.outbox = Outbox(engine, settings, clock)

    def _now(self) -> datetime:
        return self.clock.now().replace(tzinfo=None)

    def _secret(self) -> str:
        return self.settings.effective_secret_key()

    # ------------------------------------------------------------------ links
    def url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + path

    def unsubscribe_url(self, subscription_id: int, email: str) -> str:
        token = tokens.make_token(self._secret(), tokens.UNSUBSCRIBE, subscription_id, email)
        return self.url(f"/unsubscribe/{token}")

    def confirm_url(self, subscription_id: int, email: str) -> str:
        issued = int(self.clock.now().timestamp())
        token = tokens.make_token(self._secret(), tokens.CONFIRM, subscription_id, email, issued)
        return self.url("/subscriptions/confirm?token=" + quote(token))

    # ------------------------------------------------------------------ subscribe
    def subscribe(
        self, email: str, frequency: str, *, ip: str | None = None, account: Account | None = None
    ) -> SubscribeResult:
        """Start (or restart) a subscription; see the module docstring for the rules."""
        frequency = check_frequency(frequency)
        email = validate_email(email)
        if ip is not None:
            self.limiter.hit("subscribe_ip", ip, "subscription requests")
        self.limiter.hit("subscribe_email", email, "subscription requests for this address")
        own = account is not None and (account.email or "").lower() == email
        now = self._now()
        with write_lock(self.engine), self.engine.begin() as conn:
            row = mail_store.subscription_by_email(conn, email)
            if row is None:
                try:
                    with conn.begin_nested():
                        sub_id = mail_store.insert_subscription(
                            conn,
                            email=email,
                            frequency=frequency,
                            status="active" if own else "pending",
                            now=now,
                            user_id=account.id if own and account is not None else None,
                        )
                    row = {"id": sub_id, "status": "new", "confirmed_at": None}
                except IntegrityError:  # a concurrent request inserted it first
                    row = mail_store.subscription_by_email(conn, email)
                    if row is None:
                        raise
            if own and account is not None:
                if row["status"] != "new":
                    mail_store.update_subscription(
                        conn,
                        row["id"],
                        status="active",
                        frequency=frequency,
                        user_id=account.id,
                        confirmed_at=row["confirmed_at"] or now,
                        unsubscribed_at=None,
                        last_error=None,
                    )
                return SubscribeResult("active", email)
            if row["status"] == "active":
                return SubscribeResult("pending", email)  # the same answer as for a new address
            if row["status"] != "new":
                values: dict = {"frequency": frequency}
                if row["status"] in ("unsubscribed", "bounced"):
                    values.update(status="pending", unsubscribed_at=None, last_error=None)
                mail_store.update_subscription(conn, row["id"], **values)
            sub_id = row["id"]
        self.send_confirmation(sub_id, email, frequency)  # after commit: the mail links to a stored row
        return SubscribeResult("pending", email)

    def send_confirmation(self, sub_id: int, email: str, frequency: str) -> None:
        """Queue the confirmation mail (once per resend window) and try to deliver it now."""
        now = self.clock.now()
        bucket = int(now.timestamp()) // (self.settings.mail_confirm_resend_minutes * 60)
        key = f"confirm:{sub_id}:{bucket}"
        context = {
            "site_name": self.settings.site_name,
            "base_url": self.settings.base_url,
            "email": email,
            "frequency": frequency,
            "confirm_url": self.confirm_url(sub_id, email),
            "expires_days": f"{self.settings.mail_confirm_link_days:g}",
        }
        subject, text, html = render("confirm", context)
        mail = OutgoingMail(
            sender=self.settings.mail_from,
            recipient=email,
            subject=subject,
            body_text=text,
            body_html=html,
            headers={
                "Message-ID": message_id_for(key, self.settings.mail_from),
                "Auto-Submitted": "auto-generated",
            },
        )
        new = self.outbox.queue(
            [
                outbox_row(
                    key=key, kind="confirm", mail=mail, now=now.replace(tzinfo=None), subscription_id=sub_id
                )
            ]
        )
        if new and self.mailer is not None:  # a failure leaves it queued: `paperfeed digest send` retries
            self.outbox.deliver_due(self.mailer, only_key=key)

    # ------------------------------------------------------------------ confirm / unsubscribe
    def _load(self, token: str | None, purpose: str, *, max_age: int | None = None) -> dict:
        claims = tokens.read_token(token, purpose)
        with self.engine.connect() as conn:
            row = mail_store.subscription_by_id(conn, claims.subscription_id)
        if row is None:
            raise tokens.InvalidToken(
                "This link is invalid or incomplete. Copy the whole link from the email."
            )
        tokens.check_token(
            self._secret(), claims, row["email"], now=int(self.clock.now().timestamp()), max_age=max_age
        )
        return row

    def check_confirm(self, token: str | None) -> SubscriptionInfo:
        """The subscription a confirm token is for (raises :class:`InvalidToken`); changes nothing."""
        row = self._load(token, tokens.CONFIRM, max_age=int(self.settings.mail_confirm_link_days * 86400))
        if row["status"] not in ("pending", "active"):
            raise tokens.InvalidToken("This link is no longer valid. Subscribe again to get a new one.")
        return _info(row)

    def confirm(self, token: str | None) -> SubscriptionInfo:
        """Activate the subscription of a valid confirm token (idempotent)."""
        info = self.check_confirm(token)
        if info.status == "pending":
            with write_lock(self.engine), self.engine.begin() as conn:
                mail_store.update_subscription(conn, info.id, status="active", confirmed_at=self._now())
        return SubscriptionInfo(info.id, info.email, info.frequency, "active", info.user_id)

    def check_unsubscribe(self, token: str | None) -> SubscriptionInfo:
        """The subscription an unsubscribe token is for (raises :class:`InvalidToken`)."""
        return _info(self._load(token, tokens.UNSUBSCRIBE))

    def unsubscribe(self, token: str | None) -> SubscriptionInfo:
        """Unsubscribe (idempotent); queued digests for the address are not sent any more."""
        info = self.check_unsubscribe(token)
        if info.status != "unsubscribed":
            with write_lock(self.engine), self.engine.begin() as conn:
                mail_store.update_subscription(
                    conn, info.id, status="unsubscribed", unsubscribed_at=self._now()
                )
        return SubscriptionInfo(info.id, info.email, info.frequency, "unsubscribed", info.user_id)

    def of_user(self, user_id: int) -> SubscriptionInfo | None:
        with self.engine.connect() as conn:
            row = mail_store.subscription_of_user(conn, user_id)
        return _info(row) if row else None
