"""The whole-instance export format (JSON Lines, version 1): record shapes and their validation.

A file is one JSON object per line, UTF-8, optionally gzip-compressed:

* line 1, the header: ``{"format": "paperfeed-export", "version": 1, "exportedAt": ..., "schema": ...}``;
* then records, each with a ``"type"`` (:data:`RECORD_TYPES`, written in that order) whose other
  keys are listed in :data:`FIELDS`; people are referenced by ``username``, papers by
  ``arxiv_id``, comments by their ``exportId``;
* last, ``{"type": "end", "counts": {type: n, ...}}``: a file without it is truncated.

Times are naive UTC ISO 8601 strings (``2026-08-22T15:00:00``), feed days ``YYYY-MM-DD``.
Validation here is pure (no database): :func:`check_record` turns one decoded object into the
typed values the importer writes, or raises :class:`InvalidInput` saying what is wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from paperfeed.errors import InvalidInput

FORMAT_NAME = "paperfeed-export"
FORMAT_VERSION = 1

USER, PAPER, VOTE, COMMENT = "user", "paper", "vote", "comment"
COMMENT_REPORT, LIBRARY_ITEM, FOLLOW, SUBSCRIPTION = (
    "comment_report",
    "library_item",
    "follow",
    "subscription",
)
END = "end"
RECORD_TYPES = (USER, PAPER, VOTE, COMMENT, COMMENT_REPORT, LIBRARY_ITEM, FOLLOW, SUBSCRIPTION)

# value kinds; an ``OPT_`` kind also accepts null
STR, INT, BOOL, TIME, DATE = "str", "int", "bool", "time", "date"
OPT_STR, OPT_INT, OPT_TIME = "str?", "int?", "time?"
STR_LIST, FEED_LIST = "str[]", "feed[]"

FEED_ENTRY_FIELDS: dict[str, str] = {
    "feed_date": DATE,
    "featured_at": TIME,
    "submitted_by": OPT_STR,
    "upvotes_at_import": INT,
    "source": STR,
}

FIELDS: dict[str, dict[str, str]] = {
    USER: {
        "username": STR,
        "email": OPT_STR,
        "is_admin": BOOL,
        "created_at": TIME,
        "deleted_at": OPT_TIME,
        "banned_at": OPT_TIME,
        "ban_reason": OPT_STR,
    },
    PAPER: {
        "arxiv_id": STR,
        "title": STR,
        "abstract": STR,
        "published_at": OPT_TIME,
        "updated_at": OPT_TIME,
        "primary_category": OPT_STR,
        "doi": OPT_STR,
        "journal_ref": OPT_STR,
        "comments": OPT_STR,
        "license": OPT_STR,
        "report_no": OPT_STR,
        "submitter": OPT_STR,
        "latest_version": OPT_INT,
        "github_repo": OPT_STR,
        "project_page": OPT_STR,
        "ai_summary": OPT_STR,
        "ai_keywords": OPT_STR,
        "base_upvotes": INT,
        "upvotes": INT,
        "base_num_comments": INT,
        "num_comments": INT,
        "source_hashes": STR,
        "hidden": BOOL,
        "created_at": TIME,
        "modified_at": TIME,
        "authors": STR_LIST,
        "categories": STR_LIST,
        "feed_entries": FEED_LIST,
    },
    VOTE: {"paper": STR, "user": OPT_STR, "created_at": TIME},
    COMMENT: {
        "exportId": INT,
        "paper": STR,
        "user": OPT_STR,
        "parent": OPT_INT,
        "body": STR,
        "body_html": STR,
        "created_at": TIME,
        "edited_at": OPT_TIME,
        "deleted_at": OPT_TIME,
        "hidden_at": OPT_TIME,
    },
    COMMENT_REPORT: {
        "comment": INT,
        "reporter": OPT_STR,
        "reason": STR,
        "created_at": TIME,
        "resolved_at": OPT_TIME,
        "resolved_by": OPT_STR,
        "resolution": OPT_STR,
    },
    LIBRARY_ITEM: {"user": STR, "paper": STR, "created_at": TIME},
    FOLLOW: {"user": STR, "kind": STR, "value": STR, "mode": OPT_STR, "created_at": TIME},
    SUBSCRIPTION: {
        "email": STR,
        "user": OPT_STR,
        "frequency": STR,
        "status": STR,
        "created_at": TIME,
        "confirmed_at": OPT_TIME,
        "unsubscribed_at": OPT_TIME,
        "last_error": OPT_STR,
    },
}
# present only when the export was made with ``--include-password-hashes``
OPTIONAL_FIELDS: dict[str, dict[str, str]] = {USER: {"password_hash": OPT_STR}}

# closed vocabularies of a few columns
CHOICES: dict[tuple[str, str], frozenset] = {
    (FOLLOW, "kind"): frozenset({"category", "author", "query"}),
    (SUBSCRIPTION, "frequency"): frozenset({"daily", "weekly"}),
    (SUBSCRIPTION, "status"): frozenset({"pending", "active", "unsubscribed", "bounced"}),
    (COMMENT_REPORT, "resolution"): frozenset({"hidden", "dismissed"}),
}


# --------------------------------------------------------------------------- encoding
def encode_time(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as ISO 8601 text."""
    return None if value is None else value.replace(tzinfo=None).isoformat()


