"""The command line: ``python -m crm_core ...``.

Each concern keeps its commands in its own package (``crm_core/<package>/commands.py``); this
module only assembles them into one Typer application and turns expected errors into one-line
messages instead of tracebacks.
"""

from __future__ import annotations

import importlib
import sys

import typer

from crm_core.errors import UserFacingError

COMMAND_PACKAGES = {
    "generate": "tasks",
    "tasks": "tasks",
    "org": "org",
    "soql": "query",
    "sosl": "query",
    "run": "agents",
    "score": "agents",
    "runs": "agents",
    "sweep": "sweeps",
    "worker": "sweeps",
    "studies": "studies",
    "export": "studies",
    "users": "users",
    "serve": "api",
}
"""The package whose ``commands`` module defines each top-level command or group."""

PACKAGE_ORDER = ("tasks", "org", "query", "agents", "sweeps", "studies", "users", "api")
"""The order of the packages in the help (`generate` first)."""


def _root() -> None:
    # A callback keeps the application a group when only one package's single command is attached.
    pass


def build_app(command: str | None = None) -> typer.Typer:
    """A new Typer application with the commands of `command`'s package, or of every package.

    Importing one package's commands instead of all keeps the start of a command (a worker, a
    server) from importing what it never uses (help and unknown commands attach them all). Each
    call builds a new application: attaching commands to a shared one would add them again on every
    call in one process, and Typer reads every attached command's signature on each invocation.
    """
    app = typer.Typer(
        no_args_is_help=True, add_completion=False, help="CRMArena Studio: the local CRMArena org and benchmark."
    )
    app.callback()(_root)
    packages = [COMMAND_PACKAGES[command]] if command in COMMAND_PACKAGES else PACKAGE_ORDER
    for package in packages:
        importlib.import_module(f"crm_core.{package}.commands").register(app)
    return app


BARE_OPTION_VALUES = {"--writable": "sandbox"}
"""Options whose value may be left out (Click has no optional values): bare `--writable` is
`--writable=sandbox`, while `--writable=shared` names its value."""


def fill_bare_options(args: list[str]) -> list[str]:
    """`args` with each bare option of :data:`BARE_OPTION_VALUES` given its implied value."""
    return [f"{arg}={BARE_OPTION_VALUES[arg]}" if arg in BARE_OPTION_VALUES else arg for arg in args]


def main() -> None:
    """Run the CLI; expected errors print one line to stderr and exit 1."""
    args = fill_bare_options(sys.argv[1:])
    app = build_app(args[0] if args else None)
    try:
        # Without standalone mode Click returns (rather than raises) the code of `typer.Exit`.
        exit_code = app(args=args, standalone_mode=False)
    except UserFacingError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors (Typer's own Click) arrive here in non-standalone mode
        show = getattr(exc, "show", None)
        if callable(show):
            show()  # "Usage: ..." and the error line
        else:
            typer.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(exit_code if isinstance(exit_code, int) else 0)
