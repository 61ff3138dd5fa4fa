"""The normalised record every source parser produces, and text clean-up shared by parsers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# github.com or www.github.com, but not a subdomain (gist.github.com) or a longer host (mygithub.com)
_GITHUB = re.compile(
    r"(?<![\w.-])(?:www\.)?github\.com/([A-Za-z0-9][A-Za-z0-9_.-]*)/([A-Za-z0-9_.-]+)", re.IGNORECASE
)
_NOT_REPOS = {"features", "about", "pricing", "orgs", "topics", "sponsors", "settings", "marketplace"}


@dataclass(slots=True)
class FeedRecord:
    """A paper featured on a given feed day (HF daily papers, submissions)."""

    feed_date: date
    featured_at: datetime  # naive UTC
    upvotes: int = 0
    num_comments: int = 0
    submitted_by: str | None = None


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source describes it. ``None`` / empty means "this source does not say"."""

    arxiv_id: str
    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    published_at: datetime | None = None  # naive UTC
    updated_at: datetime | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    license: str | None = None
    report_no: str | None = None
    submitter: str | None = None
    latest_version: int | None = None
    github_repo: str | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    feed: FeedRecord | None = None
    record_hash: str = ""  # hash of the source's raw bytes: unchanged input => unchanged hash


def clean_title(text: str | None) -> str:
    """Collapse the hard line wraps and runs of spaces arXiv titles carry."""
    return " ".join(text.split()) if text else ""


def clean_abstract(text: str | None) -> str:
    """Join hard-wrapped lines into paragraphs; keep blank-line paragraph breaks."""
    if not text:
        return ""
    if not _PARAGRAPH_BREAK.search(text):
        return " ".join(text.split())
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def find_github_repo(*texts: str | None) -> str | None:
    """Return the first ``https://github.com/owner/repo`` URL mentioned in ``texts``."""
    for text in texts:
        if not text or "github" not in text.lower():
            continue
        for owner, repo in _GITHUB.findall(text):
            repo = repo.rstrip(".,;:)]}'\"")
            if repo.lower().endswith(".git"):
                repo = repo[:-4]
            if owner.lower() in _NOT_REPOS or not repo:
                continue
            return f"https://github.com/{owner}/{repo}"
    return None
