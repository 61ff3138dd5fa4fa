"""Public profiles: ``GET /u/{username}`` (HTML) and ``GET /api/users/{username}`` (JSON).

JSON shape: ``{"user", "createdAt", "isAdmin"? (only when true), "suspended"? (only when true),
"numSubmitted", "submitted": [daily items], "numUpvoted", "upvoted": [daily items],
"numComments", "comments": [{"id", "paper": {"id", "title"}, "html", "createdAt"}]}``.
Lists hold the newest ``limit`` entries (default 50, at most 100); comments the newest 20.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from paperfeed.community.profiles import DEFAULT_LIMIT, MAX_LIMIT, Profile
from paperfeed.errors import NotFound
from paperfeed.web.deps import services
from paperfeed.web.errors import error_response
from paperfeed.web.responses import json_response
from paperfeed.web.serialize import daily_item, hf_time
from paperfeed.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter()

PROFILE_CACHE = "public, max-age=60"
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per list (newest first)")]


def profile_json(profile: Profile) -> dict[str, Any]:
    """The public JSON of a profile."""
    data: dict[str, Any] = {"user": profile.username, "createdAt": hf_time(profile.created_at)}
    if profile.is_admin:
        data["isAdmin"] = True
    if profile.suspended:
        data["suspended"] = True
    data.update(
        numSubmitted=profile.num_submitted,
        submitted=[daily_item(p) for p in profile.submitted],
        numUpvoted=profile.num_upvoted,
        upvoted=[daily_item(p) for p in profile.upvoted],
        numComments=profile.num_comments,
        comments=[
            {
                "id": c.id,
                "paper": {"id": c.arxiv_id, "title": c.paper_title},
                "html": c.html,
                "createdAt": hf_time(c.created_at),
            }
            for c in profile.comments
        ],
    )
    return data


@api_router.get("/api/users/{username}", tags=["community"], summary="A user's public profile")
def api_profile(username: str, svc=Depends(services), limit: Limit = DEFAULT_LIMIT) -> Response:
    profile = svc.profiles.profile(username, limit=limit)
    return json_response(profile_json(profile), headers={"Cache-Control": PROFILE_CACHE})


@router.get("/u/{username}")
def profile_page(request: Request, username: str, svc=Depends(services)) -> Response:
    try:
        profile = svc.profiles.profile(username)
    except NotFound as exc:
        return error_response(request, 404, exc.code, exc.message)
    context = {"active": "profile", "profile": profile}
    return render(request, "profile.html", context, headers={"Cache-Control": PROFILE_CACHE})
