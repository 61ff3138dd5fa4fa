"""Build BEIR-format search evaluation sets from the real data in ``../shared/data/``
(or ``$PAPERFEED_SHARED_DATA``).

Targets are Hugging Face daily papers that have both ``ai_keywords`` and an ``ai_summary``; each
target gets two queries, and the target paper is the only relevant document (grade 1):

* ``keywords`` — its ``ai_keywords`` (first six) joined with ", ". HF extracted them from the
  paper, so they share many words with it: this measures word-overlap retrieval (BM25's home turf).
* ``paraphrase`` — its ``ai_summary`` (one generated sentence) with every word that occurs in the
  title removed (case-insensitive, plural "s" ignored). The summary still shares abstract words,
  but not the title's: this measures finding a paper described in other words.

Distractors are arXiv papers from ``arxiv_snapshot_sample.jsonl.gz`` (same period and fields,
mostly cs.CV/cs.CL/cs.AI) that are not targets. Sampling uses a fixed seed, so a re-run gives
the same files.

    python scripts/make_beir_set.py            # both sets
    python scripts/make_beir_set.py --only small
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PAPERFEED_SHARED_DATA") or ROOT.parent / "shared" / "data")
SETS = {
    # name: (output folder, targets, distractors)
    "small": (ROOT / "tests" / "fixtures" / "beir_papers_small", 30, 120),
    "large": (ROOT / "bench" / "data" / "beir_papers", 200, 1800),
}
SEED = 20261124
MAX_KEYWORDS = 6
MAX_QUERY_CHARS = 250
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def title_words(title: str) -> set[str]:
    words = set()
    for token in _WORD.findall(title):
        words.add(_stem(token))
        words.update(_stem(part) for part in re.split(r"[-']", token) if part)
    return words


def paraphrase_query(summary: str, title: str) -> str:
    """The summary without the title's words (hyphenated words go if any part is a title word)."""
    banned = title_words(title)
    kept = []
    for token in _WORD.findall(summary):
        parts = {_stem(token)} | {_stem(p) for p in re.split(r"[-']", token) if p}
        if parts & banned:
            continue
        kept.append(token)
    text = " ".join(kept)
    return text if len(text) <= MAX_QUERY_CHARS else text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]


def load_targets() -> list[dict]:
    seen: dict[str, dict] = {}
    with gzip.open(DATA / "hf_daily_papers.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            paper = record.get("raw", {}).get("paper", {})
            keywords = record.get("ai_keywords") or []
            summary = paper.get("ai_summary")
            if not keywords or not summary or not record.get("summary") or record["arxiv_id"] in seen:
                continue
            seen[record["arxiv_id"]] = {
                "id": record["arxiv_id"],
                "title": _clean(record["title"]),
                "text": _clean(record["summary"]),
                "keywords": [_clean(k) for k in keywords if _clean(k)],
                "ai_summary": _clean(summary),
            }
    return [seen[k] for k in sorted(seen)]


def load_distractors(exclude: set[str]) -> list[dict]:
    out = []
    with gzip.open(DATA / "arxiv_snapshot_sample.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["id"] in exclude or not record.get("abstract"):
                continue
            out.append(
                {"id": record["id"], "title": _clean(record["title"]), "text": _clean(record["abstract"])}
            )
    return out


def write_set(folder: Path, targets: list[dict], distractors: list[dict], rng: random.Random) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    corpus = targets + distractors
    rng.shuffle(corpus)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as handle:
        for doc in corpus:
            handle.write(json.dumps({"_id": doc["id"], "title": doc["title"], "text": doc["text"]}) + "\n")
    queries = []
    for doc in targets:
        keywords = ", ".join(doc["keywords"][:MAX_KEYWORDS])
        queries.append({"_id": f"kw-{doc['id']}", "text": keywords, "metadata": {"type": "keywords"}})
        paraphrase = paraphrase_query(doc["ai_summary"], doc["title"])
        if len(paraphrase.split()) >= 4:
            queries.append(
                {"_id": f"para-{doc['id']}", "text": paraphrase, "metadata": {"type": "paraphrase"}}
            )
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(json.dumps(query) + "\n")
    with open(folder / "qrels" / "test.tsv", "w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for query in queries:
            handle.write(f"{query['_id']}\t{query['_id'].split('-', 1)[1]}\t1\n")
    return {"folder": str(folder), "docs": len(corpus), "queries": len(queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SETS), help="build just one set")
    args = parser.parse_args()
    targets = load_targets()
    distractors = load_distractors({t["id"] for t in targets})
    for name, (folder, n_targets, n_distractors) in SETS.items():
        if args.only and name != args.only:
            continue
        rng = random.Random(f"{SEED}-{name}")
        chosen = rng.sample(targets, n_targets)
        others = rng.sample(distractors, n_distractors)
        print(json.dumps({"set": name, **write_set(folder, chosen, others, rng)}))


if __name__ == "__main__":
    main()
