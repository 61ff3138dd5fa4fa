"""Domain exceptions shared by the service layer.

The web layer maps them to an HTTP status and ``{"error": {"code", "message"}}``;
the CLI maps them to a one-line message on stderr and exit code 1.
"""

from __future__ import annotations


class PaperfeedError(Exception):
    """Base of every error a user can cause; carries a stable machine-readable code."""

    code = "error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PaperfeedError):
    """A parameter, file or line that cannot be understood."""

    code = "invalid_input"
    http_status = 422


class NotFound(PaperfeedError):
    """An id or date that names nothing we have."""

    code = "not_found"
    http_status = 404


class IngestAborted(PaperfeedError):
    """Ingest stopped on a bad record because the policy says abort."""

    code = "ingest_aborted"
    http_status = 422
