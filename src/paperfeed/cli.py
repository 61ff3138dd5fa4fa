"""The ``paperfeed`` command line: a thin layer that parses arguments and calls the services.

Exit codes: 0 success, 1 user error (one line on stderr, no traceback), 2 usage error (click).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
import orjson
from sqlalchemy.exc import OperationalError

from paperfeed.config import Settings
from paperfeed.errors import PaperfeedError

log = logging.getLogger("paperfeed")


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Instance data directory (default: $PAPERFEED_DATA_DIR or ./var).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.version_option(package_name="paperfeed")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """paperfeed — a self-hostable, community-curated research-paper feed."""
    from paperfeed.logs import configure_logging

    if data_dir is not None:
        os.environ["PAPERFEED_DATA_DIR"] = str(data_dir)  # inherited by server workers
    try:
        settings = Settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc
    configure_logging(json_format=settings.log_format == "json", verbose=verbose)
    ctx.obj = {"settings": settings}


def _engine(settings: Settings, *, migrate: bool = True):
    from paperfeed.db.engine import get_engine, upgrade

    if migrate:
        upgrade(settings)
    return get_engine(settings)


def _keyword_index(settings: Settings):
    from paperfeed.search.keyword import TantivyKeywordIndex

    return TantivyKeywordIndex(
        settings.index_dir,
        title_boost=settings.search_title_boost,
        max_query_chars=settings.search_max_query_chars,
    )


def _update_index(settings: Settings, engine, *, rebuild: bool = False) -> None:
    from paperfeed.progress import reporter
    from paperfeed.search.indexer import update_keyword_index

    with reporter("keyword index") as rep:
        result = update_keyword_index(
            engine,
            _keyword_index(settings),
            rebuild=rebuild,
            heap_mb=settings.index_writer_heap_mb,
            threads=settings.index_threads,
            progress=lambda done, total: rep.update(done, total),
        )
    click.echo(
        f"keyword index: {result.indexed} papers indexed in {result.seconds:.1f}s"
        f"{' (rebuilt)' if result.rebuilt else ''}, cursor {result.cursor}",
        err=True,
    )


def _vector_index(settings: Settings):
    from paperfeed.search.vectors import VectorIndex

    return VectorIndex(settings.index_dir)


# --------------------------------------------------------------------------- serve / db
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Run the web app (applies pending migrations first)."""
    import uvicorn

    settings = _settings(ctx)
    engine = _engine(settings)
    background = _start_background_indexer(settings, engine)
    click.echo(f"serving on http://{host}:{port} with {workers} worker(s)", err=True)
    uvicorn.run(
        "paperfeed.app:asgi_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=None,  # keep our handlers (text or JSON lines, see paperfeed.logs)
        access_log=False,
        proxy_headers=True,
    )
    if background is not None:
        background.stop(timeout=1.0)


def _start_background_indexer(settings: Settings, engine):
    """One thread in this process embeds new papers (as one more embedding worker) and brings the
    vector index up to date from the database every ``vector_index_interval_seconds``.

    With ``--workers 1`` this is the serving process; with more, it is uvicorn's supervisor
    (which does not serve), so the model is loaded once, not once per worker.
    """
    if not settings.semantic_search or settings.vector_index_interval_seconds <= 0:
        return None
    from paperfeed.search.semantic import (
        BackgroundVectorIndexer,
        configured_model_name,
        shared_embedder_provider,
    )

    click.echo(
        f"embedding new papers in the background every {settings.vector_index_interval_seconds:g}s", err=True
    )
    return BackgroundVectorIndexer(
        engine,
        _vector_index(settings),
        shared_embedder_provider(settings),
        settings.index_dir,
        interval=settings.vector_index_interval_seconds,
        model=configured_model_name(settings),
        claim_seconds=settings.embed_claim_seconds,
    ).start()


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    settings = _settings(ctx.find_root())
    _engine(settings)
    click.echo(f"database at {settings.resolved_database_url} is up to date", err=True)


# --------------------------------------------------------------------------- ingest
def _print_report(report) -> None:
    resumed = f", resumed after line {report.resumed_from_line}" if report.resumed_from_line else ""
    click.echo(
        f"{report.source}: {report.records} records in {report.seconds:.1f}s ({report.rate:.0f}/s): "
        f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.feed_entries} feed entries, {report.bad_records} bad{resumed}",
        err=True,
    )
    for message in report.errors:
        click.echo(f"  skipped {message}", err=True)


