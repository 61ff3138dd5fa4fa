"""Test databases: SQLite files by default, or fresh PostgreSQL databases when asked.

``PAPERFEED_TEST_BACKEND=postgres`` runs the suite against the machine's PostgreSQL (admin URL
``PAPERFEED_TEST_POSTGRES_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``).
The migrations run once per test session into a template database; every test then gets its own
database copied from that template (``CREATE DATABASE ... TEMPLATE``, a file copy, ~0.1 s) and
dropped afterwards, so tests stay as isolated as with SQLite. Under ``CI=true`` an unreachable
PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

BACKEND = os.environ.get("PAPERFEED_TEST_BACKEND", "sqlite").strip().lower() or "sqlite"
ADMIN_URL = os.environ.get(
    "PAPERFEED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_PREFIX = f"pf_test_{os.getpid()}"
_numbers = itertools.count(1)

if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"PAPERFEED_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")


def url_for(database: str) -> str:
    """The admin URL with its database name replaced."""
    return make_url(ADMIN_URL).set(database=database).render_as_string(hide_password=False)


@contextmanager
def admin_engine() -> Iterator[Engine]:
    """An autocommit engine on the admin database (CREATE/DROP DATABASE can't run in a transaction)."""
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


def check_reachable() -> str | None:
    """``None`` when PostgreSQL answers, else the reason it does not."""
    try:
        with admin_engine() as engine, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver/connection error: report it
        return f"PostgreSQL at {make_url(ADMIN_URL).render_as_string()} unreachable: {exc}"
    return None


def create_template() -> str:
    """Create and migrate this session's template database; returns its name."""
    from paperfeed.db.engine import alembic_config

    name = f"{_PREFIX}_template"
    with admin_engine() as engine, engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    from alembic import command

    url = url_for(name)
    migrate_engine = create_engine(url)
    try:
        with migrate_engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        migrate_engine.dispose()
    return name


def create_database(template: str) -> str:
    """A fresh database copied from ``template``; returns its URL."""
    name = f"{_PREFIX}_{next(_numbers)}"
    with admin_engine() as engine, engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return url_for(name)


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (closing any connection still open to it)."""
    from paperfeed.db.engine import forget_engine

    forget_engine(url)
    name = make_url(url).database
    with admin_engine() as engine, engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _owner_alive(name: str) -> bool:
    """Whether the test process that created database ``name`` (``pf_test_<pid>_...``) still runs."""
    try:
        pid = int(name.split("_")[2])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_leftovers(*, own: bool = False) -> None:
    """Drop databases that killed test sessions left behind (and, with ``own``, this session's).

    Databases of other live test processes (pytest-xdist workers, a parallel run) are kept.
    """
    with admin_engine() as engine, engine.connect() as conn:
        names = list(
            conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'pf\\_test\\_%'")).scalars()
        )
        for name in names:
            mine = name.startswith(_PREFIX + "_")
            if (mine and own) or (not mine and not _owner_alive(name)):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
