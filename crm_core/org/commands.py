"""CLI commands of the org: ``org stats|check|realism``.

``generate`` builds the org and then its task set, so it lives with the task set's commands
(:mod:`crm_core.tasks.commands`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from crm_core.cli_options import OrgDbOption
from crm_core.db import DatabaseURLError, make_readonly_engine, org_db_url
from crm_core.errors import UserFacingError, first_line

T = TypeVar("T")
org_app = typer.Typer(no_args_is_help=True, help="Inspect the generated org.")


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
