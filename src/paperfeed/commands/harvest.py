"""``paperfeed ingest oai`` (arXiv OAI-PMH) and ``paperfeed ingest arxiv`` (arXiv Atom API search).

Both are attached to the ``ingest`` group in ``cli.py``; they call :mod:`paperfeed.ingest.harvest`
and then bring the keyword index up to date (``--no-index`` skips it).
"""

from __future__ import annotations

from datetime import date

import click

from paperfeed.commands import migrated_engine, settings_of


def _day(_ctx, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param=param) from None


def _index_after(settings, engine) -> None:
    from paperfeed.jobs.runner import update_indexes

    for line in update_indexes(settings, engine, vectors=False):
        click.echo(line, err=True)


@click.command("oai")
@click.option(
    "--set", "set_spec", default=None, help="OAI set, e.g. cs, math, physics:hep-th (default: all)."
)
@click.option("--from", "from_date", callback=_day, default=None, help="Records changed on/after DATE.")
@click.option("--until", "until_date", callback=_day, default=None, help="Records changed on/before DATE.")
@click.option(
    "--format",
    "metadata_prefix",
    type=click.Choice(["arXivRaw", "arXiv"]),
    default=None,
    help="Metadata format (default: PAPERFEED_OAI_METADATA_PREFIX, arXivRaw).",
)
@click.option(
    "--feature", is_flag=True, help="Feature new papers on the daily feed of their announcement day."
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Continue an interrupted harvest with the same arguments after its last stored page.",
)
@click.option(
    "--index/--no-index", default=True, show_default=True, help="Update the search index afterwards."
)
@click.pass_context
def oai_command(
    ctx: click.Context,
    set_spec: str | None,
    from_date: date | None,
    until_date: date | None,
    metadata_prefix: str | None,
    feature: bool,
    resume: bool,
    index: bool,
) -> None:
    """Harvest arXiv over OAI-PMH (resumption tokens; checkpointed after every page)."""
    from paperfeed.ingest.harvest import harvest_oai

    settings = settings_of(ctx)
    engine = migrated_engine(settings)

    def progress(report) -> None:
        of = f" of {report.complete_list_size}" if report.complete_list_size else ""
        click.echo(f"page {report.pages}: {report.records} records{of} so far", err=True)

    report = harvest_oai(
        settings,
        engine,
        set_spec=set_spec,
        from_date=from_date,
        until_date=until_date,
        metadata_prefix=metadata_prefix,
        feature=feature,
        resume=resume,
        progress=progress,
    )
    resumed = f", resumed after page {report.resumed_from_page}" if report.resumed_from_page else ""
    click.echo(
        f"oai: {report.records} records in {report.pages} pages ({report.seconds:.1f}s): "
        f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.feed_entries} feed entries, {report.deleted} deleted skipped{resumed}",
        err=True,
    )
    if index:
        _index_after(settings, engine)


@click.command("arxiv")
@click.option("--query", default=None, help="arXiv search_query, e.g. 'all:diffusion AND cat:cs.CV'.")
@click.option("--category", default=None, help="An arXiv category, e.g. cs.CL (same as --query cat:cs.CL).")
@click.option("--since", callback=_day, default=None, help="Stop at papers submitted before DATE.")
@click.option("--max", "max_results", type=click.IntRange(1), default=None, help="At most N papers.")
@click.option(
    "--index/--no-index", default=True, show_default=True, help="Update the search index afterwards."
)
@click.pass_context
def arxiv_command(
    ctx: click.Context,
    query: str | None,
    category: str | None,
    since: date | None,
    max_results: int | None,
    index: bool,
) -> None:
    """Fetch papers from the arXiv Atom API by search, newest first (>= 3 s between calls)."""
    from paperfeed.ingest.harvest import ingest_arxiv_search

    if (query is None) == (category is None):
        raise click.UsageError("give exactly one of --query or --category")
    settings = settings_of(ctx)
    engine = migrated_engine(settings)
    report = ingest_arxiv_search(
        settings, engine, query=query, category=category, since=since, max_results=max_results
    )
    click.echo(
        f"arxiv: {report.records} records in {report.seconds:.1f}s: {report.inserted} new, "
        f"{report.updated} updated, {report.unchanged} unchanged",
        err=True,
    )
    if index:
        _index_after(settings, engine)


__all__ = ["arxiv_command", "oai_command"]
