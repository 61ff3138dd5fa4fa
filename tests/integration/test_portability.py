"""Whole-instance export → import round trips (``paperfeed export`` / ``paperfeed import``).

A rich instance (the ``loaded`` papers and feed, accounts via ``AccountService``, votes via
``VoteService``, threaded comments, a report, library items, follows and subscriptions) is
exported, imported into a second fresh instance (its own data dir, migrated with Alembic) and
exported again: the two files must be identical. Damaged files must fail naming the line and
leave the target database untouched. The CLI is exercised as a real subprocess.
"""

from __future__ import annotations

import gzip
import io
import os
import uuid
from datetime import datetime

import orjson
import pytest
from sqlalchemy import text

from paperfeed.clock import FixedClock
from paperfeed.community.accounts import AccountService
from paperfeed.community.errors import AuthenticationFailed
from paperfeed.community.ratelimit import RateLimiter
from paperfeed.community.votes import VoteService
from paperfeed.config import Settings
from paperfeed.db import portability_store as store
from paperfeed.db.engine import get_engine, upgrade
from paperfeed.db.sequences import read_counter
from paperfeed.errors import InvalidInput
from paperfeed.portability import InstanceNotEmpty, export_instance, import_instance, open_output
from tests.cli import run_cli
from tests.conftest import TEST_NOW

PAPER = "2501.05441"  # featured on 2025-01-10 with 51 Hugging Face upvotes
OTHER = "2501.05453"
PASSWORD = "correct horse battery"
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
T = datetime(2026, 8, 20, 12, 0)


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )


@pytest.fixture
def target(tmp_path):
    """A second, empty instance (another data dir, migrated)."""
    settings = Settings(
        data_dir=tmp_path / "var2", secret_key="test-secret-key-not-for-production", **CHEAP_ARGON2
    )
    upgrade(settings)
    engine = get_engine(settings)
    yield settings, engine
    engine.dispose()


def services(settings, engine, clock):
    limiter = RateLimiter(engine, settings.model_copy(update={"rate_limit_enabled": False}), clock)
    return AccountService(engine, settings, clock, limiter), VoteService(engine, clock, limiter)


@pytest.fixture
def rich(settings, engine, clock, loaded):
    """The loaded instance plus people, votes, a comment thread, a report, library, follows, mail."""
    accounts, votes = services(settings, engine, clock)
    alice = accounts.sign_up("alice", "alice@example.org", PASSWORD, is_admin=True)
    bob = accounts.sign_up("Bob_2", "bob@example.org", PASSWORD)
    carol = accounts.sign_up("carol", "carol@example.org", PASSWORD)
    for account in (alice, bob, carol):
        votes.set_vote(account, PAPER, True)
    votes.set_vote(carol, OTHER, True)
    accounts.delete_account(carol, PASSWORD)  # her votes stay, anonymous
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET banned_at = :t, ban_reason = 'spam' WHERE username = 'Bob_2'"), {"t": T}
        )
        ids = store.paper_ids(conn, [PAPER, OTHER])
        store.insert_comments(
            conn,
            [
                (
                    1,
                    ids[PAPER],
                    alice.id,
                    None,
                    "Nice *result*",
                    "<p>Nice <em>result</em></p>",
                    T,
                    None,
                    None,
                    None,
                ),
                (2, ids[PAPER], bob.id, 1, "Agreed", "<p>Agreed</p>", T, T, None, None),
                (3, ids[PAPER], None, 2, "", "", T, None, T, None),  # deleted, by a deleted account
                (4, ids[OTHER], bob.id, None, "buy now", "<p>buy now</p>", T, None, None, T),
            ],
        )
        store.insert_comment_reports(conn, [(4, alice.id, "spam", T, T, alice.id, "hidden")])
        # what the comments service keeps: base + comments neither deleted nor hidden
        conn.execute(
            text(
                "UPDATE papers SET num_comments = base_num_comments + (SELECT count(*) FROM comments c "
                "WHERE c.paper_id = papers.id AND c.deleted_at IS NULL AND c.hidden_at IS NULL)"
            )
        )
        store.insert_library_items(conn, [(alice.id, ids[PAPER], T), (alice.id, ids[OTHER], T)])
        store.insert_follows(
            conn,
            [(alice.id, "category", "cs.CL", None, T), (alice.id, "query", "diffusion models", "hybrid", T)],
        )
        store.insert_subscriptions(
            conn,
            [
                ("alice@example.org", alice.id, "daily", "active", T, T, None, None),
                ("someone@example.net", None, "weekly", "pending", T, None, None, None),
            ],
        )
    return engine


