"""Batched, idempotent upserts of ingested paper records (the SQL half of ``paperfeed.ingest``).

One call stores one batch inside the caller's transaction:

* a record whose source hash is already stored for that paper is *unchanged* and costs nothing
  but one indexed lookup (re-running the same file writes nothing);
* new papers are inserted with their authors and categories in bulk;
* known papers seen with different content are merged field by field (a source only overwrites
  what it actually says) and rewritten only when the merged result differs;
* every inserted or changed paper gets a fresh ``change_seq`` from the ``paper_change`` counter,
  which is what the search indexer follows;
* featured records upsert a feed entry per (paper, day) and refresh the imported upvote base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select, update

from paperfeed.db.bulk import BulkInsert
from paperfeed.db.models import FeedEntry, Paper, PaperAuthor, PaperCategory
from paperfeed.db.sequences import FEED_VERSION, bump_counter, next_change_seqs
from paperfeed.db.upsert import insert_for
from paperfeed.ingest.records import PaperRecord

papers_t = Paper.__table__
authors_t = PaperAuthor.__table__
categories_t = PaperCategory.__table__
feed_t = FeedEntry.__table__

# Paper columns a source may set; ``None`` from a source means "not said", never "erase".
MERGED_FIELDS = (
    "title",
    "abstract",
    "published_at",
    "updated_at",
    "primary_category",
    "doi",
    "journal_ref",
    "comments",
    "license",
    "report_no",
    "submitter",
    "latest_version",
    "github_repo",
    "project_page",
    "ai_summary",
    "ai_keywords",
)


@dataclass
class BatchStats:
    """What one batch did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    feed_entries: int = 0

    def add(self, other: BatchStats) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.feed_entries += other.feed_entries


def source_key(record: PaperRecord, source: str) -> str:
    """Key under which a record's hash is remembered (one per feed day for featured records)."""
    return f"{source}@{record.feed.feed_date.isoformat()}" if record.feed else source


def _paper_values(record: PaperRecord) -> dict:
    return {
        "title": record.title,
        "abstract": record.abstract,
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "primary_category": record.categories[0] if record.categories else None,
        "doi": record.doi,
        "journal_ref": record.journal_ref,
        "comments": record.comments,
        "license": record.license,
        "report_no": record.report_no,
        "submitter": record.submitter,
        "latest_version": record.latest_version,
        "github_repo": record.github_repo,
        "project_page": record.project_page,
        "ai_summary": record.ai_summary,
        "ai_keywords": orjson.dumps(record.ai_keywords).decode() if record.ai_keywords else None,
    }


def store_batch(
    conn: Connection, records: Sequence[PaperRecord], *, source: str, now: datetime
) -> BatchStats:
    """Upsert ``records`` (from ``source``) in the current transaction and return the counts."""
    stats = BatchStats()
    chunk: list[PaperRecord] = []
    seen: set[str] = set()
    for record in records:  # a paper twice in one batch (e.g. featured on two days): split the batch
        if record.arxiv_id in seen:
            stats.add(_store_unique(conn, chunk, source=source, now=now))
            chunk, seen = [], set()
        chunk.append(record)
        seen.add(record.arxiv_id)
    if chunk:
        stats.add(_store_unique(conn, chunk, source=source, now=now))
    if stats.inserted or stats.updated or stats.feed_entries:
        bump_counter(conn, FEED_VERSION)
    return stats


