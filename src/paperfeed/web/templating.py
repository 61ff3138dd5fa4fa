"""Jinja2 environment, template filters and the ``render`` helper for HTML pages."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from paperfeed import __version__

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _static_version() -> str:
    digest = hashlib.sha1(__version__.encode())
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".css", ".js"}:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


STATIC_VERSION = _static_version()


def static_url(path: str) -> str:
    """URL of a static asset with a content hash, so it can be cached for a long time."""
    return f"/static/{path}?v={STATIC_VERSION}"


def human_date(value: date | datetime | None) -> str:
    """``Aug 21, 2026``."""
    if value is None:
        return ""
    return f"{value:%b} {value.day}, {value.year}"


def author_list(authors: list[str], limit: int = 6) -> Markup:
    """Comma-separated escaped author names, collapsed after ``limit``."""
    shown = [str(escape(a)) for a in authors[:limit]]
    more = len(authors) - limit
    text = ", ".join(shown)
    if more > 0:
        text += f' <span class="more-authors">+{more} more</span>'
    return Markup(text)


def query_string(params: dict[str, Any]) -> str:
    """``?a=1&b=2`` without empty values."""
    clean = {k: v for k, v in params.items() if v not in (None, "", [])}
    return "?" + urlencode(clean, doseq=True) if clean else ""


def _balance_math(text: str) -> str:
    """Cut ``text`` before an unclosed ``$`` so a shortened string never leaves math half open."""
    if text.count("$") % 2:
        text = text[: text.rfind("$")].rstrip()
    return text


def excerpt(text: str | None, limit: int = 280) -> str:
    """``text`` with whitespace collapsed, shortened at a word boundary to about ``limit`` chars.

    Inline math (``$...$``) is never cut in half, so the client-side renderer still pairs delimiters.
    """
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return _balance_math(cut) + "…"


def paragraphs(text: str | None) -> list[str]:
    """Split text on blank lines; hard line wraps inside a paragraph become spaces."""
    blocks = (text or "").replace("\r\n", "\n").split("\n\n")
    return [" ".join(b.split()) for b in blocks if b.strip()]


def one_line(text: str | None) -> str:
    """Collapse whitespace (titles from arXiv carry hard line wraps)."""
    return " ".join((text or "").split())


def repo_label(url: str | None) -> str:
    """``https://github.com/owner/repo`` → ``owner/repo`` (other URLs unchanged)."""
    if not url:
        return ""
    value = url.strip().rstrip("/")
    for prefix in ("https://github.com/", "http://github.com/", "https://www.github.com/"):
        if value.lower().startswith(prefix):
            return value[len(prefix) :]
    return value


def http_url(url: str | None) -> str:
    """``url`` when it is an http(s) URL, else ``""`` (data never injects ``javascript:`` links)."""
    value = (url or "").strip()
    return value if value.lower().startswith(("https://", "http://")) else ""


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 paper`` / ``3 papers`` (with thousands separators)."""
    word = singular if count == 1 else (many or singular + "s")
    return f"{count:,} {word}"


templates.env.globals.update(static_url=static_url, query_string=query_string)
templates.env.filters.update(
    human_date=human_date,
    author_list=author_list,
    excerpt=excerpt,
    paragraphs=paragraphs,
    one_line=one_line,
    repo_label=repo_label,
    plural=plural,
    http_url=http_url,
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render template ``name`` with the site-wide context added."""
    from paperfeed.web import auth  # late import: auth renders pages too

    svc = request.app.state.services
    base = {"site_name": svc.settings.site_name, "request": request, **auth.template_globals(request)}
    response = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status, headers=headers
    )
    auth.finish_response(request, response)
    return response