def export_bytes(engine, **kwargs) -> bytes:
    out = io.BytesIO()
    export_instance(engine, out, clock=FixedClock(TEST_NOW), **kwargs)
    return out.getvalue()


def lines_of(data: bytes) -> list[dict]:
    return [orjson.loads(line) for line in data.splitlines()]


def write(path, records: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def empty(engine) -> bool:
    with engine.connect() as conn:
        return not any(store.table_counts(conn).values())


def paper_row(engine, arxiv_id: str) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT base_upvotes, upvotes, base_num_comments, num_comments, change_seq, "
                    "(SELECT count(*) FROM votes v WHERE v.paper_id = p.id) AS local_votes "
                    "FROM papers p WHERE arxiv_id = :id"
                ),
                {"id": arxiv_id},
            )
            .mappings()
            .one()
        )


# --------------------------------------------------------------------------- round trips
def test_export_import_export_is_identical(rich, target, clock, tmp_path):
    first = export_bytes(rich)
    records = lines_of(first)
    assert records[0]["format"] == "paperfeed-export" and records[0]["version"] == 1
    assert records[0]["schema"] and records[0]["exportedAt"] == "2026-08-22T15:00:00Z"
    end = records[-1]
    assert end["type"] == "end"
    assert end["counts"]["user"] == 3 and end["counts"]["vote"] == 4 and end["counts"]["comment"] == 4
    assert end["counts"]["comment_report"] == 1 and end["counts"]["library_item"] == 2
    assert end["counts"]["follow"] == 2 and end["counts"]["subscription"] == 2
    assert end["counts"]["paper"] > 300
    assert not any("password_hash" in r for r in records)  # not unless asked
    assert not any(r.get("type") in {"session", "api_token", "feed_token"} for r in records)
    # a featured paper carries its feed entries, authors and categories
    paper = next(r for r in records if r.get("type") == "paper" and r["arxiv_id"] == PAPER)
    assert paper["feed_entries"] and paper["feed_entries"][0]["feed_date"] == "2025-01-10"
    assert paper["authors"] and paper["upvotes"] == 51 + 3
    assert any(r["categories"] for r in records if r.get("type") == "paper")  # from the snapshot
    assert "change_seq" not in paper and "id" not in paper
    anonymous = [r for r in records if r.get("type") == "vote" and r["user"] is None]
    assert len(anonymous) == 2  # carol deleted her account

    target_settings, target_engine = target
    path = tmp_path / "instance.jsonl"
    path.write_bytes(first)
    report = import_instance(target_engine, path, chunk_size=64)
    assert report.counts == end["counts"]
    assert report.schema == records[0]["schema"]

    second = export_bytes(target_engine)
    assert second.splitlines()[1:] == first.splitlines()[1:]
    assert second == first  # same clock: byte for byte

    # counts and derived totals hold on the new instance
    for arxiv_id in (PAPER, OTHER):
        row, old = paper_row(target_engine, arxiv_id), paper_row(rich, arxiv_id)
        assert row["upvotes"] == row["base_upvotes"] + row["local_votes"] == old["upvotes"]
        assert row["num_comments"] == old["num_comments"]
    assert (
        paper_row(target_engine, PAPER)["num_comments"]
        == paper_row(target_engine, PAPER)["base_num_comments"] + 2
    )
    assert (
        paper_row(target_engine, OTHER)["num_comments"]
        == paper_row(target_engine, OTHER)["base_num_comments"]
    )
    assert paper_row(target_engine, PAPER)["upvotes"] == 51 + 3
    with target_engine.connect() as conn:
        assert store.table_counts(conn) == end["counts"]
        # the comment thread keeps its ids and shape
        thread = conn.execute(
            text("SELECT id, parent_id, deleted_at IS NOT NULL FROM comments ORDER BY id")
        ).all()
        assert thread == [(1, None, 0), (2, 1, 0), (3, 2, 1), (4, None, 0)]
        # fresh, distinct change sequence numbers for the indexer, and a new feed version
        seqs = [r[0] for r in conn.execute(text("SELECT change_seq FROM papers"))]
        assert min(seqs) > 0 and len(set(seqs)) == len(seqs)
        assert read_counter(conn) > 0
        feed = conn.execute(text("SELECT count(*) FROM feed_entries")).scalar()
    with rich.connect() as conn:
        assert feed == conn.execute(text("SELECT count(*) FROM feed_entries")).scalar()

    # imported users have no password: they cannot sign in until one is set
    accounts, _ = services(target_settings, target_engine, clock)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("alice", PASSWORD)
    accounts.set_password("alice", "a brand new passphrase")
    assert accounts.authenticate("alice", "a brand new passphrase").is_admin