def _store_unique(conn: Connection, records: list[PaperRecord], *, source: str, now: datetime) -> BatchStats:
    stats = BatchStats()
    ids = [r.arxiv_id for r in records]
    existing = {
        row.arxiv_id: (row.id, row.source_hashes)
        for row in conn.execute(
            select(papers_t.c.id, papers_t.c.arxiv_id, papers_t.c.source_hashes).where(
                papers_t.c.arxiv_id.in_(ids)
            )
        )
    }
    new_records: list[PaperRecord] = []
    changed: list[tuple[int, dict, PaperRecord]] = []
    paper_ids: dict[str, int] = {}
    for record in records:
        key = source_key(record, source)
        if record.arxiv_id not in existing:
            new_records.append(record)
            continue
        paper_id, hashes_json = existing[record.arxiv_id]
        paper_ids[record.arxiv_id] = paper_id
        hashes = orjson.loads(hashes_json or "{}")
        if record.record_hash and hashes.get(key) == record.record_hash:
            stats.unchanged += 1
        else:
            hashes[key] = record.record_hash
            changed.append((paper_id, hashes, record))

    if new_records:
        paper_ids.update(_insert_new(conn, new_records, source=source, now=now))
        stats.inserted = len(new_records)
    if changed:
        updated = _merge_changed(conn, changed, now=now)
        stats.updated = updated
        stats.unchanged += len(changed) - updated

    featured = [r for r in records if r.feed is not None]
    changed_ids = {r.arxiv_id for r in new_records} | {r.arxiv_id for _, _, r in changed}
    featured = [r for r in featured if r.arxiv_id in changed_ids]
    if featured:
        stats.feed_entries = _upsert_feed_entries(conn, featured, paper_ids, source=source)
    return stats


_NEW_PAPER_COLUMNS = (
    "arxiv_id",
    *MERGED_FIELDS,
    "base_upvotes",
    "upvotes",
    "base_num_comments",
    "num_comments",
    "source_hashes",
    "change_seq",
    "hidden",
    "created_at",
    "modified_at",
)


def _insert_new(
    conn: Connection, records: list[PaperRecord], *, source: str, now: datetime
) -> dict[str, int]:
    seqs = next_change_seqs(conn, len(records))
    rows = []
    for record, seq in zip(records, seqs, strict=True):
        values = _paper_values(record)
        hashes = orjson.dumps({source_key(record, source): record.record_hash}).decode()
        rows.append(
            (record.arxiv_id, *(values[f] for f in MERGED_FIELDS), 0, 0, 0, 0, hashes, seq, False, now, now)
        )
    BulkInsert(conn, papers_t, _NEW_PAPER_COLUMNS).execute(conn, rows)
    ids = dict(
        conn.execute(
            select(papers_t.c.arxiv_id, papers_t.c.id).where(
                papers_t.c.arxiv_id.in_([r.arxiv_id for r in records])
            )
        ).all()
    )
    _insert_people_and_categories(conn, [(ids[r.arxiv_id], r.authors, r.categories) for r in records])
    return ids


def _insert_people_and_categories(conn: Connection, entries: list[tuple[int, list[str], list[str]]]) -> None:
    """Insert ordered author and category rows for ``(paper_id, authors, categories)`` triples."""
    BulkInsert(conn, authors_t, ("paper_id", "position", "name")).execute(
        conn, [(pid, pos, name) for pid, names, _ in entries for pos, name in enumerate(names)]
    )
    BulkInsert(conn, categories_t, ("paper_id", "position", "category")).execute(
        conn, [(pid, pos, cat) for pid, _, cats in entries for pos, cat in enumerate(dict.fromkeys(cats))]
    )


