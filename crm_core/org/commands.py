"""CLI commands of the org: ``generate`` and ``org stats|check``."""

from __future__ import annotations

import typer

org_app = typer.Typer(no_args_is_help=True, help="Inspect the generated org.")


def register(app: typer.Typer) -> None:
    """Attach the org's commands to the main CLI application."""
    app.add_typer(org_app, name="org")
