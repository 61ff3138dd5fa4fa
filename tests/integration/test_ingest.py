"""Ingest into a real, migrated SQLite database: counts, merging, idempotency, the bad-record
policy, damaged input and resume after an interruption.

Every check reads the database back with SQLAlchemy; nothing is mocked. An interruption is
simulated the way it happens for real: an exception (Ctrl-C) raised while the run is going,
here from the ``progress`` callback the CLI uses to draw its bar.
"""

from __future__ import annotations

import ast
import gzip
import json
import os
import zlib
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from paperfeed.db.ingest_runs import resumable_checkpoint
from paperfeed.db.models import FeedEntry, IngestRun, Paper, PaperAuthor, PaperCategory
from paperfeed.db.sequences import current_value
from paperfeed.errors import IngestAborted, InvalidInput
from paperfeed.ingest.service import ingest_file
from tests.conftest import FIXTURES

HF_DIR = FIXTURES / "hf_daily"
SNAPSHOT_300 = FIXTURES / "snapshot_300.jsonl.gz"
# the project's shared data folder sits beside the repository (CI and developer machines)
FULL_HF = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hf_daily_papers.jsonl.gz"

# The real line for 2506.14837 from shared/data/arxiv_snapshot_sample.jsonl.gz (line 15,872);
# the same paper is featured in tests/fixtures/hf_daily/2025-06-20.json.
SNAPSHOT_2506_14837 = (
    '{"id":"2506.14837","submitter":null,"authors":"Chengzhi Xu, Yuyang Wang, Lai Wei, Lichao'
    ' Sun, Weiran Huang","title":"Improved Iterative Refinement for Chart-to-Code Generation '
    'via Structured Instruction","comments":null,"journal-ref":null,"doi":null,"report-no":nu'
    'll,"categories":"cs.CV cs.AI","license":null,"abstract":"Recently, multimodal large lang'
    "uage models (MLLMs) have attracted increasing\\nresearch attention due to their powerful "
    "visual understanding capabilities.\\nWhile they have achieved impressive results on vario"
    "us vision tasks, their\\nperformance on chart-to-code generation remains suboptimal. This"
    " task requires\\nMLLMs to generate executable code that can reproduce a given chart, dema"
    "nding\\nnot only precise visual understanding but also accurate translation of visual\\nel"
    "ements into structured code. Directly prompting MLLMs to perform this complex\\ntask ofte"
    "n yields unsatisfactory results. To address this challenge, we propose\\n{ChartIR}, an it"
    "erative refinement method based on structured instruction.\\nFirst, we distinguish two ta"
    "sks: visual understanding and code translation. To\\naccomplish the visual understanding "
    "component, we design two types of\\nstructured instructions: description and difference. "
    "The description\\ninstruction captures the visual elements of the reference chart, while "
    "the\\ndifference instruction characterizes the discrepancies between the reference\\nchart"
    " and the generated chart. These instructions effectively transform visual\\nfeatures into"
    " language representations, thereby facilitating the subsequent\\ncode translation process"
    ". Second, we decompose the overall chart generation\\npipeline into two stages: initial c"
    "ode generation and iterative refinement,\\nenabling progressive enhancement of the final "
    "output. Experimental results show\\nthat, compared to other method, our method achieves s"
    "uperior performance on\\nboth the open-source model Qwen2-VL and the closed-source model "
    'GPT-4o.","versions":[{"version":"v1","created":"Thu, 19 Jun 2025 00:00:00 GMT"}],"update'
    '_date":"2025-06-19","authors_parsed":[["Xu","Chengzhi",""],["Wang","Yuyang",""],["Wei","'
    'Lai",""],["Sun","Lichao",""],["Huang","Weiran",""]]}'
)


# --- helpers -----------------------------------------------------------------------------


def _source_items(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data["data"]
    return [ast.literal_eval(item) if isinstance(item, str) else item for item in data]


def _snapshot_lines() -> list[bytes]:
    with gzip.open(SNAPSHOT_300, "rb") as handle:
        return handle.read().splitlines(keepends=True)


def _feed_counts(engine) -> dict[date, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(FeedEntry.feed_date, func.count()).group_by(FeedEntry.feed_date))
        return {day: n for day, n in rows}


def _row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            model.__tablename__: conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Paper, PaperAuthor, PaperCategory, FeedEntry)
        }


