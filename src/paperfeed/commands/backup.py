"""``paperfeed backup PATH`` and ``paperfeed restore PATH`` (see ``paperfeed.ops.backup``)."""

from __future__ import annotations

from pathlib import Path

import click

from paperfeed.commands import migrated_engine, settings_of


def _summary(report) -> str:
    counts = ", ".join(f"{name} {count}" for name, count in report.counts.items())
    return f"{report.backend} database at schema {report.schema_revision}: {counts}"


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.pass_context
def backup_command(ctx: click.Context, path: Path) -> None:
    """Write a consistent backup of the instance into the new folder PATH (safe while serving)."""
    from paperfeed.ops.backup import backup_instance

    settings = settings_of(ctx)
    report = backup_instance(settings, migrated_engine(settings), path)
    click.echo(f"backed up {_summary(report)} → {report.path}", err=True)


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an instance that already holds papers or users.")
@click.option("--no-index", is_flag=True, help="Skip rebuilding the keyword index afterwards.")
@click.pass_context
def restore_command(ctx: click.Context, path: Path, force: bool, no_index: bool) -> None:
    """Replace the instance's data by the backup in PATH (stop the server first)."""
    from paperfeed.db.engine import get_engine
    from paperfeed.ops.backup import restore_instance
    from paperfeed.search.indexer import update_keyword_index
    from paperfeed.search.keyword import TantivyKeywordIndex

    settings = settings_of(ctx)
    engine = get_engine(settings)
    report = restore_instance(settings, engine, path, force=force)
    click.echo(f"restored {_summary(report)}", err=True)
    migrated_engine(settings)  # a backup of an older version is brought up to date
    if not no_index:
        index = TantivyKeywordIndex(
            settings.index_dir,
            title_boost=settings.search_title_boost,
            max_query_chars=settings.search_max_query_chars,
        )
        result = update_keyword_index(engine, index, rebuild=True, heap_mb=settings.index_writer_heap_mb)
        click.echo(
            f"keyword index rebuilt: {result.indexed} papers; run `paperfeed index` to bring the "
            "vector index up to date",
            err=True,
        )
