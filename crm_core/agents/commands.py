"""CLI of the agents: ``run``, ``runs list``, ``runs export`` and ``score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from crm_core.agents.progress import RunProgress
from crm_core.cli_options import AppDbOption, OrgDbOption
from crm_core.errors import UserFacingError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crm_core.agents.records import EpisodeRecord, RunRecord, RunSummary

runs_app = typer.Typer(no_args_is_help=True, help="List and export agent runs.")


def run(
    framework: Annotated[
        str | None, typer.Option("--framework", "-f", help="act, react, fc or fc_flex (required for a new run).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="provider:model (openai:gpt-4o, anthropic:..., ollama:llama3.1), oracle, baseline:majority, "
            "baseline:random or replay:RUN_ID (required for a new run).",
        ),
    ] = None,
    tasks: Annotated[str | None, typer.Option("--tasks", help="all, or task names separated by commas.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N instances per task.")] = None,
    trials: Annotated[int | None, typer.Option("--trials", min=1, help="Trials per instance (default 1).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Episodes at a time.")] = 4,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of the run; an existing run id continues that run.")
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Base URL of an OpenAI-compatible server.")] = None,
    max_turns: Annotated[int | None, typer.Option("--max-turns", min=1, help="Turns per episode (default 20).")] = None,
    task_file: Annotated[
        Path | None, typer.Option("--task-file", help="Read instances from a task file instead of the org.")
    ] = None,
    retry_errors: Annotated[
        bool, typer.Option("--retry-errors", help="When resuming, play again the episodes that ended in error.")
    ] = False,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Price table JSON (default: $CRM_PRICES or the shipped one).")
    ] = None,
    org_db: OrgDbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Run an agent on the benchmark, or continue the run named by --run-id."""
    from crm_core.agents.service import RunConfig, open_store, prepare

    config = RunConfig(
        framework=framework,  # type: ignore[arg-type]  # checked by RunConfig
        model=model,
        tasks=tasks,  # type: ignore[arg-type]  # a comma-separated string, parsed by RunConfig
        limit=limit,
        trials=trials,
        max_turns=max_turns,
        run_id=run_id,
        base_url=base_url,
        concurrency=concurrency,
        task_file=task_file,
        org_db=org_db,
        prices=prices,
        retry_errors=retry_errors,
    )
    prepared = prepare(config, store=open_store(app_db))
    console = Console(stderr=True)
    if prepared.retried_errors:
        console.print(f"Playing again {prepared.retried_errors} episodes that ended in error.")
    with Progress(*_PROGRESS_COLUMNS, console=console, transient=False) as bar:
        try:
            prepared.execute(_BarProgress(bar, console))
        except KeyboardInterrupt:
            bar.stop()
            typer.echo(
                f"Interrupted: the finished episodes are stored. Continue with --run-id {prepared.run.run_id}.",
                err=True,
            )
            raise SystemExit(130) from None  # typer.Exit codes are dropped by the non-standalone CLI
    typer.echo(f"Run {prepared.run.run_id} finished. Scores: python -m crm_core score {prepared.run.run_id}")