def _paper(engine, arxiv_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(Paper.__table__).where(Paper.arxiv_id == arxiv_id)).one()
        return dict(row._mapping)


def _authors(engine, arxiv_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(PaperAuthor.name)
                .join(Paper, Paper.id == PaperAuthor.paper_id)
                .where(Paper.arxiv_id == arxiv_id)
                .order_by(PaperAuthor.position)
            ).scalars()
        )


def _categories(engine, arxiv_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(PaperCategory.category)
                .join(Paper, Paper.id == PaperCategory.paper_id)
                .where(Paper.arxiv_id == arxiv_id)
                .order_by(PaperCategory.position)
            ).scalars()
        )


def _feed(engine, arxiv_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(FeedEntry.__table__)
            .join(Paper, Paper.id == FeedEntry.paper_id)
            .where(Paper.arxiv_id == arxiv_id)
            .order_by(FeedEntry.feed_date)
        )
        return [dict(r._mapping) for r in rows]


def _stored_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Paper.arxiv_id)).scalars())


def _runs(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(IngestRun.__table__).order_by(IngestRun.id))]


def _change_state(engine) -> tuple[int, int | None, list[tuple[str, int, datetime]]]:
    with engine.connect() as conn:
        papers = conn.execute(
            select(Paper.arxiv_id, Paper.change_seq, Paper.modified_at).order_by(Paper.id)
        ).all()
        return (
            current_value(conn),
            conn.execute(select(func.max(Paper.change_seq))).scalar(),
            [tuple(p) for p in papers],
        )


def _with_bad_lines(tmp_path: Path, bad: dict[int, bytes], n: int = 10, name: str = "snap.jsonl") -> Path:
    """The first ``n`` real snapshot lines with the given (1-based) lines replaced."""
    lines = _snapshot_lines()[:n]
    for line_no, text in bad.items():
        lines[line_no - 1] = text.rstrip(b"\n") + b"\n"
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def _ids_of(lines: list[bytes]) -> list[str]:
    return [json.loads(line)["id"] for line in lines]


@pytest.fixture
def run_file(settings, engine, clock):
    """``run_file(kind, path, batch_size=None, **kw)``: ingest_file with an optional batch size."""

    def _run(kind: str, path: Path, *, batch_size: int | None = None, **kwargs):
        use = settings.model_copy(update={"ingest_batch_size": batch_size}) if batch_size else settings
        return ingest_file(use, engine, kind, Path(path), clock=clock, **kwargs)

    return _run


# --- loading the fixtures ----------------------------------------------------------------


def test_hf_day_files_counts_per_date_match_the_source(ingest, engine):
    report = ingest("hf-daily", HF_DIR)

    expected = Counter()
    items = {}
    for path in sorted(HF_DIR.glob("*.json")):
        for item in _source_items(path):
            expected[date.fromisoformat(path.stem)] += 1
            items[item["paper"]["id"]] = item
    assert expected == {date(2025, 1, 2): 3, date(2025, 1, 10): 9, date(2025, 6, 20): 2}
    assert _feed_counts(engine) == dict(expected)
    assert (report.records, report.inserted, report.updated, report.feed_entries, report.bad_records) == (
        14,
        14,
        0,
        14,
        0,
    )
    assert report.errors == []
    assert _row_counts(engine)["papers"] == 14

    for arxiv_id, item in items.items():
        paper = _paper(engine, arxiv_id)
        [entry] = _feed(engine, arxiv_id)
        assert paper["upvotes"] == item["paper"]["upvotes"]
        assert paper["base_upvotes"] == item["paper"]["upvotes"]
        assert entry["upvotes_at_import"] == item["paper"]["upvotes"]
        assert paper["num_comments"] == item["numComments"]
        assert entry["submitted_by"] == item["submittedBy"]["name"]
        assert entry["source"] == "hf"
        assert _authors(engine, arxiv_id) == [a["name"] for a in item["paper"]["authors"]]


