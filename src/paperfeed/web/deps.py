"""Request-scoped access to the app's services (FastAPI dependency)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from paperfeed.app import Services


def services(request: Request) -> Services:
    """The :class:`~paperfeed.app.Services` built by ``create_app``."""
    return request.app.state.services
