"""CLI of sweeps: ``sweep submit|status|list|cancel|retry|resume`` and ``worker``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from crm_core.cli_options import AppDbOption
from crm_core.errors import UserFacingError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crm_core.sweeps.store import EpisodeKey, SweepStatus

sweep_app = typer.Typer(no_args_is_help=True, help="Sweeps: models × frameworks × trials, in the background.")

RunHereOption = Annotated[
    bool, typer.Option("--run-here", help="Play the episodes in this process instead of queueing them for workers.")
]
ConcurrencyOption = Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Episodes at a time here.")]


def register(app: typer.Typer) -> None:
    """Attach ``sweep`` and ``worker`` to the main CLI application."""
    app.add_typer(sweep_app, name="sweep")
    app.command("worker")(worker)


def _open(app_db: str | None) -> tuple[str, sessionmaker[Session]]:
    from crm_core.db import DatabaseURLError, app_db_url
    from crm_core.store.engine import open_app_store

    try:
        url = app_db_url(app_db)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None
    return url, open_app_store(url)


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def _queue(url: str, keys: list[EpisodeKey]) -> None:
    from crm_core.sweeps.queue import defer_episodes

    asyncio.run(defer_episodes(url, keys))


def _play_here(store: sessionmaker[Session], sweep_id: str, concurrency: int) -> None:
    from crm_core.sweeps.local import run_here

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task(sweep_id, total=None)
        try:
            run_here(
                store,
                sweep_id,
                concurrency=concurrency,
                on_start=lambda total: progress.update(bar, total=total),
                on_episode=lambda _key, _record: progress.advance(bar),
            )
        except KeyboardInterrupt:
            progress.stop()
            typer.echo(f"Interrupted: finished episodes are stored. Continue with `sweep resume {sweep_id}`.", err=True)
            raise SystemExit(130) from None


@sweep_app.command("submit")
def submit_command(
    file: Annotated[Path, typer.Argument(help="The sweep file (sweeps/*.yaml).")],
    run_here: RunHereOption = False,
    concurrency: ConcurrencyOption = 4,
    app_db: AppDbOption = None,
) -> None:
    """Queue every episode of a sweep file and print the sweep id (--run-here also plays them)."""
    from crm_core.sweeps.definition import read_sweep_file
    from crm_core.sweeps.submit import submit

    definition = read_sweep_file(file)
    url, store = _open(app_db)
    if not run_here and not _is_postgres(url):
        raise UserFacingError(
            "workers need a PostgreSQL app store (--app-db postgresql://...); "
            "on this SQLite app store use --run-here to play the sweep in this process"
        )
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as bar:
        stages: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in stages:
                stages[stage] = bar.add_task(stage, total=total)
            bar.update(stages[stage], completed=done, total=total)

        sweep_id, keys = submit(
            store, definition, source=str(file), backend="local" if run_here else "queue", progress=progress
        )
    if not run_here:
        _queue(url, keys)
    typer.echo(sweep_id)
    console.print(
        f"Sweep {sweep_id}: {len(keys)} episodes queued. Progress: python -m crm_core sweep status {sweep_id}"
    )
    if run_here:
        _play_here(store, sweep_id, concurrency)
        console.print(_summary_line(_status(store, sweep_id)))


def _status(store: sessionmaker[Session], sweep_id: str) -> SweepStatus:
    from crm_core.sweeps.store import sweep_status

    return sweep_status(store, sweep_id)


def _summary_line(status: SweepStatus) -> str:
    counts = ", ".join(f"{state} {n}" for state, n in status.counts.items() if n)
    return f"{status.sweep_id} ({status.name}): {status.status}; {counts}; cost ${status.cost_usd:.4f}"


@sweep_app.command("status")
def status_command(
    sweep_id: Annotated[str, typer.Argument(help="The sweep.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    app_db: AppDbOption = None,
) -> None:
    """Episodes queued, running, done and failed, cost so far, time left; per model and per model × framework."""
    from crm_core.sweeps.store import format_duration

    status = _status(_open(app_db)[1], sweep_id)
    if as_json:
        typer.echo(status.model_dump_json(indent=2))
        return
    console = Console()
    console.print(_summary_line(status))
    budget = "none" if status.budget_usd is None else f"${status.budget_usd:.2f}"
    unpriced = f" (+{status.unpriced_episodes} episodes of unknown cost)" if status.unpriced_episodes else ""
    console.print(
        f"planned {status.planned}; budget {budget}; cost so far ${status.cost_usd:.4f}{unpriced}; "
        f"elapsed {format_duration(status.elapsed_s)}; time left {format_duration(status.eta_s)}"
    )
    table = Table("model", "done", "failed", "planned", "episodes/min")
    for model in status.models:
        rate = "-" if model.episodes_per_minute is None else f"{model.episodes_per_minute:.1f}"
        table.add_row(model.model, str(model.done), str(model.failed), str(model.planned), rate)
    console.print(table)
    variants = any(run.variant for run in status.per_run)
    runs = Table(*(["org"] if variants else []), "model", "framework", "queued", "running", "done", "failed")
    for column in ("cost $", "episodes/min"):
        runs.add_column(column)
    for run in status.per_run:
        rate = "-" if run.episodes_per_minute is None else f"{run.episodes_per_minute:.1f}"
        counts = [str(run.counts[state]) for state in ("queued", "running", "done", "failed")]
        runs.add_row(*([run.variant or ""] if variants else []), run.model, run.framework, *counts, run.cost_text, rate)
    console.print("per model × framework:")
    console.print(runs)
    for error in status.recent_errors:
        console.print(f"[red]error[/red] {error}", markup=True, highlight=False)


@sweep_app.command("list")
def list_command(app_db: AppDbOption = None) -> None:
    """Every sweep, newest first."""
    from crm_core.sweeps.store import list_sweeps

    table = Table("sweep id", "name", "backend", "created (UTC)", "stopped")
    for sweep in list_sweeps(_open(app_db)[1]):
        table.add_row(
            sweep.sweep_id, sweep.name, sweep.backend, f"{sweep.created_at:%Y-%m-%d %H:%M}", sweep.stop_reason or ""
        )
    Console().print(table)


@sweep_app.command("cancel")
def cancel_command(sweep_id: Annotated[str, typer.Argument(help="The sweep.")], app_db: AppDbOption = None) -> None:
    """Start no more episodes of the sweep (episodes already running finish and are stored)."""
    from crm_core.sweeps.store import cancel_sweep

    count = cancel_sweep(_open(app_db)[1], sweep_id)
    typer.echo(f"Cancelled sweep {sweep_id}: {count} queued episodes will not run.")


@sweep_app.command("retry")
def retry_command(
    sweep_id: Annotated[str, typer.Argument(help="The sweep.")],
    failed: Annotated[bool, typer.Option("--failed", help="Queue again the episodes that failed.")] = False,
    run_here: RunHereOption = False,
    concurrency: ConcurrencyOption = 4,
    app_db: AppDbOption = None,
) -> None:
    """Queue again the failed episodes of a sweep (their error results are forgotten)."""
    from crm_core.sweeps.store import load_sweep, requeue

    if not failed:
        raise UserFacingError("say which episodes to retry: --failed")
    url, store = _open(app_db)
    sweep = load_sweep(store, sweep_id)
    keys = requeue(store, sweep_id, ["failed"])
    typer.echo(f"Queued again {len(keys)} failed episodes of {sweep_id}.")
    if sweep.backend == "queue" and not run_here:
        _queue(url, keys)
    else:
        _play_here(store, sweep_id, concurrency)


@sweep_app.command("resume")
def resume_command(
    sweep_id: Annotated[str, typer.Argument(help="The sweep.")],
    concurrency: ConcurrencyOption = 4,
    app_db: AppDbOption = None,
) -> None:
    """Play the rest of a sweep in this process (after an interrupted --run-here)."""
    from crm_core.sweeps.store import load_sweep

    store = _open(app_db)[1]
    if load_sweep(store, sweep_id).backend == "queue":
        raise UserFacingError(f"sweep {sweep_id} is played by workers: start `python -m crm_core worker`")
    _play_here(store, sweep_id, concurrency)
    Console(stderr=True).print(_summary_line(_status(store, sweep_id)))


def worker(
    concurrency: ConcurrencyOption = 4,
    stalled_after: Annotated[
        float, typer.Option("--stalled-after", min=1, help="Retry jobs of workers silent this many seconds.")
    ] = 30.0,
    heartbeat: Annotated[float, typer.Option("--heartbeat", min=0.2, help="Seconds between heartbeats.")] = 5.0,
    app_db: AppDbOption = None,
) -> None:
    """Take episodes of queued sweeps from the PostgreSQL app store and play them, until stopped."""
    from crm_core.sweeps.queue import run_worker

    url, store = _open(app_db)
    if not _is_postgres(url):
        raise UserFacingError(
            "workers need a PostgreSQL app store (--app-db or CRM_APP_DB postgresql://...); "
            "with SQLite, play a sweep in one process with `sweep submit FILE --run-here`"
        )
    if heartbeat >= stalled_after:
        raise UserFacingError("--heartbeat must be shorter than --stalled-after")
    Console(stderr=True).print(
        f"Worker taking sweep episodes ({concurrency} at a time). Ctrl-C stops after the episodes in hand."
    )
    asyncio.run(run_worker(url, store, concurrency=concurrency, stalled_after_s=stalled_after, heartbeat_s=heartbeat))
