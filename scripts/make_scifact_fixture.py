"""Cut a small, deterministic subset of the public SciFact train split into a test fixture.

    python scripts/make_scifact_fixture.py [--source ../shared/data/beir/scifact-train]

Writes ``tests/fixtures/scifact_small/`` (BEIR layout, split ``train``): ``--claims`` claims drawn
with a fixed seed, every abstract judged relevant to them, and ``--distractors`` other abstracts
of the same corpus, so the ranking problem keeps SciFact's character (claims in other words than
the abstracts, many near-topic abstracts). ``tests/integration/test_search_quality.py`` scores it
with the shipped search settings and fails when ranking gets worse.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "beir" / "scifact-train"
TARGET = ROOT / "tests" / "fixtures" / "scifact_small"
SEED = 20261205

README = """# scifact_small — a subset of the public SciFact retrieval benchmark (train split)

{claims} claims, the {relevant} abstracts judged relevant to them and {distractors} other abstracts of the
same corpus ({docs} documents), drawn with a fixed seed by `scripts/make_scifact_fixture.py` from
the BEIR-format SciFact train split. Used by `tests/integration/test_search_quality.py` as a
ranking regression test (thresholds a few points under the measured values; see docs/search.md).

SciFact (Wadden et al., "Fact or Fiction: Verifying Scientific Claims", EMNLP 2020): claims
CC BY 4.0; abstracts from S2ORC / Semantic Scholar, ODC-By 1.0. BEIR: Thakur et al., NeurIPS 2021.
Test data only: not part of the installed package.
"""


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--claims", type=int, default=150)
    parser.add_argument("--distractors", type=int, default=650)
    args = parser.parse_args()

    corpus = read_jsonl(args.source / "corpus.jsonl")
    queries = {q["_id"]: q for q in read_jsonl(args.source / "queries.jsonl")}
    qrels: dict[str, list[str]] = {}
    with open(args.source / "qrels" / "train.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(query_id, []).append(doc_id)
    rng = random.Random(SEED)
    chosen = sorted(rng.sample(sorted(qrels), args.claims), key=lambda q: (len(q), q))
    relevant = {d for q in chosen for d in qrels[q]}
    others = sorted(d["_id"] for d in corpus if d["_id"] not in relevant)
    keep = relevant | set(rng.sample(others, args.distractors))

    TARGET.joinpath("qrels").mkdir(parents=True, exist_ok=True)
    with open(TARGET / "corpus.jsonl", "w", encoding="utf-8") as out:
        for doc in corpus:
            if doc["_id"] in keep:
                out.write(json.dumps({"_id": doc["_id"], "title": doc["title"], "text": doc["text"]}) + "\n")
    with open(TARGET / "queries.jsonl", "w", encoding="utf-8") as out:
        for query_id in chosen:
            out.write(json.dumps({"_id": query_id, "text": queries[query_id]["text"]}) + "\n")
    with open(TARGET / "qrels" / "train.tsv", "w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for query_id in chosen:
            for doc_id in qrels[query_id]:
                out.write(f"{query_id}\t{doc_id}\t1\n")
    (TARGET / "README.md").write_text(
        README.format(
            claims=len(chosen), relevant=len(relevant), distractors=len(keep) - len(relevant), docs=len(keep)
        ),
        encoding="utf-8",
    )
    print(json.dumps({"folder": str(TARGET), "docs": len(keep), "queries": len(chosen)}))


if __name__ == "__main__":
    main()
