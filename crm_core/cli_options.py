"""Options shared by the commands of several packages (``--org-db``, ``--app-db``)."""

from __future__ import annotations

from typing import Annotated

import typer

OrgDbOption = Annotated[
    str | None, typer.Option("--org-db", help="Org database URL (default: $CRM_ORG_DB or sqlite:///data/org.db).")
]
AppDbOption = Annotated[
    str | None, typer.Option("--app-db", help="App database URL (default: $CRM_APP_DB or sqlite:///data/app.db).")
]
