"""``paperfeed embed``: embedding workers, their progress, and vectors in and out of the database.

* ``paperfeed embed work [--batch N] [--until-done] [--device cpu|cuda] [--processes N]`` —
  embedding workers, one process per core by default (they claim batches in the database; any
  number may run, on any machine using the same database).
* ``paperfeed embed status [--json]`` — done / pending / claimed and the recent rate.
* ``paperfeed embed --export PATH`` / ``--import PATH`` — the database's vectors to/from ``.npz``.

``update_vectors`` is what ``paperfeed index`` runs after the keyword index: the same worker loop
in this process (unless ``--no-embed``), then the follower that brings this node's vector index up
to date from the database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import orjson
from sqlalchemy import Engine

from paperfeed.commands import migrated_engine, settings_of
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput

#: how often ``embed work --processes N`` reads the database's counts for its progress line
STATUS_EVERY_SECONDS = 5.0


def _vector_index(settings: Settings):
    from paperfeed.search.vectors import VectorIndex

    return VectorIndex(settings.index_dir)


def _lazy_embedder(settings: Settings, device: str | None):
    """A callable loading the configured embedder on its first call (then the same one)."""
    from paperfeed.search.semantic import load_embedder

    loaded = []

    def get():
        if not loaded:
            loaded.append(load_embedder(settings, device=device, bulk=True))
        return loaded[0]

    return get


def _work_line(report) -> str:
    return (
        f"{report.embedded} papers embedded, {report.verified} unchanged, {report.reused} reused "
        f"in {report.seconds:.1f}s ({report.docs_per_second:.1f} docs/s)"
    )


def update_vectors(
    settings: Settings,
    engine: Engine,
    *,
    rebuild: bool = False,
    embed: bool = True,
    device: str | None = None,
) -> None:
    """``paperfeed index``'s vector part: embed what needs it here (``embed``), then follow."""
    from paperfeed.progress import reporter
    from paperfeed.search.embed_worker import Worker
    from paperfeed.search.semantic import configured_model_name, indexer_lock
    from paperfeed.search.vector_follower import follow_vectors

    if not settings.semantic_search:
        click.echo("vector index: skipped (PAPERFEED_SEMANTIC_SEARCH is off)", err=True)
        return
    model = configured_model_name(settings)
    vectors = _vector_index(settings)
    with indexer_lock(settings.index_dir) as held:
        if not held:
            raise InvalidInput("another process is embedding papers for this instance; try again later")
        if embed:
            worker = Worker(
                engine,
                model,
                _lazy_embedder(settings, device),
                claim_seconds=settings.embed_claim_seconds,
                reuse=vectors,
            )
            with engine.connect() as conn:
                total = worker.counts(conn).pending
            with reporter("embed") as rep:
                report = worker.run(
                    until_done=True,
                    wait_for_others=False,
                    progress=lambda r: rep.update(r.claimed, total, embedded=r.embedded),
                )
            click.echo(f"embedding: {_work_line(report)}", err=True)
        with reporter("vector index") as rep:
            result = follow_vectors(
                engine, vectors, model, rebuild=rebuild, progress=lambda done, total: rep.update(done, total)
            )
    click.echo(
        f"vector index: {result.added} vectors added, {result.removed} removed in {result.seconds:.1f}s"
        f"{' (rebuilt)' if result.rebuilt else ''}, cursor {result.vector_seq}",
        err=True,
    )


@click.group("embed", invoke_without_command=True)
@click.option(
    "--export", "export_path", type=click.Path(path_type=Path), help="Write all vectors to PATH (.npz)."
)
@click.option(
    "--import",
    "import_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Load vectors from PATH (made by --export) into the database.",
)
@click.pass_context
def embed_group(ctx: click.Context, export_path: Path | None, import_path: Path | None) -> None:
    """Embedding workers and the database's vectors (export/import as .npz)."""
    if ctx.invoked_subcommand is not None:
        if export_path or import_path:
            raise click.UsageError("--export/--import cannot be combined with a subcommand")
        return
    if (export_path is None) == (import_path is None):
        raise click.UsageError(
            "give a subcommand (work, status) or exactly one of --export PATH / --import PATH"
        )
    from paperfeed.search.embed_worker import export_vectors, import_vectors
    from paperfeed.search.semantic import DEFAULT_MODEL_DIM, configured_model_name, load_embedder

    settings = settings_of(ctx)
    engine = migrated_engine(settings)
    model = configured_model_name(settings)
    if export_path is not None:
        try:
            count = export_vectors(engine, model, export_path)
        except OSError as exc:
            raise click.ClickException(f"cannot write {export_path}: {exc.strerror or exc}") from exc
        click.echo(f"exported {count} vectors ({model}) to {export_path}", err=True)
        return
    dim = DEFAULT_MODEL_DIM if settings.embedding_model_dir is None else load_embedder(settings).dim
    report = import_vectors(engine, import_path, expected_model=model, expected_dim=dim)
    click.echo(
        f"imported {report.current + report.stale} vectors ({model}): {report.current} current, "
        f"{report.stale} for older text (embedded again by workers), {report.unknown} of unknown papers "
        "skipped; `paperfeed index` brings this node's vector index up to date",
        err=True,
    )


