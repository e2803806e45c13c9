"""CLI of the agents: ``run``, ``runs list``, ``runs export`` and ``score``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from crm_core.errors import UserFacingError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crm_core.agents.records import EpisodeRecord, RunSummary

T = TypeVar("T")
runs_app = typer.Typer(no_args_is_help=True, help="List and export agent runs.")

AppDbOption = Annotated[
    str | None, typer.Option("--app-db", help="App database URL (default: $CRM_APP_DB or sqlite:///data/app.db).")
]
OrgDbOption = Annotated[
    str | None, typer.Option("--org-db", help="Org database URL (default: $CRM_ORG_DB or sqlite:///data/org.db).")
]


def _check_same(run_id: str, what: str, stored: object, given: object) -> None:
    if given is not None and given != stored:
        raise UserFacingError(
            f"run {run_id!r} exists with {what} {stored!r}, not {given!r}: resume it without --{what.replace('_', '-')}"
            " or choose a new --run-id"
        )


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
    from crm_core.agents.environment import OrgEnvironment
    from crm_core.agents.frameworks import FRAMEWORK_NAMES, make_framework
    from crm_core.agents.models import load_prices, resolve_model
    from crm_core.agents.records import RunRecord
    from crm_core.agents.runner import default_run_id, execute_run, instances_digest, parse_tasks, select_instances
    from crm_core.db import org_db_url
    from crm_core.store.models import utc_now
    from crm_core.store.runs import delete_error_episodes, load_run, save_run
    from crm_core.tasks.records import load_tasks

    store = _open_store(app_db)
    stored = load_run(store, run_id) if run_id else None
    if stored is not None:
        for what, stored_value, given in (
            ("framework", stored.framework, framework),
            ("model", stored.model, model),
            ("limit", stored.limit, limit),
            ("trials", stored.trials, trials),
            ("max_turns", stored.max_turns, max_turns),
        ):
            _check_same(stored.run_id, what, stored_value, given)
        if tasks is not None and parse_tasks(tasks) != stored.tasks:
            _check_same(stored.run_id, "tasks", ",".join(stored.tasks), tasks)
        record = stored
    else:
        if framework is None and model is not None and model.startswith("replay:"):
            replayed = load_run(store, model.split(":", 1)[1])
            framework = replayed.framework if replayed is not None else None
        if framework is None or model is None:
            raise UserFacingError("a new run needs --framework and --model")
        if framework not in FRAMEWORK_NAMES:
            raise UserFacingError(f"unknown framework {framework!r}: choose one of {', '.join(FRAMEWORK_NAMES)}")
        record = RunRecord(
            run_id=run_id or default_run_id(framework, model),
            framework=framework,  # type: ignore[arg-type]
            model=model,
            base_url=base_url,
            tasks=parse_tasks(tasks),
            limit=limit,
            trials=trials or 1,
            max_turns=max_turns or 20,
            created_at=utc_now(),
        )
    org_url = _database_url(org_db_url, org_db)
    instances = select_instances(load_tasks(task_file or org_url), record.tasks, record.limit)
    if not instances:
        raise UserFacingError(f"no instances of {', '.join(record.tasks)} in the task set")
    digest = instances_digest(instances)
    if stored is None:
        record = record.model_copy(update={"instances_digest": digest})
    elif stored.instances_digest not in {None, digest}:
        raise UserFacingError(
            f"run {stored.run_id!r} was started on other task instances (the task set changed): "
            "start a new run, or use the org or --task-file it was started with"
        )
    env = _database_url(OrgEnvironment.open, org_url)
    source = resolve_model(
        record.model, base_url=base_url or record.base_url, store=store, prices=load_prices(prices) if prices else None
    )
    source.validate()
    framework_ = make_framework(record.framework, env.tool_schemas)
    record = save_run(store, record, planned=len(instances) * record.trials)
    if retry_errors and stored is not None:
        forgotten = delete_error_episodes(store, record.run_id)
        Console(stderr=True).print(f"Playing again {forgotten} episodes that ended in error.")

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("reward {task.fields[reward]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    totals = {"reward": 0.0, "count": 0}
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(record.run_id, total=None, reward="-")

        def on_start(planned: int, pending: int) -> None:
            progress.update(bar, total=planned, completed=planned - pending)
            if pending < planned:
                console.print(f"Resuming {record.run_id}: {planned - pending} of {planned} episodes already done.")

        def on_episode(episode: EpisodeRecord, saved: bool) -> None:
            totals["reward"] += episode.reward
            totals["count"] += 1
            progress.update(bar, advance=1, reward=f"{totals['reward'] / totals['count']:.3f}")

        try:
            execute_run(
                record,
                instances,
                source=source,
                framework=framework_,
                env=env,
                store=store,
                concurrency=concurrency,
                on_start=on_start,
                on_episode=on_episode,
            )
        except KeyboardInterrupt:
            progress.stop()
            typer.echo(
                f"Interrupted: the finished episodes are stored. Continue with --run-id {record.run_id}.", err=True
            )
            raise SystemExit(130) from None  # typer.Exit codes are dropped by the non-standalone CLI
        finally:
            env.engine.dispose()
    typer.echo(f"Run {record.run_id} finished. Scores: python -m crm_core score {record.run_id}")


@runs_app.command("list")
def list_runs_command(app_db: AppDbOption = None) -> None:
    """List the runs in the app store, newest first, with their progress."""
    from crm_core.store.runs import list_runs

    table = Table("run id", "framework", "model", "tasks", "trials", "done", "mean reward", "cost $", "created (UTC)")
    for summary in list_runs(_open_store(app_db)):
        run_ = summary.run
        tasks = "all" if len(run_.tasks) == 9 else ",".join(run_.tasks)
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

    from crm_core.store.runs import load_episodes

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
    from crm_core.store.runs import delete_run

    store = _open_store(app_db)
    summary = _require_run(store, run_id)
    if not yes and not typer.confirm(f"Delete run {run_id} and its {summary.completed} episodes?"):
        raise UserFacingError("nothing deleted")
    count = delete_run(store, run_id)
    typer.echo(f"Deleted run {run_id} and {count} episodes.")


@runs_app.command("export")
def export_command(
    run_id: Annotated[str, typer.Argument(help="The run to export.")],
    out: Annotated[Path, typer.Argument(help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl (full records) or crmarena (results JSON).")] = "jsonl",
    app_db: AppDbOption = None,
) -> None:
    """Export a run's episodes as JSON Lines or as CRMArena-style results JSON."""
    from crm_core.agents.results import export_episodes
    from crm_core.store.runs import load_episodes

    if fmt not in {"jsonl", "crmarena"}:
        raise UserFacingError(f"unknown format {fmt!r}: choose jsonl or crmarena")
    store = _open_store(app_db)
    _require_run(store, run_id)
    count = export_episodes(load_episodes(store, run_id), fmt, out)  # type: ignore[arg-type]  # checked above
    typer.echo(f"Wrote {count} episodes of {run_id} to {out} ({fmt}).")


def _database_url(open_: Callable[[str | None], T], url: str | None) -> T:
    """Call `open_` on a database URL, turning a bad URL or a missing file into a one-line error."""
    from crm_core.db import DatabaseURLError

    try:
        return open_(url)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None


def _open_store(app_db: str | None) -> sessionmaker[Session]:
    from crm_core.store.engine import open_app_store

    return _database_url(open_app_store, app_db)


def _require_run(store: sessionmaker[Session], run_id: str) -> RunSummary:
    from crm_core.store.runs import list_runs

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
    from crm_core.store.runs import load_episodes

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
