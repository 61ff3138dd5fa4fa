"""Command groups of the ``paperfeed`` CLI that live outside ``cli.py`` (one module per concern).

Each module defines click commands or groups; ``cli.py`` registers them with ``cli.add_command``.
They must not import ``paperfeed.cli`` (it may be running as ``__main__``): use the helpers here.
"""

from __future__ import annotations

import click
from sqlalchemy import Engine

from paperfeed.config import Settings


def settings_of(ctx: click.Context) -> Settings:
    """The instance settings the root ``paperfeed`` group built from the environment/options."""
    return ctx.find_root().obj["settings"]


def migrated_engine(settings: Settings) -> Engine:
    """An engine for the instance database, with pending migrations applied first."""
    from paperfeed.db.engine import get_engine, upgrade

    upgrade(settings)
    return get_engine(settings)
