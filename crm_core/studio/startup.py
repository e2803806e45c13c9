"""What the studio needs before its first page: a cookie key, an org, an app store and an admin.

Streamlit-free so that the CLI and tests can call it. The cookie key lives in an ignored TOML
file (``.streamlit/secrets.toml`` by default, ``CRM_SECRETS_FILE`` to move it), created with a
random key on first start and never committed.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import inspect

from crm_core.db import make_engine, sqlite_path
from crm_core.errors import UserFacingError
from crm_core.org.generator import generate_org
from crm_core.org.schema import OBJECT_MODELS
from crm_core.tasks.build import build_tasks

DEFAULT_SECRETS_FILE = Path(".streamlit/secrets.toml")
COOKIE_NAME = "crm_studio_auth"
COOKIE_EXPIRY_DAYS = 7.0

ProgressCallback = Callable[[str, int, int], None]


def secrets_file() -> Path:
    """Where the cookie key is kept: ``CRM_SECRETS_FILE`` or ``.streamlit/secrets.toml``."""
    return Path(os.environ.get("CRM_SECRETS_FILE") or DEFAULT_SECRETS_FILE)


def cookie_key(path: Path | None = None) -> str:
    """The login cookie's signing key, generated into the secrets file on first use."""
    path = path or secrets_file()
    existing: dict[str, Any] = {}
    if path.exists():
        try:
            existing = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserFacingError(f"{path}: not valid TOML ({exc}); fix or delete the file") from None
    key = existing.get("auth", {}).get("cookie_key")
    if isinstance(key, str) and len(key) >= 32:
        return key
    if "auth" in existing:
        raise UserFacingError(f"{path}: [auth] cookie_key must be a string of at least 32 characters")
    key = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" if path.exists() else ""
    path.write_text(f'{prefix}[auth]\ncookie_key = "{key}"\n', encoding="utf-8")
    path.chmod(0o600)
    return key


OrgState = Literal["missing", "incomplete", "ready"]


def org_state(url: str) -> OrgState:
    """``missing`` (no org tables), ``incomplete`` (an interrupted generation) or ``ready``.

    The generator builds indexes last, so an org is ready when every object table exists with
    all the indexes of the schema.
    """
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return "missing"
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        objects = [model.__table__ for model in OBJECT_MODELS]
        if not any(table.name in tables for table in objects):
            return "missing"
        for table in objects:
            if table.name not in tables:
                return "incomplete"
            present = {index["name"] for index in inspector.get_indexes(table.name)}
            if any(index.name not in present for index in table.indexes):
                return "incomplete"
        return "ready"
    finally:
        engine.dispose()


def org_scale() -> str:
    """The scale generated on first start: ``CRM_ORG_SCALE`` or ``default``."""
    return os.environ.get("CRM_ORG_SCALE") or "default"


def generate_first_org(url: str, progress: ProgressCallback) -> None:
    """Generate the org of first start at :func:`org_scale` and its task set, reporting `progress`."""
    # one process: forking the studio's multi-threaded server for text workers is not safe
    generate_org(url, scale=org_scale(), progress=progress, workers=1)
    build_tasks(url, progress=progress)


def signed_in_role(state: Mapping[str, Any]) -> str | None:
    """The role of the signed-in user in a Streamlit session state (None when signed out)."""
    if state.get("authentication_status") is not True or not state.get("username"):
        return None
    roles = state.get("roles") or []
    return roles[0] if roles else None
