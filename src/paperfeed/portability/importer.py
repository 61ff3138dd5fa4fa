"""Reading a whole-instance export back into an empty instance, all or nothing.

:func:`import_instance` streams the file once inside **one** transaction: every line is
validated (:func:`paperfeed.portability.format.check_record`), references are resolved (people by
username, papers by arXiv id, comments by ``exportId``), records are buffered per type and
written in chunks. Any problem — bad JSON, an unknown type, a missing field, a dangling
reference, a duplicate, a missing or disagreeing ``end`` trailer — raises :class:`InvalidInput`
naming the line, and the transaction rolls back, so nothing is written. Memory stays bounded:
only usernames and comment export ids are remembered; papers are looked up per chunk.

Merging into a non-empty instance is not supported: :class:`InstanceNotEmpty` is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from paperfeed.db import portability_store as store
from paperfeed.db.engine import write_lock
from paperfeed.errors import InvalidInput, PaperfeedError
from paperfeed.ingest.files import open_lines
from paperfeed.portability import format as fmt

CHUNK = 2000


class InstanceNotEmpty(PaperfeedError):
    """Import needs an empty instance (no papers, no users)."""

    code = "instance_not_empty"
    http_status = 409


@dataclass
class ImportReport:
    """What an import wrote: records per type, the header it read and the time it took."""

    counts: dict[str, int] = field(default_factory=dict)
    exported_at: str | None = None
    schema: str | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _Import:
    """State of one import: the open transaction, the pending chunk and the reference maps."""

    def __init__(self, conn: Connection, chunk_size: int) -> None:
        self.conn = conn
        self.chunk_size = chunk_size
        self.users: dict[str, int] = {}  # username_key -> new id
        self.user_keys: set[str] = set()  # usernames read so far (written or pending)
        self.comments: set[int] = set()  # export ids seen (they are kept as ids)
        self.pending_type: str | None = None
        self.pending: list[tuple[int, dict[str, Any]]] = []
        self.counts: dict[str, int] = dict.fromkeys(fmt.RECORD_TYPES, 0)

    # ------------------------------------------------------------------ helpers
    def user_id(self, line_no: int, username: str | None, *, what: str = "user") -> int | None:
        if username is None:
            return None
        user_id = self.users.get(username.lower())
        if user_id is None:
            raise InvalidInput(f'line {line_no}: {what} "{username}" is not defined earlier in the file')
        return user_id

    def add(self, line_no: int, kind: str, values: dict[str, Any]) -> None:
        if kind != self.pending_type or len(self.pending) >= self.chunk_size:
            self.flush()
            self.pending_type = kind
        self.check_now(line_no, kind, values)
        self.pending.append((line_no, values))
        self.counts[kind] += 1

    def check_now(self, line_no: int, kind: str, values: dict[str, Any]) -> None:
        """Checks that need no database: references to users and comments, unique export ids."""
        if kind == fmt.USER:
            key = values["username"].lower()
            if key in self.user_keys:
                raise InvalidInput(f'line {line_no}: user "{values["username"]}" appears twice')
            self.user_keys.add(key)
        elif kind == fmt.COMMENT:
            export_id, parent = values["exportId"], values["parent"]
            if export_id in self.comments:
                raise InvalidInput(f"line {line_no}: comment exportId {export_id} appears twice")
            if parent is not None and parent not in self.comments:
                raise InvalidInput(
                    f"line {line_no}: comment {export_id} replies to comment {parent}, "
                    "which is not defined earlier in the file"
                )
            self.comments.add(export_id)
        elif kind == fmt.COMMENT_REPORT and values["comment"] not in self.comments:
            raise InvalidInput(
                f"line {line_no}: report of comment {values['comment']}, "
                "which is not defined earlier in the file"
            )

    def paper_ids(self, rows: list[tuple[int, dict[str, Any]]], key: str = "paper") -> dict[str, int]:
        ids = store.paper_ids(self.conn, [v[key] for _, v in rows])
        for line_no, values in rows:
            if values[key] not in ids:
                raise InvalidInput(f"line {line_no}: paper {values[key]} is not defined earlier in the file")
        return ids

    # ------------------------------------------------------------------ writing
    def flush(self) -> None:
        rows, kind = self.pending, self.pending_type
        if not rows:
            return
        self.pending = []
        first, last = rows[0][0], rows[-1][0]
        try:
            self._write(kind, rows)
        except IntegrityError as exc:
            where = f"line {first}" if first == last else f"lines {first}–{last}"
            detail = str(exc.orig).splitlines()[0] if exc.orig is not None else "constraint violated"
            raise InvalidInput(f"{where}: duplicate or conflicting {kind} records ({detail})") from exc

    def _write(self, kind: str, rows: list[tuple[int, dict[str, Any]]]) -> None:
        conn, uid = self.conn, self.user_id
        if kind == fmt.USER:
            self.users.update(store.insert_users(conn, [v for _, v in rows]))
        elif kind == fmt.PAPER:
            store.insert_papers(conn, [v for _, v in rows])
        elif kind == fmt.VOTE:
            ids = self.paper_ids(rows)
            store.insert_votes(conn, [(uid(n, v["user"]), ids[v["paper"]], v["created_at"]) for n, v in rows])
        elif kind == fmt.COMMENT:
            ids = self.paper_ids(rows)
            store.insert_comments(
                conn,
                [
                    (
                        v["exportId"],
                        ids[v["paper"]],
                        uid(n, v["user"]),
                        v["parent"],
                        v["body"],
                        v["body_html"],
                        v["created_at"],
                        v["edited_at"],
                        v["deleted_at"],
                        v["hidden_at"],
                    )
                    for n, v in rows
                ],
            )
        elif kind == fmt.COMMENT_REPORT:
            store.insert_comment_reports(
                conn,
                [
                    (
                        v["comment"],
                        uid(n, v["reporter"], what="reporter"),
                        v["reason"],
                        v["created_at"],
                        v["resolved_at"],
                        uid(n, v["resolved_by"], what="moderator"),
                        v["resolution"],
                    )
                    for n, v in rows
                ],
            )
        elif kind == fmt.LIBRARY_ITEM:
            ids = self.paper_ids(rows)
            store.insert_library_items(
                conn, [(uid(n, v["user"]), ids[v["paper"]], v["created_at"]) for n, v in rows]
            )
        elif kind == fmt.FOLLOW:
            store.insert_follows(
                conn,
                [(uid(n, v["user"]), v["kind"], v["value"], v["mode"], v["created_at"]) for n, v in rows],
            )
        elif kind == fmt.SUBSCRIPTION:
            store.insert_subscriptions(
                conn,
                [
                    (
                        v["email"].lower(),
                        uid(n, v["user"]),
                        v["frequency"],
                        v["status"],
                        v["created_at"],
                        v["confirmed_at"],
                        v["unsubscribed_at"],
                        v["last_error"],
                    )
                    for n, v in rows
                ],
            )


def _decode(line_no: int, raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"line {line_no}: invalid JSON ({exc.msg})") from exc


def import_instance(
    engine: Engine,
    path: Path,
    *,
    chunk_size: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Load the export at ``path`` (plain or gzip) into the empty instance behind ``engine``.

    Raises :class:`InstanceNotEmpty` when the instance has papers or users, and
    :class:`InvalidInput` (naming the file and line) for any problem in the file; in both cases
    nothing is written. ``progress(records_done)`` is called after every chunk.
    """
    started = time.perf_counter()
    path = Path(path)
    report = ImportReport()
    try:
        with write_lock(engine), engine.begin() as conn:
            existing = store.table_counts(conn)
            if existing[fmt.PAPER] or existing[fmt.USER]:
                raise InstanceNotEmpty(
                    f"this instance already has {existing[fmt.PAPER]} papers and {existing[fmt.USER]} users; "
                    "import only into an empty instance (a new data dir / database)"
                )
            state = _Import(conn, chunk_size)
            header_seen = end_counts = None
            last_line = 0
            for line_no, raw in open_lines(path):
                last_line = line_no
                if not raw.strip():
                    continue
                obj = _decode(line_no, raw)
                if header_seen is None:
                    try:
                        fmt.check_header(obj)
                    except InvalidInput as exc:
                        raise InvalidInput(f"line {line_no}: {exc.message}") from exc
                    header_seen = obj
                    report.exported_at, report.schema = obj.get("exportedAt"), obj.get("schema")
                    continue
                if end_counts is not None:
                    raise InvalidInput(f"line {line_no}: data after the end record")
                try:
                    kind, values = fmt.check_record(obj)
                except InvalidInput as exc:
                    raise InvalidInput(f"line {line_no}: {exc.message}") from exc
                if kind == fmt.END:
                    end_counts = values["counts"]
                    end_line = line_no
                    continue
                state.add(line_no, kind, values)
                if progress and sum(state.counts.values()) % chunk_size == 0:
                    progress(sum(state.counts.values()))
            if header_seen is None:
                raise InvalidInput("the file is empty (no paperfeed export header)")
            if end_counts is None:
                raise InvalidInput(
                    f"line {last_line}: the file ends without its end record (truncated export?)"
                )
            state.flush()
            expected = {k: end_counts.get(k, 0) for k in fmt.RECORD_TYPES}
            if expected != state.counts:
                diff = ", ".join(
                    f"{k}: {state.counts[k]} read, {expected[k]} expected"
                    for k in fmt.RECORD_TYPES
                    if expected[k] != state.counts[k]
                )
                raise InvalidInput(
                    f"line {end_line}: the end record's counts disagree with the file ({diff})"
                )
            store.finish_import(conn)
            report.counts = state.counts
    except InvalidInput as exc:
        where = "" if exc.message.startswith(str(path)) or exc.message.startswith("no such") else f"{path}: "
        raise InvalidInput(f"{where}{exc.message} — nothing was imported") from exc
    report.seconds = time.perf_counter() - started
    if progress:
        progress(report.total)
    return report