def _ingest(ctx: click.Context, kind: str, path: Path, on_error: str, resume: bool, index: bool) -> None:
    from paperfeed.ingest.service import ingest_file
    from paperfeed.progress import reporter

    settings = _settings(ctx.find_root())
    engine = _engine(settings)
    with reporter(f"ingest {kind}") as rep:
        report = ingest_file(
            settings,
            engine,
            kind,
            path,
            on_error=on_error,
            resume=resume,
            progress=lambda r: rep.update(r.records, new=r.inserted, bad=r.bad_records),
        )
    _print_report(report)
    if index:
        _update_index(settings, engine)


_ingest_options = [
    click.option(
        "--on-error",
        type=click.Choice(["skip", "abort"]),
        default="skip",
        show_default=True,
        help="What to do with a bad line: report and skip it, or stop.",
    ),
    click.option(
        "--resume/--no-resume",
        default=True,
        show_default=True,
        help="Continue an interrupted run of the same file after its last checkpoint.",
    ),
    click.option(
        "--index/--no-index",
        default=True,
        show_default=True,
        help="Bring the search index up to date afterwards.",
    ),
]


def _with_ingest_options(func):
    for option in reversed(_ingest_options):
        func = option(func)
    return func


@cli.group()
def ingest() -> None:
    """Load papers from files or services."""


@ingest.command("arxiv-snapshot")
@click.argument("path", type=click.Path(path_type=Path))
@_with_ingest_options
@click.pass_context
def ingest_snapshot(ctx: click.Context, path: Path, on_error: str, resume: bool, index: bool) -> None:
    """Kaggle arXiv metadata snapshot (JSON lines, plain or .gz), streamed."""
    _ingest(ctx, "arxiv-snapshot", path, on_error, resume, index)


@ingest.command("hf-daily")
@click.argument("path", type=click.Path(path_type=Path))
@_with_ingest_options
@click.pass_context
def ingest_hf_daily(ctx: click.Context, path: Path, on_error: str, resume: bool, index: bool) -> None:
    """Hugging Face daily papers: a folder of YYYY-MM-DD.json files or flattened JSONL(.gz)."""
    _ingest(ctx, "hf-daily", path, on_error, resume, index)


# --------------------------------------------------------------------------- index / search
@cli.command()
@click.option("--rebuild", is_flag=True, help="Build from scratch and swap in atomically.")
@click.option("--no-vectors", is_flag=True, help="Only the keyword index (does not load the model).")
@click.option(
    "--no-embed",
    is_flag=True,
    help="Embed nothing here: bring the vector index up to date from the database's vectors "
    "(never loads the model).",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default=None,
    help="Embed on this device (default: PAPERFEED_EMBEDDING_DEVICE); cuda needs onnxruntime-gpu.",
)
@click.pass_context
def index(ctx: click.Context, rebuild: bool, no_vectors: bool, no_embed: bool, device: str | None) -> None:
    """Bring the search indexes (keyword, then vectors) up to date with the database.

    Vectors: papers that need one are embedded in this process (as one more embedding worker,
    sharing the work with any `paperfeed embed work`), then this node's vector index follows the
    database's vectors."""
    from paperfeed.commands.embed import update_vectors

    settings = _settings(ctx)
    engine = _engine(settings)
    _update_index(settings, engine, rebuild=rebuild)
    if not no_vectors:
        update_vectors(settings, engine, rebuild=rebuild, embed=not no_embed, device=device)


