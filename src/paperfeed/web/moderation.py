"""Admin pages and forms: ``/admin`` (ban/unban, hide/unhide papers), ``/admin/reports`` (the queue),
and the hide/unhide buttons on comments.

Everything here needs a signed-in admin: signed-out visitors are sent to sign in, other users
get 403 (``ModerationService`` checks again). Forms are plain POSTs with ``csrf_token``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from paperfeed.community.accounts import Account
from paperfeed.community.moderation import require_admin
from paperfeed.web.auth import current_user, login_redirect, redirect_to, require_csrf, safe_next
from paperfeed.web.comments import paper_anchor
from paperfeed.web.deps import services
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


def _admin(request: Request, back: str) -> Account | RedirectResponse:
    """The signed-in admin; a sign-in redirect when signed out; 403 (``Forbidden``) for others."""
    account = current_user(request)
    if account is None:
        return login_redirect(back)
    return require_admin(account)


@router.get("/admin")
def admin_home(request: Request, svc=Depends(services), notice: str = "") -> Response:
    admin = _admin(request, "/admin")
    if isinstance(admin, Response):
        return admin
    context = {
        "active": "admin",
        "open_reports": len(svc.moderation.queue(admin)),
        "banned": svc.moderation.banned_users(admin),
        "hidden_papers": svc.moderation.hidden_papers(admin),
        "notice": notice[:200],
    }
    return render(request, "admin.html", context, headers=NO_STORE)


@router.get("/admin/reports")
def admin_reports(request: Request, svc=Depends(services)) -> Response:
    admin = _admin(request, "/admin/reports")
    if isinstance(admin, Response):
        return admin
    context = {"active": "admin", "reports": svc.moderation.queue(admin)}
    return render(request, "admin_reports.html", context, headers=NO_STORE)


@router.post("/admin/reports/{report_id}/resolve", dependencies=[Depends(require_csrf)])
def resolve_report(
    request: Request, report_id: int, svc=Depends(services), action: Annotated[str, Form()] = ""
) -> Response:
    admin = _admin(request, "/admin/reports")
    if isinstance(admin, Response):
        return admin
    svc.moderation.resolve(admin, report_id, {"hide": "hidden", "dismiss": "dismissed"}.get(action, action))
    return redirect_to("/admin/reports")


@router.post("/admin/comments/{comment_id}/{action}", dependencies=[Depends(require_csrf)])
def hide_comment(
    request: Request,
    comment_id: int,
    action: str,
    svc=Depends(services),
    next: Annotated[str, Form()] = "",
) -> Response:
    admin = _admin(request, "/admin")
    if isinstance(admin, Response):
        return admin
    if action not in ("hide", "unhide"):
        return render(request, "error.html", {"status": 404, "message": "no such action"}, status=404)
    arxiv_id = svc.moderation.set_comment_hidden(admin, comment_id, action == "hide")
    return redirect_to(safe_next(next, paper_anchor(arxiv_id, comment_id)))


@router.post("/admin/papers/{action}", dependencies=[Depends(require_csrf)])
def hide_paper(
    request: Request, action: str, svc=Depends(services), arxiv_id: Annotated[str, Form()] = ""
) -> Response:
    admin = _admin(request, "/admin")
    if isinstance(admin, Response):
        return admin
    if action not in ("hide", "unhide"):
        return render(request, "error.html", {"status": 404, "message": "no such action"}, status=404)
    paper_id = svc.moderation.set_paper_hidden(admin, arxiv_id, action == "hide")
    verb = "hidden" if action == "hide" else "visible again"
    return redirect_to("/admin?notice=" + quote(f"Paper {paper_id} is {verb}."))


@router.post("/admin/users/{action}", dependencies=[Depends(require_csrf)])
def ban_user(
    request: Request,
    action: str,
    svc=Depends(services),
    username: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    admin = _admin(request, "/admin")
    if isinstance(admin, Response):
        return admin
    if action == "ban":
        svc.moderation.ban(admin, username, reason)
        message = f"{username} is banned and signed out."
    elif action == "unban":
        svc.moderation.unban(admin, username)
        message = f"{username} may sign in again."
    else:
        return render(request, "error.html", {"status": 404, "message": "no such action"}, status=404)
    return redirect_to("/admin?notice=" + quote(message))
