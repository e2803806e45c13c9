"""CLI commands ``soql`` and ``sosl``: run a query on the org and print the REST-shaped JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated

import typer

from crm_core.db import DatabaseURLError, make_readonly_engine, org_db_url
from crm_core.errors import UserFacingError
from crm_core.query.engine import run_soql
from crm_core.query.errors import QueryError
from crm_core.query.sosl import run_sosl

OrgDb = Annotated[str | None, typer.Option("--org-db", help="Org database URL (default: CRM_ORG_DB or data/org.db).")]
Today = Annotated[
    str | None,
    typer.Option("--today", help="The date relative date literals count from (YYYY-MM-DD; default: UTC today)."),
]


def _today(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserFacingError(f"--today must be a date YYYY-MM-DD, got {value!r}") from None


def _run(runner: Callable[..., dict], query: str, org_db: str | None, today: dt.date | None) -> None:
    try:
        engine = make_readonly_engine(org_db_url(org_db))
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from exc
    try:
        result = runner(engine, query, today=today)
    except QueryError as exc:
        typer.echo(json.dumps([{"errorCode": exc.error_code, "message": exc.message}], indent=2))
        # SystemExit, not typer.Exit: the CLI runs Click with standalone_mode=False, which
        # turns typer.Exit into a return value and would exit 0.
        raise SystemExit(1) from None
    finally:
        engine.dispose()
    typer.echo(json.dumps(result, indent=2))


def register(app: typer.Typer) -> None:
    """Attach ``soql`` and ``sosl`` to the main CLI application."""

    @app.command("soql")
    def soql_command(
        query: Annotated[str, typer.Argument(help='The SOQL query, e.g. "SELECT Id, Subject FROM Case LIMIT 5".')],
        org_db: OrgDb = None,
        today: Today = None,
    ) -> None:
        """Run a SOQL query on the org and print the REST API's JSON result."""
        _run(run_soql, query, org_db, _today(today))

    @app.command("sosl")
    def sosl_command(
        query: Annotated[str, typer.Argument(help='The SOSL search, e.g. "FIND {jacket} RETURNING Case(Subject)".')],
        org_db: OrgDb = None,
        today: Today = None,
    ) -> None:
        """Run a SOSL search on the org and print the REST API's JSON result."""
        _run(run_sosl, query, org_db, _today(today))
