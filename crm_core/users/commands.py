"""CLI commands for studio users: ``users add|list|set-password|set-role``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crm_core.cli_options import AppDbOption
from crm_core.store.engine import store_session
from crm_core.users import accounts

users_app = typer.Typer(no_args_is_help=True, help="Manage studio users (stored in the app database).")


def _password_from_stdin() -> str | None:
    """A password typed (hidden) or piped on standard input; None (generate one) when empty."""
    if sys.stdin.isatty():
        typed = typer.prompt("Password (empty: generate one)", default="", hide_input=True, show_default=False)
        if typed and typer.prompt("Repeat the password", hide_input=True) != typed:
            raise accounts.UserError("the two passwords differ")
        return typed or None
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None


def _report_password(username: str, generated: str | None) -> None:
    if generated is not None:
        typer.echo(f"Generated password for {username}: {generated}")
        typer.echo("It is shown only once; change it with `users set-password`.", err=True)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Option("--username", help="Login name (stored lower-case).")],
    role: Annotated[str, typer.Option("--role", help="expert, researcher or admin.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name (default: the username).")] = None,
    email: Annotated[str, typer.Option("--email", help="E-mail address (optional).")] = "",
    app_db: AppDbOption = None,
) -> None:
    """Add a user; the password is read from standard input, or generated and printed if empty."""
    accounts.check_role(role)
    accounts.normalize_username(username)
    password = _password_from_stdin()
    with store_session(app_db) as session:
        user, generated = accounts.add_user(session, username, role, password, name=name, email=email)
    typer.echo(f"Added {user.role} {user.username}.")
    _report_password(user.username, generated)


@users_app.command("list")
def list_(app_db: AppDbOption = None) -> None:
    """List users with their roles."""
    with store_session(app_db) as session:
        users = accounts.list_users(session)
    table = Table("username", "role", "name", "email", "created (UTC)")
    for user in users:
        table.add_row(user.username, user.role, user.name, user.email, f"{user.created_at:%Y-%m-%d %H:%M}")
    Console().print(table)


@users_app.command("set-password")
def set_password(
    username: Annotated[str, typer.Option("--username", help="The user whose password to set.")],
    app_db: AppDbOption = None,
) -> None:
    """Set a user's password from standard input (generated and printed if empty)."""
    password = _password_from_stdin()
    with store_session(app_db) as session:
        generated = accounts.set_password(session, username, password)
    typer.echo(f"Password of {username.lower()} changed.")
    _report_password(username.lower(), generated)


@users_app.command("set-role")
def set_role(
    username: Annotated[str, typer.Option("--username", help="The user whose role to change.")],
    role: Annotated[str, typer.Option("--role", help="expert, researcher or admin.")],
    app_db: AppDbOption = None,
) -> None:
    """Change a user's role."""
    with store_session(app_db) as session:
        user = accounts.set_role(session, username, role)
    typer.echo(f"{user.username} is now {user.role}.")


def register(app: typer.Typer) -> None:
    """Attach the ``users`` commands to the main CLI application."""
    app.add_typer(users_app, name="users")
