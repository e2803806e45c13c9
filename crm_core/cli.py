"""The command line: ``python -m crm_core ...``.

Each concern keeps its commands in its own package (``crm_core/<package>/commands.py``); this
module only assembles them into one Typer application and turns expected errors into one-line
messages instead of tracebacks.
"""

from __future__ import annotations

import sys

import typer

from crm_core.errors import UserFacingError

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="CRMArena Studio: the local CRMArena org and benchmark."
)


def _register() -> None:
    # Imported here so that each package's commands attach themselves to `app`.
    from crm_core.agents import commands as agents_commands
    from crm_core.api import commands as api_commands
    from crm_core.org import commands as org_commands
    from crm_core.query import commands as query_commands
    from crm_core.studies import commands as studies_commands
    from crm_core.sweeps import commands as sweeps_commands
    from crm_core.tasks import commands as tasks_commands
    from crm_core.users import commands as users_commands

    for package in (
        tasks_commands,  # `generate` first
        org_commands,
        query_commands,
        agents_commands,
        sweeps_commands,
        studies_commands,
        users_commands,
        api_commands,
    ):
        package.register(app)


BARE_OPTION_VALUES = {"--writable": "sandbox"}
"""Options whose value may be left out (Click has no optional values): bare `--writable` is
`--writable=sandbox`, while `--writable=shared` names its value."""


def fill_bare_options(args: list[str]) -> list[str]:
    """`args` with each bare option of :data:`BARE_OPTION_VALUES` given its implied value."""
    return [f"{arg}={BARE_OPTION_VALUES[arg]}" if arg in BARE_OPTION_VALUES else arg for arg in args]


def main() -> None:
    """Run the CLI; expected errors print one line to stderr and exit 1."""
    _register()
    try:
        # Without standalone mode Click returns (rather than raises) the code of `typer.Exit`.
        exit_code = app(args=fill_bare_options(sys.argv[1:]), standalone_mode=False)
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
