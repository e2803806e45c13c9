"""CLI commands of the org: ``org stats|check|realism|init|push``.

``generate`` builds the org and then its task set, so it lives with the task set's commands
(:mod:`crm_core.tasks.commands`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crm_core.cli_options import OrgDbOption
from crm_core.db import DatabaseURLError, display_url, make_readonly_engine, org_db_url
from crm_core.errors import UserFacingError, first_line

T = TypeVar("T")
org_app = typer.Typer(no_args_is_help=True, help="Inspect the generated org, create an empty one, push one.")


def register(app: typer.Typer) -> None:
    """Attach the org's commands to the main CLI application."""
    app.add_typer(org_app, name="org")


@org_app.command("stats")
def stats(
    org_db: OrgDbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record count per object and a digest of the org's content."""
    from crm_core.org.stats import org_stats

    result = _read_org(org_db, org_stats)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table("object", "records", title="Org")
    for name, count in {**result.counts, **result.latent_counts}.items():
        table.add_row(name, f"{count:,}")
    console = Console()
    console.print(table)
    for key in ("scale", "seed", "latent", "generator_version"):
        if key in result.info:
            console.print(f"{key}: {result.info[key]}")
    console.print(f"digest: {result.digest}")


@org_app.command("check")
def check(org_db: OrgDbOption = None) -> None:
    """Verify the org's invariants; print each violation and exit 1 if there is any."""
    from crm_core.org.check import check_org

    violations = _read_org(org_db, check_org)
    for violation in violations:
        typer.echo(str(violation))
    if violations:
        raise UserFacingError(f"{len(violations)} violation(s) of the org's invariants")
    typer.echo("OK: every invariant holds.")


@org_app.command("realism")
def realism(
    org_db: OrgDbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """How deep, varied and consistent the org's free text is, per text field."""
    from crm_core.org.realism import realism_report

    report = _read_org(org_db, realism_report)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    table = Table(
        "field", "records", "words p10/med/p90", "lines", "bigrams", "repeated", "near-dup", title="Free text"
    )
    for f in report.fields:
        sampled = "" if f.measured == f.records else f" ({f.measured:,} sampled)"
        table.add_row(
            f.field,
            f"{f.records:,}{sampled}",
            f"{f.words_p10:g} / {f.words_median:g} / {f.words_p90:g}",
            f"{f.lines_median:g}",
            f"{f.distinct_bigram_share:.1%}",
            f"{f.repeated_sentence_share:.1%}",
            f"{f.near_duplicate_share:.1%}",
        )
    checks = Table("rule", "violations", "examples", title="Consistency")
    for result in report.consistency:
        checks.add_row(result.rule, f"{result.violations:,}", "\n".join(result.examples) or "OK")
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print("bigrams: distinct share; repeated: sentences (≥ 4 words) found in another record; near-dup:")
    console.print("records with 5-word-shingle Jaccard ≥ 0.8 to another record")
    console.print(checks)


@org_app.command("init")
def init(org_db: OrgDbOption = None) -> None:
    """Create an empty org (every object's table, no records), e.g. to push an org into."""
    from crm_core.org.generator import create_empty_org

    url = _url(org_db)
    create_empty_org(url)
    typer.echo(f"Empty org created at {display_url(url)}")


@org_app.command("push")
def push(
    instance_url: Annotated[str, typer.Option(help="The target org's URL, e.g. https://MyDomain.my.salesforce.com.")],
    org_db: OrgDbOption = None,
    session_id: Annotated[
        str | None, typer.Option(envvar="SF_SESSION_ID", help="A session id (access token) of the target.")
    ] = None,
    username: Annotated[
        str | None, typer.Option(help="Log in with the OAuth username-password flow (password: $SF_PASSWORD).")
    ] = None,
    login_url: Annotated[
        str | None, typer.Option(help="Where to log in (default: --instance-url), e.g. https://login.salesforce.com.")
    ] = None,
    client_id: Annotated[str, typer.Option(envvar="SF_CLIENT_ID", help="Connected app consumer key.")] = "",
    state: Annotated[
        Path | None, typer.Option(help="The push's state file (default: data/push/<target host>.sqlite).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Records per ingest job.", min=1, max=150_000)] = 10_000,
    users_as: Annotated[
        str | None,
        typer.Option(help="Push no users: every reference to one of the org's users points at this target user id."),
    ] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option(help="CA certificate(s) to verify the target with (e.g. a local server's).")
    ] = None,
) -> None:
    """Load the org into a Salesforce org through Bulk API 2.0 ingest jobs (resumable).

    Secrets come from the environment: $SF_SESSION_ID, or $SF_PASSWORD (with the security token
    appended if the org wants one) and $SF_CLIENT_SECRET.
    """
    import os

    import requests

    from crm_core.org.push import PushState, connect, default_state_path, push_org

    session = requests.Session()
    if ca_bundle is not None:
        if not ca_bundle.is_file():
            raise UserFacingError(f"--ca-bundle: no such file: {ca_bundle}")
        session.verify = str(ca_bundle)
        session.trust_env = False  # else $REQUESTS_CA_BUNDLE would override it (requests issue 3829)
    sf = connect(
        instance_url,
        session_id=session_id,
        username=username,
        password=os.environ.get("SF_PASSWORD"),
        client_id=client_id,
        client_secret=os.environ.get("SF_CLIENT_SECRET", ""),
        login_url=login_url,
        session=session,
    )
    state_file = PushState(state or default_state_path(instance_url))
    console = Console()
    engine = make_readonly_engine(_url(org_db))
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as bar:
            tasks: dict[str, int] = {}

            def report(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done)

            reports = push_org(engine, sf, state_file, batch_size=batch_size, users_as=users_as, progress=report)
    finally:
        engine.dispose()
        state_file.close()
    table = Table("object", "records", "created", "failed", "jobs", "first error", title=f"Pushed to {instance_url}")
    for row in reports:
        table.add_row(
            row.object, f"{row.records:,}", f"{row.created:,}", f"{row.failed:,}", str(row.jobs), row.first_error
        )
    console.print(table)
    console.print(f"state (id map, failures): {state_file.path}")


def _url(explicit: str | None) -> str:
    try:
        return org_db_url(explicit)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None


def _read_org(explicit: str | None, read: Callable[[Engine], T]) -> T:
    """Run `read` on a read-only engine of the org; database failures become one-line errors."""
    try:
        engine = make_readonly_engine(_url(explicit))
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None
    try:
        return read(engine)
    except SQLAlchemyError as exc:
        raise UserFacingError(f"cannot read the org: {first_line(exc)}") from None
    finally:
        engine.dispose()
