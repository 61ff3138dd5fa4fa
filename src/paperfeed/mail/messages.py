"""Building RFC 5322 messages: multipart/alternative (text + HTML), ``Message-ID``, ``Date`` and the
RFC 2369 / RFC 8058 unsubscribe headers; rendering the Jinja2 mail templates.

Templates live in ``mail/templates/<name>/{subject.txt,body.txt,body.html}``; HTML is autoescaped,
text is not. HTML mails use tables and inline styles only (no external CSS, no remote images), which
is what common clients (Gmail, Outlook, Apple Mail) render reliably.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from paperfeed.mail.interfaces import OutgoingMail

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAMES = ("confirm", "digest")
ONE_CLICK = "List-Unsubscribe=One-Click"


@cache
def environment() -> Environment:
    """The mail template environment (autoescape for ``.html`` only, undefined names are errors)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["excerpt"] = _excerpt
    return env


def _excerpt(text: str | None, limit: int = 240) -> str:
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def render(name: str, context: dict) -> tuple[str, str, str]:
    """``(subject, text, html)`` of template ``name`` for ``context``."""
    env = environment()
    subject = " ".join(env.get_template(f"{name}/subject.txt").render(context).split())
    text = env.get_template(f"{name}/body.txt").render(context)
    html = env.get_template(f"{name}/body.html").render(context)
    return subject, text, html


def render_partial(path: str, context: dict) -> str:
    """Render one template file (used for the shared part of a digest, rendered once per period)."""
    return environment().get_template(path).render(context)


@cache
def _domain_of(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def message_id_for(key: str, sender: str) -> str:
    """A stable ``Message-ID`` for an outbox key: a retried or re-sent mail keeps its id."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{_domain_of(sender)}>"


def unsubscribe_headers(url: str, mailto: str | None = None) -> dict[str, str]:
    """``List-Unsubscribe`` (https URL first, optional mailto) and ``List-Unsubscribe-Post`` (RFC 8058)."""
    value = f"<{url}>"
    if mailto:
        value += f", <mailto:{mailto}?subject=unsubscribe>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": ONE_CLICK}


def build_message(mail: OutgoingMail, *, now: datetime) -> EmailMessage:
    """The MIME message for ``mail``: text/plain + text/html alternatives, headers, ``Date`` = ``now``."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    for name, value in mail.headers.items():
        if name.lower() in ("from", "to", "subject", "date"):
            continue
        message[name] = value
    if "Message-ID" not in message:
        message["Message-ID"] = message_id_for(
            f"{mail.recipient}|{mail.subject}|{now.isoformat()}", mail.sender
        )
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message
