"""CLI of the org and its benchmark tasks: ``generate`` (the org, then its task set) and
``tasks build|export|import|show``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from crm_core.cli_options import OrgDbOption
from crm_core.db import DatabaseURLError, display_url, org_db_url
from crm_core.errors import UserFacingError
from crm_core.org.text_pass import DEFAULT_CACHE as DEFAULT_TEXT_CACHE
from crm_core.org.text_pass import FIELDS as TEXT_FIELDS
from crm_core.tasks.build import DEFAULT_PER_TASK
from crm_core.tasks.records import TaskInstance
from crm_core.tasks.registry import task_specs
from crm_core.tasks.spec import Suite

tasks_app = typer.Typer(no_args_is_help=True, help="The benchmark's task set: build, export, import, show.")


def register(app: typer.Typer) -> None:
    """Attach ``generate`` and the `tasks` commands to the main CLI application."""
    app.command("generate")(generate)
    app.add_typer(tasks_app, name="tasks")


def _url(explicit: str | None) -> str:
    try:
        return org_db_url(explicit)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None


def _summary(instances: list[TaskInstance], title: str) -> Table:
    table = Table("task", "persona", "instances", "None answers", title=title)
    counts = Counter(i.task for i in instances)
    nones = Counter(i.task for i in instances if i.answer is None)
    personas = {i.task: i.persona for i in instances}
    for task, count in counts.items():
        table.add_row(task, personas[task], str(count), str(nones[task]))
    table.add_row("total", "", str(len(instances)), str(sum(nones.values())))
    return table


def build_with_progress(
    url: str, *, per_task: int = DEFAULT_PER_TASK, seed: int | None = None, suite: Suite = "crmarena"
) -> list[TaskInstance]:
    """Build and store one suite of the task set with a progress bar on stderr (used by `generate` too)."""
    from crm_core.tasks.build import build_tasks

    console = Console(stderr=True)
    with Progress(
        TextColumn("tasks {task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        bar_id = bar.add_task("", total=len(task_specs(suite)))

        def progress(task: str, done: int, total: int) -> None:
            bar.update(bar_id, completed=done, total=total, description=task)

        instances = build_tasks(url, per_task=per_task, seed=seed, progress=progress, suite=suite)
    _warn_short(console, instances, per_task)
    return instances


def _warn_short(console: Console, instances: list[TaskInstance], per_task: int) -> None:
    """Name each task type with fewer than `per_task` instances (an org too small for them)."""
    short = {t: c for t, c in Counter(i.task for i in instances).items() if c < per_task}
    for task, count in short.items():
        console.print(f"[yellow]Warning:[/] only {count} of {per_task} {task} instances: the org is too small")


@tasks_app.command("build")
def build(
    per_task: Annotated[int, typer.Option("--per-task", help="Instances per task.")] = DEFAULT_PER_TASK,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the org's seed).")] = None,
    org_db: OrgDbOption = None,
    suite: Annotated[
        Suite,
        typer.Option(help="crmarena (the nine read-only tasks) or workflow (tasks that change the org)."),
    ] = "crmarena",
) -> None:
    """Generate one suite of the task set from the org and store it in the org database."""
    instances = build_with_progress(_url(org_db), per_task=per_task, seed=seed, suite=suite)
    Console().print(_summary(instances, "Task set"))


@tasks_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    fmt: Annotated[
        Literal["crmarena", "crmarena-v1", "jsonl", "json"],
        typer.Option(
            "--format",
            help="crmarena (CRMArena's JSON), crmarena-v1 (its first release: type, string answers), "
            "jsonl or json (ours, with params).",
        ),
    ] = "jsonl",
    org_db: OrgDbOption = None,
) -> None:
    """Write the org's task set to a file (same seed, same bytes)."""
    from crm_core.tasks.records import load_tasks, save_tasks

    instances = load_tasks(_url(org_db))
    save_tasks(instances, out, fmt)
    typer.echo(f"Wrote {len(instances)} instances to {out} ({fmt}).")


@tasks_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A task file: ours (JSON / JSONL) or CRMArena's.")],
    org_db: OrgDbOption = None,
) -> None:
    """Validate a task file and make it the org's task set (replacing the current one)."""
    from crm_core.tasks.records import read_task_file, write_tasks_to_org

    instances = read_task_file(file)
    write_tasks_to_org(_url(org_db), instances)
    Console().print(_summary(instances, f"Imported {file.name}"))


