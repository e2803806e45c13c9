"""What every studio page does first (role gate), the databases it reads, and how it shows
expected failures (one-line errors).

Pages import it (it uses streamlit, so it lives outside :mod:`crm_core`); the permission itself
is decided by :mod:`crm_core.policy`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import app_db_url, make_readonly_engine, org_db_url
from crm_core.errors import UserFacingError
from crm_core.policy import Page, can_open, page_spec
from crm_core.store import open_app_store
from crm_core.studio.startup import signed_in_role


def require_page(page: Page) -> str:
    """The signed-in user's role if it may open `page`; otherwise show an error and stop the page."""
    role = signed_in_role(st.session_state)
    if role is None or not can_open(role, page):
        st.error(f"Your role cannot open the {page_spec(page).title} page.")
        st.stop()
    return role


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show a :class:`UserFacingError` raised in the block as ``st.error`` (its one-line message), not a traceback.

    The rest of the page still runs; use the block's own flag or ``st.stop()`` where it must not.
    """
    try:
        yield
    except UserFacingError as exc:
        st.error(str(exc))


def page_app_store() -> sessionmaker[Session]:
    """The app store, opened once per process (the same cached store as app.py's)."""
    return st.cache_resource(open_app_store)(app_db_url())


def page_org_engine() -> Engine:
    """The org, read-only, opened once per process."""
    return st.cache_resource(make_readonly_engine)(org_db_url())