def test_hf_feed_entry_fields(run_file, engine):
    run_file("hf-daily", HF_DIR)

    [sonic] = _feed(engine, "2506.15154")
    assert sonic["feed_date"] == date(2025, 6, 20)
    assert sonic["featured_at"] == datetime(2025, 6, 20, 4, 32, 59, 96000)
    assert sonic["submitted_by"] == "dorienh"
    assert sonic["upvotes_at_import"] == 2
    [gan] = _feed(engine, "2501.05441")
    assert gan["featured_at"] == datetime(2025, 1, 10, 5, 0)  # no submittedOnDailyAt: start of day
    assert gan["upvotes_at_import"] == 51

    paper = _paper(engine, "2506.15154")
    assert paper["title"] == "SonicVerse: Multi-Task Learning for Music Feature-Informed Captioning"
    assert paper["published_at"] == datetime(2025, 6, 18, 5, 51, 36)
    assert json.loads(paper["ai_keywords"])[:2] == ["multi-task music captioning", "SonicVerse"]
    assert paper["ai_summary"].startswith("SonicVerse, a multi-task music captioning model")
    assert _paper(engine, "2412.19638")["github_repo"] == "https://github.com/XiaoduoAILab/Xmodel-2"
    assert _paper(engine, "2501.05032")["ai_keywords"] is None

    [run] = _runs(engine)
    assert run["status"] == "done"
    assert run["source"] == "hf"
    assert run["location"] == str(HF_DIR.resolve())
    assert (run["records_read"], run["inserted"], run["feed_entries"]) == (14, 14, 14)
    assert run["checkpoint"] is None  # a directory of day files has no line position


def test_snapshot_fixture_ingest(ingest, engine):
    report = ingest("arxiv-snapshot", SNAPSHOT_300)

    assert (report.records, report.inserted, report.updated, report.unchanged, report.feed_entries) == (
        300,
        300,
        0,
        0,
        0,
    )
    lines = _snapshot_lines()
    assert _stored_ids(engine) == set(_ids_of(lines))
    counts = _row_counts(engine)
    assert counts["papers"] == 300
    assert counts["feed_entries"] == 0
    assert counts["paper_authors"] == sum(len(json.loads(x)["authors_parsed"]) for x in lines)
    assert counts["paper_categories"] == sum(len(set(json.loads(x)["categories"].split())) for x in lines)

    assert _authors(engine, "1812.06145") == ["Mahdi Abavisani", "Hamid Reza Vaezi Joze", "Vishal M. Patel"]
    assert _categories(engine, "1812.06145") == ["cs.CV", "cs.AI", "cs.HC", "cs.LG", "stat.ML"]
    paper = _paper(engine, "1812.06145")
    assert paper["primary_category"] == "cs.CV"
    assert paper["published_at"] == datetime(2025, 10, 13)
    assert paper["latest_version"] == 1
    assert paper["upvotes"] == 0
    assert _paper(engine, "1904.11093")["github_repo"] == "https://github.com/mahdiabavisani/DSRC"
    # every new paper got its own change number from the counter
    with engine.connect() as conn:
        seqs = sorted(conn.execute(select(Paper.change_seq)).scalars())
        assert seqs == list(range(1, 301))
        assert current_value(conn) == 300


def test_loaded_fixture_has_both_sources(loaded, engine):
    counts = _row_counts(engine)
    assert counts["papers"] == 314  # 300 snapshot + 14 HF, no overlap in the fixtures
    assert counts["feed_entries"] == 14
    assert sum(_feed_counts(engine).values()) == 14
    assert {r["status"] for r in _runs(engine)} == {"done"}


# --- merging -----------------------------------------------------------------------------


def _check_merged(engine):
    assert _row_counts(engine)["papers"] == 2  # 2506.14837 once, plus 2506.15154 from HF only
    paper = _paper(engine, "2506.14837")
    # from the snapshot
    assert _categories(engine, "2506.14837") == ["cs.CV", "cs.AI"]
    assert paper["primary_category"] == "cs.CV"
    assert paper["latest_version"] == 1
    assert paper["updated_at"] == datetime(2025, 6, 19)
    # from HF
    assert paper["ai_summary"].startswith("ChartIR uses structured instruction")
    assert json.loads(paper["ai_keywords"])[-2:] == ["Qwen2-VL", "GPT-4o"]
    assert paper["num_comments"] == 1
    [entry] = _feed(engine, "2506.14837")
    assert (entry["feed_date"], entry["submitted_by"]) == (date(2025, 6, 20), "WaltonFuture")
    # both say these, identically
    assert (
        paper["title"]
        == "Improved Iterative Refinement for Chart-to-Code Generation via Structured Instruction"
    )
    assert _authors(engine, "2506.14837") == [
        "Chengzhi Xu",
        "Yuyang Wang",
        "Lai Wei",
        "Lichao Sun",
        "Weiran Huang",
    ]
    assert paper["abstract"].startswith(
        "Recently, multimodal large language models (MLLMs) have attracted increasing"
    )
    assert set(json.loads(paper["source_hashes"])) == {"snapshot", "hf@2025-06-20"}
    return paper


