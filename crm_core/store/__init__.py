"""The app store: every table (users, studies, responses, runs, sweeps, workbench sessions, API
tokens) and its engine and migrations.

``open_app_store(url)`` migrates the database to the newest revision and returns a session
factory. Timestamps are naive UTC datetimes.
"""

from crm_core.store.engine import (
    begin_write,
    make_store_engine,
    open_app_store,
    store_session,
    upgrade,
    write_transaction,
)
from crm_core.store.models import (
    AppBase,
    AppSetting,
    AppUser,
    Draft,
    ImmutableResponseError,
    Rating,
    Response,
    Study,
    StudyItem,
    utc_now,
)

__all__ = [
    "AppBase",
    "AppSetting",
    "AppUser",
    "Draft",
    "ImmutableResponseError",
    "Rating",
    "Response",
    "Study",
    "StudyItem",
    "begin_write",
    "make_store_engine",
    "open_app_store",
    "store_session",
    "upgrade",
    "utc_now",
    "write_transaction",
]
