"""JSON shapes of papers, following Hugging Face's public papers API so its client works here."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from paperfeed.papers.models import PaperItem


def hf_time(value: datetime | date | None) -> str | None:
    """``2025-06-18T05:51:36.000Z`` (the exact format ``huggingface_hub`` parses)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def paper_object(item: PaperItem) -> dict[str, Any]:
    """The inner ``paper`` object of a daily item."""
    data: dict[str, Any] = {
        "id": item.arxiv_id,
        "title": item.title,
        "summary": item.abstract,
        "authors": [{"name": name} for name in item.authors],
        "publishedAt": hf_time(item.published_at),
        "upvotes": item.upvotes,
        "categories": item.categories,
        "numComments": item.num_comments,
    }
    if item.github_repo:
        data["githubRepo"] = item.github_repo
    if item.project_page:
        data["projectPage"] = item.project_page
    if item.ai_keywords:
        data["ai_keywords"] = item.ai_keywords
    if item.ai_summary:
        data["ai_summary"] = item.ai_summary
    if item.featured_at:
        data["submittedOnDailyAt"] = hf_time(item.featured_at)
    return data


def daily_item(item: PaperItem) -> dict[str, Any]:
    """One element of ``/api/daily_papers`` (and of search results)."""
    data: dict[str, Any] = {
        "paper": paper_object(item),
        "publishedAt": hf_time(item.featured_at or item.published_at),
        "title": item.title,
        "summary": item.abstract,
        "numComments": item.num_comments,
        "submittedOnDailyAt": hf_time(item.featured_at) if item.featured_at else None,
    }
    if item.submitted_by:
        data["submittedBy"] = {
            "user": item.submitted_by,
            "name": item.submitted_by,
            "fullname": item.submitted_by,
        }
    if item.feed_date:
        data["feedDate"] = item.feed_date.isoformat()
    return data


def search_item(item: PaperItem) -> dict[str, Any]:
    """A search result: a daily item plus score and highlights."""
    data = daily_item(item)
    data["score"] = item.score
    if item.highlighted_title:
        data["highlightedTitle"] = item.highlighted_title
    if item.highlighted_summary:
        data["highlightedSummary"] = item.highlighted_summary
    return data


def paper_flat(item: PaperItem, feed_days: list[dict], extra: dict) -> dict[str, Any]:
    """``/api/papers/{id}``: the paper as a flat object."""
    data = paper_object(item)
    data["feedDays"] = [d["feed_date"].isoformat() for d in feed_days]
    if item.submitted_by:
        data["submittedBy"] = {
            "user": item.submitted_by,
            "name": item.submitted_by,
            "fullname": item.submitted_by,
        }
    for key, out in (
        ("doi", "doi"),
        ("journal_ref", "journalRef"),
        ("comments", "comments"),
        ("license", "license"),
        ("latest_version", "latestVersion"),
    ):
        if extra.get(key):
            data[out] = extra[key]
    if extra.get("updated_at"):
        data["updatedAt"] = hf_time(extra["updated_at"])
    return data


def paper_markdown(item: PaperItem, feed_days: list[dict], base_url: str) -> str:
    """The paper page as markdown (``GET /papers/{id}.md``)."""
    lines = [f"# {item.title}", ""]
    if item.authors:
        lines += [f"**Authors:** {', '.join(item.authors)}", ""]
    meta = []
    if item.published_at:
        meta.append(f"**Published:** {item.published_at.date().isoformat()}")
    if item.categories:
        meta.append(f"**Categories:** {', '.join(item.categories)}")
    meta.append(f"**Upvotes:** {item.upvotes}")
    lines += [" · ".join(meta), "", "## Abstract", "", item.abstract or "(no abstract)", "", "## Links", ""]
    lines.append(f"- arXiv: {item.abs_url}")
    lines.append(f"- PDF: {item.pdf_url}")
    if item.github_repo:
        lines.append(f"- Code: {item.github_repo}")
    if item.project_page:
        lines.append(f"- Project page: {item.project_page}")
    lines.append(f"- This page: {base_url.rstrip('/')}/papers/{item.arxiv_id}")
    if feed_days:
        lines += ["", "## Featured on", ""]
        lines += [f"- {d['feed_date'].isoformat()}" for d in feed_days]
    return "\n".join(lines) + "\n"
