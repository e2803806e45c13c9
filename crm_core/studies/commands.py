"""CLI commands for studies: ``studies load|check|list|close|reopen|progress`` and ``export responses``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crm_core.cli_options import AppDbOption
from crm_core.db import org_db_url
from crm_core.errors import UserFacingError
from crm_core.store.engine import store_session
from crm_core.studies import export, loading, responses
from crm_core.studies.definition import read_study_file

studies_app = typer.Typer(no_args_is_help=True, help="Load, list, close and follow studies.")
export_app = typer.Typer(no_args_is_help=True, help="Export study responses.")


@studies_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="A study YAML file.")]) -> None:
    """Validate a study file without loading it."""
    definition = read_study_file(file)
    typer.echo(f"{file}: study {definition.id!r} is valid ({len(definition.dimensions)} dimensions).")


@studies_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="A study YAML file, e.g. studies/realism.yaml.")],
    org_db: Annotated[
        str | None, typer.Option("--org-db", help="Org database to sample records from (default: $CRM_ORG_DB).")
    ] = None,
    app_db: AppDbOption = None,
) -> None:
    """Validate a study file, sample its items from the org and store it."""
    with Console().status(f"Sampling the items of {file} from the org ..."), store_session(app_db) as session:
        loaded = loading.load_study_file(session, file, org_db_url(org_db))
    typer.echo(loaded.message())


@studies_app.command("list")
def list_(app_db: AppDbOption = None) -> None:
    """List loaded studies with their progress."""
    table = Table("id", "title", "status", "items", "ratings done", "loaded (UTC)")
    with store_session(app_db) as session:
        for study in loading.list_studies(session):
            state = responses.progress(session, study.id)
            table.add_row(
                study.id,
                study.title,
                study.status,
                str(state.items),
                f"{state.ratings_done}/{state.ratings_required}",
                f"{study.loaded_at:%Y-%m-%d %H:%M}",
            )
    Console().print(table)


@studies_app.command("close")
def close(study_id: Annotated[str, typer.Argument(help="The study's id.")], app_db: AppDbOption = None) -> None:
    """Close a study: no more answers; responses stay exportable."""
    with store_session(app_db) as session:
        loading.close_study(session, study_id)
    typer.echo(f"Study {study_id!r} closed.")


@studies_app.command("reopen")
def reopen(study_id: Annotated[str, typer.Argument(help="The study's id.")], app_db: AppDbOption = None) -> None:
    """Reopen a closed study."""
    with store_session(app_db) as session:
        loading.reopen_study(session, study_id)
    typer.echo(f"Study {study_id!r} reopened.")


@studies_app.command("progress")
def show_progress(study_id: Annotated[str, typer.Argument(help="The study's id.")], app_db: AppDbOption = None) -> None:
    """Show a study's progress per rater."""
    with store_session(app_db) as session:
        state = responses.progress(session, study_id)
    typer.echo(
        f"{state.study_id} ({state.status}): {state.ratings_done}/{state.ratings_required} ratings, "
        f"{state.items_complete}/{state.items} items complete, {state.drafts_open} drafts open"
    )
    table = Table("rater", "items answered")
    for username, count in state.submitted_by_rater.items():
        table.add_row(username, str(count))
    Console().print(table)


@export_app.command("responses")
def export_responses(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    study: Annotated[str, typer.Option("--study", help="The study's id.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, json or parquet.")] = "csv",
    names: Annotated[bool, typer.Option("--names", help="Real usernames instead of pseudonyms.")] = False,
    app_db: AppDbOption = None,
) -> None:
    """Export a study's responses, one row per answer and dimension (raters pseudonymized)."""
    if fmt not in export.EXPORT_FORMATS:
        raise UserFacingError(f"unknown format {fmt!r}: use one of {', '.join(export.EXPORT_FORMATS)}")
    with store_session(app_db) as session:
        rows = export.export_responses(session, study, fmt, out, pseudonymize_raters=not names)
    typer.echo(f"Wrote {rows} rows to {out}.")


def register(app: typer.Typer) -> None:
    """Attach the ``studies`` and ``export`` commands to the main CLI application."""
    app.add_typer(studies_app, name="studies")
    app.add_typer(export_app, name="export")