def test_snapshot_then_hf_merges_into_one_paper(run_file, engine, tmp_path):
    snapshot = tmp_path / "one.jsonl"
    snapshot.write_text(SNAPSHOT_2506_14837 + "\n", encoding="utf-8")

    first = run_file("arxiv-snapshot", snapshot)
    before = _paper(engine, "2506.14837")
    second = run_file("hf-daily", HF_DIR / "2025-06-20.json")

    assert (first.inserted, first.updated) == (1, 0)
    assert (second.inserted, second.updated, second.feed_entries) == (1, 1, 2)
    paper = _check_merged(engine)
    assert paper["published_at"] == datetime(2025, 6, 15, 14, 10, 16)  # HF came last and says it
    assert paper["change_seq"] > before["change_seq"]  # the indexer sees the merge


def test_hf_then_snapshot_merges_into_one_paper(run_file, engine, tmp_path):
    snapshot = tmp_path / "one.jsonl"
    snapshot.write_text(SNAPSHOT_2506_14837 + "\n", encoding="utf-8")

    run_file("hf-daily", HF_DIR / "2025-06-20.json")
    report = run_file("arxiv-snapshot", snapshot)

    assert (report.inserted, report.updated) == (0, 1)
    paper = _check_merged(engine)
    assert paper["published_at"] == datetime(2025, 6, 19)  # the snapshot came last and says it
    assert paper["upvotes"] == 0 and _feed(engine, "2506.14837")[0]["upvotes_at_import"] == 0


def test_paper_featured_on_two_days_keeps_both_entries_and_the_best_upvotes(run_file, engine, tmp_path):
    item = _source_items(HF_DIR / "2025-01-10.json")[0]  # 2501.05441, 51 upvotes
    later = json.loads(json.dumps(item))
    later["paper"]["upvotes"] = 80
    lines = [
        {"date": "2025-01-10", "arxiv_id": "2501.05441", "upvotes": 51, "raw": item},
        {"date": "2025-01-13", "arxiv_id": "2501.05441", "upvotes": 80, "raw": later},
    ]
    path = tmp_path / "two_days.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    report = run_file("hf-daily", path)

    assert (report.records, report.inserted, report.feed_entries) == (2, 1, 2)
    entries = _feed(engine, "2501.05441")
    assert [(e["feed_date"], e["upvotes_at_import"]) for e in entries] == [
        (date(2025, 1, 10), 51),
        (date(2025, 1, 13), 80),
    ]
    assert _paper(engine, "2501.05441")["upvotes"] == 80
    assert _feed_counts(engine) == {date(2025, 1, 10): 1, date(2025, 1, 13): 1}


def test_new_upvote_count_for_the_same_day_refreshes_the_import(run_file, engine, tmp_path):
    run_file("hf-daily", HF_DIR / "2025-06-20.json")
    items = _source_items(HF_DIR / "2025-06-20.json")
    items[0]["paper"]["upvotes"] = 9
    day = tmp_path / "2025-06-20.json"
    day.write_text(json.dumps(items))

    report = run_file("hf-daily", day)

    assert report.inserted == 0
    assert report.feed_entries == 1  # only the item that changed
    assert _paper(engine, "2506.15154")["upvotes"] == 9
    assert _paper(engine, "2506.14837")["upvotes"] == 0
    assert _row_counts(engine)["feed_entries"] == 2


# --- idempotency -------------------------------------------------------------------------


def _flat_jsonl(tmp_path: Path) -> Path:
    lines = []
    for path in sorted(HF_DIR.glob("*.json")):
        for item in _source_items(path):
            lines.append(
                {
                    "date": path.stem,
                    "arxiv_id": item["paper"]["id"],
                    "upvotes": item["paper"]["upvotes"],
                    "raw": item,
                }
            )
    out = tmp_path / "hf.jsonl.gz"
    out.write_bytes(gzip.compress("".join(json.dumps(x) + "\n" for x in lines).encode(), mtime=0))
    return out


