"""Maps domain errors and request-validation errors to JSON (API) or HTML (pages) responses.

API errors always look like ``{"error": {"code": ..., "message": ...}}``; nothing a user sends
produces a 500 or a traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.web.responses import json_response

log = logging.getLogger(__name__)


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.startswith("/feeds/") or path in ("/healthz", "/readyz")


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    if wants_json(request):
        return json_response({"error": {"code": code, "message": message}}, status=status)
    from paperfeed.web.templating import render

    return render(request, "error.html", {"status": status, "code": code, "message": message}, status=status)


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(PaperfeedError)
    async def _domain_error(request: Request, exc: PaperfeedError) -> Response:
        status = exc.http_status
        if isinstance(exc, InvalidInput) and wants_json(request):
            status = 400
        response = error_response(request, status, exc.code, exc.message)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return error_response(request, 422, "invalid_input", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover - safety net
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal_error", "something went wrong on our side")
