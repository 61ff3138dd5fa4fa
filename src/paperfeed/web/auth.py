"""Sign-up, sign-in, sign-out, the settings page, the upvote form and the upvote API.

Sessions are server-side: the ``pf_session`` cookie (HttpOnly, SameSite=Lax, Secure over https)
holds a random id whose sha256 is stored. Every form POST carries a CSRF token:
HMAC(secret key, session cookie) for signed-in users (a synchronizer token tied to the session),
HMAC(secret key, ``pf_csrf`` cookie) before sign-in (signed double submit). JavaScript sends the
same token in ``X-CSRF-Token``. API clients using ``Authorization: Bearer`` need no CSRF token.
Pages for anonymous visitors set no cookie and stay publicly cacheable; signed-in pages are
``private``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from paperfeed.community.accounts import Account
from paperfeed.community.errors import AuthenticationFailed, Conflict, NotAuthenticated, RateLimited
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.web.deps import services
from paperfeed.web.responses import json_response
from paperfeed.web.templating import render

SESSION_COOKIE = "pf_session"
CSRF_COOKIE = "pf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_UNSET = object()

router = APIRouter(include_in_schema=False)
api_router = APIRouter()


class CsrfFailed(PaperfeedError):
    """A form or cookie-authenticated API call without a valid CSRF token."""

    code = "csrf_failed"
    http_status = 403


# --------------------------------------------------------------------------- request helpers
def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_user(request: Request) -> Account | None:
    """The account of the session cookie (cached on the request), or ``None``."""
    cached = getattr(request.state, "pf_user", _UNSET)
    if cached is _UNSET:
        svc = request.app.state.services
        cached = svc.accounts.session_account(request.cookies.get(SESSION_COOKIE))
        request.state.pf_user = cached
    return cached


def _sign(request: Request, value: str) -> str:
    key = request.app.state.services.settings.effective_secret_key().encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token for forms on this page (creates the pre-sign-in cookie when needed)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return _sign(request, "session|" + session)
    anon = getattr(request.state, "pf_new_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not anon:
        anon = secrets.token_urlsafe(24)
        request.state.pf_new_csrf = anon
    return _sign(request, "anon|" + anon)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise :class:`CsrfFailed` unless ``submitted`` matches the token of the request's cookies."""
    session = request.cookies.get(SESSION_COOKIE)
    anon = request.cookies.get(CSRF_COOKIE)
    if session:
        expected = _sign(request, "session|" + session)
    elif anon:
        expected = _sign(request, "anon|" + anon)
    else:
        raise CsrfFailed("Missing CSRF cookie: reload the page and try again.")
    if not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfFailed("Invalid or missing CSRF token: reload the page and try again.")


