"""Database-level copies for ``paperfeed backup`` / ``restore``.

SQLite uses the online backup API (a consistent snapshot while the site keeps serving and
writing); PostgreSQL uses ``pg_dump -Fc`` / ``pg_restore`` when they are installed.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from paperfeed.errors import InvalidInput


def sqlite_path(url: str) -> Path:
    """The database file of a ``sqlite:///...`` URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up")
    return Path(database)


def backup_sqlite(url: str, target: Path) -> None:
    """Copy the live SQLite database of ``url`` into ``target`` (a new file), online."""
    source = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True, timeout=30)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination, pages=4096)
    finally:
        destination.close()
        source.close()


def restore_sqlite(backup_file: Path, url: str) -> None:
    """Replace the contents of the SQLite database of ``url`` by ``backup_file`` (one step)."""
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    destination = sqlite3.connect(path, timeout=30)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise InvalidInput(
            f"{name} is not installed (Debian: apt-get install postgresql-client); "
            "`paperfeed export` makes a portable copy without it"
        )
    return found


def _run(args: list[str], what: str) -> None:
    completed = subprocess.run(args, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        raise InvalidInput(f"{what} failed: {lines[-1] if lines else f'exit {completed.returncode}'}")


def backup_postgres(url: str, target: Path) -> None:
    """``pg_dump`` the database of ``url`` into ``target`` (custom format, one snapshot)."""
    _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--file={target}",
            f"--dbname={_libpq_url(url)}",
        ],
        "pg_dump",
    )


def restore_postgres(backup_file: Path, url: str) -> None:
    """Replace the database of ``url`` by the dump, in one transaction (all or nothing)."""
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_libpq_url(url)}",
            str(backup_file),
        ],
        "pg_restore",
    )