def encode_date(value: date) -> str:
    return value.isoformat()


def header(exported_at: datetime, schema: str | None) -> dict[str, Any]:
    """The first line of every export."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exportedAt": exported_at.replace(tzinfo=None).isoformat(timespec="seconds") + "Z",
        "schema": schema,
    }


# --------------------------------------------------------------------------- validation
def check_header(obj: Any) -> None:
    """Raise :class:`InvalidInput` unless ``obj`` is a version-1 paperfeed export header."""
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise InvalidInput(f'not a paperfeed export (the first line must have "format": "{FORMAT_NAME}")')
    if obj.get("version") != FORMAT_VERSION:
        raise InvalidInput(
            f"unsupported export version {obj.get('version')!r} "
            f"(this paperfeed reads version {FORMAT_VERSION})"
        )


# kinds whose valid values are exactly one JSON type (``type(True) is not int``)
_EXACT_TYPES: dict[str, type] = {STR: str, OPT_STR: str, INT: int, OPT_INT: int, BOOL: bool}


def _value(kind: str, value: Any, name: str) -> Any:
    if value is None:
        if kind.endswith("?"):
            return None
        raise InvalidInput(f'field "{name}" must not be null')
    base = kind.rstrip("?")
    if base == STR:
        if not isinstance(value, str):
            raise InvalidInput(f'field "{name}" must be a string')
        return value
    if base == INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f'field "{name}" must be an integer')
        return value
    if base == BOOL:
        if not isinstance(value, bool):
            raise InvalidInput(f'field "{name}" must be true or false')
        return value
    if base in (TIME, DATE):
        if not isinstance(value, str):
            raise InvalidInput(f'field "{name}" must be an ISO 8601 {"date" if base == DATE else "time"}')
        try:
            parsed = date.fromisoformat(value) if base == DATE else datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f'field "{name}": {exc}') from exc
        if isinstance(parsed, datetime) and parsed.tzinfo is not None:  # stored as naive UTC
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    if base == STR_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f'field "{name}" must be a list of strings')
        return value
    if base == FEED_LIST:
        if not isinstance(value, list):
            raise InvalidInput(f'field "{name}" must be a list')
        return [_fields(entry, FEED_ENTRY_FIELDS, {}, f"{name}[{i}].") for i, entry in enumerate(value)]
    raise AssertionError(kind)  # pragma: no cover - FIELDS only uses the kinds above


def _fields(obj: Any, spec: dict[str, str], optional: dict[str, str], prefix: str = "") -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{prefix.rstrip('.') or 'record'} must be a JSON object")
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        if name not in obj:
            raise InvalidInput(f'missing field "{prefix}{name}"')
        value = obj[name]
        if type(value) is _EXACT_TYPES.get(kind) or (value is None and kind.endswith("?")):
            out[name] = value  # the common case, without the full check
        else:
            out[name] = _value(kind, value, prefix + name)
    for name, kind in optional.items():
        if name in obj:
            out[name] = _value(kind, obj[name], prefix + name)
    return out


def check_record(obj: Any) -> tuple[str, dict[str, Any]]:
    """``(type, values)`` for one decoded record line (``end`` records return their ``counts``)."""
    if not isinstance(obj, dict):
        raise InvalidInput("a record must be a JSON object")
    kind = obj.get("type")
    if kind == END:
        counts = obj.get("counts")
        if not isinstance(counts, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in counts.values()
        ):
            raise InvalidInput('the end record needs "counts": {type: number}')
        return END, {"counts": counts}
    if kind not in FIELDS:
        raise InvalidInput(f"unknown record type {kind!r}")
    values = _fields(obj, FIELDS[kind], OPTIONAL_FIELDS.get(kind, {}))
    for (choice_type, name), allowed in CHOICES.items():
        if choice_type == kind and values[name] is not None and values[name] not in allowed:
            raise InvalidInput(f'field "{name}" must be one of {", ".join(sorted(allowed))}')
    if kind == USER and not (1 <= len(values["username"]) <= 32):
        raise InvalidInput('field "username" must be 1–32 characters')
    if kind == COMMENT and values["exportId"] <= 0:
        raise InvalidInput('field "exportId" must be a positive integer')
    return kind, values