@pytest.mark.parametrize("kind", ["arxiv-snapshot", "hf-daily", "hf-jsonl"])
def test_reingesting_the_same_file_is_a_noop(run_file, engine, tmp_path, kind):
    if kind == "arxiv-snapshot":
        path, expected = SNAPSHOT_300, 300
    elif kind == "hf-daily":
        path, expected = HF_DIR, 14
    else:
        kind, path, expected = "hf-daily", _flat_jsonl(tmp_path), 14

    first = run_file(kind, path)
    counts, state = _row_counts(engine), _change_state(engine)
    second = run_file(kind, path)

    assert first.inserted == expected
    assert (second.records, second.inserted, second.updated, second.unchanged) == (expected, 0, 0, expected)
    assert second.feed_entries == 0
    assert second.resumed_from_line == 0  # the first run finished: nothing to resume
    assert _row_counts(engine) == counts
    assert _change_state(engine) == state  # counter, max change_seq, per-paper seq and mtime
    assert [r["status"] for r in _runs(engine)] == ["done", "done"]


def test_reingest_keeps_feed_rows_untouched(run_file, engine):
    run_file("hf-daily", HF_DIR)
    with engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(select(FeedEntry.__table__).order_by(FeedEntry.id))]
    run_file("hf-daily", HF_DIR)
    with engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(select(FeedEntry.__table__).order_by(FeedEntry.id))]
    assert after == before and len(after) == 14


# --- bad records: skip or abort ----------------------------------------------------------


def test_skip_policy_reports_line_numbers_and_stores_the_rest(run_file, engine, tmp_path):
    path = _with_bad_lines(tmp_path, {4: b"{this is not json", 7: b"[1, 2, 3]"})
    lines = _snapshot_lines()[:10]

    report = run_file("arxiv-snapshot", path, on_error="skip")

    assert (report.records, report.inserted, report.bad_records) == (8, 8, 2)
    assert len(report.errors) == 2
    assert report.errors[0].startswith("line 4: invalid JSON")
    assert report.errors[1] == "line 7: unusable record (ValueError: not a JSON object)"
    assert _stored_ids(engine) == set(_ids_of(lines[:3] + lines[4:6] + lines[7:]))
    [run] = _runs(engine)
    assert (run["status"], run["bad_records"], run["records_read"], run["error"]) == ("done", 2, 8, None)
    assert orjson.loads(run["checkpoint"])["line"] == 10


@pytest.mark.parametrize("batch_size", [None, 2])
def test_abort_policy_stops_at_the_bad_line(run_file, engine, tmp_path, batch_size):
    path = _with_bad_lines(tmp_path, {4: b'{"id": "2503.00001"'})
    lines = _snapshot_lines()[:10]

    with pytest.raises(IngestAborted) as info:
        run_file("arxiv-snapshot", path, on_error="abort", batch_size=batch_size)

    message = info.value.message
    assert "line 4: invalid JSON" in message
    assert str(path.resolve()) in message
    assert "\n" not in message
    assert _stored_ids(engine) == set(_ids_of(lines[:3]))  # before it: stored; after it: not
    [run] = _runs(engine)
    assert run["status"] == "failed"
    assert "line 4" in run["error"]
    assert run["records_read"] == 3 and run["bad_records"] == 1
    assert orjson.loads(run["checkpoint"])["line"] == 3  # the bad line is not "done"


def test_abort_on_a_bad_day_file_item(run_file, engine, tmp_path):
    items = _source_items(HF_DIR / "2025-01-10.json")
    items[2]["paper"]["id"] = "not-an-id"
    day = tmp_path / "2025-01-10.json"
    day.write_text(json.dumps(items))

    with pytest.raises(IngestAborted, match=r"2025-01-10\.json item 3: not an arXiv id: 'not-an-id'"):
        run_file("hf-daily", tmp_path, on_error="abort")

    assert _stored_ids(engine) == {"2501.05441", "2501.05453"}
    assert _runs(engine)[0]["status"] == "failed"


# --- damaged gzip ------------------------------------------------------------------------


