"""Request-scoped access to the app's services (FastAPI dependency)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from paperfeed.app import Services


async def services(request: Request) -> Services:
    """The :class:`~paperfeed.app.Services` built by ``create_app``.

    ``async`` on purpose: FastAPI runs sync dependencies in its thread pool, a needless hop here.
    """
    return request.app.state.services