def test_password_hashes_only_when_asked(rich, target, clock, tmp_path):
    data = export_bytes(rich, include_password_hashes=True)
    users = [r for r in lines_of(data) if r.get("type") == "user"]
    assert users[0]["password_hash"].startswith("$argon2id$")
    assert next(u for u in users if u["username"] == "carol")["password_hash"] is None  # deleted
    path = tmp_path / "with-hashes.jsonl"
    path.write_bytes(data)
    target_settings, target_engine = target
    import_instance(target_engine, path)
    accounts, _ = services(target_settings, target_engine, clock)
    assert accounts.authenticate("alice", PASSWORD).username == "alice"
    assert export_bytes(target_engine, include_password_hashes=True) == data


def test_gzip_round_trip(rich, target, tmp_path):
    path = tmp_path / "instance.jsonl.gz"
    with open_output(path, io.BytesIO()) as out:
        export_instance(rich, out, clock=FixedClock(TEST_NOW))
    assert not (tmp_path / "instance.jsonl.gz.partial").exists()
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    _, target_engine = target
    report = import_instance(target_engine, path)
    assert report.counts["paper"] > 300
    assert export_bytes(target_engine) == gzip.decompress(raw)


def test_import_into_a_non_empty_instance_is_refused(rich, tmp_path):
    path = tmp_path / "instance.jsonl"
    path.write_bytes(export_bytes(rich))
    before = export_bytes(rich)
    with pytest.raises(InstanceNotEmpty, match="already has"):
        import_instance(rich, path)
    assert export_bytes(rich) == before


# --------------------------------------------------------------------------- damaged files
@pytest.fixture
def exported(rich):
    return lines_of(export_bytes(rich))


def index_of(records, predicate) -> int:
    return next(i for i, r in enumerate(records) if predicate(r))


