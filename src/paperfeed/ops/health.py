"""Readiness: is this instance able to serve? (database reachable and migrated, indexes readable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from paperfeed.db import ops_store
from paperfeed.db.engine import head_revision
from paperfeed.search.interfaces import KeywordIndex


@dataclass
class Readiness:
    """The checks behind ``/readyz``; ``ready`` only when every check passed."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(value == "ok" for value in self.checks.values())


def readiness(engine: Engine, keyword: KeywordIndex) -> Readiness:
    """Check the database (reachable, schema at the migrations' head) and the keyword index."""
    result = Readiness()
    try:
        with engine.connect() as conn:
            revision = ops_store.schema_revision(conn)
        expected = head_revision()
        result.checks["database"] = "ok"
        result.checks["migrations"] = (
            "ok"
            if revision == expected
            else f"at {revision or 'none'}, expected {expected}: run `paperfeed db upgrade`"
        )
    except Exception as exc:  # readiness reports, never raises
        result.checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        keyword.num_docs()
        result.checks["keyword_index"] = "ok"
    except Exception as exc:
        result.checks["keyword_index"] = f"unreadable: {type(exc).__name__}"
    return result
