"""The vector index and its indexer: real embeddings, real files, real SQLite (no mocks)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from sqlalchemy import update

from paperfeed.db.models import Paper
from paperfeed.db.sequences import next_change_seqs
from paperfeed.search.embed import MiniLMEmbedder, document_text
from paperfeed.search.keyword import IndexBusy
from paperfeed.search.vector_indexer import content_hash, update_vector_index
from paperfeed.search.vectors import VectorIndex, VectorIndexError
from tests.conftest import FIXTURES

GESTURE_QUERY = "hand gesture recognition with several sensor modalities"
GESTURE_PAPER = "1812.06145"


@pytest.fixture(scope="module")
def embedder():
    # 128 tokens keeps the suite fast; the index code is the same for any length
    return MiniLMEmbedder(max_length=128)


@pytest.fixture(scope="module")
def papers(embedder):
    """(ids, texts, hashes, vectors) of the first 40 fixture papers."""
    with gzip.open(FIXTURES / "snapshot_300.jsonl.gz", "rt") as handle:
        rows = [json.loads(line) for line, _ in zip(handle, range(40), strict=False)]
    ids = [r["id"] for r in rows]
    texts = [document_text(r["title"], r["abstract"]) for r in rows]
    return ids, texts, [content_hash(t) for t in texts], embedder.embed_documents(texts)


def _ids(hits):
    return [h.arxiv_id for h in hits]


def _filled(tmp_path, papers, embedder, **kwargs) -> VectorIndex:
    ids, _texts, hashes, vectors = papers
    index = VectorIndex(tmp_path / "index", refresh_seconds=0.0, **kwargs)
    index.upsert(ids, vectors, model=embedder.name, hashes=hashes)
    return index


def test_add_and_search_by_cosine(tmp_path, papers, embedder):
    ids, _texts, _hashes, vectors = papers
    index = _filled(tmp_path, papers, embedder)
    assert index.num_docs() == 40 and index.model() == embedder.name
    hits = index.search(vectors[7], 5)
    assert hits[0].arxiv_id == ids[7] and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(index.search(vectors[7], 100)) == 40
    assert index.search(vectors[7], 0) == []
    top = index.search(embedder.embed_query(GESTURE_QUERY), 3)
    assert top[0].arxiv_id == GESTURE_PAPER
    np.testing.assert_allclose(index.vector_of(ids[3]), vectors[3], atol=1e-6)
    assert index.vector_of("9999.99999") is None
    files = {p.name for p in index.current_path().iterdir()}
    assert {"manifest.json", "cursor.json", "seg-000001.vectors.npy", "seg-000001.ids.npy"} <= files


def test_update_remove_and_exclude(tmp_path, papers, embedder):
    ids, _texts, _hashes, vectors = papers
    index = _filled(tmp_path, papers, embedder)
    # paper 0 now carries paper 1's vector: both are exact matches for it
    index.upsert([ids[0]], vectors[1:2], model=embedder.name)
    assert set(_ids(index.search(vectors[1], 2))) == {ids[0], ids[1]}
    assert ids[0] not in _ids(index.search(vectors[0], 3))
    assert index.num_docs() == 40
    index.remove([ids[1], "not-indexed"])
    assert index.num_docs() == 39 and index.vector_of(ids[1]) is None
    assert ids[1] not in _ids(index.search(vectors[1], 40))
    hits = index.search(vectors[5], 3, exclude_ids=[ids[5], ids[0]])
    assert ids[5] not in _ids(hits) and ids[0] not in _ids(hits) and len(hits) == 3


def test_similar_excludes_the_paper_and_exact_duplicates(tmp_path, papers, embedder):
    ids, _texts, hashes, vectors = papers
    index = _filled(tmp_path, papers, embedder)
    index.upsert(["dup-of-3"], vectors[3:4], model=embedder.name, hashes=[hashes[3]])
    similar = _ids(index.similar(ids[3], 5))
    assert len(similar) == 5 and ids[3] not in similar and "dup-of-3" not in similar
    assert index.similar("unknown", 5) == []


def test_hnsw_segments_agree_with_exact_search(tmp_path, papers, embedder):
    ids, _texts, _hashes, vectors = papers
    exact = _filled(tmp_path / "exact", papers, embedder)
    approx = _filled(tmp_path / "hnsw", papers, embedder, hnsw_threshold=10)
    assert (approx.current_path() / "seg-000001.hnsw.faiss").exists()
    for row in (0, 9, 21):
        assert _ids(approx.search(vectors[row], 10)) == _ids(exact.search(vectors[row], 10))
    # removed rows and excluded ids are filtered inside the graph search
    approx.remove([ids[2]])
    hits = _ids(approx.search(vectors[2], 10, exclude_ids=[ids[4]]))
    assert ids[2] not in hits and ids[4] not in hits and len(hits) == 10


def test_a_running_reader_sees_new_generations_and_keeps_working(tmp_path, papers, embedder):
    ids, _texts, hashes, vectors = papers
    writer_side = VectorIndex(tmp_path / "index")
    writer_side.upsert(ids[:20], vectors[:20], model=embedder.name, hashes=hashes[:20])
    reader = VectorIndex(tmp_path / "index", refresh_seconds=0.0)
    stale = VectorIndex(tmp_path / "index", refresh_seconds=3600)
    assert reader.num_docs() == 20 and stale.num_docs() == 20
    first_generation = reader.current_path()
    writer_side.upsert(ids[20:], vectors[20:], model=embedder.name, hashes=hashes[20:])
    assert not first_generation.exists()  # old generation deleted after the swap
    assert reader.num_docs() == 40 and _ids(reader.search(vectors[30], 1)) == [ids[30]]
    # a reader that has not refreshed yet still answers from its memory-mapped generation
    assert stale.num_docs() == 20 and _ids(stale.search(vectors[5], 1)) == [ids[5]]


def test_many_small_commits_are_merged(tmp_path, papers, embedder):
    ids, _texts, _hashes, vectors = papers
    index = VectorIndex(tmp_path / "index", refresh_seconds=0.0, max_segments=4)
    for start in range(0, 40, 4):
        index.upsert(ids[start : start + 4], vectors[start : start + 4], model=embedder.name)
    index.remove(ids[:2])
    generation = index.generation()
    assert len(generation.segments) <= 4 and index.num_docs() == 38
    assert _ids(index.search(vectors[17], 1)) == [ids[17]]
    assert len(list((tmp_path / "index" / "vectors").glob("gen-*"))) == 1


def test_small_segments_become_one_hnsw_segment_and_big_files_are_not_copied(tmp_path, papers, embedder):
    ids, _texts, _hashes, vectors = papers
    index = VectorIndex(tmp_path / "index", refresh_seconds=0.0, hnsw_threshold=12)
    for start in (0, 5, 10):
        index.upsert(ids[start : start + 5], vectors[start : start + 5], model=embedder.name)
    (merged,) = index.generation().segments
    assert merged.hnsw is not None and merged.rows == 15
    big_file = index.current_path() / f"{merged.name}.vectors.npy"
    inode = big_file.stat().st_ino
    index.upsert(ids[15:17], vectors[15:17], model=embedder.name)
    segments = index.generation().segments
    assert [s.hnsw is not None for s in segments] == [True, False]
    # the new generation hard-links the unchanged segment instead of rewriting it
    assert (index.current_path() / big_file.name).stat().st_ino == inode
    assert _ids(index.search(vectors[16], 1)) == [ids[16]]
    assert _ids(index.search(vectors[3], 1)) == [ids[3]]


def test_export_import_round_trip(tmp_path, papers, embedder):
    ids, _texts, _hashes, vectors = papers
    source = _filled(tmp_path / "a", papers, embedder)
    source.remove([ids[0]])
    path = tmp_path / "vectors.npz"
    assert source.export_vectors(path) == 39
    target = VectorIndex(tmp_path / "b", refresh_seconds=0.0)
    assert target.import_vectors(path, expected_model=embedder.name) == 39
    assert target.num_docs() == 39 and target.model() == embedder.name
    for row in (1, 12, 33):
        got, want = target.search(vectors[row], 5), source.search(vectors[row], 5)
        # same neighbours; scores equal up to float32 summation order (segments differ)
        assert [hit.arxiv_id for hit in got] == [hit.arxiv_id for hit in want]
        assert [hit.score for hit in got] == pytest.approx([hit.score for hit in want], abs=1e-6)
    with pytest.raises(VectorIndexError, match="configured model"):
        VectorIndex(tmp_path / "c").import_vectors(path, expected_model="another-model")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a vector export file"):
        target.import_vectors(bad)


def test_one_writer_at_a_time_and_model_mismatch(tmp_path, papers, embedder):
    index = _filled(tmp_path, papers, embedder)
    with index.writer(model=embedder.name, dim=embedder.dim), pytest.raises(IndexBusy):
        index.writer(model=embedder.name, dim=embedder.dim)
    with pytest.raises(VectorIndexError, match="rebuild"):
        index.writer(model="other-model", dim=embedder.dim)


def test_an_interrupted_rebuild_resumes_without_being_published(tmp_path, papers, embedder):
    ids, _texts, hashes, vectors = papers
    index = _filled(tmp_path, papers, embedder)
    published = index.current_path()
    with index.writer(model=embedder.name, dim=embedder.dim, rebuild=True) as writer:
        writer.upsert(ids[:5], vectors[:5], hashes[:5])
        writer.checkpoint(change_seq=5)
    # crashed here: readers still see the old, complete generation
    assert index.current_path() == published and index.num_docs() == 40
    with index.writer(model=embedder.name, dim=embedder.dim, rebuild=True) as writer:
        assert writer.resumed and writer.cursor == 5
        assert writer.known_hashes(ids[:6]) == dict(zip(ids[:5], hashes[:5], strict=True))
        writer.upsert(ids[5:10], vectors[5:10], hashes[5:10])
        writer.commit(change_seq=10)
    assert index.num_docs() == 10 and index.cursor() == 10
    assert [p.name for p in (tmp_path / "index" / "vectors").glob("gen-*")] == [index.current_path().name]


# ------------------------------------------------------------------ the indexer over the database
def _set_paper(engine, arxiv_id, **values):
    with engine.begin() as conn:
        seq = next_change_seqs(conn, 1)[0]
        papers_t = Paper.__table__
        conn.execute(update(papers_t).where(papers_t.c.arxiv_id == arxiv_id).values(change_seq=seq, **values))


def test_indexer_follows_the_change_log(tmp_path, settings, engine, loaded, embedder):
    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    calls = []
    report = update_vector_index(engine, index, embedder, progress=lambda d, t: calls.append((d, t)))
    total = index.num_docs()
    assert report.embedded == total >= 300 and report.reused == 0 and not report.rebuilt
    assert calls and calls[-1][0] == total
    # the paper's words differ ("multimodal training", "dynamic hand-gesture"), yet it comes first
    top3 = _ids(index.search(embedder.embed_query(GESTURE_QUERY), 3))
    assert top3[0] == GESTURE_PAPER

    # nothing changed: nothing embedded, no new generation published
    generation = index.current_path()
    again = update_vector_index(engine, index, embedder)
    assert (again.embedded, again.removed) == (0, 0) and index.current_path() == generation

    # an edit re-embeds one paper; a flag change without new text re-embeds nothing
    _set_paper(engine, GESTURE_PAPER, title="Zebra crossings for quokkas", abstract="Quokkas cross roads.")
    _set_paper(engine, "1812.06145")
    assert update_vector_index(engine, index, embedder).embedded == 1
    assert _ids(index.search(embedder.embed_query("quokkas crossing roads"), 1)) == [GESTURE_PAPER]

    # hidden papers disappear
    _set_paper(engine, GESTURE_PAPER, hidden=True)
    assert update_vector_index(engine, index, embedder).removed == 1
    assert index.vector_of(GESTURE_PAPER) is None and index.num_docs() == total - 1

    # a rebuild reuses the vectors of unchanged papers instead of embedding them again
    rebuilt = update_vector_index(engine, index, embedder, rebuild=True)
    assert rebuilt.rebuilt and rebuilt.embedded == 0 and rebuilt.reused == total - 1
    assert index.num_docs() == total - 1 and len(index.generation().segments) == 1

    # vectors computed elsewhere are imported; the indexer then has nothing to embed
    exported = tmp_path / "vectors.npz"
    index.export_vectors(exported)
    other = VectorIndex(tmp_path / "other-index", refresh_seconds=0.0)
    other.import_vectors(exported, expected_model=embedder.name)
    after_import = update_vector_index(engine, other, embedder)
    assert after_import.embedded == 0 and other.num_docs() == total - 1
    assert other.cursor() == index.cursor()


def test_indexer_rebuilds_when_the_model_changes(settings, engine, embedder, papers):
    # an empty database: the old model's vectors must go, whatever they were
    index = VectorIndex(settings.index_dir, refresh_seconds=0.0)
    ids, _texts, _hashes, vectors = papers
    index.upsert(ids[:3], np.roll(vectors[:3], 1, axis=1), model="some-old-model")
    report = update_vector_index(engine, index, embedder)
    assert report.rebuilt and index.model() == embedder.name and index.num_docs() == 0
    assert index.current_path().is_dir()