@tasks_app.command("show")
def show(
    idx: Annotated[int, typer.Argument(help="Instance idx.", metavar="IDX")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    org_db: OrgDbOption = None,
) -> None:
    """Print one instance: query, answer, metadata and params."""
    from crm_core.tasks.records import load_tasks

    found = [i for i in load_tasks(_url(org_db)) if i.idx == idx]
    if not found:
        raise UserFacingError(f"no task instance with idx {idx}")
    instance = found[0]
    if as_json:
        typer.echo(json.dumps(instance.to_record(), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"[bold]#{instance.idx}[/] {instance.task} ({instance.persona}, {instance.reward_metric})")
    console.print(f"[bold]Query:[/] {instance.query}")
    console.print(f"[bold]Answer:[/] {instance.answer_text}")
    console.print(f"[bold]Required:[/] {instance.metadata.required}")
    console.print(f"[bold]Optional:[/] {instance.metadata.optional}")
    console.print(f"[bold]Params:[/] {json.dumps(instance.params)}")


def generate(
    scale: Annotated[str, typer.Option(help="Org size: tiny, default, large or xl.")] = "default",
    cases: Annotated[int | None, typer.Option(help="Number of cases (overrides --scale).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed and flags, same org.")] = 0,
    no_latent: Annotated[bool, typer.Option("--no-latent", help="Flatten every latent effect.")] = False,
    org_db: OrgDbOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing org.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes drawing the cases' text (default: the cores, at most 4); the org is the same."),
    ] = None,
    text_model: Annotated[
        str | None,
        typer.Option(help="Rewrite the free text through this chat model (provider:model), keeping its facts."),
    ] = None,
    text_base_url: Annotated[
        str | None, typer.Option(help="Base URL of an OpenAI-compatible server for --text-model.")
    ] = None,
    text_fields: Annotated[
        str, typer.Option(help="Comma-separated Object.Field list the text model rewrites.")
    ] = ",".join(TEXT_FIELDS),
    text_limit: Annotated[int | None, typer.Option(help="Rewrite at most this many records per field.")] = None,
    text_cache: Annotated[Path, typer.Option(help="The text model's answer cache (JSON lines).")] = DEFAULT_TEXT_CACHE,
    text_concurrency: Annotated[int, typer.Option(help="Text model requests at the same time.")] = 8,
) -> None:
    """Generate the simulated org (optionally rewriting its free text through a model), then its task set."""
    from crm_core.org.generator import generate_org

    url = _url(org_db)
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    tasks: dict[str, TaskID] = {}

    def progress(stage: str, done: int, total: int, label: str | None = None) -> None:
        if not tasks:
            bar.start()  # started on the first report, so an early error prints one line only
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total, description=label or stage)

    def build_task_set() -> None:  # (on PostgreSQL while the server builds the search index)
        from crm_core.tasks.build import build_tasks

        def built(task: str, done: int, total: int) -> None:  # the bar names the task type just built
            progress("task set", done, total, f"task set: {task}" if done < total else "task set")

        instances = build_tasks(url, progress=built)
        _warn_short(console, instances, DEFAULT_PER_TASK)

    try:
        generate_org(
            url, scale=scale, cases=cases, seed=seed, latent=not no_latent, force=force, progress=progress,
            workers=workers, beside_search_index=None if text_model else build_task_set,
        )  # fmt: skip
    finally:
        bar.stop()
    if text_model:  # the task set is built from the rewritten text
        fields = [f.strip() for f in text_fields.split(",") if f.strip()]
        _rewrite_with_progress(url, text_model, text_base_url, fields, text_limit, text_cache, text_concurrency)
        build_with_progress(url)
    console.print(f"Generated the org at {display_url(url)}.")


def _rewrite_with_progress(
    url: str, model: str, base_url: str | None, fields: list[str], limit: int | None, cache: Path, concurrency: int
) -> None:
    """The text pass with a bar per field (tokens and cost so far), then its report as a table."""
    from crm_core.db import make_engine
    from crm_core.org.text_pass import FieldReport, rewrite_org_text

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("rewrite {task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[usage]}"),
        TimeElapsedColumn(),
        console=console,
    )
    rows: dict[str, TaskID] = {}

    def progress(report: FieldReport, done: int) -> None:
        if report.field not in rows:
            rows[report.field] = bar.add_task(report.field, total=report.records, usage="")
        cost = "" if report.cost_usd is None else f", ${report.cost_usd:.4f}"
        usage = f"{report.requests:,} requests, {report.input_tokens + report.output_tokens:,} tokens{cost}"
        bar.update(rows[report.field], completed=done, usage=usage)

    engine = make_engine(url)
    try:
        with bar:
            reports = rewrite_org_text(
                engine, model, base_url=base_url, fields=fields, limit=limit, cache_path=cache,
                concurrency=concurrency, progress=progress,
            )  # fmt: skip
    finally:
        engine.dispose()
    table = Table(
        "field", "records", "rewritten", "kept template", "from cache", "requests", "tokens in/out", "cost",
        "why kept", title=f"Text pass through {model}",
    )  # fmt: skip
    for r in reports:
        why = ", ".join(f"{reason} {n}" for reason, n in r.reasons.most_common())
        table.add_row(
            r.field, f"{r.records:,}", f"{r.rewritten:,}", f"{r.fallbacks:,}", f"{r.cached:,}", f"{r.requests:,}",
            f"{r.input_tokens:,} / {r.output_tokens:,}", "unknown" if r.cost_usd is None else f"${r.cost_usd:.4f}",
            why or "-",
        )  # fmt: skip
    console.print(table)
