"""Engine construction and migrations.

SQLite gets WAL, ``busy_timeout`` and ``foreign_keys=ON`` on every connection.
``upgrade(settings)`` runs Alembic to head; tests and the CLI use it (never ``create_all``).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from paperfeed.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine for ``url`` with our per-connection settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


_ENGINES: dict[str, Engine] = {}
_ENGINES_GUARD = threading.Lock()


def _engine_for(url: str) -> Engine:
    with _ENGINES_GUARD:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url)
        return engine


def get_engine(settings: Settings) -> Engine:
    """A process-wide engine for the settings' database (cached per URL)."""
    return _engine_for(settings.resolved_database_url)


def forget_engine(url: str) -> None:
    """Dispose of the cached engine for ``url`` (if any) and forget it (tests drop databases)."""
    with _ENGINES_GUARD:
        engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration's revision id (what ``upgrade`` brings a database to)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(settings: Settings) -> None:
    """Apply every pending migration to the settings' database."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(settings)
    with engine.begin() as connection:
        cfg = alembic_config(settings.resolved_database_url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


_WRITE_LOCKS: dict[int, threading.Lock] = {}


_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager:
    """Serialise this process's short write transactions on SQLite (a no-op elsewhere).

    SQLite allows one writer at a time and makes the others poll with growing sleeps; queueing
    them on a lock in-process first is much faster under contention. Other processes still
    coordinate through SQLite's own lock and ``busy_timeout``.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())
