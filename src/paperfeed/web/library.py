"""The user library on the web: ``/library`` page, Save/Saved form, exports and the library API.

- ``PUT`` / ``DELETE /api/library/{id}``: Bearer token, or session cookie + ``X-CSRF-Token``
  (exactly like the upvote API); ``{"saved": true|false}``, 201 when a paper is newly saved.
- ``GET /api/library?format=json|csljson|bibtex|ris``: Bearer token or session cookie (a read:
  no CSRF token needed). Unknown formats are a 422 JSON error.
- ``POST /papers/{id}/save`` (form, CSRF): the no-JavaScript Save/Saved toggle; goes back.
- ``GET /library`` and ``/library/export.{bib,ris,json,csl.json}``: signed-in pages/downloads.

Library responses are personal: always ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from paperfeed.community.accounts import Account
from paperfeed.community.library import SavedPaper, check_format
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
from paperfeed.web.errors import error_response
from paperfeed.web.responses import json_response
from paperfeed.web.serialize import daily_item, hf_time
from paperfeed.web.templating import render, templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter()

PAGE_SIZE = 50
PRIVATE = "private, no-store"
FILENAME = "paperfeed-library"
# format -> (media type, download file suffix or None for an inline JSON body)
MEDIA = {
    "json": ("application/json", None),
    "csljson": ("application/vnd.citationstyles.csl+json", ".csl.json"),
    "bibtex": ("application/x-bibtex; charset=utf-8", ".bib"),
    "ris": ("application/x-research-info-systems; charset=utf-8", ".ris"),
}
SUFFIXES = {"bib": "bibtex", "ris": "ris", "json": "json", "csl.json": "csljson"}


# --------------------------------------------------------------------------- helpers
def _library_saved(request: Request, arxiv_id: str) -> bool:
    """Template helper: is ``arxiv_id`` in the signed-in user's library (one query per page)."""
    user = current_user(request)
    if user is None:
        return False
    ids = getattr(request.state, "pf_saved_ids", None)
    if ids is None:
        ids = request.app.state.services.library.saved_ids(user)
        request.state.pf_saved_ids = ids
    return arxiv_id in ids


templates.env.globals["library_saved"] = _library_saved


def saved_json(saved: SavedPaper) -> dict[str, Any]:
    """A library entry as JSON: the ``/api/daily_papers`` item plus ``savedAt``/``doi``/``journalRef``."""
    data = daily_item(saved.item)
    data["savedAt"] = hf_time(saved.saved_at)
    if saved.doi:
        data["doi"] = saved.doi
    if saved.journal_ref:
        data["journalRef"] = saved.journal_ref
    return data


def export_response(svc, account: Account, fmt: str, *, download: bool) -> Response:
    """The library in ``fmt``; ``download`` adds ``Content-Disposition: attachment`` to JSON too."""
    fmt = check_format(fmt)
    media, suffix = MEDIA[fmt]
    headers = {"Cache-Control": PRIVATE}
    if fmt in ("json", "csljson"):
        body: Any = (
            [saved_json(s) for s in svc.library.all(account)]
            if fmt == "json"
            else svc.library.export_csl_json(account)
        )
        if download or suffix:
            headers["Content-Disposition"] = f"attachment; filename={FILENAME}{suffix or '.json'}"
        response = json_response(body, headers=headers)
        response.headers["content-type"] = media
        return response
    headers["Content-Disposition"] = f"attachment; filename={FILENAME}{suffix}"
    return Response(svc.library.export_text(account, fmt).encode("utf-8"), media_type=media, headers=headers)


# --------------------------------------------------------------------------- API
@api_router.put("/api/library/{arxiv_id:path}", tags=["library"], summary="Save a paper to your library")
def api_save(arxiv_id: str, svc=Depends(services), account: Account = Depends(api_account)) -> Response:
    added = svc.library.save(account, arxiv_id)
    return json_response({"saved": True}, status=201 if added else 200, headers={"Cache-Control": PRIVATE})


@api_router.delete(
    "/api/library/{arxiv_id:path}", tags=["library"], summary="Remove a paper from your library"
)
def api_remove(arxiv_id: str, svc=Depends(services), account: Account = Depends(api_account)) -> Response:
    svc.library.remove(account, arxiv_id)
    return json_response({"saved": False}, headers={"Cache-Control": PRIVATE})


@api_router.get("/api/library", tags=["library"], summary="Your saved papers (JSON, CSL-JSON, BibTeX or RIS)")
def api_library(
    svc=Depends(services),
    account: Account = Depends(reader_account),
    format: Annotated[str, Query(description="json | csljson | bibtex | ris")] = "json",
) -> Response:
    return export_response(svc, account, format, download=False)


# --------------------------------------------------------------------------- pages
@router.get("/library")
def library_page(
    request: Request, svc=Depends(services), p: Annotated[int, Query(ge=0, le=10_000)] = 0
) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect("/library" + (f"?p={p}" if p else ""))
    page = svc.library.page(account, page=p, page_size=PAGE_SIZE)
    request.state.pf_saved_ids = {s.item.arxiv_id for s in page.papers} | svc.library.saved_ids(account)
    context = {
        "active": "library",
        "library": page,
        "previous_page": f"/library?p={p - 1}" if p > 0 else None,
        "next_page": f"/library?p={p + 1}" if page.has_more else None,
    }
    return render(request, "library.html", context, headers={"Cache-Control": PRIVATE})


@router.get("/library/export.{suffix:path}")
def library_export(request: Request, suffix: str, svc=Depends(services)) -> Response:
    account = current_user(request)
    if account is None:
        return login_redirect(f"/library/export.{suffix}")
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        return error_response(request, 404, "not_found", f"no export format {suffix[:40]!r}")
    return export_response(svc, account, fmt, download=True)


@router.post("/papers/{arxiv_id:path}/save", dependencies=[Depends(require_csrf)])
def save_form(
    request: Request,
    arxiv_id: str,
    svc=Depends(services),
    action: Annotated[str, Form()] = "save",
    next: Annotated[str, Form()] = "",
) -> Response:
    """The no-JavaScript Save / Saved toggle: sets the state and goes back to the page."""
    back = safe_next(next, f"/papers/{arxiv_id}")
    account = current_user(request)
    if account is None:
        return login_redirect(back)
    svc.library.set_saved(account, arxiv_id, action != "remove")
    return redirect_to(back)
