"""The command line answers a missing or malformed argument with a usage line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def crm_core(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


USAGE_ERRORS = [
    (["tasks", "show"], "Missing argument 'IDX'"),
    (["tasks", "show", "twelve"], "Invalid value for 'IDX'"),
    (["no-such-command"], "No such command 'no-such-command'"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_usage_errors_print_a_usage_line_and_exit_2(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2
    assert "Traceback" not in err + out
    assert err.startswith("Usage: ")  # the program's name is the process's (checked below)
    assert message in err


@pytest.mark.slow
def test_a_usage_error_in_a_process_of_its_own_exits_2_without_a_traceback():
    """The same as a person's shell sees it (the cases above run the CLI in this process)."""
    args, message = USAGE_ERRORS[0]
    done = crm_core(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("Usage: python -m crm_core ")
    assert message in done.stderr


def test_every_top_level_command_names_the_package_that_defines_it():
    """`python -m crm_core CMD` imports only COMMAND_PACKAGES[CMD]: that package must define CMD."""
    import importlib

    import typer

    from crm_core.cli import COMMAND_PACKAGES, PACKAGE_ORDER

    defined = {}
    for package in PACKAGE_ORDER:
        app = typer.Typer()
        importlib.import_module(f"crm_core.{package}.commands").register(app)
        names = [c.name or c.callback.__name__ for c in app.registered_commands]
        names += [g.name or g.typer_instance.info.name for g in app.registered_groups]
        defined.update(dict.fromkeys(names, package))
    assert defined == COMMAND_PACKAGES


def test_each_build_of_the_cli_attaches_every_command_once():
    """Running the CLI again in one process (the tests, the studio) must not attach its commands
    again: Typer reads the signature of every attached command on each invocation."""
    from crm_core.cli import COMMAND_PACKAGES, build_app

    def names(app) -> list[str]:
        return [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]

    first = build_app()
    attached = names(first)
    assert len(attached) == len(set(attached))
    assert set(attached) == set(COMMAND_PACKAGES)
    build_app()
    build_app("tasks")
    assert names(first) == attached
