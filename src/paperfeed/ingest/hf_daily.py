"""Parser for Hugging Face "Daily Papers" data.

Accepts either a directory of day files named ``YYYY-MM-DD.json`` (as saved from
``/api/daily_papers?date=``) or our flattened JSONL(.gz) (one featured paper per line with
``date``, ``arxiv_id``, ``title``, ``summary``, ``authors``, ``upvotes``, ..., ``raw``).

Day files come in several shapes: a JSON list of item objects; a JSON list of strings that are
Python ``repr`` of items; a JSON object ``{"status", "date", "count", "data": [...]}``; and, as a
fallback, a whole file in Python ``repr``. All are handled.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from paperfeed.arxiv_ids import normalize_arxiv_id
from paperfeed.errors import InvalidInput
from paperfeed.ingest.errors import BadRecord
from paperfeed.ingest.files import records_from_json_lines
from paperfeed.ingest.records import (
    FeedRecord,
    PaperRecord,
    clean_abstract,
    clean_title,
    find_github_repo,
)

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")


def parse_hf_time(value: str | None) -> datetime | None:
    """Parse HF's ``2025-06-18T05:51:36.000Z`` to naive UTC (``None`` stays ``None``)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return parsed


def _start_of_day_utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _user_name(user: Any) -> str | None:
    if isinstance(user, dict):
        return user.get("user") or user.get("name") or None
    if isinstance(user, str):
        return user or None
    return None


def record_from_hf_item(item: dict, feed_date: date, tz: ZoneInfo, record_hash: str = "") -> PaperRecord:
    """Turn one HF daily-papers item (``{"paper": {...}, "title", ...}``) into a record."""
    paper = item.get("paper") or {}
    arxiv_id = normalize_arxiv_id(str(paper.get("id") or item.get("id") or ""))
    title = clean_title(item.get("title") or paper.get("title"))
    if not title:
        raise ValueError("missing title")
    summary = clean_abstract(paper.get("summary") or item.get("summary"))
    authors = [clean_title(a.get("name")) for a in paper.get("authors") or [] if a.get("name")]
    featured = parse_hf_time(paper.get("submittedOnDailyAt") or item.get("submittedOnDailyAt"))
    submitter = _user_name(item.get("submittedBy")) or _user_name(paper.get("submittedOnDailyBy"))
    keywords = paper.get("ai_keywords") or None
    github = paper.get("githubRepo") or find_github_repo(summary)
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=summary,
        authors=authors,
        published_at=parse_hf_time(paper.get("publishedAt")),
        github_repo=github or None,
        project_page=paper.get("projectPage") or None,
        ai_summary=paper.get("ai_summary") or None,
        ai_keywords=list(keywords) if keywords else None,
        feed=FeedRecord(
            feed_date=feed_date,
            featured_at=featured or _start_of_day_utc(feed_date, tz),
            upvotes=int(paper.get("upvotes") or 0),
            num_comments=int(item.get("numComments") or 0),
            submitted_by=submitter,
        ),
        record_hash=record_hash,
    )


def _decode_day_file(text: str) -> list[Any]:
    """Return the list of items of a day file in any of the known shapes."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            data = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ValueError("neither JSON nor a Python literal") from exc
    if isinstance(data, dict):
        data = data.get("data", data.get("papers"))
    if not isinstance(data, list):
        raise ValueError("expected a list of papers")
    return data


def _item_hash(item: Any) -> str:
    return hashlib.blake2b(orjson.dumps(item, option=orjson.OPT_SORT_KEYS), digest_size=12).hexdigest()


def read_day_file(path: Path, tz: ZoneInfo) -> Iterator[tuple[int, PaperRecord | BadRecord]]:
    """Yield the records of one ``YYYY-MM-DD.json`` day file."""
    match = _DAY_FILE.match(path.name)
    if not match:
        yield 0, BadRecord(path.name, "file name is not YYYY-MM-DD.json")
        return
    try:
        feed_date = date.fromisoformat(match.group(1))
        items = _decode_day_file(path.read_text(encoding="utf-8-sig"))  # -sig: tolerate a BOM
    except (ValueError, UnicodeDecodeError) as exc:
        yield 0, BadRecord(path.name, f"unreadable day file ({exc})")
        return
    for index, item in enumerate(items, start=1):
        where = f"{path.name} item {index}"
        try:
            if isinstance(item, str):
                item = ast.literal_eval(item)
            if not isinstance(item, dict):
                raise ValueError("item is not an object")
            yield 0, record_from_hf_item(item, feed_date, tz, _item_hash(item))
        except InvalidInput as exc:
            yield 0, BadRecord(where, exc.message)
        except (KeyError, ValueError, TypeError, SyntaxError, AttributeError) as exc:
            yield 0, BadRecord(where, f"unusable item ({type(exc).__name__}: {exc})")


def record_from_flat(obj: dict, tz: ZoneInfo, record_hash: str = "") -> PaperRecord:
    """Turn one line of our flattened HF JSONL into a record (prefers the untouched ``raw`` item)."""
    feed_date = date.fromisoformat(obj["date"])
    raw = obj.get("raw")
    if isinstance(raw, dict) and raw.get("paper"):
        record = record_from_hf_item(raw, feed_date, tz, record_hash)
        if obj.get("upvotes") is not None and record.feed is not None:
            record.feed.upvotes = int(obj["upvotes"])
        return record
    item = {
        "paper": {
            "id": obj.get("arxiv_id"),
            "authors": [{"name": name} for name in obj.get("authors") or []],
            "publishedAt": obj.get("published_at"),
            "upvotes": obj.get("upvotes"),
            "githubRepo": obj.get("github_repo"),
            "ai_keywords": obj.get("ai_keywords"),
            "summary": obj.get("summary"),
        },
        "title": obj.get("title"),
        "numComments": obj.get("num_comments"),
        "submittedBy": obj.get("submitted_by"),
    }
    return record_from_hf_item(item, feed_date, tz, record_hash)


def read_flat_jsonl(
    path: Path, tz: ZoneInfo, *, skip: int = 0
) -> Iterator[tuple[int, PaperRecord | BadRecord]]:
    """Yield the records of our flattened HF JSONL(.gz), streaming."""
    return records_from_json_lines(path, lambda obj, digest: record_from_flat(obj, tz, digest), skip=skip)


def day_files(directory: Path) -> list[Path]:
    """The ``*.json`` files of a day-file directory, oldest first."""
    files = sorted(p for p in directory.iterdir() if p.suffix == ".json" and p.is_file())
    if not files:
        raise InvalidInput(f"{directory}: no .json day files found")
    return files


def read_hf_daily(
    path: Path, tz: ZoneInfo, *, skip: int = 0
) -> Iterator[tuple[int, PaperRecord | BadRecord]]:
    """``(line_no, record)`` pairs from a day-file directory, a single day file or a flattened JSONL(.gz).

    Day-file records come with line 0 (they have no line position to resume from).
    """
    if not path.exists():
        raise InvalidInput(f"no such file or directory: {path}")
    if path.is_dir():
        for day_file in day_files(path):
            yield from read_day_file(day_file, tz)
    elif _DAY_FILE.match(path.name):
        yield from read_day_file(path, tz)
    else:
        yield from read_flat_jsonl(path, tz, skip=skip)