@embed_group.command("work")
@click.option(
    "--batch", type=click.IntRange(1, 10_000), default=64, show_default=True, help="Papers per claim."
)
@click.option(
    "--until-done", is_flag=True, help="Exit once no paper needs a vector (otherwise keep polling)."
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default=None,
    help="Embed on this device (default: PAPERFEED_EMBEDDING_DEVICE); cuda needs onnxruntime-gpu.",
)
@click.option(
    "--poll", type=click.FloatRange(0.1), default=10.0, show_default=True, help="Seconds between polls."
)
@click.option(
    "--processes",
    type=click.IntRange(0, 256),
    default=0,
    show_default=True,
    help="Worker processes on this machine; 0 = one per core on a CPU, one on a GPU.",
)
@click.pass_context
def embed_work(
    ctx: click.Context, batch: int, until_done: bool, device: str | None, poll: float, processes: int
) -> None:
    """Run embedding workers: claim papers that lack a current vector, embed, store."""
    settings = settings_of(ctx)
    device = device or settings.embedding_device
    if processes == 0:
        cores = len(os.sched_getaffinity(0))
        processes = 1 if device == "cuda" else max(1, cores // (settings.embedding_bulk_threads or 1))
    if processes > 1:
        _run_worker_processes(
            settings, processes, batch=batch, until_done=until_done, device=device, poll=poll
        )
        return
    from paperfeed.progress import reporter
    from paperfeed.search.embed_worker import Worker
    from paperfeed.search.semantic import configured_model_name, load_embedder

    engine = migrated_engine(settings)
    model = configured_model_name(settings)
    # loaded before claiming: a claim is never held while the model loads
    embedder = load_embedder(settings, device=device, bulk=True)
    vectors = _vector_index(settings)
    worker = Worker(
        engine,
        model,
        lambda: embedder,
        batch=batch,
        claim_seconds=settings.embed_claim_seconds,
        reuse=vectors if vectors.exists() else None,
    )
    with engine.connect() as conn:
        total = worker.counts(conn).pending
    click.echo(f"embedding worker {worker.name}: {model} on {device}", err=True)
    with reporter("embed") as rep:
        report = worker.run(
            until_done=until_done,
            poll_seconds=poll,
            progress=lambda r: rep.update(
                r.claimed, total, embedded=r.embedded, rate=f"{r.docs_per_second:.1f}/s"
            ),
        )
    click.echo(f"embedding worker {worker.name}: {_work_line(report)}", err=True)


def _run_worker_processes(
    settings: Settings, processes: int, *, batch: int, until_done: bool, device: str, poll: float
) -> None:
    """``processes`` single-process workers (``embed work --processes 1``), each with an equal
    share of the cores: separate processes embed faster than one process with as many threads
    (2 cores, end to end on PostgreSQL: 24.8 vs 22.0 docs/s, docs/benchmarks.md). They share
    the work through their database claims like workers on other machines; this process shows
    their common progress and stops them when it is interrupted or terminated (or killed: they
    get SIGTERM)."""
    from paperfeed.progress import reporter
    from paperfeed.search.embed_worker import embed_status
    from paperfeed.search.semantic import configured_model_name

    engine = migrated_engine(settings)  # migrate once, before the workers start
    model = configured_model_name(settings)
    threads = settings.embedding_bulk_threads or max(1, len(os.sched_getaffinity(0)) // processes)
    env = {**os.environ, "PAPERFEED_EMBEDDING_BULK_THREADS": str(threads)}
    command = [sys.executable, "-m", "paperfeed.cli", "embed", "work", "--processes", "1"]
    command += ["--batch", str(batch), "--device", device, "--poll", str(poll)]
    if until_done:
        command.append("--until-done")
    click.echo(f"embedding: {processes} worker processes × {threads} thread(s), {model}, {device}", err=True)
    logs = [tempfile.TemporaryFile() for _ in range(processes)]  # noqa: SIM115 - closed below
    children = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_die_with_parent)
        for log in logs
    ]
    previous = signal.signal(signal.SIGTERM, lambda *_: _stop(children))
    try:
        start = embed_status(engine, model)
        total = start.pending + start.claimed
        with reporter("embed") as rep:
            while _alive(children):
                status = embed_status(engine, model)  # one count query (a scan on a big table)
                rep.update(max(total - status.pending - status.claimed, 0), total)
                deadline = time.monotonic() + STATUS_EVERY_SECONDS
                while _alive(children) and time.monotonic() < deadline:
                    time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(children)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        for child in children:
            child.wait()
    try:
        failed = [(c.returncode, _tail(log)) for c, log in zip(children, logs, strict=True) if c.returncode]
    finally:
        for log in logs:
            log.close()
    if failed:
        code, last_line = failed[0]
        raise click.ClickException(
            f"{len(failed)} of {processes} worker processes failed (exit {code}): {last_line}"
        )
    status = embed_status(engine, model)
    click.echo(f"embedding: {status.done} done, {status.pending} pending, {status.claimed} claimed", err=True)


def _alive(children: list[subprocess.Popen]) -> bool:
    return any(child.poll() is None for child in children)


def _tail(log) -> str:
    """The last non-empty line a worker process wrote to its stderr file."""
    log.seek(0)
    lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _die_with_parent() -> None:
    """In a worker process: get SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``), so a
    killed ``embed work`` leaves no orphans; their claims expire as for any dead worker."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()


@embed_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def embed_status_command(ctx: click.Context, as_json: bool) -> None:
    """Done / pending / claimed papers for the configured model, and the recent rate."""
    from paperfeed.search.embed_worker import embed_status
    from paperfeed.search.semantic import configured_model_name

    settings = settings_of(ctx)
    status = embed_status(migrated_engine(settings), configured_model_name(settings))
    if as_json:
        click.echo(orjson.dumps(status.as_dict()).decode())
        return
    total = status.done + status.pending + status.claimed
    share = f" ({100 * status.done / total:.1f}%)" if total else ""
    click.echo(
        f"{status.model}: {status.done} done{share}, {status.pending} pending, {status.claimed} claimed; "
        f"{status.rate_per_second:.1f} vectors/s over the last {status.window_seconds / 60:.0f} min"
    )
