"""``paperfeed jobs run NAME|schedule|status`` and ``paperfeed scheduler`` (the built-in scheduler).

``jobs run`` runs one job now under its lease (exit 0 when it succeeded or another node holds the
lease, 1 when it failed); ``jobs schedule`` prints the next run times; ``scheduler`` runs the loop
in the foreground until interrupted.
"""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from paperfeed.commands import migrated_engine, settings_of
from paperfeed.jobs.schedule import JOBS, ScheduleConfig, next_run, upcoming


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs: harvest, index, digest (one node runs a job at a time)."""


@jobs_group.command("run")
@click.argument("name", type=click.Choice(list(JOBS)))
@click.pass_context
def jobs_run(ctx: click.Context, name: str) -> None:
    """Run job NAME once now, under its lease."""
    from paperfeed.jobs.runner import run_job

    settings = settings_of(ctx)
    result = run_job(name, settings, migrated_engine(settings))
    for line in result.lines:
        click.echo(line, err=True)
    if not result.ok:
        click.echo(f"error: job {name} failed: {result.error}", err=True)
        sys.exit(1)
    if result.ran:
        click.echo(f"job {name} done in {result.seconds:.1f}s", err=True)


@jobs_group.command("schedule")
@click.option("--count", type=click.IntRange(1, 200), default=10, show_default=True, help="Runs to list.")
@click.pass_context
def jobs_schedule(ctx: click.Context, count: int) -> None:
    """Print when each job runs next (local time of PAPERFEED_SCHEDULE_TIMEZONE, and UTC)."""
    settings = settings_of(ctx)
    config = ScheduleConfig.from_settings(settings)
    tz = ZoneInfo(config.timezone)
    now = datetime.now(UTC)

    def show(planned) -> str:
        local = planned.at.astimezone(tz)
        detail = f" ({planned.detail})" if planned.detail else ""
        return f"{planned.job:8s} {local:%a %Y-%m-%d %H:%M %Z}  {planned.at:%Y-%m-%d %H:%M}Z{detail}"

    click.echo("next run of each job:")
    for job in JOBS:
        planned = next_run(job, now, config)
        click.echo(f"  {show(planned)}" if planned else f"  {job:8s} never on its own (interval 0)")
    click.echo(f"next {count} runs:")
    for planned in upcoming(now, config, count=count):
        click.echo(f"  {show(planned)}")


@jobs_group.command("status")
@click.pass_context
def jobs_status(ctx: click.Context) -> None:
    """Show each job's lease: holder, expiry, last success, last error."""
    from paperfeed.db.jobs_store import all_leases

    settings = settings_of(ctx)
    with migrated_engine(settings).connect() as conn:
        rows = {row.name: row for row in all_leases(conn)}
    for job in JOBS:
        row = rows.get(job)
        if row is None:
            click.echo(f"{job:8s} never ran")
            continue
        held = f"held by {row.holder} until {row.expires_at:%Y-%m-%d %H:%M:%S}Z" if row.holder else "free"
        ok = (
            f"last success {row.last_success_at:%Y-%m-%d %H:%M}Z"
            if row.last_success_at
            else "never succeeded"
        )
        error = f", last error: {row.last_error}" if row.last_error else ""
        click.echo(f"{job:8s} {held}, {ok}{error}")


@click.command("scheduler")
@click.option(
    "--job", "jobs", multiple=True, type=click.Choice(list(JOBS)), help="Only these jobs (repeatable)."
)
@click.pass_context
def scheduler_command(ctx: click.Context, jobs: tuple[str, ...]) -> None:
    """Run the built-in scheduler in the foreground (harvest, index, digest; stop with Ctrl-C/SIGTERM)."""
    from paperfeed.jobs.runner import Scheduler

    settings = settings_of(ctx)
    engine = migrated_engine(settings)
    scheduler = Scheduler(settings, engine, jobs=jobs or JOBS, echo=lambda line: click.echo(line, err=True))
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
    for job in scheduler.jobs:
        planned = next_run(job, datetime.now(UTC), scheduler.config)
        if planned:
            click.echo(f"scheduler: {job} next at {planned.at:%Y-%m-%d %H:%M}Z", err=True)
    try:
        scheduler.run()
    except KeyboardInterrupt:
        scheduler.stop()
    click.echo("scheduler stopped", err=True)
