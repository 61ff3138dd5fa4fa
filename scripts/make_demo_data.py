"""Build the bundled demo data set (src/paperfeed/demo_data/) from the full data in ../shared/data.

Run: ``python scripts/make_demo_data.py [--shared ../shared/data] [--days 62] [--since 2026-06-10]``.
Output is deterministic (sorted, gzip mtime 0). See src/paperfeed/demo_data/README.md.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import orjson

OUT = Path(__file__).resolve().parent.parent / "src" / "paperfeed" / "demo_data"
KEEP_PAPER = (
    "id",
    "title",
    "summary",
    "publishedAt",
    "submittedOnDailyAt",
    "upvotes",
    "githubRepo",
    "projectPage",
    "ai_summary",
    "ai_keywords",
)


def slim_raw(raw: dict) -> dict:
    """The HF item without avatars/author user records (what paperfeed reads, nothing else)."""
    paper = raw.get("paper") or {}
    slim = {k: paper[k] for k in KEEP_PAPER if k in paper}
    slim["authors"] = [{"name": a.get("name")} for a in paper.get("authors") or [] if a.get("name")]
    by = paper.get("submittedOnDailyBy") or {}
    if by.get("user"):
        slim["submittedOnDailyBy"] = {"user": by["user"], "fullname": by.get("fullname")}
    item = {"paper": slim, "title": raw.get("title"), "numComments": raw.get("numComments", 0)}
    submitted = raw.get("submittedBy") or {}
    if submitted.get("name"):
        item["submittedBy"] = {"user": submitted["name"], "fullname": submitted.get("fullname")}
    return item


def write_gz(path: Path, lines: list[bytes]) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        for line in lines:
            gz.write(line + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--days", type=int, default=62, help="newest HF feed days to keep")
    parser.add_argument("--since", default="2026-06-10", help="also keep snapshot papers announced since")
    args = parser.parse_args()

    with gzip.open(args.shared / "hf_daily_papers.jsonl.gz") as handle:
        hf = [orjson.loads(line) for line in handle]
    days = sorted({item["date"] for item in hf})[-args.days :]
    keep = [item for item in hf if item["date"] >= days[0]]
    keep.sort(key=lambda item: (item["date"], item["arxiv_id"]))
    ids = {item["arxiv_id"] for item in keep}
    hf_lines = []
    for item in keep:
        slim = {k: v for k, v in item.items() if k != "raw"}
        slim["raw"] = slim_raw(item["raw"])
        hf_lines.append(orjson.dumps(slim))
    write_gz(OUT / "hf_daily_demo.jsonl.gz", hf_lines)

    snapshot_lines = []
    with gzip.open(args.shared / "arxiv_snapshot_sample.jsonl.gz") as handle:
        for line in handle:
            obj = orjson.loads(line)
            if obj["id"] in ids or obj["update_date"] >= args.since:
                snapshot_lines.append(line.rstrip(b"\n"))
    write_gz(OUT / "arxiv_snapshot_demo.jsonl.gz", snapshot_lines)
    print(f"hf: {len(hf_lines)} items on {len(days)} days ({days[0]}..{days[-1]})")
    print(f"snapshot: {len(snapshot_lines)} papers")


if __name__ == "__main__":
    main()
