"""Reading a BEIR-format retrieval dataset (corpus, queries, qrels) for ``paperfeed eval beir``.

The layout is the one of the BEIR benchmark (https://github.com/beir-cellar/beir):

* ``corpus.jsonl`` (or ``corpus.jsonl.gz``) — one JSON object a line: ``_id``, ``title``, ``text``;
* ``queries.jsonl`` (or ``.gz``) — ``_id``, ``text`` and optionally ``metadata`` (paperfeed's own
  sets put the query type, e.g. ``{"type": "keywords"}``, there; results are also reported per type);
* ``qrels/<split>.tsv`` — tab-separated, a header line ``query-id corpus-id score``, then one
  judgement a line; ``score`` is an integer grade (``0`` = judged not relevant).

Ids are arbitrary strings. Queries without a positive judgement in the split are skipped and
counted. Malformed input raises :class:`BeirFormatError` naming the file and line.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from paperfeed.errors import PaperfeedError


class BeirFormatError(PaperfeedError):
    """A BEIR directory is missing a file or holds a line that cannot be read."""

    code = "invalid_beir_dataset"
    http_status = 422


@dataclass
class BeirDataset:
    """A loaded dataset: ``corpus`` keeps file order; ``qrels[qid][doc_id] = grade``."""

    name: str
    path: Path
    split: str
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    query_types: dict[str, str] = field(default_factory=dict)
    skipped_queries: int = 0

    def limit_queries(self, n: int | None) -> BeirDataset:
        """The same dataset with only the first ``n`` queries (file order)."""
        if n is None or n >= len(self.queries):
            return self
        keep = list(self.queries)[: max(n, 0)]
        return BeirDataset(
            name=self.name,
            path=self.path,
            split=self.split,
            corpus=self.corpus,
            queries={q: self.queries[q] for q in keep},
            qrels={q: self.qrels[q] for q in keep},
            query_types={q: self.query_types[q] for q in keep if q in self.query_types},
            skipped_queries=self.skipped_queries,
        )


def _jsonl_file(directory: Path, stem: str) -> Path:
    for candidate in (directory / f"{stem}.jsonl", directory / f"{stem}.jsonl.gz"):
        if candidate.is_file():
            return candidate
    raise BeirFormatError(f"{directory}: missing {stem}.jsonl (or {stem}.jsonl.gz)")


def _read_lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            yield from enumerate(handle, start=1)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise BeirFormatError(f"{path}: cannot be read ({exc})") from exc


def _jsonl_records(path: Path, required: tuple[str, ...]):
    for number, raw in _read_lines(path):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BeirFormatError(f"{path}:{number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise BeirFormatError(f"{path}:{number}: expected a JSON object")
        for key in required:
            if key not in record:
                raise BeirFormatError(f"{path}:{number}: missing field {key!r}")
        if not isinstance(record["_id"], (str, int)) or str(record["_id"]) == "":
            raise BeirFormatError(f"{path}:{number}: '_id' must be a non-empty string")
        yield number, record


def _text(value: object, path: Path, number: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BeirFormatError(f"{path}:{number}: {name!r} must be a string")
    return value


def load_corpus(directory: Path) -> dict[str, tuple[str, str]]:
    """``{doc_id: (title, text)}`` in file order; a repeated id is an error."""
    path = _jsonl_file(directory, "corpus")
    corpus: dict[str, tuple[str, str]] = {}
    for number, record in _jsonl_records(path, ("_id", "text")):
        doc_id = str(record["_id"])
        if doc_id in corpus:
            raise BeirFormatError(f"{path}:{number}: duplicate _id {doc_id!r}")
        corpus[doc_id] = (
            _text(record.get("title"), path, number, "title"),
            _text(record["text"], path, number, "text"),
        )
    if not corpus:
        raise BeirFormatError(f"{path}: the corpus is empty")
    return corpus


def load_queries(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    """``({query_id: text}, {query_id: type})``; the type comes from ``metadata.type`` when present."""
    path = _jsonl_file(directory, "queries")
    queries: dict[str, str] = {}
    types: dict[str, str] = {}
    for number, record in _jsonl_records(path, ("_id", "text")):
        query_id = str(record["_id"])
        if query_id in queries:
            raise BeirFormatError(f"{path}:{number}: duplicate _id {query_id!r}")
        queries[query_id] = _text(record["text"], path, number, "text")
        metadata = record.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("type"), str):
            types[query_id] = metadata["type"]
    return queries, types


def load_qrels(directory: Path, split: str) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: grade}}`` from ``qrels/<split>.tsv`` (header line required)."""
    path = directory / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (directory / "qrels").glob("*.tsv"))
        hint = f" (available splits: {', '.join(available)})" if available else ""
        raise BeirFormatError(f"{path}: missing qrels file for split {split!r}{hint}")
    qrels: dict[str, dict[str, int]] = {}
    for number, raw in _read_lines(path):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split("\t")
        if number == 1:
            if [p.strip().lower() for p in parts[:3]] != ["query-id", "corpus-id", "score"]:
                raise BeirFormatError(
                    f"{path}:1: expected the header line 'query-id<TAB>corpus-id<TAB>score'"
                )
            continue
        if len(parts) != 3:
            raise BeirFormatError(f"{path}:{number}: expected 3 tab-separated columns, got {len(parts)}")
        query_id, doc_id, score = (p.strip() for p in parts)
        try:
            grade = int(score)
        except ValueError as exc:
            raise BeirFormatError(f"{path}:{number}: score {score!r} is not an integer") from exc
        if not query_id or not doc_id:
            raise BeirFormatError(f"{path}:{number}: empty query-id or corpus-id")
        qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels


def load_beir(directory: Path | str, split: str = "test") -> BeirDataset:
    """Read a BEIR directory; queries with no positive judgement in ``split`` are skipped (counted)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BeirFormatError(f"{directory}: not a directory")
    corpus = load_corpus(directory)
    queries, types = load_queries(directory)
    qrels = load_qrels(directory, split)
    kept: dict[str, str] = {}
    kept_qrels: dict[str, dict[str, int]] = {}
    for query_id, text in queries.items():
        judged = qrels.get(query_id, {})
        if any(grade > 0 for grade in judged.values()) and text.strip():
            kept[query_id] = text
            kept_qrels[query_id] = judged
    if not kept:
        raise BeirFormatError(f"{directory}: no query has a positive judgement in qrels/{split}.tsv")
    return BeirDataset(
        name=directory.resolve().name,
        path=directory,
        split=split,
        corpus=corpus,
        queries=kept,
        qrels=kept_qrels,
        query_types={q: t for q, t in types.items() if q in kept},
        skipped_queries=len(queries) - len(kept),
    )