def _merge_changed(conn: Connection, changed: list[tuple[int, dict, PaperRecord]], *, now: datetime) -> int:
    """Merge records into their stored papers; return how many papers really changed."""
    paper_ids = [paper_id for paper_id, _, _ in changed]
    stored = {
        row.id: row._asdict() for row in conn.execute(select(papers_t).where(papers_t.c.id.in_(paper_ids)))
    }
    stored_authors: dict[int, list[str]] = {pid: [] for pid in paper_ids}
    for row in conn.execute(
        select(authors_t.c.paper_id, authors_t.c.name)
        .where(authors_t.c.paper_id.in_(paper_ids))
        .order_by(authors_t.c.paper_id, authors_t.c.position)
    ):
        stored_authors[row.paper_id].append(row.name)
    stored_categories: dict[int, list[str]] = {pid: [] for pid in paper_ids}
    for row in conn.execute(
        select(categories_t.c.paper_id, categories_t.c.category)
        .where(categories_t.c.paper_id.in_(paper_ids))
        .order_by(categories_t.c.paper_id, categories_t.c.position)
    ):
        stored_categories[row.paper_id].append(row.category)

    content_updates, hash_only = [], []
    replace_authors, replace_categories = [], []
    for paper_id, hashes, record in changed:
        current = stored[paper_id]
        incoming = _paper_values(record)
        merged = {f: (incoming[f] if incoming[f] not in (None, "") else current[f]) for f in MERGED_FIELDS}
        authors = record.authors or stored_authors[paper_id]
        categories = list(dict.fromkeys(record.categories)) or stored_categories[paper_id]
        if record.categories:
            merged["primary_category"] = categories[0]
        hashes_json = orjson.dumps(hashes).decode()
        same = all(merged[f] == current[f] for f in MERGED_FIELDS)
        if same and authors == stored_authors[paper_id] and categories == stored_categories[paper_id]:
            hash_only.append({"pid": paper_id, "hashes": hashes_json})
            continue
        content_updates.append(
            {f"v_{f}": v for f, v in merged.items()} | {"pid": paper_id, "hashes": hashes_json}
        )
        if authors != stored_authors[paper_id]:
            replace_authors.append((paper_id, authors))
        if categories != stored_categories[paper_id]:
            replace_categories.append((paper_id, categories))

    if hash_only:
        conn.execute(
            update(papers_t)
            .where(papers_t.c.id == bindparam("pid"))
            .values(source_hashes=bindparam("hashes")),
            hash_only,
        )
    if content_updates:
        seqs = next_change_seqs(conn, len(content_updates))
        for values, seq in zip(content_updates, seqs, strict=True):
            values["seq"] = seq
        conn.execute(
            update(papers_t)
            .where(papers_t.c.id == bindparam("pid"))
            .values(
                {f: bindparam(f"v_{f}") for f in MERGED_FIELDS}
                | {"source_hashes": bindparam("hashes"), "change_seq": bindparam("seq"), "modified_at": now}
            ),
            content_updates,
        )
    if replace_authors:
        conn.execute(delete(authors_t).where(authors_t.c.paper_id.in_([pid for pid, _ in replace_authors])))
        _insert_people_and_categories(conn, [(pid, names, []) for pid, names in replace_authors])
    if replace_categories:
        conn.execute(
            delete(categories_t).where(categories_t.c.paper_id.in_([pid for pid, _ in replace_categories]))
        )
        _insert_people_and_categories(conn, [(pid, [], cats) for pid, cats in replace_categories])
    return len(content_updates)


def _upsert_feed_entries(
    conn: Connection, records: list[PaperRecord], paper_ids: dict[str, int], *, source: str
) -> int:
    rows = [
        {
            "paper_id": paper_ids[r.arxiv_id],
            "feed_date": r.feed.feed_date,
            "featured_at": r.feed.featured_at,
            "submitted_by": r.feed.submitted_by,
            "upvotes_at_import": r.feed.upvotes,
            "source": source,
        }
        for r in records
        if r.feed is not None
    ]
    insert = insert_for(conn)
    stmt = insert(feed_t)
    stmt = stmt.on_conflict_do_update(
        index_elements=["paper_id", "feed_date"],
        set_={
            "featured_at": stmt.excluded.featured_at,
            "submitted_by": stmt.excluded.submitted_by,
            "upvotes_at_import": stmt.excluded.upvotes_at_import,
        },
    )
    conn.execute(stmt, rows)
    best_import = (
        select(func.coalesce(func.max(feed_t.c.upvotes_at_import), 0))
        .where(feed_t.c.paper_id == papers_t.c.id)
        .scalar_subquery()
    )
    conn.execute(
        update(papers_t)
        .where(papers_t.c.id == bindparam("pid"))
        .values(
            upvotes=papers_t.c.upvotes - papers_t.c.base_upvotes + best_import,
            base_upvotes=best_import,
            num_comments=papers_t.c.num_comments - papers_t.c.base_num_comments + bindparam("n_comments"),
            base_num_comments=bindparam("n_comments"),
        ),
        [{"pid": paper_ids[r.arxiv_id], "n_comments": r.feed.num_comments} for r in records if r.feed],
    )
    return len(rows)
