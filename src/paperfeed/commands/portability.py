"""``paperfeed export`` and ``paperfeed import``: move a whole instance as one portable file.

Thin wrappers over :mod:`paperfeed.portability`: parse options, show progress and a summary on
stderr, and (after an import) bring the keyword index up to date.
"""

from __future__ import annotations

from pathlib import Path

import click

from paperfeed.commands import migrated_engine, settings_of
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items() if n) or "nothing"


@click.command(name="export")
@click.option(
    "--format",
    "style",
    type=click.Choice(["jsonl", "bibtex", "ris"]),
    default="jsonl",
    show_default=True,
    help="jsonl: the whole instance (for `paperfeed import`); bibtex/ris: the papers as citations.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to PATH (.gz compresses) instead of stdout.",
)
@click.option(
    "--include-password-hashes",
    is_flag=True,
    help="jsonl only: keep users' password hashes so they can sign in on the new instance.",
)
@click.option("--library", "library_user", default=None, help="bibtex/ris only: just USERNAME's library.")
@click.pass_context
def export_command(
    ctx: click.Context,
    style: str,
    output: Path | None,
    include_password_hashes: bool,
    library_user: str | None,
) -> None:
    """Export the instance (papers, feed, users, votes, comments, ...) as JSON Lines, or citations."""
    from paperfeed.portability import export_citations, export_instance, open_output
    from paperfeed.progress import reporter

    if style != "jsonl" and include_password_hashes:
        raise InvalidInput("--include-password-hashes only applies to --format jsonl")
    if style == "jsonl" and library_user is not None:
        raise InvalidInput("--library only applies to --format bibtex or ris")
    engine = migrated_engine(settings_of(ctx))
    stdout = click.get_binary_stream("stdout")
    with open_output(output, stdout) as out:
        if style == "jsonl":
            with reporter("export") as rep:
                report = export_instance(
                    engine,
                    out,
                    include_password_hashes=include_password_hashes,
                    progress=lambda done, total: rep.update(done, total),
                )
        else:
            report = export_citations(engine, out, style=style, library_user=library_user)
    where = f" to {output}" if output else ""
    hashes = " (with password hashes)" if include_password_hashes else ""
    click.echo(f"exported {_summary(report.counts)}{where}{hashes} in {report.seconds:.1f}s", err=True)


@click.command(name="import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--index/--no-index",
    default=True,
    show_default=True,
    help="Bring the keyword search index up to date afterwards.",
)
@click.pass_context
def import_command(ctx: click.Context, path: Path, index: bool) -> None:
    """Load an export made by `paperfeed export` into this (empty) instance; all or nothing."""
    from paperfeed.portability import import_instance
    from paperfeed.progress import reporter

    settings = settings_of(ctx)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    engine = migrated_engine(settings)
    with reporter("import") as rep:
        report = import_instance(engine, path, progress=lambda done: rep.update(done))
    click.echo(f"imported {_summary(report.counts)} from {path} in {report.seconds:.1f}s", err=True)
    if index:
        _update_keyword_index(settings, engine)


def _update_keyword_index(settings: Settings, engine) -> None:
    from paperfeed.progress import reporter
    from paperfeed.search.indexer import update_keyword_index
    from paperfeed.search.keyword import TantivyKeywordIndex

    keyword_index = TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )
    with reporter("keyword index") as rep:
        result = update_keyword_index(
            engine,
            keyword_index,
            heap_mb=settings.index_writer_heap_mb,
            threads=settings.index_threads,
            progress=lambda done, total: rep.update(done, total),
        )
    click.echo(f"keyword index: {result.indexed} papers indexed, cursor {result.cursor}", err=True)
