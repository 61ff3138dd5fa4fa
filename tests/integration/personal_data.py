"""Test data for the personal features: fixture snapshot papers featured in the week before
``TEST_NOW`` (an HF-style flat JSONL ingested through the real ingest code), so For you has a
current, non-stale window with known categories, authors and upvotes."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta
from pathlib import Path

from tests.conftest import FIXTURES, TEST_NOW

CL_COUNT = 8
OTHER_COUNT = 24


def snapshot_rows() -> list[dict]:
    with gzip.open(FIXTURES / "snapshot_300.jsonl.gz", "rt") as handle:
        return [json.loads(line) for line in handle]


def week_rows() -> tuple[list[dict], list[dict]]:
    """(cs.CL papers, other papers) chosen for the featured week."""
    rows = snapshot_rows()
    cl = [r for r in rows if r["categories"].split()[0] == "cs.CL"][:CL_COUNT]
    other = [
        r for r in rows if r["categories"].split()[0] != "cs.CL" and "cs.CL" not in r["categories"].split()
    ]
    return cl, other[:OTHER_COUNT]


def write_week(path: Path) -> Path:
    """Feature the chosen papers over the 7 days before TEST_NOW: cs.CL papers get few upvotes
    (1–8), the others many (20–43), so a cs.CL follow has to lift them above the crowd."""
    cl, other = week_rows()
    last_day: date = (TEST_NOW - timedelta(days=1)).date()
    lines = []
    for n, row in enumerate(cl + other):
        upvotes = 1 + n if n < len(cl) else 20 + (n - len(cl))
        lines.append(
            {
                "date": (last_day - timedelta(days=n % 7)).isoformat(),
                "arxiv_id": row["id"],
                "title": row["title"],
                "summary": row["abstract"],
                "authors": [],
                "upvotes": upvotes,
                "num_comments": 0,
            }
        )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path