def test_truncated_gzip_stores_the_good_part_and_fails_clearly(run_file, engine, tmp_path):
    data = SNAPSHOT_300.read_bytes()
    cut = data[: len(data) // 2]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut)
    good = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    assert 0 < good < 300

    with pytest.raises(InvalidInput) as info:
        run_file("arxiv-snapshot", path, batch_size=40)

    assert f"after line {good} " in info.value.message
    assert "truncated" in info.value.message
    assert _stored_ids(engine) == set(_ids_of(_snapshot_lines()[:good]))
    [run] = _runs(engine)
    assert run["status"] == "failed"
    assert f"after line {good} " in run["error"]
    assert run["records_read"] == good
    assert orjson.loads(run["checkpoint"])["line"] == good


# --- resume ------------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """Stands for the user pressing Ctrl-C after some batches were committed."""


def _interrupt_after(batches: int):
    seen = []

    def progress(report):
        seen.append(report.records)
        if len(seen) == batches:
            raise Interrupted

    return progress


def _copy_snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "snapshot.jsonl.gz"
    path.write_bytes(SNAPSHOT_300.read_bytes())
    return path


def test_interrupted_run_resumes_after_the_checkpoint(run_file, engine, tmp_path):
    path = _copy_snapshot(tmp_path)

    with pytest.raises(Interrupted):
        run_file("arxiv-snapshot", path, batch_size=50, progress=_interrupt_after(2))

    lines = _snapshot_lines()
    assert _stored_ids(engine) == set(_ids_of(lines[:100]))
    [run] = _runs(engine)
    assert run["status"] == "failed"
    checkpoint = orjson.loads(run["checkpoint"])
    assert checkpoint == {"size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns, "line": 100}

    report = run_file("arxiv-snapshot", path, batch_size=50)

    assert report.resumed_from_line == 100
    assert (report.records, report.inserted, report.unchanged) == (200, 200, 0)
    assert _stored_ids(engine) == set(_ids_of(lines))
    first, second = _runs(engine)
    assert first["status"] == "interrupted"
    assert second["status"] == "done"
    assert orjson.loads(second["checkpoint"])["line"] == 300

    # finished: a third run reads everything again (and changes nothing)
    again = run_file("arxiv-snapshot", path, batch_size=50)
    assert again.resumed_from_line == 0
    assert (again.records, again.unchanged, again.inserted) == (300, 300, 0)


def test_resumable_checkpoint_after_an_interruption(run_file, engine, tmp_path):
    path = _copy_snapshot(tmp_path)
    with pytest.raises(Interrupted):
        run_file("arxiv-snapshot", path, batch_size=120, progress=_interrupt_after(1))

    with engine.begin() as conn:
        checkpoint = resumable_checkpoint(conn, source="snapshot", location=str(path.resolve()))
        other = resumable_checkpoint(conn, source="hf", location=str(path.resolve()))
    assert checkpoint["line"] == 120
    assert other is None
    assert _runs(engine)[0]["status"] == "interrupted"


def test_resume_false_starts_from_the_top(run_file, engine, tmp_path):
    path = _copy_snapshot(tmp_path)
    with pytest.raises(Interrupted):
        run_file("arxiv-snapshot", path, batch_size=100, progress=_interrupt_after(1))

    report = run_file("arxiv-snapshot", path, batch_size=100, resume=False)

    assert report.resumed_from_line == 0
    assert (report.records, report.unchanged, report.inserted) == (300, 100, 200)


def test_changed_file_is_not_resumed(run_file, engine, tmp_path):
    path = _copy_snapshot(tmp_path)
    with pytest.raises(Interrupted):
        run_file("arxiv-snapshot", path, batch_size=100, progress=_interrupt_after(1))
    # the file is replaced by another one (here: only its first 250 lines, uncompressed)
    path.write_bytes(gzip.compress(b"".join(_snapshot_lines()[:250]), mtime=0))

    report = run_file("arxiv-snapshot", path, batch_size=100)

    assert report.resumed_from_line == 0
    assert (report.records, report.unchanged, report.inserted) == (250, 100, 150)


def test_abort_then_rerun_meets_the_bad_line_again(run_file, engine, tmp_path):
    path = _with_bad_lines(tmp_path, {4: b"{oops"})

    for _ in range(2):
        with pytest.raises(IngestAborted, match="line 4: invalid JSON"):
            run_file("arxiv-snapshot", path, on_error="abort")

    runs = _runs(engine)
    assert [r["status"] for r in runs] == ["interrupted", "failed"]
    assert _row_counts(engine)["papers"] == 3

    # the same file with the skip policy resumes after line 3 and still reports line 4
    report = run_file("arxiv-snapshot", path, on_error="skip")
    assert report.resumed_from_line == 3
    assert report.errors and report.errors[0].startswith("line 4: invalid JSON")
    assert (report.records, report.inserted, report.bad_records) == (6, 6, 1)
    assert _row_counts(engine)["papers"] == 9


def test_fixed_file_after_abort_is_read_from_the_top(run_file, engine, tmp_path):
    path = _with_bad_lines(tmp_path, {4: b"{oops"})
    with pytest.raises(IngestAborted):
        run_file("arxiv-snapshot", path, on_error="abort")
    stat = path.stat()
    path.write_bytes(b"".join(_snapshot_lines()[:10]))  # the fixed file
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    report = run_file("arxiv-snapshot", path, on_error="abort")

    assert report.resumed_from_line == 0
    assert (report.records, report.unchanged, report.inserted, report.bad_records) == (10, 3, 7, 0)
    assert _stored_ids(engine) == set(_ids_of(_snapshot_lines()[:10]))


# --- bad arguments -----------------------------------------------------------------------


def test_unknown_path_is_invalid_input(run_file, engine, tmp_path):
    missing = tmp_path / "nope.jsonl.gz"
    for kind in ("arxiv-snapshot", "hf-daily"):
        with pytest.raises(InvalidInput) as info:
            run_file(kind, missing)
        assert info.value.message == f"no such file or directory: {missing}"
    assert _runs(engine) == []  # refused before a run was recorded


def test_unknown_kind_is_invalid_input(run_file, engine):
    with pytest.raises(InvalidInput, match="unknown ingest source 'kaggle'"):
        run_file("kaggle", SNAPSHOT_300)
    assert _runs(engine) == []


def test_directory_as_snapshot_is_invalid_input(run_file, engine):
    with pytest.raises(InvalidInput, match="expected a file, got a directory"):
        run_file("arxiv-snapshot", HF_DIR)
    assert _row_counts(engine)["papers"] == 0
    assert [r["status"] for r in _runs(engine)] == ["failed"]


# --- the full HF data set ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not FULL_HF.exists(), reason=f"full HF data set not present at {FULL_HF}")
def test_full_hf_daily_jsonl(run_file, engine):
    source_counts: Counter[str] = Counter()
    upvotes: dict[str, int] = {}
    with gzip.open(FULL_HF, "rb") as handle:
        for line in handle:
            obj = orjson.loads(line)
            source_counts[obj["date"]] += 1
            upvotes[obj["arxiv_id"]] = max(upvotes.get(obj["arxiv_id"], 0), obj["upvotes"])
    assert sum(source_counts.values()) == 9881 and len(source_counts) == 580

    report = run_file("hf-daily", FULL_HF)

    assert (report.records, report.bad_records, report.feed_entries) == (9881, 0, 9881)
    assert report.inserted == 9877  # 4 papers were featured on two days
    counts = _row_counts(engine)
    assert counts["feed_entries"] == 9881
    assert counts["papers"] == 9877
    stored = _feed_counts(engine)
    assert len(stored) == 580
    assert min(stored) == date(2024, 5, 27) and max(stored) == date(2026, 8, 21)
    for day in ("2024-05-27", "2025-01-02", "2025-01-10", "2025-06-20", "2026-04-01", "2026-08-21"):
        assert stored[date.fromisoformat(day)] == source_counts[day], day
    assert {d.isoformat(): n for d, n in stored.items()} == dict(source_counts)
    assert max(stored.values()) == 50

    known = {"2405.15738": 32, "2412.19723": 47, "2501.05441": 51, "2506.15154": 2, "2603.19835": 250}
    for arxiv_id, votes in known.items():
        assert _paper(engine, arxiv_id)["upvotes"] == votes == upvotes[arxiv_id]
    # featured twice: one feed row per day, the paper keeps the larger count
    assert [(e["feed_date"], e["upvotes_at_import"]) for e in _feed(engine, "2604.07429")] == [
        (date(2026, 4, 10), 2),
        (date(2026, 4, 16), 42),
    ]
    assert _paper(engine, "2604.07429")["upvotes"] == 42
    assert _paper(engine, "2405.15738")["github_repo"] == "https://github.com/alibaba/conv-llava"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(FeedEntry.submitted_by.is_(None))).scalar_one() == 224
