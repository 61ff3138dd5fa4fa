"""Comment routes: the JSON API and the no-JavaScript forms of the paper page's discussion.

API: ``GET``/``POST /api/papers/{id}/comments``, ``PATCH``/``DELETE /api/comments/{id}``,
``POST /api/comments/{id}/report`` — writes take a Bearer token, or the session cookie plus
``X-CSRF-Token`` (``web.auth.api_account``). Forms: plain POSTs with ``csrf_token`` that redirect
back to ``/papers/{id}#comment-N`` — or, when ``static/forms.js`` sends them with
``X-Requested-With: fetch``, answer with the re-rendered thread (``web.fragments``). ``api_router``
must be included before ``web.api.router``, whose ``/api/papers/{arxiv_id:path}`` would otherwise
swallow ``.../comments``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from paperfeed.community.accounts import Account
from paperfeed.community.comments import CommentView
from paperfeed.errors import PaperfeedError
from paperfeed.web.auth import (
    api_account,
    bearer_account,
    current_user,
    login_redirect,
    redirect_to,
    require_csrf,
)
from paperfeed.web.deps import services
from paperfeed.web.fragments import fragment_response, wants_fragment
from paperfeed.web.responses import json_response
from paperfeed.web.serialize import hf_time
from paperfeed.web.templating import templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["community"])


class CommentIn(BaseModel):
    """A new comment: markdown ``text`` and optionally the ``parent`` comment it answers."""

    text: str | None = Field(default=None, description="markdown; `$...$` math is kept for KaTeX")
    parent: int | None = Field(default=None, description="id of the comment this replies to")


class CommentEdit(BaseModel):
    text: str | None = None


class ReportIn(BaseModel):
    reason: str | None = None


def comment_json(c: CommentView) -> dict[str, Any]:
    """``{id, author, html, text, createdAt, editedAt, parent, deleted, hidden}`` (``html`` is sanitised)."""
    return {
        "id": c.id,
        "paper": c.arxiv_id,
        "author": c.author,
        "html": c.html,
        "text": c.text,
        "createdAt": hf_time(c.created_at),
        "editedAt": hf_time(c.edited_at),
        "parent": c.parent_id,
        "depth": c.depth,
        "deleted": c.deleted,
        "hidden": c.hidden,
    }


def time_ago(value: datetime | None, now: datetime | None) -> str:
    """``just now``, ``5 minutes ago``, ``3 days ago``, then the date."""
    if value is None or now is None:
        return ""
    seconds = max(0, int((now.replace(tzinfo=None) - value).total_seconds()))
    for size, unit in ((86400 * 30, None), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            if unit is None:
                return f"on {value:%b} {value.day}, {value.year}"
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


templates.env.filters.setdefault("time_ago", time_ago)


def discussion_context(request: Request, svc, arxiv_id: str) -> dict[str, Any]:
    """What ``_comments.html`` needs on the paper page (one query for the whole thread)."""
    viewer = current_user(request)
    return {
        "comments": svc.comments.thread(arxiv_id, viewer),
        "comments_now": svc.clock.now(),
        "comment_max_chars": svc.settings.comment_max_chars,
        "comment_max_depth": svc.settings.comment_max_depth,
    }


def _optional_viewer(request: Request, svc) -> Account | None:
    """The reader of a GET: a Bearer token's account, else the session's, else nobody."""
    return bearer_account(request) or current_user(request)


# --------------------------------------------------------------------------- JSON API
@api_router.get("/api/papers/{arxiv_id:path}/comments", summary="A paper's comments, in thread order")
def api_comments(request: Request, arxiv_id: str, svc=Depends(services)) -> Response:
    viewer = _optional_viewer(request, svc)
    thread = svc.comments.thread(arxiv_id, viewer)
    headers = {"Cache-Control": "private, no-cache" if viewer else "public, max-age=30"}
    return json_response([comment_json(c) for c in thread], headers=headers)


@api_router.post("/api/papers/{arxiv_id:path}/comments", summary="Comment on a paper (or reply)")
def api_post_comment(
    arxiv_id: str, body: CommentIn, svc=Depends(services), account: Account = Depends(api_account)
) -> Response:
    comment = svc.comments.post(account, arxiv_id, body.text, body.parent)
    return json_response(comment_json(comment), status=201)


@api_router.patch("/api/comments/{comment_id}", summary="Edit your comment (within the edit window)")
def api_edit_comment(
    comment_id: int, body: CommentEdit, svc=Depends(services), account: Account = Depends(api_account)
) -> Response:
    return json_response(comment_json(svc.comments.edit(account, comment_id, body.text)))


@api_router.delete("/api/comments/{comment_id}", summary="Delete a comment (author or moderator)")
def api_delete_comment(
    comment_id: int, svc=Depends(services), account: Account = Depends(api_account)
) -> Response:
    return json_response(comment_json(svc.comments.delete(account, comment_id)))


@api_router.post("/api/comments/{comment_id}/report", summary="Report a comment to the moderators")
def api_report_comment(
    comment_id: int, body: ReportIn, svc=Depends(services), account: Account = Depends(api_account)
) -> Response:
    result = svc.moderation.report(account, comment_id, body.reason)
    return json_response(
        {"comment": result.comment_id, "reported": True, "new": result.created},
        status=201 if result.created else 200,
    )


# --------------------------------------------------------------------------- HTML forms
def paper_anchor(arxiv_id: str, comment_id: int | None = None) -> str:
    """``/papers/{id}#comment-N`` (or ``#discussion``)."""
    anchor = f"comment-{comment_id}" if comment_id is not None else "discussion"
    return f"/papers/{quote(arxiv_id, safe='/')}#{anchor}"