def broken_cases(records: list[dict]):
    """``(name, records or raw bytes, message pattern)`` for each kind of damage."""
    header_v2 = [dict(records[0], version=2), *records[1:]]
    comment2 = index_of(records, lambda r: r.get("type") == "comment" and r["exportId"] == 2)
    dangling_parent = list(records)
    dangling_parent[comment2] = dict(records[comment2], parent=999)
    vote = index_of(records, lambda r: r.get("type") == "vote")
    dangling_paper = list(records)
    dangling_paper[vote] = dict(records[vote], paper="2501.99999")
    dangling_user = list(records)
    dangling_user[vote] = dict(records[vote], user="mallory")
    paper = index_of(records, lambda r: r.get("type") == "paper")
    missing_field = list(records)
    missing_field[paper] = {k: v for k, v in records[paper].items() if k != "title"}
    wrong_type = list(records)
    wrong_type[paper] = dict(records[paper], upvotes="many")
    unknown = [*records[:5], {"type": "gadget"}, *records[5:]]
    dropped_vote = records[:vote] + records[vote + 1 :]
    duplicate_user = [records[0], records[1], records[1], *records[2:]]
    return [
        (
            "bad json",
            ("\n".join(orjson.dumps(r).decode() for r in records[:7]) + "\n{oops\n").encode(),
            "line 8: invalid JSON",
        ),
        ("truncated", records[: len(records) // 2], "ends without its end record"),
        ("no trailer", records[:-1], "ends without its end record"),
        ("unknown type", unknown, "line 6: unknown record type 'gadget'"),
        ("dangling parent", dangling_parent, f"line {comment2 + 1}: comment 2 replies to comment 999"),
        ("dangling paper", dangling_paper, f"line {vote + 1}: paper 2501.99999 is not defined"),
        ("dangling user", dangling_user, f'line {vote + 1}: user "mallory" is not defined'),
        ("missing field", missing_field, f'line {paper + 1}: missing field "title"'),
        ("wrong type", wrong_type, f'line {paper + 1}: field "upvotes" must be an integer'),
        ("counts", dropped_vote, "counts disagree with the file \\(vote: 3 read, 4 expected\\)"),
        ("duplicate user", duplicate_user, 'line 3: user "alice" appears twice'),
        ("header version", header_v2, "line 1: unsupported export version 2"),
        ("not an export", records[1:], "line 1: not a paperfeed export"),
        ("empty", b"", "the file is empty"),
    ]


def test_damaged_files_fail_naming_the_line_and_write_nothing(exported, target, tmp_path):
    _, target_engine = target
    for name, content, pattern in broken_cases(exported):
        path = tmp_path / f"{name.replace(' ', '-')}.jsonl"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            write(path, content)
        with pytest.raises(InvalidInput, match=pattern) as info:
            import_instance(
                target_engine, path, chunk_size=16
            )  # small chunks: writes happen before the error
        assert str(path) in info.value.message and "nothing was imported" in info.value.message, name
        assert empty(target_engine), name
    with target_engine.connect() as conn:
        assert read_counter(conn) == 0


def test_duplicate_papers_are_reported_with_their_lines(exported, target, tmp_path):
    paper = index_of(exported, lambda r: r.get("type") == "paper")
    records = [*exported[: paper + 1], exported[paper], *exported[paper + 1 :]]
    records[-1] = dict(
        records[-1], counts=dict(records[-1]["counts"], paper=records[-1]["counts"]["paper"] + 1)
    )
    path = tmp_path / "dup.jsonl"
    write(path, records)
    _, target_engine = target
    with pytest.raises(InvalidInput, match=r"lines \d+–\d+: duplicate or conflicting paper records"):
        import_instance(target_engine, path, chunk_size=16)
    assert empty(target_engine)


# --------------------------------------------------------------------------- CLI
def test_cli_round_trip(rich, settings, tmp_path):
    dump = tmp_path / "dump.jsonl.gz"
    result = run_cli(settings.data_dir, "export", "--output", str(dump))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "exported 3 users" in result.stderr and "to " + str(dump) in result.stderr

    other = tmp_path / "other"
    imported = run_cli(other, "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    assert "imported 3 users" in imported.stderr and "keyword index:" in imported.stderr
    found = run_cli(other, "search", "transformer", "--mode", "keyword", "--json", "--limit", "3")
    assert found.returncode == 0, found.stderr
    assert orjson.loads(found.stdout)

    again = run_cli(other, "export")  # stdout
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1:] == gzip.decompress(dump.read_bytes()).decode().splitlines()[1:]

    refused = run_cli(other, "import", str(dump))
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "already has" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_cli_rejects_a_damaged_file_with_one_line(exported, tmp_path):
    path = tmp_path / "bad.jsonl"
    write(path, exported[:-1])
    result = run_cli(tmp_path / "fresh", "import", str(path), "--no-index")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: ") and "end record" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0
    missing = run_cli(tmp_path / "fresh", "import", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    wrong = run_cli(tmp_path / "fresh", "export", "--format", "jsonl", "--library", "alice")
    assert wrong.returncode == 1 and "--library" in wrong.stderr


# --------------------------------------------------------------------------- citations
def test_citation_exports(rich, settings):
    from paperfeed.errors import NotFound
    from paperfeed.portability import export_citations

    out = io.BytesIO()
    report = export_citations(rich, out, style="ris", library_user="ALICE", chunk_size=1)
    ris = out.getvalue().decode()
    assert report.counts == {"paper": 2}
    assert ris.count("TY  - PREP") == 2 and ris.count("ER  - ") == 2
    assert f"M1  - arXiv:{PAPER}" in ris and f"M1  - arXiv:{OTHER}" in ris
    assert "\r\n\r\nTY  - PREP" in ris  # records separated across chunks as within one
    with pytest.raises(NotFound):
        export_citations(rich, io.BytesIO(), style="bibtex", library_user="nobody")

    result = run_cli(settings.data_dir, "export", "--format", "bibtex")
    assert result.returncode == 0, result.stderr
    with rich.connect() as conn:
        visible = conn.execute(text("SELECT count(*) FROM papers WHERE NOT hidden")).scalar()
    assert result.stdout.count("@misc{") == visible
    assert "eprint = {" + PAPER + "}" in result.stdout
    keys = [
        line.split("{", 1)[1].rstrip(",") for line in result.stdout.splitlines() if line.startswith("@misc{")
    ]
    assert len(set(keys)) == len(keys)  # unique keys across the whole file
    refused = run_cli(settings.data_dir, "export", "--format", "ris", "--include-password-hashes")
    assert refused.returncode == 1 and "only applies" in refused.stderr


# --------------------------------------------------------------------------- SQLite → PostgreSQL
# the server the storage suite uses; a throwaway database is created (and dropped) for the test
POSTGRES_ADMIN_URL = os.environ.get(
    "PAPERFEED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@/postgres?host=/var/run/postgresql"
)


@pytest.fixture
def postgres_target(tmp_path):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"paperfeed_test_portability_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc.orig}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    settings = Settings(
        data_dir=tmp_path / "pg",
        database_url=url,
        secret_key="test-secret-key-not-for-production",
        **CHEAP_ARGON2,
    )
    upgrade(settings)
    engine = get_engine(settings)
    try:
        yield settings, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
def test_sqlite_instance_moves_to_postgresql(rich, postgres_target, clock, tmp_path):
    data = export_bytes(rich, include_password_hashes=True)
    path = tmp_path / "move.jsonl.gz"
    path.write_bytes(gzip.compress(data))
    settings, engine = postgres_target
    report = import_instance(engine, path, chunk_size=50)
    assert report.counts["paper"] > 300 and report.counts["comment"] == 4
    assert export_bytes(engine, include_password_hashes=True) == data
    accounts, votes = services(settings, engine, clock)
    alice = accounts.authenticate("alice", PASSWORD)
    assert votes.set_vote(alice, OTHER, True).upvotes == paper_row(rich, OTHER)["upvotes"] + 1
    with engine.begin() as conn:  # the comment id sequence moved past the imported ids
        new_id = conn.execute(
            text(
                "INSERT INTO comments (paper_id, body, body_html, created_at) "
                "SELECT id, 'x', 'x', now() FROM papers WHERE arxiv_id = :id RETURNING id"
            ),
            {"id": PAPER},
        ).scalar_one()
    assert new_id == 5
    with pytest.raises(InstanceNotEmpty):
        import_instance(engine, path)
