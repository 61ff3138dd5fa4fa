"""Source parsers on real recorded data: HF day files (all shapes), our flattened HF JSONL,
Kaggle arXiv snapshot lines, the text clean-up they share, and damaged input.

Nothing here touches a database; the integration tests cover storing what these produce.
"""

from __future__ import annotations

import ast
import gzip
import json
import zlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from paperfeed.errors import InvalidInput
from paperfeed.ingest.errors import BadRecord
from paperfeed.ingest.files import is_gzip, open_lines
from paperfeed.ingest.hf_daily import (
    parse_hf_time,
    read_day_file,
    read_flat_jsonl,
    read_hf_daily,
    record_from_flat,
)
from paperfeed.ingest.records import PaperRecord, clean_abstract, clean_title, find_github_repo
from paperfeed.ingest.snapshot import parse_version_date, read_snapshot, record_from_snapshot
from tests.conftest import FIXTURES

HF_DIR = FIXTURES / "hf_daily"
SNAPSHOT_300 = FIXTURES / "snapshot_300.jsonl.gz"
TZ = ZoneInfo("America/New_York")

# The first line of Kaggle's arxiv-metadata-oai-snapshot.json (shown on the data set's page),
# abstract shortened: two versions, LaTeX in `authors`, Unicode in `authors_parsed`, Kaggle's
# two-space abstract indent and trailing newline, hard-wrapped title.
KAGGLE_0704_0001 = (
    r"""{"id":"0704.0001","submitter":"Pavel Nadolsky","""
    r""""authors":"C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan","""
    r""""title":"Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies","""
    r""""comments":"37 pages, 15 figures; published version","journal-ref":"Phys.Rev.D76:013009,2007","""
    r""""doi":"10.1103/PhysRevD.76.013009","report-no":"ANL-HEP-PR-07-12","categories":"hep-ph","""
    r""""license":null,"""
    r""""abstract":"  A fully differential calculation in perturbative quantum chromodynamics is\npresented"""
    r""" for the production of massive photon pairs at hadron colliders. All\nnext-to-leading order"""
    r""" perturbative contributions from quark-antiquark,\ngluon-(anti)quark, and gluon-gluon"""
    r""" subprocesses are included, as well as\nall-orders resummation of initial-state gluon"""
    r""" radiation valid at\nnext-to-next-to-leading logarithmic accuracy.\n","""
    r""""versions":[{"version":"v1","created":"Mon, 2 Apr 2007 19:18:42 GMT"},"""
    r"""{"version":"v2","created":"Tue, 24 Jul 2007 20:10:27 GMT"}],"update_date":"2008-11-13","""
    r""""authors_parsed":[["Balázs","C.",""],["Berger","E. L.",""],["Nadolsky","P. M.",""],"""
    r"""["Yuan","C. -P.",""]]}"""
)

# An old-style (pre-2007) id in the Kaggle line format. The field values are illustrative (not
# copied from arXiv); the shape is Kaggle's: three versions, a name suffix in authors_parsed,
# a code link in the comments, a hard-wrapped abstract with a paragraph break.
KAGGLE_OLD_STYLE = {
    "id": "hep-th/9901001",
    "submitter": "S. James Gates Jr.",
    "authors": "S. James Gates Jr., W. Siegel and M. Rocek",
    "title": "Superspace, or One Thousand and\n  One Lessons in Supersymmetry",
    "comments": (
        "27 pages, LaTeX; code at https://github.com/example-physics/superspace-tools.git,\n  v3: typos"
    ),
    "journal-ref": None,
    "doi": None,
    "report-no": "UMDEPP 99-001",
    "categories": "hep-th math-ph math.MP",
    "license": None,
    "abstract": (
        "  We review superspace methods\nfor supersymmetric field theories.\n"
        "\n  A second\nparagraph follows.\n"
    ),
    "versions": [
        {"version": "v1", "created": "Fri, 1 Jan 1999 00:12:34 GMT"},
        {"version": "v2", "created": "Mon, 15 Feb 1999 10:00:00 GMT"},
        {"version": "v3", "created": "Wed, 3 Mar 1999 17:45:01 GMT"},
    ],
    "update_date": "2008-02-03",
    "authors_parsed": [["Gates", "S. James", "Jr."], ["Siegel", "W.", ""], ["Rocek", "M.", ""]],
}


