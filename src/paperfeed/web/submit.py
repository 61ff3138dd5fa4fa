"""Paper submission by arXiv id: the ``/submit`` page (session + CSRF) and ``POST /api/papers/submit``.

API statuses: 201 + the daily item; 409 + ``{"error", "item"}`` when already featured; 422 for a
bad id or a too-old paper; 429 (``Retry-After`` until the next feed day) over the daily cap; 404
when arXiv does not know the id; 502/503 when arXiv answers garbage or is down.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from paperfeed.community.accounts import Account
from paperfeed.community.submissions import AlreadyFeatured
from paperfeed.errors import PaperfeedError
from paperfeed.web.auth import api_account, current_user, require_csrf
from paperfeed.web.deps import services
from paperfeed.web.responses import json_response
from paperfeed.web.serialize import daily_item
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()


class SubmitBody(BaseModel):
    """``{"id": "2403.01234"}`` — an arXiv id, versioned id or arXiv URL."""

    id: str = Field(max_length=300, examples=["2403.01234", "https://arxiv.org/abs/2403.01234v2"])


@api_router.post(
    "/api/papers/submit",
    tags=["community"],
    summary="Submit a paper by arXiv id",
    status_code=201,
)
def api_submit(body: SubmitBody, svc=Depends(services), account: Account = Depends(api_account)) -> Response:
    svc.limiter.hit("submit_user", str(account.id), "submission attempts")
    try:
        item = svc.submissions.submit(account, body.id)
    except AlreadyFeatured as exc:
        payload = {"error": {"code": exc.code, "message": exc.message}}
        payload["item"] = daily_item(exc.item) if exc.item is not None else None
        return json_response(payload, status=409)
    return json_response(daily_item(item), status=201)


def _page(request: Request, svc, account: Account, *, status: int = 200, **extra) -> Response:
    context = {
        "active": "submit",
        "rules": svc.submissions.rules,
        "used_today": svc.submissions.used_today(account),
        "today": svc.submissions.today(),
        "form": {},
        **extra,
    }
    response = render(request, "submit.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/submit")
def submit_page(request: Request, svc=Depends(services)) -> Response:
    account = current_user(request)
    if account is None:
        return RedirectResponse("/login?next=/submit", status_code=303)
    return _page(request, svc, account)


@router.post("/submit", dependencies=[Depends(require_csrf)])
def submit_form(request: Request, svc=Depends(services), arxiv_id: Annotated[str, Form()] = "") -> Response:
    account = current_user(request)
    if account is None:
        return RedirectResponse("/login?next=/submit", status_code=303)
    form = {"arxiv_id": arxiv_id[:300]}
    try:
        svc.limiter.hit("submit_user", str(account.id), "submission attempts")
        item = svc.submissions.submit(account, arxiv_id[:300])
    except AlreadyFeatured as exc:
        return _page(request, svc, account, status=409, error=exc.message, existing=exc.item, form=form)
    except PaperfeedError as exc:
        response = _page(request, svc, account, status=exc.http_status, error=exc.message, form=form)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    target = f"/papers/{quote(item.arxiv_id, safe='/')}?submitted=1"
    return RedirectResponse(target, status_code=303)
