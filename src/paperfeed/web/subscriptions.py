"""Email digest pages and API: subscribe (API + form), confirm, unsubscribe (RFC 8058), digest preview.

* ``POST /api/subscriptions`` ``{"email", "frequency"}`` → 202 ``{"status": "pending"|"active"}``.
  Anonymous callers always get ``pending`` (no hint whether the address is known); a signed-in
  caller (Bearer token, or session cookie + ``X-CSRF-Token``) subscribing the account's own
  address gets ``active`` at once.
* ``GET /subscriptions/confirm?token=`` shows a page with a *Confirm* button that POSTs the token:
  mail scanners that prefetch links do not confirm on the user's behalf. The token is the proof
  (signed, expiring), so the POST needs no CSRF token.
* ``GET /unsubscribe/{token}`` shows a page with a button; ``POST /unsubscribe/{token}`` (the RFC 8058
  one-click POST with body ``List-Unsubscribe=One-Click``) unsubscribes: no login, no CSRF, 200.
* ``GET /digest/preview`` shows the signed-in user's next digest.

Bad or expired tokens render the 400 error page and change nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from paperfeed.community.accounts import Account
from paperfeed.community.errors import RateLimited
from paperfeed.errors import InvalidInput
from paperfeed.web.auth import (
    CSRF_HEADER,
    SESSION_COOKIE,
    bearer_account,
    check_csrf,
    client_ip,
    current_user,
    require_csrf,
)
from paperfeed.web.deps import services
from paperfeed.web.responses import json_response
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()

PENDING_MESSAGE = (
    "If the address can receive mail, a confirmation link is on its way. "
    "Nothing else is sent before you confirm."
)


class SubscribeBody(BaseModel):
    """``{"email": "you@example.org", "frequency": "daily"}``."""

    email: str = Field(max_length=320, examples=["you@example.org"])
    frequency: str = Field(default="daily", examples=["daily", "weekly"])


def _optional_account(request: Request) -> Account | None:
    """The caller's account for the API: Bearer token, or session cookie with a valid CSRF header."""
    account = bearer_account(request)
    if account is not None:
        return account
    if request.cookies.get(SESSION_COOKIE) and request.headers.get(CSRF_HEADER):
        account = current_user(request)
        if account is not None:
            check_csrf(request, request.headers.get(CSRF_HEADER))
        return account
    return None


@api_router.post(
    "/api/subscriptions", tags=["mail"], summary="Subscribe an address to the email digest", status_code=202
)
def api_subscribe(request: Request, body: SubscribeBody, svc=Depends(services)) -> Response:
    account = _optional_account(request)
    result = svc.subscriptions.subscribe(body.email, body.frequency, ip=client_ip(request), account=account)
    message = "Subscribed." if result.status == "active" else PENDING_MESSAGE
    return json_response({"status": result.status, "message": message}, status=202)


# --------------------------------------------------------------------------- subscribe form
def _subscribe_page(request: Request, *, status: int = 200, **extra) -> Response:
    account = current_user(request)
    form = {"email": account.email if account else "", "frequency": "daily"}
    context = {"active": None, "form": form, **extra}
    if "form" in extra:
        context["form"] = {**form, **extra["form"]}
    return render(request, "subscribe.html", context, status=status)


@router.get("/subscribe")
def subscribe_page(request: Request) -> Response:
    return _subscribe_page(request)


@router.post("/subscribe", dependencies=[Depends(require_csrf)])
def subscribe_form(
    request: Request,
    svc=Depends(services),
    email: Annotated[str, Form()] = "",
    frequency: Annotated[str, Form()] = "daily",
) -> Response:
    form = {"email": email[:320], "frequency": frequency[:16]}
    try:
        result = svc.subscriptions.subscribe(
            email[:320], frequency[:16], ip=client_ip(request), account=current_user(request)
        )
    except RateLimited as exc:
        response = _subscribe_page(request, status=429, error=exc.message, form=form)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except InvalidInput as exc:
        return _subscribe_page(request, status=422, error=exc.message, form=form)
    return _subscribe_page(request, done=result.status, form=form)


# --------------------------------------------------------------------------- confirm
@router.get("/subscriptions/confirm")
def confirm_page(request: Request, token: str = "", svc=Depends(services)) -> Response:
    info = svc.subscriptions.check_confirm(token)
    response = render(request, "subscription_confirm.html", {"active": None, "token": token, "info": info})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/subscriptions/confirm")
def confirm(request: Request, svc=Depends(services), token: Annotated[str, Form()] = "") -> Response:
    info = svc.subscriptions.confirm(token)
    response = render(request, "subscription_confirm.html", {"active": None, "info": info, "confirmed": True})
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- unsubscribe (RFC 8058)
@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str, svc=Depends(services)) -> Response:
    info = svc.subscriptions.check_unsubscribe(token)
    response = render(request, "unsubscribe.html", {"active": None, "token": token, "info": info})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str, svc=Depends(services)) -> Response:
    """One-click unsubscribe: no login, no CSRF (RFC 8058); the signed token is the authorisation."""
    info = svc.subscriptions.unsubscribe(token)
    response = render(request, "unsubscribe.html", {"active": None, "info": info, "done": True})
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- preview
@router.get("/digest/preview")
def digest_preview(request: Request, svc=Depends(services), frequency: str = "") -> Response:
    account = current_user(request)
    if account is None:
        return RedirectResponse("/login?next=/digest/preview", status_code=303)
    subscription = svc.subscriptions.of_user(account.id)
    if frequency not in ("daily", "weekly"):
        frequency = subscription.frequency if subscription else "daily"
    mail = svc.digests.preview(account.id, account.email or "", frequency)
    context = {"active": None, "mail": mail, "frequency": frequency, "subscription": subscription}
    response = render(request, "digest_preview.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response
