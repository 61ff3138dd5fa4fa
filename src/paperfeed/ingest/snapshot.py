"""Parser for the Kaggle arXiv metadata snapshot format (one JSON object per line, plain or gzip)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.ingest.errors import BadRecord
from paperfeed.ingest.files import records_from_json_lines
from paperfeed.ingest.records import PaperRecord, clean_abstract, clean_title, find_github_repo

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}


@lru_cache(maxsize=8192)
def parse_version_date(text: str) -> datetime:
    """Parse ``'Mon, 2 Apr 2007 19:18:42 GMT'`` (arXiv version stamps) to naive UTC."""
    parts = text.replace(",", " ").split()
    # [weekday] day month year hh:mm:ss [GMT]
    if parts and parts[0][:1].isalpha():
        parts = parts[1:]
    day, month, year, clock = parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else "00:00:00"
    hour, minute, second = (int(x) for x in clock.split(":"))
    return datetime(int(year), _MONTHS[month[:3].title()], int(day), hour, minute, second)


def _author_names(obj: dict) -> list[str]:
    parsed = obj.get("authors_parsed")
    if parsed:
        names = []
        for entry in parsed:
            # [last, first, suffix] -> "first last suffix"
            last = entry[0] if entry else ""
            first = entry[1] if len(entry) > 1 else ""
            suffix = entry[2] if len(entry) > 2 else ""
            name = f"{first} {last} {suffix}" if suffix else f"{first} {last}"
            if "  " in name or "\n" in name or name[:1] == " " or name[-1:] == " ":
                name = " ".join(name.split())
            if name:
                names.append(name)
        return names
    raw = " ".join((obj.get("authors") or "").split())  # Kaggle hard-wraps long author lists
    pieces = [p.strip() for chunk in raw.split(",") for p in chunk.split(" and ")]
    return [p for p in pieces if p]


def record_from_snapshot(obj: dict, record_hash: str = "") -> PaperRecord:
    """Turn one decoded snapshot object into a :class:`PaperRecord` (raises ``KeyError``/``ValueError``)."""
    arxiv_id = normalize_arxiv_id(str(obj["id"]))
    title = clean_title(obj.get("title"))
    if not title:
        raise ValueError("missing title")
    versions = obj.get("versions") or []
    published = parse_version_date(versions[0]["created"]) if versions else None
    updated = parse_version_date(versions[-1]["created"]) if len(versions) > 1 else None
    if updated is None and obj.get("update_date"):
        updated = datetime.fromisoformat(obj["update_date"])
    abstract = clean_abstract(obj.get("abstract"))
    comments = obj.get("comments")
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=_author_names(obj),
        categories=(obj.get("categories") or "").split(),
        published_at=published,
        updated_at=updated,
        doi=obj.get("doi") or None,
        journal_ref=obj.get("journal-ref") or None,
        comments=clean_title(comments) or None,
        license=obj.get("license") or None,
        report_no=obj.get("report-no") or None,
        submitter=obj.get("submitter") or None,
        latest_version=len(versions) or None,
        github_repo=find_github_repo(comments, abstract),
        record_hash=record_hash,
    )


def read_snapshot(path: Path, *, skip: int = 0) -> Iterator[tuple[int, PaperRecord | BadRecord]]:
    """Yield ``(line_no, record or BadRecord)`` per non-blank line of ``path``, streaming.

    ``skip`` lines are passed over without parsing (resume after a checkpoint).
    """
    return records_from_json_lines(path, record_from_snapshot, skip=skip)