@cli.command()
@click.argument("query")
@click.option(
    "--mode", type=click.Choice(["keyword", "semantic", "hybrid"]), default="hybrid", show_default=True
)
@click.option("--limit", type=click.IntRange(1, 120), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON (API shape).")
@click.pass_context
def search(ctx: click.Context, query: str, mode: str, limit: int, as_json: bool) -> None:
    """Search papers from the terminal."""
    from paperfeed.clock import SystemClock
    from paperfeed.papers.service import PaperService
    from paperfeed.search.semantic import shared_embedder_provider
    from paperfeed.search.service import SearchService
    from paperfeed.web.serialize import search_item

    settings = _settings(ctx)
    engine = _engine(settings)
    papers = PaperService(engine, settings, SystemClock())
    service = SearchService.from_settings(
        settings,
        _keyword_index(settings),
        papers,
        vectors=_vector_index(settings),
        embedder=shared_embedder_provider(settings),
    )
    results = service.search(query, limit=limit, mode=mode, highlight=False)
    if results.mode != mode:
        click.echo(
            f"{mode} search is not available yet (no vectors?): showing {results.mode} results", err=True
        )
    if as_json:
        click.echo(orjson.dumps([search_item(i) for i in results.items], option=orjson.OPT_INDENT_2).decode())
        return
    if not results.items:
        click.echo("no results", err=True)
        return
    for rank, item in enumerate(results.items, start=1):
        authors = ", ".join(item.authors[:3]) + (" et al." if len(item.authors) > 3 else "")
        click.echo(f"{rank:2d}. [{item.arxiv_id}] {item.title}")
        click.echo(f"    {authors} · {item.upvotes} upvotes · score {item.score:.2f}")


# --------------------------------------------------------------------------- demo
@cli.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Load the bundled demo data (real papers) into this instance and build the keyword index.

    Embedding ~6,000 papers takes minutes on 2 cores, so it is left to the background indexer
    of ``paperfeed serve``: the site serves keyword results at once and semantic ones soon after.
    """
    from paperfeed.demo import demo_files

    settings = _settings(ctx)
    engine = _engine(settings)
    for kind, path in demo_files():
        _ingest_quiet(settings, engine, kind, path)
    _update_index(settings, engine)
    click.echo(
        "keyword search is ready; `paperfeed serve` embeds the papers for semantic search in the "
        "background (or run `paperfeed index` now)",
        err=True,
    )


def _ingest_quiet(settings: Settings, engine, kind: str, path: Path) -> None:
    from paperfeed.ingest.service import ingest_file
    from paperfeed.progress import reporter

    with reporter(f"demo {path.name}") as rep:
        report = ingest_file(settings, engine, kind, path, progress=lambda r: rep.update(r.records))
    _print_report(report)


# --------------------------------------------------------------------------- users
def _accounts(settings: Settings):
    from paperfeed.clock import SystemClock
    from paperfeed.community.accounts import AccountService
    from paperfeed.community.ratelimit import RateLimiter

    engine = _engine(settings)
    clock = SystemClock()
    return AccountService(engine, settings, clock, RateLimiter(engine, settings, clock))


@cli.group()
def users() -> None:
    """Manage accounts."""


@users.command("create")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def users_create(ctx: click.Context, username: str, email: str, admin: bool, password_stdin: bool) -> None:
    """Create an account (prompts for the password on a terminal)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise click.ClickException("no terminal to prompt on: pass --password-stdin and pipe the password")
    account = _accounts(_settings(ctx.find_root())).sign_up(username, email, password, is_admin=admin)
    click.echo(f"created {'admin ' if account.is_admin else ''}user {account.username}", err=True)


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token by.")
@click.pass_context
def users_token(ctx: click.Context, username: str, name: str) -> None:
    """Print a new personal API token for USERNAME (shown only this once; stored hashed)."""
    service = _accounts(_settings(ctx.find_root()))
    click.echo(service.create_token(service.user(username), name))


# --------------------------------------------------------------------------- command modules
# Commands defined in paperfeed/commands/ (one module per concern), registered here.
from paperfeed.commands.backup import backup_command, restore_command  # noqa: E402
from paperfeed.commands.digest import digest_group  # noqa: E402
from paperfeed.commands.embed import embed_group  # noqa: E402
from paperfeed.commands.evaluate import eval_group  # noqa: E402
from paperfeed.commands.harvest import arxiv_command, oai_command  # noqa: E402
from paperfeed.commands.jobs import jobs_group, scheduler_command  # noqa: E402
from paperfeed.commands.portability import export_command, import_command  # noqa: E402

ingest.add_command(oai_command)
ingest.add_command(arxiv_command)
for _command in (
    export_command,
    import_command,
    backup_command,
    restore_command,
    eval_group,
    digest_group,
    embed_group,
    jobs_group,
    scheduler_command,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point: maps domain errors to a one-line message and exit code 1."""
    try:
        cli.main(standalone_mode=False, prog_name="paperfeed")
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PaperfeedError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    except OperationalError as exc:  # unreachable database, wrong credentials, disk full...
        reason = (str(exc.orig if exc.orig is not None else exc).strip().splitlines() or ["unknown"])[0]
        click.echo(f"error: the database is unavailable: {reason}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