def _items(path: Path) -> list[dict]:
    """The raw items of a day file, decoded independently of the parser under test."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data["data"]
    return [ast.literal_eval(item) if isinstance(item, str) else item for item in data]


def _records(pairs) -> list[PaperRecord]:
    pairs = list(pairs)
    bad = [item for _, item in pairs if isinstance(item, BadRecord)]
    assert not bad, bad
    return [item for _, item in pairs]


def _snapshot_lines() -> list[bytes]:
    with gzip.open(SNAPSHOT_300, "rb") as handle:
        return handle.read().splitlines(keepends=True)


# --- HF day files ------------------------------------------------------------------------


def test_day_file_plain_json_list():
    records = _records(read_day_file(HF_DIR / "2025-06-20.json", TZ))

    assert [r.arxiv_id for r in records] == ["2506.15154", "2506.14837"]
    first, second = records
    assert first.title == "SonicVerse: Multi-Task Learning for Music Feature-Informed Captioning"
    # the source title is hard-wrapped: "...via\n  Structured Instruction"
    assert (
        second.title
        == "Improved Iterative Refinement for Chart-to-Code Generation via Structured Instruction"
    )
    assert first.authors == ["Anuradha Chopra", "Abhinaba Roy", "Dorien Herremans"]
    assert second.authors == ["Chengzhi Xu", "Yuyang Wang", "Lai Wei", "Lichao Sun", "Weiran Huang"]
    assert [r.feed.upvotes for r in records] == [2, 0]
    assert [r.feed.num_comments for r in records] == [2, 1]
    assert [r.feed.feed_date for r in records] == [date(2025, 6, 20)] * 2
    # submittedOnDailyAt, as naive UTC
    assert first.feed.featured_at == datetime(2025, 6, 20, 4, 32, 59, 96000)
    assert second.feed.featured_at == datetime(2025, 6, 20, 3, 28, 58, 32000)
    assert [r.feed.submitted_by for r in records] == ["dorienh", "WaltonFuture"]
    assert first.published_at == datetime(2025, 6, 18, 5, 51, 36)
    assert second.published_at == datetime(2025, 6, 15, 14, 10, 16)
    assert first.ai_keywords[:3] == ["multi-task music captioning", "SonicVerse", "caption generation"]
    assert len(first.ai_keywords) == 13
    assert first.ai_keywords[-1] == "music feature extractor"
    assert second.ai_keywords[-2:] == ["Qwen2-VL", "GPT-4o"]
    assert first.ai_summary.startswith("SonicVerse, a multi-task music captioning model")
    # abstract: hard wraps joined into one paragraph
    assert first.abstract.startswith(
        "Detailed captions that accurately reflect the characteristics of a music piece can"
    )
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.abstract.endswith("improves the quality and detail of the generated captions.")
    assert first.github_repo is None
    assert first.categories == []  # HF does not say
    assert all(r.record_hash for r in records)
    assert first.record_hash != second.record_hash


def test_day_file_list_of_python_repr_strings():
    path = HF_DIR / "2025-01-02.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert all(isinstance(item, str) for item in raw)  # the shape this test is about

    records = _records(read_day_file(path, TZ))

    assert [r.arxiv_id for r in records] == ["2412.19723", "2412.19638", "2412.20735"]
    assert [r.feed.upvotes for r in records] == [47, 9, 1]
    assert [r.feed.num_comments for r in records] == [1, 3, 1]
    assert [r.feed.submitted_by for r in records] == ["QiushiSun", "valeriaWong", "freesunshine0316"]
    assert (
        records[0].title
        == "OS-Genesis: Automating GUI Agent Trajectory Construction via Reverse Task Synthesis"
    )
    assert records[1].title == "Xmodel-2 Technical Report"
    assert records[0].authors == [
        "Qiushi Sun",
        "Kanzhi Cheng",
        "Zichen Ding",
        "Chuanyang Jin",
        "Yian Wang",
        "Fangzhi Xu",
        "Zhenyu Wu",
        "Chengyou Jia",
        "Liheng Chen",
        "Zhoumianze Liu",
        "Ben Kao",
        "Guohao Li",
        "Junxian He",
        "Yu Qiao",
        "Zhiyong Wu",
    ]
    assert records[1].authors == ["Wang Qun", "Liu Yang", "Lin Qingquan", "Qu Zhijiu", "Jiang Ling"]
    # these older files carry no submittedOnDailyAt: featured at the start of the feed day in
    # the instance time zone (midnight EST = 05:00 UTC)
    assert [r.feed.featured_at for r in records] == [datetime(2025, 1, 2, 5, 0)] * 3
    assert records[0].published_at == datetime(2024, 12, 27, 16, 21, 58)
    assert all(r.ai_keywords is None and r.ai_summary is None for r in records)
    # the GitHub link comes from the abstract ("...available on GitHub at\nhttps://github.com/...")
    assert records[1].github_repo == "https://github.com/XiaoduoAILab/Xmodel-2"
    # a github.io project page is not a repository
    assert records[0].github_repo is None


def test_day_file_wrapped_object_of_repr_strings():
    path = HF_DIR / "2025-01-10.json"
    wrapper = json.loads(path.read_text(encoding="utf-8"))
    assert wrapper["count"] == 9 and wrapper["date"] == "2025-01-10"

    records = _records(read_day_file(path, TZ))

    assert [(r.arxiv_id, r.feed.upvotes) for r in records] == [
        ("2501.05441", 51),
        ("2501.05453", 28),
        ("2501.05032", 23),
        ("2501.04003", 20),
        ("2501.05122", 12),
        ("2501.03489", 11),
        ("2501.05040", 8),
        ("2501.04377", 8),
        ("2501.04828", 6),
    ]
    by_id = {r.arxiv_id: r for r in records}
    assert by_id["2501.05441"].title == "The GAN is dead; long live the GAN! A Modern GAN Baseline"
    assert by_id["2501.05441"].authors == [
        "Yiwen Huang",
        "Aaron Gokaslan",
        "Volodymyr Kuleshov",
        "James Tompkin",
    ]
    assert by_id["2501.05032"].authors == ["Ethem Yağız Çalık", "Talha Rüzgar Akkuş"]
    assert by_id["2501.04828"].authors[:3] == ["Şaziye Betül Özateş", "Tarık Emre Tıraş", "Ece Elif Adak"]
    assert by_id["2501.04828"].authors[-1] == "Esma F. Bilgin Taşdemir"
    assert by_id["2501.05441"].feed.submitted_by == "Skylion007"
    assert by_id["2501.04828"].feed.submitted_by == "stefan-it"
    assert all(r.feed.feed_date == date(2025, 1, 10) for r in records)
    assert all(r.feed.featured_at == datetime(2025, 1, 10, 5, 0) for r in records)
    # \href{https://github.com/...}{text} in the abstract: the repo stops at the brace
    assert by_id["2501.03489"].github_repo == "https://github.com/Nandan91/entropy-guided-attention-llm"
    assert by_id["2501.05040"].github_repo == "https://github.com/InternLM/SWE-Fixer"
    # hard-wrapped long title collapsed
    assert by_id["2501.04377"].title == (
        "On Computational Limits and Provably Efficient Criteria of Visual Autoregressive Models: "
        "A Fine-Grained Complexity Analysis"
    )


def test_all_fixture_items_match_an_independent_decoding():
    for name in ("2025-01-02.json", "2025-01-10.json", "2025-06-20.json"):
        items = _items(HF_DIR / name)
        records = _records(read_day_file(HF_DIR / name, TZ))
        assert len(records) == len(items)
        for item, record in zip(items, records, strict=True):
            paper = item["paper"]
            assert record.arxiv_id == paper["id"]
            assert record.feed.upvotes == paper["upvotes"]
            assert record.authors == [a["name"] for a in paper["authors"]]
            assert record.title == " ".join(item["title"].split())
            assert record.feed.num_comments == item["numComments"]
            assert record.feed.submitted_by == item["submittedBy"]["name"]


def test_directory_reads_day_files_oldest_first_with_line_zero():
    pairs = list(read_hf_daily(HF_DIR, TZ))
    records = _records(pairs)

    assert [line for line, _ in pairs] == [0] * 14
    dates = [r.feed.feed_date for r in records]
    assert dates == sorted(dates)
    assert [d.isoformat() for d in dict.fromkeys(dates)] == ["2025-01-02", "2025-01-10", "2025-06-20"]
    assert len({r.arxiv_id for r in records}) == 14


def test_single_day_file_path_is_read_as_a_day_file():
    records = _records(read_hf_daily(HF_DIR / "2025-01-10.json", TZ))
    assert len(records) == 9
    assert records[0].arxiv_id == "2501.05441"


def test_whole_file_python_repr_day_file(tmp_path):
    items = _items(HF_DIR / "2025-06-20.json")
    path = tmp_path / "2025-06-20.json"
    path.write_text(repr(items), encoding="utf-8")  # True/False/None, single quotes: not JSON
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text(encoding="utf-8"))

    from_repr = _records(read_day_file(path, TZ))
    from_json = _records(read_day_file(HF_DIR / "2025-06-20.json", TZ))

    assert [r.arxiv_id for r in from_repr] == ["2506.15154", "2506.14837"]
    for a, b in zip(from_repr, from_json, strict=True):
        assert (a.title, a.authors, a.abstract, a.feed, a.ai_keywords, a.record_hash) == (
            b.title,
            b.authors,
            b.abstract,
            b.feed,
            b.ai_keywords,
            b.record_hash,
        )


def test_whole_file_python_repr_of_wrapped_object(tmp_path):
    items = _items(HF_DIR / "2025-01-10.json")
    path = tmp_path / "2025-01-10.json"
    path.write_text(repr({"status": "success", "date": "2025-01-10", "count": len(items), "data": items}))

    records = _records(read_day_file(path, TZ))

    assert len(records) == 9
    assert records[0].arxiv_id == "2501.05441" and records[0].feed.upvotes == 51


def test_day_file_with_utf8_bom(tmp_path):
    path = tmp_path / "2025-06-20.json"
    path.write_bytes(b"\xef\xbb\xbf" + (HF_DIR / "2025-06-20.json").read_bytes())

    records = _records(read_day_file(path, TZ))

    assert [r.arxiv_id for r in records] == ["2506.15154", "2506.14837"]


@pytest.mark.parametrize("name", ["papers-2025-06-20.json", "2025-6-20.json", "20250620.json"])
def test_bad_day_file_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes((HF_DIR / "2025-06-20.json").read_bytes())

    pairs = list(read_day_file(path, TZ))

    assert len(pairs) == 1
    line, bad = pairs[0]
    assert line == 0
    assert isinstance(bad, BadRecord)
    assert bad.position == name
    assert bad.reason == "file name is not YYYY-MM-DD.json"


def test_impossible_date_in_day_file_name(tmp_path):
    path = tmp_path / "2025-13-45.json"
    path.write_bytes((HF_DIR / "2025-06-20.json").read_bytes())

    [(line, bad)] = list(read_day_file(path, TZ))

    assert line == 0 and isinstance(bad, BadRecord)
    assert bad.position == "2025-13-45.json"
    assert bad.reason.startswith("unreadable day file")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<html>502 Bad Gateway</html>", "neither JSON nor a Python literal"),
        (b'[{"paper": {"id": "2506.15154"', "neither JSON nor a Python literal"),  # cut short
        (b'{"status": "error", "message": "rate limited"}', "expected a list of papers"),
        (b"42", "expected a list of papers"),
        (b"\xff\xfe\x00\x00garbage", "unreadable day file"),  # not UTF-8
    ],
)
def test_unreadable_day_file(tmp_path, content, reason):
    path = tmp_path / "2025-06-20.json"
    path.write_bytes(content)

    pairs = list(read_day_file(path, TZ))

    assert len(pairs) == 1
    bad = pairs[0][1]
    assert isinstance(bad, BadRecord)
    assert bad.position == "2025-06-20.json"
    assert bad.reason.startswith("unreadable day file")
    assert reason in bad.reason


def test_empty_day_file_list_has_no_records(tmp_path):
    path = tmp_path / "2025-06-21.json"
    path.write_text("[]")
    assert list(read_day_file(path, TZ)) == []


def test_bad_items_inside_a_day_file_are_reported_by_position(tmp_path):
    items = _items(HF_DIR / "2025-06-20.json")
    no_id = json.loads(json.dumps(items[1]))
    del no_id["paper"]["id"]
    bad_id = json.loads(json.dumps(items[1]))
    bad_id["paper"]["id"] = "not-an-id"
    no_title = json.loads(json.dumps(items[1]))
    no_title["title"] = ""
    no_title["paper"]["title"] = "  "
    path = tmp_path / "2025-06-20.json"
    path.write_text(json.dumps([items[0], 17, no_id, bad_id, no_title, "{'broken': "]))

    pairs = list(read_day_file(path, TZ))

    assert len(pairs) == 6
    assert isinstance(pairs[0][1], PaperRecord) and pairs[0][1].arxiv_id == "2506.15154"
    bad = [item for _, item in pairs[1:]]
    assert all(isinstance(b, BadRecord) for b in bad)
    assert [b.position for b in bad] == [f"2025-06-20.json item {i}" for i in range(2, 7)]
    assert "item is not an object" in bad[0].reason
    assert "not an arXiv id: ''" in bad[1].reason
    assert "not an arXiv id: 'not-an-id'" in bad[2].reason
    assert "missing title" in bad[3].reason
    assert "SyntaxError" in bad[4].reason


def test_directory_without_day_files_is_invalid_input(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InvalidInput, match=r"no \.json day files found"):
        list(read_hf_daily(tmp_path, TZ))


def test_missing_hf_path_is_invalid_input(tmp_path):
    with pytest.raises(InvalidInput, match="no such file or directory"):
        list(read_hf_daily(tmp_path / "nope", TZ))


def test_parse_hf_time():
    assert parse_hf_time("2025-06-18T05:51:36.000Z") == datetime(2025, 6, 18, 5, 51, 36)
    assert parse_hf_time("2025-06-18T07:51:36+02:00") == datetime(2025, 6, 18, 5, 51, 36)
    assert parse_hf_time("2025-06-18T05:51:36") == datetime(2025, 6, 18, 5, 51, 36)
    assert parse_hf_time(None) is None
    assert parse_hf_time("") is None


# --- flattened HF JSONL ------------------------------------------------------------------


def _flat_line(item: dict, feed_date: str, **overrides) -> dict:
    """One line of shared/data/hf_daily_papers.jsonl.gz, built the way its README describes."""
    paper = item["paper"]
    line = {
        "date": feed_date,
        "arxiv_id": paper["id"],
        "title": item["title"],
        "summary": paper["summary"],
        "authors": [a["name"] for a in paper["authors"]],
        "published_at": paper["publishedAt"],
        "upvotes": paper["upvotes"],
        "num_comments": item["numComments"],
        "submitted_by": (item.get("submittedBy") or {}).get("name"),
    }
    if paper.get("githubRepo"):
        line["github_repo"] = paper["githubRepo"]
    if paper.get("ai_keywords"):
        line["ai_keywords"] = paper["ai_keywords"]
    line["raw"] = item
    line.update(overrides)
    return line


def test_flat_jsonl_line_from_a_real_item(tmp_path):
    items = _items(HF_DIR / "2025-06-20.json")
    old_items = _items(HF_DIR / "2025-01-02.json")
    path = tmp_path / "hf.jsonl"
    lines = [_flat_line(items[0], "2025-06-20"), _flat_line(old_items[0], "2025-01-02")]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")

    pairs = list(read_hf_daily(path, TZ))
    records = _records(pairs)

    assert [line for line, _ in pairs] == [1, 2]
    day_record = _records(read_day_file(HF_DIR / "2025-06-20.json", TZ))[0]
    flat = records[0]
    assert flat.arxiv_id == "2506.15154"
    assert (flat.title, flat.authors, flat.abstract, flat.published_at) == (
        day_record.title,
        day_record.authors,
        day_record.abstract,
        day_record.published_at,
    )
    assert flat.feed == day_record.feed
    assert flat.feed.featured_at == datetime(2025, 6, 20, 4, 32, 59, 96000)
    assert flat.ai_keywords == day_record.ai_keywords
    assert flat.record_hash  # hash of the line's bytes
    assert records[1].arxiv_id == "2412.19723"
    assert records[1].feed.upvotes == 47
    assert records[1].feed.feed_date == date(2025, 1, 2)
    assert records[1].feed.submitted_by == "QiushiSun"


def test_flat_jsonl_gzip_gives_the_same_records(tmp_path):
    items = _items(HF_DIR / "2025-01-10.json")
    text = "".join(json.dumps(_flat_line(item, "2025-01-10")) + "\n" for item in items)
    plain = tmp_path / "hf.jsonl"
    plain.write_text(text)
    packed = tmp_path / "hf.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode(), mtime=0))
    assert is_gzip(packed) and not is_gzip(plain)

    a = _records(read_hf_daily(plain, TZ))
    b = _records(read_hf_daily(packed, TZ))

    assert [r.arxiv_id for r in a] == [item["paper"]["id"] for item in items]
    assert [(r.arxiv_id, r.feed, r.record_hash) for r in a] == [
        (r.arxiv_id, r.feed, r.record_hash) for r in b
    ]


def test_flat_upvotes_field_wins_over_raw():
    item = _items(HF_DIR / "2025-06-20.json")[0]
    record = record_from_flat(_flat_line(item, "2025-06-20", upvotes=7), TZ)
    assert item["paper"]["upvotes"] == 2
    assert record.feed.upvotes == 7


def test_flat_line_without_raw_uses_the_flat_fields():
    item = _items(HF_DIR / "2025-06-20.json")[1]
    line = _flat_line(item, "2025-06-20", github_repo="https://github.com/example/chartir")
    del line["raw"]

    record = record_from_flat(line, TZ)

    assert record.arxiv_id == "2506.14837"
    assert (
        record.title
        == "Improved Iterative Refinement for Chart-to-Code Generation via Structured Instruction"
    )
    assert record.authors == ["Chengzhi Xu", "Yuyang Wang", "Lai Wei", "Lichao Sun", "Weiran Huang"]
    assert record.published_at == datetime(2025, 6, 15, 14, 10, 16)
    assert record.feed.upvotes == 0
    assert record.feed.num_comments == 1
    assert record.feed.submitted_by == "WaltonFuture"
    assert record.feed.feed_date == date(2025, 6, 20)
    # no submittedOnDailyAt in the flat fields: start of the feed day (EDT = UTC-4)
    assert record.feed.featured_at == datetime(2025, 6, 20, 4, 0)
    assert record.github_repo == "https://github.com/example/chartir"
    assert record.ai_keywords[0] == "multimodal large language models"
    assert record.abstract.startswith("Recently, multimodal large language models (MLLMs) have attracted")


def test_flat_jsonl_bad_lines_keep_their_line_numbers(tmp_path):
    item = _items(HF_DIR / "2025-06-20.json")[0]
    good = json.dumps(_flat_line(item, "2025-06-20"))
    no_date = _flat_line(item, "2025-06-20")
    del no_date["date"]
    path = tmp_path / "hf.jsonl"
    path.write_text("\n".join([good, "", "{oops", "[1, 2]", json.dumps(no_date), good]) + "\n")

    pairs = list(read_flat_jsonl(path, TZ))

    assert [line for line, _ in pairs] == [1, 3, 4, 5, 6]  # the blank line 2 is passed over
    assert isinstance(pairs[0][1], PaperRecord) and isinstance(pairs[4][1], PaperRecord)
    bad = {line: item for line, item in pairs if isinstance(item, BadRecord)}
    assert bad[3].position == "line 3" and bad[3].reason.startswith("invalid JSON")
    assert bad[4].reason == "unusable record (ValueError: not a JSON object)"
    assert bad[5].reason.startswith("unusable record (KeyError")


# --- Kaggle arXiv snapshot ---------------------------------------------------------------


def test_snapshot_fixture_reads_300_records_in_line_order():
    pairs = list(read_snapshot(SNAPSHOT_300))
    records = _records(pairs)

    assert [line for line, _ in pairs] == list(range(1, 301))
    assert len({r.arxiv_id for r in records}) == 300
    assert len({r.record_hash for r in records}) == 300
    assert all(r.title and r.abstract and r.authors and r.categories for r in records)
    assert all(r.feed is None for r in records)
    independent = [json.loads(line)["id"] for line in _snapshot_lines()]
    assert [r.arxiv_id for r in records] == independent


def test_snapshot_real_line_fields():
    line = _snapshot_lines()[0]
    record = record_from_snapshot(json.loads(line))

    assert record.arxiv_id == "1812.06145"
    assert record.title == (
        "Improving the Performance of Unimodal Dynamic Hand-Gesture Recognition with Multimodal Training"
    )
    # authors_parsed = [last, first, suffix] -> "first last", in order
    assert record.authors == ["Mahdi Abavisani", "Hamid Reza Vaezi Joze", "Vishal M. Patel"]
    assert record.categories == ["cs.CV", "cs.AI", "cs.HC", "cs.LG", "stat.ML"]
    assert record.published_at == datetime(2025, 10, 13, 0, 0)
    assert record.updated_at == datetime(2025, 10, 13)  # one version: update_date
    assert record.latest_version == 1
    assert record.abstract.startswith(
        "We present an efficient approach for leveraging the knowledge from multiple modalities"
    )
    assert "\n" not in record.abstract
    assert '"spatiotemporal semantic alignment" loss (SSA)' in record.abstract
    assert (record.comments, record.doi, record.journal_ref, record.license, record.submitter) == (None,) * 5
    assert record.github_repo is None


def test_snapshot_multi_version_kaggle_line(tmp_path):
    path = tmp_path / "kaggle.json"
    path.write_text(KAGGLE_0704_0001 + "\n", encoding="utf-8")

    [(line_no, record)] = list(read_snapshot(path))

    assert line_no == 1
    assert record.arxiv_id == "0704.0001"
    assert (
        record.title
        == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert record.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert record.published_at == datetime(2007, 4, 2, 19, 18, 42)  # first version
    assert record.updated_at == datetime(2007, 7, 24, 20, 10, 27)  # last version, not update_date
    assert record.latest_version == 2
    assert record.categories == ["hep-ph"]
    assert record.doi == "10.1103/PhysRevD.76.013009"
    assert record.journal_ref == "Phys.Rev.D76:013009,2007"
    assert record.report_no == "ANL-HEP-PR-07-12"
    assert record.submitter == "Pavel Nadolsky"
    assert record.comments == "37 pages, 15 figures; published version"
    assert record.license is None
    # Kaggle's two-space indent and trailing newline are gone, wraps joined
    assert record.abstract.startswith(
        "A fully differential calculation in perturbative quantum chromodynamics is presented"
    )
    assert record.abstract.endswith("next-to-next-to-leading logarithmic accuracy.")
    assert "\n" not in record.abstract


def test_snapshot_old_style_id_line(tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(KAGGLE_OLD_STYLE) + "\n")

    [(line_no, record)] = list(read_snapshot(path))

    assert line_no == 1
    assert isinstance(record, PaperRecord)
    assert record.arxiv_id == "hep-th/9901001"
    assert record.title == "Superspace, or One Thousand and One Lessons in Supersymmetry"
    # suffix kept after the last name; order as in authors_parsed
    assert record.authors == ["S. James Gates Jr.", "W. Siegel", "M. Rocek"]
    assert record.categories == ["hep-th", "math-ph", "math.MP"]
    assert record.published_at == datetime(1999, 1, 1, 0, 12, 34)
    assert record.updated_at == datetime(1999, 3, 3, 17, 45, 1)
    assert record.latest_version == 3
    assert record.report_no == "UMDEPP 99-001"
    # repo link in the (hard-wrapped) comments: ".git" and the trailing comma dropped
    assert record.github_repo == "https://github.com/example-physics/superspace-tools"
    assert (
        record.comments
        == "27 pages, LaTeX; code at https://github.com/example-physics/superspace-tools.git, v3: typos"
    )
    # blank line = paragraph break, kept; wraps inside paragraphs joined
    assert record.abstract == (
        "We review superspace methods for supersymmetric field theories.\n\nA second paragraph follows."
    )


def test_versioned_id_in_snapshot_is_normalised():
    obj = dict(KAGGLE_OLD_STYLE, id="hep-th/9901001v3")
    assert record_from_snapshot(obj).arxiv_id == "hep-th/9901001"


@pytest.mark.parametrize(
    ("authors", "parsed", "expected"),
    [
        ("Alice Smith, Bob Jones and Carol White", None, ["Alice Smith", "Bob Jones", "Carol White"]),
        ("Alice Smith, Bob Jones and Carol White", [], ["Alice Smith", "Bob Jones", "Carol White"]),
        ("Alice Smith, Bob Jones, and Carol White", None, ["Alice Smith", "Bob Jones", "Carol White"]),
        ("Alice Smith and Bob Jones", None, ["Alice Smith", "Bob Jones"]),
        ("Alice Smith, Bob\n  Jones and Carol White", None, ["Alice Smith", "Bob Jones", "Carol White"]),
        ("Alexander Sandberg, Andrea Anderson", None, ["Alexander Sandberg", "Andrea Anderson"]),
        (None, None, []),
        # authors_parsed wins over the string when present
        (
            "ignored",
            [["Gates", "S. James", "Jr."], ["ATLAS Collaboration", "", ""], ["Smith", " John  ", ""]],
            ["S. James Gates Jr.", "ATLAS Collaboration", "John Smith"],
        ),
        ("x", [["Solo"]], ["Solo"]),
        ("x", [["", "", ""], ["Doe", "Jane", ""]], ["Jane Doe"]),
    ],
)
def test_snapshot_authors(authors, parsed, expected):
    obj = dict(KAGGLE_OLD_STYLE, authors=authors)
    if parsed is None:
        del obj["authors_parsed"]
    else:
        obj["authors_parsed"] = parsed
    assert record_from_snapshot(obj).authors == expected


def test_snapshot_without_versions_uses_update_date():
    obj = dict(KAGGLE_OLD_STYLE, versions=[])
    record = record_from_snapshot(obj)
    assert record.published_at is None
    assert record.updated_at == datetime(2008, 2, 3)
    assert record.latest_version is None


def test_snapshot_duplicate_categories_keep_first_order():
    record = record_from_snapshot(dict(KAGGLE_OLD_STYLE, categories="cs.CL  cs.AI\ncs.LG"))
    assert record.categories == ["cs.CL", "cs.AI", "cs.LG"]


def test_github_repo_from_real_snapshot_lines():
    records = {r.arxiv_id: r for _, r in read_snapshot(SNAPSHOT_300)}

    # abstract, no scheme, trailing full stop: "...available at:\ngithub.com/mahdiabavisani/DSRC."
    assert records["1904.11093"].github_repo == "https://github.com/mahdiabavisani/DSRC"
    # in the comments (checked first) and the abstract
    assert records["2502.08636"].github_repo == "https://github.com/XingruiWang/Spatial457"
    assert records["2502.08636"].comments == (
        "Published in CVPR 2025 as Highlight. Data and code are released at https://github.com/XingruiWang/Spatial457"
    )
    # www.github.com
    assert records["2503.11787"].github_repo == "https://github.com/sremedios/eclare"
    # the comments only name a github.io page: the repo comes from the abstract
    assert records["2503.11892"].github_repo == "https://github.com/taco-group/DecAlign"
    # a *.github.com / github.io project page or the bare word "Github" is not a repo
    assert records["2503.12052"].github_repo is None
    assert records["2503.12180"].github_repo is None
    assert records["2409.02851"].github_repo is None


def test_invalid_json_line_is_a_bad_record_with_its_line_number(tmp_path):
    lines = _snapshot_lines()[:5]
    lines[2] = b'{"id":"2503.99999","title":\n'
    path = tmp_path / "snap.jsonl"
    path.write_bytes(b"".join(lines))

    pairs = list(read_snapshot(path))

    assert [line for line, _ in pairs] == [1, 2, 3, 4, 5]
    kinds = [type(item).__name__ for _, item in pairs]
    assert kinds == ["PaperRecord", "PaperRecord", "BadRecord", "PaperRecord", "PaperRecord"]
    bad = pairs[2][1]
    assert bad.position == "line 3"
    assert bad.reason.startswith("invalid JSON (")
    assert str(bad).startswith("line 3: invalid JSON")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"[1, 2, 3]", "unusable record (ValueError: not a JSON object)"),
        (b'"just a string"', "unusable record (ValueError: not a JSON object)"),
        (b"42", "unusable record (ValueError: not a JSON object)"),
        (b"null", "unusable record (ValueError: not a JSON object)"),
        (b'{"title": "No id"}', "unusable record (KeyError: 'id')"),
        (b'{"id": "2503.00001", "title": "  "}', "unusable record (ValueError: missing title)"),
        (b'{"id": "nonsense", "title": "T"}', "not an arXiv id: 'nonsense'"),
        (b'{"id": "2503.00001", "title": "T", "versions": [{"version": "v1"}]}', "unusable record (KeyError"),
        (b'{"id": "2503.00001", "title": "T", "versions": [{"created": "yesterday"}]}', "unusable record ("),
        (b'\xff{"id": "2503.00001"}', "invalid JSON"),
    ],
)
def test_unusable_snapshot_lines(tmp_path, text, reason):
    path = tmp_path / "snap.jsonl"
    path.write_bytes(_snapshot_lines()[0] + b"\n" + text + b"\n")

    pairs = list(read_snapshot(path))

    assert [line for line, _ in pairs] == [1, 3]  # blank line 2 passed over, numbering kept
    assert isinstance(pairs[0][1], PaperRecord)
    bad = pairs[1][1]
    assert isinstance(bad, BadRecord)
    assert bad.position == "line 3"
    assert bad.reason.startswith(reason)


def test_snapshot_skip_resumes_after_a_line():
    pairs = list(read_snapshot(SNAPSHOT_300, skip=297))
    assert [line for line, _ in pairs] == [298, 299, 300]
    assert [r.arxiv_id for _, r in pairs] == [json.loads(x)["id"] for x in _snapshot_lines()[297:]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 2 Apr 2007 19:18:42 GMT", datetime(2007, 4, 2, 19, 18, 42)),
        ("Tue, 24 Jul 2007 20:10:27 GMT", datetime(2007, 7, 24, 20, 10, 27)),
        ("Mon, 13 Oct 2025 00:00:00 GMT", datetime(2025, 10, 13)),
        ("2 Apr 2007 19:18:42 GMT", datetime(2007, 4, 2, 19, 18, 42)),
        ("Wed, 3 Mar 1999", datetime(1999, 3, 3)),
    ],
)
def test_parse_version_date(text, expected):
    assert parse_version_date(text) == expected


# --- shared text clean-up ----------------------------------------------------------------


def test_clean_title():
    assert clean_title(
        "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies"
    ) == ("Calculation of prompt diphoton production cross sections at Tevatron and LHC energies")
    assert clean_title("  Tabs\tand   spaces \r\n") == "Tabs and spaces"
    assert clean_title(None) == ""
    assert clean_title("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one line", "one line"),
        ("  Kaggle indent\nwrapped line.\n", "Kaggle indent wrapped line."),
        ("First para\nwrapped.\n\nSecond para\nwrapped.", "First para wrapped.\n\nSecond para wrapped."),
        ("First.\n \nSecond.", "First.\n\nSecond."),
        ("First.\n   \nSecond.", "First.\n\nSecond."),  # blank line made of several spaces
        ("First.\n\t\nSecond.", "First.\n\nSecond."),
        ("First.\r\n\r\nSecond.", "First.\n\nSecond."),  # Windows line ends
        ("\n\nFirst.\n\n\n\nSecond.\n\n", "First.\n\nSecond."),
        ("  A\n  B\n\n  C\n", "A B\n\nC"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_abstract(text, expected):
    assert clean_abstract(text) == expected


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("Code: https://github.com/owner/repo",), "https://github.com/owner/repo"),
        (("Code: https://github.com/owner/repo.",), "https://github.com/owner/repo"),
        (("(see https://github.com/owner/repo).",), "https://github.com/owner/repo"),
        (("[https://github.com/owner/repo]",), "https://github.com/owner/repo"),
        (("at https://github.com/owner/repo; and",), "https://github.com/owner/repo"),
        (("'https://github.com/owner/repo'",), "https://github.com/owner/repo"),
        (("https://github.com/owner/repo.git",), "https://github.com/owner/repo"),
        (("https://github.com/owner/repo.GIT.",), "https://github.com/owner/repo"),
        (("git clone https://github.com/owner/my.repo.git",), "https://github.com/owner/my.repo"),
        (("http://GitHub.com/Owner/Repo/tree/main/src",), "https://github.com/Owner/Repo"),
        (("https://www.github.com/owner/repo",), "https://github.com/owner/repo"),
        (("github.com/owner/repo_1-x",), "https://github.com/owner/repo_1-x"),
        (("\\url{https://github.com/owner/repo}",), "https://github.com/owner/repo"),
        (("https://github.com/features/copilot then https://github.com/x/y",), "https://github.com/x/y"),
        (("https://github.com/orgs/acme/people",), None),
        (("https://github.com/owner",), None),
        (("https://owner.github.io/repo",), None),
        (("https://gist.github.com/someone/0123abcd",), None),  # a gist, not a repository
        (("https://mygithub.com/owner/repo",), None),
        (("https://raw.githubusercontent.com/owner/repo/main/x.py",), None),
        (("Code is available on GitHub.",), None),
        ((None, "", "no links"), None),
        # the first text that has one wins
        (
            (None, "https://github.com/first/one", "https://github.com/second/two"),
            "https://github.com/first/one",
        ),
        (("page https://x.github.io", "code https://github.com/a/b"), "https://github.com/a/b"),
    ],
)
def test_find_github_repo(texts, expected):
    assert find_github_repo(*texts) == expected


# --- damaged files -----------------------------------------------------------------------


def _complete_lines_in(data: bytes) -> int:
    """How many whole lines a truncated gzip stream holds (zlib, independent of open_lines)."""
    decompressor = zlib.decompressobj(wbits=31)
    return decompressor.decompress(data).count(b"\n")


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9])
def test_truncated_gzip_names_the_last_good_line(tmp_path, fraction):
    data = SNAPSHOT_300.read_bytes()
    cut = data[: int(len(data) * fraction)]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut)
    good = _complete_lines_in(cut)
    assert 0 < good < 300

    seen = []
    with pytest.raises(InvalidInput) as info:
        for line_no, item in read_snapshot(path):
            assert isinstance(item, PaperRecord)  # never a half line
            seen.append(line_no)

    assert seen == list(range(1, good + 1))
    message = info.value.message
    assert f"after line {good} " in message
    assert str(path) in message
    assert "truncated" in message
    assert "\n" not in message


def test_truncated_gzip_before_the_first_line(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(SNAPSHOT_300.read_bytes()[:40])
    with pytest.raises(InvalidInput, match="after line 0 "):
        list(open_lines(path))


def test_gzip_missing_only_its_trailer_still_fails(tmp_path):
    # every line is there, but the stream has no CRC/size trailer: the file is damaged
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(SNAPSHOT_300.read_bytes()[:-8])
    lines = []
    with pytest.raises(InvalidInput, match="after line 300 "):
        for line_no, _ in open_lines(path):
            lines.append(line_no)
    assert len(lines) == 300


def test_corrupt_gzip_is_invalid_input(tmp_path):
    data = bytearray(SNAPSHOT_300.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # zeroed block inside the deflate stream
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="damaged or truncated gzip data after line"):
        list(read_snapshot(path))


def test_truncated_flat_hf_gzip(tmp_path):
    items = _items(HF_DIR / "2025-01-10.json")
    text = "".join(json.dumps(_flat_line(item, "2025-01-10")) + "\n" for item in items).encode()
    data = gzip.compress(text, mtime=0)
    cut = data[: len(data) * 2 // 3]
    path = tmp_path / "hf.jsonl.gz"
    path.write_bytes(cut)
    good = _complete_lines_in(cut)
    assert 0 < good < 9

    seen = []
    with pytest.raises(InvalidInput, match=f"after line {good} "):
        for line_no, item in read_hf_daily(path, TZ):
            assert isinstance(item, PaperRecord)
            seen.append(line_no)
    assert seen == list(range(1, good + 1))


def test_open_lines_plain_and_gzip_agree(tmp_path):
    plain = tmp_path / "snap.jsonl"
    plain.write_bytes(gzip.decompress(SNAPSHOT_300.read_bytes()))

    from_plain = list(open_lines(plain))
    from_gzip = list(open_lines(SNAPSHOT_300))

    assert len(from_plain) == 300
    assert from_plain == from_gzip
    assert list(open_lines(plain, skip=299)) == [from_gzip[-1]]


def test_open_lines_last_line_without_newline(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"a\nb")
    assert list(open_lines(path)) == [(1, b"a\n"), (2, b"b")]


def test_open_lines_missing_file_and_directory(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        list(open_lines(tmp_path / "missing.jsonl.gz"))
    with pytest.raises(InvalidInput, match="expected a file, got a directory"):
        list(open_lines(tmp_path))
