"""``paperfeed backup PATH`` / ``paperfeed restore PATH``: a consistent copy of an instance.

A backup is a folder: the database (``database.sqlite3`` via SQLite's online backup API, or
``database.pgdump`` from ``pg_dump``), the generated secret key when the instance uses one (it
signs sessions, CSRF and mail links), and ``manifest.json`` with the schema revision, row counts
and a sha256 per file. Search indexes are derived data and are rebuilt after a restore.
Restoring checks the manifest and every checksum first, so a damaged backup changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from paperfeed import __version__
from paperfeed.config import Settings
from paperfeed.db import backup as db_backup
from paperfeed.db import ops_store
from paperfeed.errors import InvalidInput

FORMAT = "paperfeed-backup"
VERSION = 1
MANIFEST = "manifest.json"
SECRET_FILE = "secret_key"


@dataclass(frozen=True)
class BackupReport:
    """What a backup or restore covered."""

    path: Path
    backend: str
    schema_revision: str | None
    counts: dict[str, int]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _backend(engine: Engine) -> str:
    return "postgresql" if engine.dialect.name == "postgresql" else engine.dialect.name


def _snapshot_facts(engine: Engine) -> tuple[str | None, dict[str, int]]:
    with engine.connect() as conn:
        return ops_store.schema_revision(conn), ops_store.table_counts(conn)


def backup_instance(settings: Settings, engine: Engine, path: Path) -> BackupReport:
    """Write a backup folder at ``path`` (which must not exist or be empty)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidInput(f"{path} already exists and is not an empty folder")
    backend = _backend(engine)
    url = settings.resolved_database_url
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        if backend == "sqlite":
            database = partial / "database.sqlite3"
            db_backup.backup_sqlite(url, database)
        elif backend == "postgresql":
            database = partial / "database.pgdump"
            db_backup.backup_postgres(url, database)
        else:
            raise InvalidInput(f"backups of {backend} databases are not supported")
        files = [database]
        secret = settings.data_dir / SECRET_FILE
        if settings.secret_key is None and secret.exists():
            shutil.copy2(secret, partial / SECRET_FILE)
            os.chmod(partial / SECRET_FILE, 0o600)
            files.append(partial / SECRET_FILE)
        revision, counts = _snapshot_facts(engine)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "createdAt": datetime.now(UTC).isoformat(),
            "paperfeedVersion": __version__,
            "backend": backend,
            "schemaRevision": revision,
            "counts": counts,
            "files": {file.name: _sha256(file) for file in files},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if path.exists():
            path.rmdir()
        partial.rename(path)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupReport(path, backend, revision, counts)


def read_manifest(path: Path) -> dict:
    """Load and verify a backup folder's manifest and file checksums; raise ``InvalidInput``."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise InvalidInput(f"{path} is not a paperfeed backup (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{manifest_path} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InvalidInput(f"{manifest_path}: not a version-{VERSION} paperfeed backup")
    for name, expected in (manifest.get("files") or {}).items():
        file = path / name
        if not file.is_file():
            raise InvalidInput(f"backup is missing {name}")
        if _sha256(file) != expected:
            raise InvalidInput(f"backup file {name} is damaged (checksum mismatch)")
    return manifest


def restore_instance(settings: Settings, engine: Engine, path: Path, *, force: bool = False) -> BackupReport:
    """Replace the instance's database (and generated secret key) by the backup at ``path``.

    Refuses to overwrite an instance that holds papers or users unless ``force``. Stop the
    server first: connections open during a restore would keep seeing the old data.
    """
    manifest = read_manifest(path)
    backend = _backend(engine)
    if manifest["backend"] != backend:
        raise InvalidInput(
            f"backup is of a {manifest['backend']} database but this instance uses {backend}: "
            "move data between backends with `paperfeed export` / `paperfeed import`"
        )
    if not force:
        try:
            _, counts = _snapshot_facts(engine)
        except Exception:  # an empty database without tables is fine to restore into
            counts = {}
        if counts.get("papers") or counts.get("users"):
            raise InvalidInput("this instance already holds data: pass --force to replace it")
    engine.dispose()
    url = settings.resolved_database_url
    if backend == "sqlite":
        db_backup.restore_sqlite(path / "database.sqlite3", url)
    else:
        db_backup.restore_postgres(path / "database.pgdump", url)
    engine.dispose()
    secret = path / SECRET_FILE
    if secret.is_file() and settings.secret_key is None:
        target = settings.data_dir / SECRET_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(secret, target)
        os.chmod(target, 0o600)
    revision, counts = _snapshot_facts(engine)
    return BackupReport(path, backend, revision, counts)
