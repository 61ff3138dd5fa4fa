"""Personal pages and API: ``/for-you``, ``/following`` (follows and the personal feed token),
``GET /api/for-you``, ``GET/POST/DELETE /api/follows`` and the personal Atom feed
``/feeds/user/{token}.xml``.

HTML forms are no-JavaScript POSTs with a CSRF token; the follow buttons (``_follow.html``), sent by
``static/forms.js`` with ``X-Requested-With: fetch``, get the re-rendered button back instead of a
redirect (``web.fragments``). The read APIs accept a Bearer token or the
session cookie; the write APIs use :func:`~paperfeed.web.auth.api_account` (Bearer, or session +
``X-CSRF-Token``). The personal feed is authorised by its secret token alone (404 when unknown
or revoked) so feed readers can fetch it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from paperfeed.community.accounts import Account
from paperfeed.community.follows import QUERY_MODES, Follow, TooManyFollows
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.web.atom import atom_feed
from paperfeed.web.auth import (
    api_account,
    current_user,
    login_redirect,
    reader_account,
    redirect_to,
    require_csrf,
    safe_next,
)
from paperfeed.web.deps import services
from paperfeed.web.fragments import fragment_response, wants_fragment
from paperfeed.web.responses import json_response
from paperfeed.web.serialize import daily_item
from paperfeed.web.templating import render, templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter()
ATOM = "application/atom+xml; charset=utf-8"
PAGE_LIMIT = 50
FEED_LIMIT = 50


# --------------------------------------------------------------------------- helpers
def follow_json(follow: Follow) -> dict:
    data = {"kind": follow.kind, "value": follow.value, "createdAt": follow.created_at.isoformat() + "Z"}
    if follow.mode:
        data["mode"] = follow.mode
    return data


def recommendation_json(rec) -> dict:
    data = daily_item(rec.paper)
    data["reason"] = rec.reason
    data["score"] = rec.score
    return data


def _recommendations(svc, user_id: int, limit: int):
    return svc.recommendations.for_user(user_id, since=svc.recommendations.default_since(), limit=limit)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _is_following(request: Request, kind: str, value: str) -> bool:
    """Template helper: does the signed-in user follow ``kind``/``value`` (one query per request)."""
    user = current_user(request)
    if user is None:
        return False
    keys = getattr(request.state, "pf_follow_keys", None)
    if keys is None:
        follows = request.app.state.services.follows.list_for(user.id)
        keys = {(f.kind, " ".join(f.value.split()).lower()) for f in follows}
        request.state.pf_follow_keys = keys
    return (kind, " ".join(str(value).split()).lower()) in keys


templates.env.globals["is_following"] = _is_following


def _follow_fragment(
    request: Request,
    kind: str,
    value: str,
    label: str,
    mode: str,
    next_url: str,
    *,
    status: int = 200,
    **extra,
) -> Response:
    """The follow button alone, re-rendered for ``forms.js`` (state, message, error)."""
    request.state.pf_follow_keys = None  # the follows just changed
    context = {
        "follow_kind": kind,
        "follow_value": value,
        "follow_label": label[:100],
        "follow_mode": mode,
        "follow_next": safe_next(next_url, "/following"),
        **extra,
    }
    return fragment_response(request, "_follow_fragment.html", context, status=status)


# --------------------------------------------------------------------------- pages
@router.get("/for-you")
def for_you_page(request: Request, svc=Depends(services)) -> Response:
    account = current_user(request)
    if account is None:
        return render(request, "for_you.html", {"active": "for-you", "recommendations": None})
    recs = _recommendations(svc, account.id, PAGE_LIMIT)
    follows = svc.follows.list_for(account.id)
    return _private(
        render(
            request,
            "for_you.html",
            {
                "active": "for-you",
                "recommendations": recs,
                "follows": follows,
                "window_days": svc.settings.for_you_window_days,
            },
        )
    )


def _following_page(request: Request, svc, account: Account, *, status: int = 200, **extra) -> Response:
    context = {
        "active": "following",
        "follows": svc.follows.list_for(account.id),
        "modes": QUERY_MODES,
        "max_follows": svc.settings.follows_max_per_user,
        "feed_token_created": svc.feed_tokens.created_at(account.id),
        "base_url": svc.settings.base_url.rstrip("/"),
        **extra,
    }
    return _private(render(request, "following.html", context, status=status))


@router.get("/following")
def following_page(request: Request, svc=Depends(services)) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/following")
    return _following_page(request, svc, account)


@router.post("/following", dependencies=[Depends(require_csrf)])
def follow_form(
    request: Request,
    svc=Depends(services),
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/following")
    try:
        follow, _ = svc.follows.follow(account.id, kind, value, mode or None)
    except (InvalidInput, TooManyFollows) as exc:
        if wants_fragment(request):
            return _follow_fragment(
                request,
                kind,
                value[:300],
                label,
                mode,
                next,
                status=exc.http_status,
                follow_error=exc.message,
            )
        form = {"kind": kind, "value": value[:300], "mode": mode}
        return _following_page(request, svc, account, status=exc.http_status, error=exc.message, form=form)
    if wants_fragment(request):
        shown = label or follow.value
        return _follow_fragment(
            request, follow.kind, follow.value, label, mode, next, fragment_status=f"Following {shown}."
        )
    return redirect_to(safe_next(next, "/following"))


@router.post("/following/remove", dependencies=[Depends(require_csrf)])
def unfollow_form(
    request: Request,
    svc=Depends(services),
    kind: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/following")
    try:
        svc.follows.unfollow(account.id, kind, value)
    except InvalidInput as exc:
        if wants_fragment(request):
            return _follow_fragment(
                request,
                kind,
                value[:300],
                label,
                mode,
                next,
                status=exc.http_status,
                follow_error=exc.message,
            )
        return _following_page(request, svc, account, status=exc.http_status, error=exc.message)
    if wants_fragment(request):
        shown = label or value
        return _follow_fragment(
            request, kind, value, label, mode, next, fragment_status=f"Stopped following {shown}."
        )
    return redirect_to(safe_next(next, "/following"))


@router.post("/following/feed-token", dependencies=[Depends(require_csrf)])
def feed_token_form(
    request: Request, svc=Depends(services), action: Annotated[str, Form()] = "create"
) -> Response:
    """Create/rotate (``action=create``) or revoke (``action=revoke``) the personal feed token."""
    account = current_user(request)
    if account is None:
        return login_redirect("/following")
    if action == "revoke":
        svc.feed_tokens.revoke(account.id)
        return _following_page(request, svc, account, notice="Personal feed link revoked.")
    token = svc.feed_tokens.create(account.id)
    return _following_page(request, svc, account, new_feed_token=token)


# --------------------------------------------------------------------------- API
@api_router.get("/api/for-you", tags=["personal"], summary="Your personal ranking of recent papers")
def api_for_you(
    svc=Depends(services),
    account: Account = Depends(reader_account),
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    recs = _recommendations(svc, account.id, limit)
    return _private(json_response([recommendation_json(r) for r in recs]))


@api_router.get("/api/follows", tags=["personal"], summary="What you follow")
def api_follows(svc=Depends(services), account: Account = Depends(reader_account)) -> Response:
    return _private(json_response([follow_json(f) for f in svc.follows.list_for(account.id)]))


async def _follow_body(request: Request) -> dict:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput('the body must be JSON: {"kind", "value", "mode"?}') from exc
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object: {"kind", "value", "mode"?}')
    for key in ("kind", "value", "mode"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise InvalidInput(f"{key} must be a string")
    return body


@api_router.post("/api/follows", tags=["personal"], summary="Follow a category, author or search")
async def api_follow(
    request: Request, svc=Depends(services), account: Account = Depends(api_account)
) -> Response:
    body = await _follow_body(request)
    follow, created = svc.follows.follow(
        account.id, body.get("kind") or "", body.get("value") or "", body.get("mode")
    )
    return json_response(follow_json(follow), status=201 if created else 200)


@api_router.delete("/api/follows", tags=["personal"], summary="Stop following something")
async def api_unfollow(
    request: Request, svc=Depends(services), account: Account = Depends(api_account)
) -> Response:
    body = await _follow_body(request)
    removed = svc.follows.unfollow(account.id, body.get("kind") or "", body.get("value") or "")
    return json_response({"removed": removed})


# --------------------------------------------------------------------------- personal feed
@api_router.get("/feeds/user/{token}.xml", tags=["feeds"], summary="Your personal Atom feed (secret URL)")
def personal_feed(token: str, svc=Depends(services)) -> Response:
    owner = svc.feed_tokens.owner(token)
    if owner is None:
        raise NotFound("no such feed (the link may have been revoked)")
    base = svc.settings.base_url.rstrip("/")
    recs = _recommendations(svc, owner["id"], FEED_LIMIT)
    # the reason line leads each entry's summary (For you: "because you follow cs.CL")
    items = [replace(r.paper, abstract=f"For you: {r.reason}.\n\n{r.paper.abstract}") for r in recs]
    stamps = [i.featured_at or i.published_at for i in items if (i.featured_at or i.published_at)]
    body = atom_feed(
        title=f"{svc.settings.site_name}: for {owner['username']}",
        subtitle="Recent papers ranked from your follows, upvotes and library.",
        feed_url=f"{base}/feeds/user/{token}.xml",
        page_url=f"{base}/for-you",
        base_url=base,
        items=items,
        updated=max(stamps) if stamps else None,
    )
    return _private(Response(body, media_type=ATOM))