_PROGRESS_COLUMNS = (
    TextColumn("[bold]{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TextColumn("reward {task.fields[reward]}"),
    TimeElapsedColumn(),
    TimeRemainingColumn(),
)


class _BarProgress(RunProgress):
    """A run's progress as a rich bar: episodes done, mean reward, time left."""

    def __init__(self, bar: Progress, console: Console) -> None:
        self.bar, self.console = bar, console
        self.task = bar.add_task("run", total=None, reward="-")
        self.rewards: list[float] = []

    def started(self, run: RunRecord, planned: int, pending: int) -> None:
        self.bar.update(self.task, description=run.run_id, total=planned, completed=planned - pending)
        if pending < planned:
            self.console.print(f"Resuming {run.run_id}: {planned - pending} of {planned} episodes already done.")

    def episode(self, episode: EpisodeRecord, saved: bool) -> None:
        self.rewards.append(episode.reward)
        self.bar.update(self.task, advance=1, reward=f"{sum(self.rewards) / len(self.rewards):.3f}")


@runs_app.command("list")
def list_runs_command(app_db: AppDbOption = None) -> None:
    """List the runs in the app store, newest first, with their progress."""
    from crm_core.agents.run_store import list_runs
    from crm_core.tasks.registry import task_names

    table = Table("run id", "framework", "model", "tasks", "trials", "done", "mean reward", "cost $", "created (UTC)")
    for summary in list_runs(_open_store(app_db)):
        run_ = summary.run
        tasks = "all" if set(run_.tasks) == set(task_names()) else ",".join(run_.tasks)
        table.add_row(
            run_.run_id,
            run_.framework,
            run_.model,
            tasks,
            str(run_.trials),
            f"{summary.completed}/{summary.planned}",
            "-" if summary.mean_reward is None else f"{summary.mean_reward:.3f}",
            "-" if summary.cost_usd is None else f"{summary.cost_usd:.4f}",
            f"{run_.created_at:%Y-%m-%d %H:%M}",
        )
    Console().print(table)


@runs_app.command("show")
def show_command(
    run_id: Annotated[str, typer.Argument(help="The run.")],
    instance: Annotated[int, typer.Option("--instance", "-i", help="The instance idx.")],
    trial: Annotated[int, typer.Option("--trial", "-t", help="The trial (from 0).")] = 0,
    app_db: AppDbOption = None,
) -> None:
    """Print one episode's trajectory: every message, action and observation."""
    from rich.markup import escape

    from crm_core.agents.run_store import load_episodes

    store = _open_store(app_db)
    _require_run(store, run_id)
    found = [e for e in load_episodes(store, run_id, instance_idx=instance) if e.trial == trial]
    if not found:
        raise UserFacingError(f"run {run_id!r} has no finished episode for instance {instance} trial {trial}")
    episode = found[0]
    console = Console()
    console.print(
        f"[bold]{run_id}[/bold] instance {episode.instance_idx} ({episode.task}) trial {episode.trial}: "
        f"{episode.end_reason} after {episode.turns} turns, answer {episode.answer!r}, gold {episode.gold!r}, "
        f"reward {episode.reward:.3f}"
    )
    for number, message in enumerate(episode.messages):
        text = message.content if message.role != "system" else message.content[:300] + " …"
        calls = "".join(f"\n  → {c.name}({c.arguments})" for c in message.tool_calls)
        console.print(f"[bold cyan]{number} {message.role}[/bold cyan] {escape(text)}{escape(calls)}")


@runs_app.command("delete")
def delete_command(
    run_id: Annotated[str, typer.Argument(help="The run to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Delete without asking.")] = False,
    app_db: AppDbOption = None,
) -> None:
    """Delete a run and every episode of it."""
    from crm_core.agents.run_store import delete_run

    store = _open_store(app_db)
    summary = _require_run(store, run_id)
    if not yes and not typer.confirm(f"Delete run {run_id} and its {summary.completed} episodes?"):
        raise UserFacingError("nothing deleted")
    count = delete_run(store, run_id)
    typer.echo(f"Deleted run {run_id} and {count} episodes.")


@runs_app.command("export")
def export_command(
    run_id: Annotated[str, typer.Argument(help="The run to export.")],
    out: Annotated[Path, typer.Argument(help="Output file (for inspect: a .eval/.json file, or a folder).")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="jsonl (full records), crmarena (results JSON) or inspect (an inspect_ai .eval/.json log)."
        ),
    ] = "jsonl",
    app_db: AppDbOption = None,
) -> None:
    """Export a run's episodes as JSON Lines, CRMArena-style results JSON or an inspect_ai eval log."""
    from crm_core.agents.results import export_episodes
    from crm_core.agents.run_store import load_episodes

    if fmt not in {"jsonl", "crmarena", "inspect"}:
        raise UserFacingError(f"unknown format {fmt!r}: choose jsonl, crmarena or inspect")
    store = _open_store(app_db)
    summary = _require_run(store, run_id)
    episodes = load_episodes(store, run_id)
    if fmt == "inspect":
        from crm_core.agents.inspect_log import write_inspect_log

        out = write_inspect_log(summary.run, episodes, summary.planned, out)
        count = len(episodes)
    else:
        count = export_episodes(episodes, fmt, out)  # type: ignore[arg-type]  # checked above
    typer.echo(f"Wrote {count} episodes of {run_id} to {out} ({fmt}).")


def _open_store(app_db: str | None) -> sessionmaker[Session]:
    from crm_core.agents.service import open_store

    return open_store(app_db)


def _require_run(store: sessionmaker[Session], run_id: str) -> RunSummary:
    from crm_core.agents.run_store import list_runs

    found = list_runs(store, run_id)
    if not found:
        raise UserFacingError(f"no run {run_id!r} in the app store (see `python -m crm_core runs list`)")
    return found[0]


def score(
    run_id: Annotated[str, typer.Argument(help="The run to score.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    app_db: AppDbOption = None,
) -> None:
    """Scores of a run: per task, per persona, overall, and pass^k for k = 1..K."""
    from crm_core.agents.results import score_run
    from crm_core.agents.run_store import load_episodes

    store = _open_store(app_db)
    summary = _require_run(store, run_id)
    report = score_run(summary.run, load_episodes(store, run_id), summary.planned)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    console = Console()
    console.print(
        f"[bold]{report.run_id}[/bold]: {report.framework} / {report.model}, "
        f"{report.completed}/{report.planned} episodes"
    )
    table = Table("task", "reward", "normalized", *(f"pass^{k}" for k in report.pass_hat_k))
    for task, value in report.per_task.items():
        curve = report.pass_hat_k_per_task.get(task, {})
        table.add_row(
            task,
            f"{value:.3f}",
            f"{report.per_task_normalized[task]:.3f}",
            *(f"{curve[k]:.3f}" if k in curve else "-" for k in report.pass_hat_k),
        )
    table.add_section()
    for persona, value in report.per_persona.items():
        table.add_row(f"persona: {persona}", f"{value:.3f}", "", *("" for _ in report.pass_hat_k))
    table.add_section()
    table.add_row(
        "overall (mean of tasks)",
        f"{report.overall:.3f}",
        f"{report.overall_normalized:.3f}",
        *(f"{v:.3f}" for v in report.pass_hat_k.values()),
    )
    console.print(table)
    ends = ", ".join(f"{reason} {count}" for reason, count in report.end_reasons.items())
    cost = "unknown" if report.cost_usd is None else f"${report.cost_usd:.4f}"
    console.print(
        f"end reasons: {ends}; mean turns {report.mean_turns:.2f}; tokens in {report.input_tokens}, "
        f"out {report.output_tokens}; cost {cost}"
    )


def register(app: typer.Typer) -> None:
    """Attach ``run``, ``runs`` and ``score`` to the main CLI application."""
    app.command("run")(run)
    app.command("score")(score)
    app.add_typer(runs_app, name="runs")
