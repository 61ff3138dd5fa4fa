"""HTML fragments for forms enhanced by ``static/forms.js``: detecting such requests and answering them.

A form marked ``data-enhance="replace:#target"`` is submitted by ``forms.js`` with ``fetch`` (the
same form body, CSRF token included) and the header ``X-Requested-With: fetch``. Routes that
support it answer with just the re-rendered part of the page (marked by the response header
``X-Paperfeed-Fragment: 1``) instead of a redirect; without the header they keep redirecting, so
every form still works without JavaScript. Errors come back as the fragment with the message and
the error's status. The fragment's root element may carry ``data-status`` (announced in an
``aria-live`` region), ``data-focus`` (a selector to focus) and ``data-hash`` (the new ``#anchor``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from paperfeed.web.templating import render

FETCH_HEADER = "x-requested-with"
FETCH_VALUE = "fetch"
FRAGMENT_HEADER = "X-Paperfeed-Fragment"


def wants_fragment(request: Request) -> bool:
    """Whether the caller is ``forms.js`` asking for a fragment rather than a redirect."""
    return request.headers.get(FETCH_HEADER, "").strip().lower() == FETCH_VALUE


def fragment_response(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> Response:
    """Render the partial ``template`` as an HTML fragment (private, never cached)."""
    response = render(request, template, context, status=status)
    response.headers[FRAGMENT_HEADER] = "1"
    response.headers["Cache-Control"] = "private, no-store"
    return response