def _signed_in(request: Request, back: str) -> Account | RedirectResponse:
    account = current_user(request)
    if account is None:
        return login_redirect(back.split("#")[0])
    return account


def thread_fragment(
    request: Request,
    svc,
    arxiv_id: str,
    *,
    status: int = 200,
    focus: int | None = None,
    notice: str = "",
    error: str = "",
    draft: str = "",
) -> Response:
    """The discussion (``_comments.html``) alone, for ``forms.js``: after a write, or with its error."""
    context = {
        "paper": svc.papers.paper(arxiv_id).paper,
        **discussion_context(request, svc, arxiv_id),
        "fragment_status": error or notice,
        "fragment_focus": "#comment-error" if error else (f"#comment-{focus}" if focus is not None else ""),
        "fragment_hash": f"comment-{focus}" if focus is not None and not error else "",
        "comment_error": error,
        "comment_draft": draft,
    }
    return fragment_response(request, "_comments.html", context, status=status)


def _comment_of(svc, comment_id: int, account: Account) -> str | None:
    """The paper a comment belongs to (``None`` when the comment does not exist)."""
    try:
        return svc.comments.get(comment_id, account).arxiv_id
    except PaperfeedError:
        return None


def _form_error(
    request: Request, svc, arxiv_id: str | None, exc: PaperfeedError, draft: str = ""
) -> Response:
    """A failed write: the thread with the message when ``forms.js`` asked, else the usual error page."""
    if arxiv_id is None or not wants_fragment(request):
        raise exc
    return thread_fragment(request, svc, arxiv_id, status=exc.http_status, error=exc.message, draft=draft)


@router.post("/papers/{arxiv_id:path}/comments", dependencies=[Depends(require_csrf)])
def post_comment_form(
    request: Request,
    arxiv_id: str,
    svc=Depends(services),
    text: Annotated[str, Form()] = "",
    parent: Annotated[str, Form()] = "",
) -> Response:
    account = _signed_in(request, paper_anchor(arxiv_id))
    if isinstance(account, Response):
        return account
    parent_id = int(parent) if parent.strip().isdigit() else None
    try:
        comment = svc.comments.post(account, arxiv_id, text, parent_id)
    except PaperfeedError as exc:
        return _form_error(request, svc, arxiv_id, exc, draft=text if parent_id is None else "")
    if wants_fragment(request):
        notice = "Reply posted." if parent_id is not None else "Comment posted."
        return thread_fragment(request, svc, comment.arxiv_id, focus=comment.id, notice=notice)
    return redirect_to(paper_anchor(comment.arxiv_id, comment.id))


@router.post("/comments/{comment_id}/edit", dependencies=[Depends(require_csrf)])
def edit_comment_form(
    request: Request, comment_id: int, svc=Depends(services), text: Annotated[str, Form()] = ""
) -> Response:
    account = _signed_in(request, "/")
    if isinstance(account, Response):
        return account
    try:
        comment = svc.comments.edit(account, comment_id, text)
    except PaperfeedError as exc:
        return _form_error(request, svc, _comment_of(svc, comment_id, account), exc)
    if wants_fragment(request):
        return thread_fragment(request, svc, comment.arxiv_id, focus=comment.id, notice="Comment updated.")
    return redirect_to(paper_anchor(comment.arxiv_id, comment.id))


@router.post("/comments/{comment_id}/delete", dependencies=[Depends(require_csrf)])
def delete_comment_form(request: Request, comment_id: int, svc=Depends(services)) -> Response:
    account = _signed_in(request, "/")
    if isinstance(account, Response):
        return account
    try:
        comment = svc.comments.delete(account, comment_id)
    except PaperfeedError as exc:
        return _form_error(request, svc, _comment_of(svc, comment_id, account), exc)
    if wants_fragment(request):
        return thread_fragment(request, svc, comment.arxiv_id, focus=comment.id, notice="Comment deleted.")
    return redirect_to(paper_anchor(comment.arxiv_id, comment.id))


@router.post("/comments/{comment_id}/report", dependencies=[Depends(require_csrf)])
def report_comment_form(
    request: Request, comment_id: int, svc=Depends(services), reason: Annotated[str, Form()] = ""
) -> Response:
    account = _signed_in(request, "/")
    if isinstance(account, Response):
        return account
    result = svc.moderation.report(account, comment_id, reason)
    return redirect_to(paper_anchor(result.arxiv_id, result.comment_id))
