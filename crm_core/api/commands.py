"""CLI command ``serve``: the Salesforce-compatible REST API over HTTPS."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

from crm_core.errors import UserFacingError

MAX_REQUEST_HEAD = 1 << 20
"""Bytes of a request head the server reads; larger heads get the HTTP library's bare 400."""

DEFAULT_TLS_DIR = Path("data/tls")


def _tls_files(cert: Path | None, key: Path | None, tls_dir: Path, host: str) -> tuple[Path, Path, Path | None]:
    from crm_core.api.tls import ensure_local_certificate

    if (cert is None) != (key is None):
        raise UserFacingError("give both --cert and --key, or neither (a local certificate is then generated)")
    if cert is not None and key is not None:
        for flag, path in (("--cert", cert), ("--key", key)):
            if not path.is_file():
                raise UserFacingError(f"{flag}: no such file: {path}")
        return cert, key, None
    try:
        files = ensure_local_certificate(tls_dir, host)
    except OSError as exc:
        raise UserFacingError(f"cannot write the local certificate into {tls_dir}: {exc.strerror}") from exc
    return files.cert, files.key, files.ca


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTPS port.", min=1, max=65535)] = 8443,
    cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM); default: a generated one.")] = None,
    key: Annotated[Path | None, typer.Option(help="Private key (PEM) of --cert.")] = None,
    org_db: Annotated[str | None, typer.Option(help="Org database URL (default: $CRM_ORG_DB or data/org.db).")] = None,
    app_db: Annotated[str | None, typer.Option(help="App database URL (default: $CRM_APP_DB or data/app.db).")] = None,
    tls_dir: Annotated[Path, typer.Option(help="Where the generated CA and certificate live.")] = DEFAULT_TLS_DIR,
    token_ttl: Annotated[int, typer.Option(help="Access token lifetime in seconds.", min=1)] = 7200,
    today: Annotated[
        str | None, typer.Option(help="'Today' of relative date literals (YYYY-MM-DD); default: the UTC date.")
    ] = None,
    max_login_failures: Annotated[
        int, typer.Option(help="Failed logins per username within 15 minutes before refusing.", min=1)
    ] = 5,
    workers: Annotated[int, typer.Option(help="Worker processes (replicas sharing the app database).", min=1)] = 1,
    writable: Annotated[
        str,
        typer.Option(
            "--writable",
            help="Accept writes: --writable gives each token its own sandbox of the org; "
            "--writable=shared writes to the org itself (for loading data).",
        ),
    ] = "no",  # a bare --writable arrives as --writable=sandbox (crm_core.cli.fill_bare_options)
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the org over Salesforce's REST API (read-only unless --writable) for simple-salesforce and curl."""
    import uvicorn

    from crm_core.api.app import SETTINGS_ENV, create_app
    from crm_core.api.context import ApiSettings
    from crm_core.api.protocol import PromptShutdownH11Protocol
    from crm_core.api.sandboxes import WriteMode
    from crm_core.api.throttle import LoginLimits
    from crm_core.db import DatabaseURLError, app_db_url, org_db_url

    try:
        write_mode = WriteMode(writable)
    except ValueError:
        raise UserFacingError(f"--writable: expected no value or 'shared', got {writable!r}") from None
    if write_mode == WriteMode.SANDBOX and workers > 1:
        raise UserFacingError("--writable keeps each token's sandbox in the serving process: use --workers 1")
    try:
        today_date = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise UserFacingError(f"--today: expected YYYY-MM-DD, got {today!r}") from None
    cert_path, key_path, ca_path = _tls_files(cert, key, tls_dir, host)
    try:
        settings = ApiSettings(
            org_db=org_db_url(org_db),
            app_db=app_db_url(app_db),
            token_ttl_seconds=token_ttl,
            today=today_date,
            login_limits=LoginLimits(per_username=max_login_failures),
            writable=write_mode,
        )
        app = create_app(settings)  # also checks the databases and migrates the app store, once
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from exc
    target: object = app
    if workers > 1:  # each worker process builds its own app from the settings
        app.state.api.org_engine.dispose()
        app.state.api.sessions.kw["bind"].dispose()
        os.environ[SETTINGS_ENV] = settings.model_dump_json()
        target = "crm_core.api.app:app_from_environment"
    shown_host = f"[{host}]" if ":" in host else host
    access = {
        WriteMode.READ_ONLY: "org read-only",
        WriteMode.SANDBOX: "a sandbox per token",
        WriteMode.SHARED: "org writable",
    }
    typer.echo(f"CRMArena REST API on https://{shown_host}:{port} ({access[write_mode]})")
    if ca_path is not None:
        typer.echo(f"CA certificate for clients to verify: {ca_path.resolve()}")
    uvicorn.run(
        target,  # type: ignore[arg-type]
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        ssl_certfile=str(cert_path),
        ssl_keyfile=str(key_path),
        log_level=log_level,
        proxy_headers=False,
        http=PromptShutdownH11Protocol,  # h11, stopping at once with idle clients connected
        # Read request heads up to 1 MiB so that the app answers an oversized one with
        # Salesforce's 414/431 JSON (the 16,384-byte limit) rather than h11's bare 400.
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        # Keep idle connections for 75 s (uvicorn's default is 5): a client polling a Bulk API job
        # reuses its pooled connection after a pause, and a connection closed under it fails the call.
        timeout_keep_alive=75,
    )


def register(app: typer.Typer) -> None:
    """Attach ``serve`` to the main CLI application."""
    app.command("serve")(serve)