def require_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Dependency for every HTML form POST."""
    check_csrf(request, csrf_token)


def finish_response(request: Request, response: Response) -> None:
    """Cookie and cache headers for a rendered page (called by ``templating.render``)."""
    new_csrf = getattr(request.state, "pf_new_csrf", None)
    if new_csrf:
        response.set_cookie(
            CSRF_COOKIE,
            new_csrf,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.headers["Cache-Control"] = "no-store"
    elif getattr(request.state, "pf_user", None) is not None:
        response.headers["Cache-Control"] = "private, no-cache"
    vary = response.headers.get("Vary")
    if not vary or "cookie" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Cookie" if vary else "Cookie"


def template_globals(request: Request) -> dict:
    """Context every page gets: the signed-in user, their votes and a CSRF token function."""
    user = current_user(request)
    voted: set[str] = set()
    if user is not None:
        voted = request.app.state.services.votes.voted_ids(user)
    return {"current_user": user, "voted_ids": voted, "csrf_token": lambda: csrf_token(request)}


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    svc = request.app.state.services
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=svc.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: no scheme, no ``//``, no backslash)."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target:
        return default
    return target[:2000]


def redirect_to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(next_url: str) -> RedirectResponse:
    return redirect_to("/login?next=" + quote(next_url, safe="/"))


def _rate_limited(request: Request, exc: RateLimited, template: str, context: dict) -> Response:
    response = render(request, template, {**context, "error": exc.message}, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --------------------------------------------------------------------------- sign-up / sign-in / out
@router.get("/signup")
def signup_page(request: Request, next: str = "/") -> Response:
    return render(request, "signup.html", {"active": None, "next": safe_next(next), "form": {}})


@router.post("/signup", dependencies=[Depends(require_csrf)])
def signup(
    request: Request,
    svc=Depends(services),
    username: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form()] = "/",
) -> Response:
    context = {"active": None, "next": safe_next(next), "form": {"username": username, "email": email}}
    try:
        if password_confirm is not None and password != password_confirm:
            raise InvalidInput("The two passwords do not match.")
        account = svc.accounts.sign_up(username, email, password, ip=client_ip(request))
    except RateLimited as exc:
        return _rate_limited(request, exc, "signup.html", context)
    except (InvalidInput, Conflict) as exc:
        return render(request, "signup.html", {**context, "error": exc.message}, status=exc.http_status)
    token = svc.accounts.create_session(account.id, replaces=request.cookies.get(SESSION_COOKIE))
    response = redirect_to(safe_next(next))
    _set_session_cookie(request, response, token)
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"active": None, "next": safe_next(next), "form": {}})


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    svc=Depends(services),
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    context = {"active": None, "next": safe_next(next), "form": {"username": username}}
    try:
        account = svc.accounts.authenticate(username, password, ip=client_ip(request))
    except RateLimited as exc:
        return _rate_limited(request, exc, "login.html", context)
    except AuthenticationFailed as exc:
        return render(request, "login.html", {**context, "error": exc.message}, status=401)
    # a brand-new session id at every sign-in (the old one, if any, is ended): no session fixation
    token = svc.accounts.create_session(account.id, replaces=request.cookies.get(SESSION_COOKIE))
    response = redirect_to(safe_next(next))
    _set_session_cookie(request, response, token)
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, svc=Depends(services)) -> Response:
    svc.accounts.end_session(request.cookies.get(SESSION_COOKIE))
    response = redirect_to("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/logout")
def logout_page(request: Request) -> Response:
    if current_user(request) is None:
        return redirect_to("/")
    return render(request, "logout.html", {"active": None})


# --------------------------------------------------------------------------- settings
def _settings_page(request: Request, svc, account: Account, *, status: int = 200, **extra) -> Response:
    context = {"active": None, "tokens": svc.accounts.tokens(account), **extra}
    response = render(request, "settings.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/settings")
def settings_page(request: Request, svc=Depends(services)) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/settings")
    return _settings_page(request, svc, account)


@router.post("/settings/password", dependencies=[Depends(require_csrf)])
def change_password(
    request: Request,
    svc=Depends(services),
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/settings")
    try:
        svc.accounts.change_password(
            account, current_password, new_password, keep_session=request.cookies.get(SESSION_COOKIE)
        )
    except (AuthenticationFailed, InvalidInput) as exc:
        return _settings_page(request, svc, account, status=400, password_error=exc.message)
    return _settings_page(request, svc, account, notice="Password changed. Other sessions were signed out.")


@router.post("/settings/tokens", dependencies=[Depends(require_csrf)])
def create_token(request: Request, svc=Depends(services), name: Annotated[str, Form()] = "") -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/settings")
    token = svc.accounts.create_token(account, name)
    return _settings_page(request, svc, account, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke", dependencies=[Depends(require_csrf)])
def revoke_token(request: Request, token_id: int, svc=Depends(services)) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/settings")
    try:
        svc.accounts.revoke_token(account, token_id)
    except NotFound as exc:
        return _settings_page(request, svc, account, status=404, notice=exc.message)
    return _settings_page(request, svc, account, notice="Token revoked.")


@router.post("/settings/delete", dependencies=[Depends(require_csrf)])
def delete_account(
    request: Request, svc=Depends(services), password: Annotated[str, Form()] = ""
) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/settings")
    try:
        svc.accounts.delete_account(account, password)
    except AuthenticationFailed as exc:
        return _settings_page(request, svc, account, status=400, delete_error=exc.message)
    request.state.pf_user = None
    response = redirect_to("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- upvotes
@router.post("/papers/{arxiv_id:path}/upvote", dependencies=[Depends(require_csrf)])
def upvote_form(
    request: Request,
    arxiv_id: str,
    svc=Depends(services),
    action: Annotated[str, Form()] = "up",
    next: Annotated[str, Form()] = "",
) -> Response:
    """The no-JavaScript upvote button: sets the vote and goes back to the page it came from."""
    back = safe_next(next, f"/papers/{arxiv_id}")
    account = current_user(request)
    if account is None:
        return login_redirect(back)
    svc.votes.set_vote(account, arxiv_id, action != "down")
    return redirect_to(back)


def bearer_account(request: Request) -> Account | None:
    """The account of the ``Authorization: Bearer`` header; ``None`` when the request has none.

    Any other scheme, or an unknown or revoked token, is :class:`NotAuthenticated`.
    """
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    svc = request.app.state.services
    account = svc.accounts.token_account(token.strip()) if scheme.lower() == "bearer" else None
    if account is None:
        raise NotAuthenticated("Invalid or revoked API token.")
    return account


def api_account(request: Request) -> Account:
    """The caller of a write API: a Bearer token (no CSRF), or the session cookie + ``X-CSRF-Token``."""
    account = bearer_account(request)
    if account is not None:
        return account
    account = current_user(request)
    if account is None:
        raise NotAuthenticated()
    check_csrf(request, request.headers.get(CSRF_HEADER))
    return account


def reader_account(request: Request) -> Account:
    """The caller of a read API: a Bearer token, or the session cookie (no CSRF for reads)."""
    account = bearer_account(request) or current_user(request)
    if account is None:
        raise NotAuthenticated()
    return account


def _vote(svc, account: Account, arxiv_id: str, on: bool) -> Response:
    result = svc.votes.set_vote(account, arxiv_id, on)
    return json_response({"upvotes": result.upvotes, "upvoted": result.upvoted})


@api_router.post("/api/papers/{arxiv_id:path}/upvote", tags=["community"], summary="Upvote a paper")
def api_upvote(arxiv_id: str, svc=Depends(services), account: Account = Depends(api_account)) -> Response:
    return _vote(svc, account, arxiv_id, True)


@api_router.delete("/api/papers/{arxiv_id:path}/upvote", tags=["community"], summary="Remove your upvote")
def api_unvote(arxiv_id: str, svc=Depends(services), account: Account = Depends(api_account)) -> Response:
    return _vote(svc, account, arxiv_id, False)
