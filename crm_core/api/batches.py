"""Query results in batches of at most 2,000 records, continued through ``nextRecordsUrl``.

The query engine returns every record of a query. When there are more than one batch's worth,
the API answers the first batch with ``done: false`` and a locator URL
(``/services/data/vXX.X/query/01g...-2000``). The locator is a row in the app database (query
text, its "today", owner, size), so any replica can serve the next batch; the full result is
also kept in a small in-process LRU cache so the replica that ran the query slices it without
running it again. On a cache miss the query is run again (the org is read-only, so the result
is the same) and the requested slice served. Locators expire 15 minutes after their last use,
as Salesforce's do.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from crm_core.api.errors import ApiError
from crm_core.org.ids import random_id
from crm_core.store.models import ApiQueryLocator, utc_now

MAX_BATCH = 2000
MIN_BATCH = 200
LOCATOR_TTL = dt.timedelta(minutes=15)
_LOCATOR_RE = re.compile(r"^(01g[0-9A-Za-z]{15})-([0-9]{1,9})$")

QueryRunner = Callable[[str, dt.date], dict[str, Any]]


def batch_size_from_header(value: str | None) -> int:
    """The batch size asked for in ``Sforce-Query-Options: batchSize=n`` (clamped to 200..2000)."""
    if not value:
        return MAX_BATCH
    for part in value.split(","):
        key, _, number = part.partition("=")
        if key.strip().lower() == "batchsize" and number.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(number.strip())))
    return MAX_BATCH


def _invalid_locator() -> ApiError:
    return ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


class QueryBatches:
    """Cuts query results into batches and serves the following ones by locator."""

    def __init__(self, sessions: sessionmaker[Session], *, cache_entries: int = 8) -> None:
        self._sessions = sessions
        self._cache: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._cache_entries = cache_entries
        self._lock = threading.Lock()

    def _remember(self, locator_id: str, records: list[dict[str, Any]]) -> None:
        with self._lock:
            self._cache[locator_id] = records
            self._cache.move_to_end(locator_id)
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)

    def _recall(self, locator_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            records = self._cache.get(locator_id)
            if records is not None:
                self._cache.move_to_end(locator_id)
            return records

    @staticmethod
    def _url(version: str, include_deleted: bool, locator_id: str, offset: int) -> str:
        resource = "queryAll" if include_deleted else "query"
        return f"/services/data/v{version}/{resource}/{locator_id}-{offset}"

    def _page(
        self,
        result: dict[str, Any],
        records: list[dict[str, Any]],
        offset: int,
        batch: int,
        url: Callable[[int], str],
    ) -> dict[str, Any]:
        end = offset + batch
        page: dict[str, Any] = {"totalSize": result["totalSize"], "done": end >= len(records)}
        if end < len(records):
            page["nextRecordsUrl"] = url(end)
        page["records"] = records[offset:end]
        return page

    def first(
        self,
        result: dict[str, Any],
        *,
        query: str,
        today: dt.date,
        user_id: int,
        include_deleted: bool,
        batch_size: int,
        version: str,
    ) -> dict[str, Any]:
        """The first batch of `result` (the engine's full answer to `query`)."""
        records = result.get("records", [])
        if len(records) <= batch_size:
            return result
        now = utc_now()
        locator_id = random_id("01g")
        with self._sessions.begin() as session:
            session.add(
                ApiQueryLocator(
                    id=locator_id,
                    user_id=user_id,
                    query=query,
                    include_deleted=include_deleted,
                    total_size=len(records),
                    batch_size=batch_size,
                    today=today.isoformat(),
                    created_at=now,
                    expires_at=now + LOCATOR_TTL,
                )
            )
            session.execute(delete(ApiQueryLocator).where(ApiQueryLocator.expires_at < now))
        self._remember(locator_id, records)
        return self._page(
            result, records, 0, batch_size, lambda end: self._url(version, include_deleted, locator_id, end)
        )

    def next(self, locator: str, *, user_id: int, version: str, run: QueryRunner) -> dict[str, Any]:
        """The batch named by `locator` (``<locator id>-<offset>``) for its owner."""
        match = _LOCATOR_RE.match(locator)
        if match is None:
            raise _invalid_locator()
        locator_id, offset = match.group(1), int(match.group(2))
        now = utc_now()
        with self._sessions.begin() as session:
            # Write first: on SQLite a transaction that reads before writing cannot wait for the lock.
            touched = session.execute(
                update(ApiQueryLocator)
                .where(
                    ApiQueryLocator.id == locator_id,
                    ApiQueryLocator.user_id == user_id,
                    ApiQueryLocator.expires_at >= now,
                    ApiQueryLocator.total_size > offset,
                )
                .values(expires_at=now + LOCATOR_TTL)
            )
            if not getattr(touched, "rowcount", 0):
                raise _invalid_locator()
            row = session.execute(select(ApiQueryLocator).where(ApiQueryLocator.id == locator_id)).scalar_one()
            query, today, include_deleted = row.query, dt.date.fromisoformat(row.today), row.include_deleted
            total_size, batch_size = row.total_size, row.batch_size
        records = self._recall(locator_id)
        result: dict[str, Any] = {"totalSize": total_size}
        if records is None:
            result = run(query, today)
            records = result.get("records", [])
            if len(records) != total_size:
                raise _invalid_locator()
            self._remember(locator_id, records)
        return self._page(
            result, records, offset, batch_size, lambda end: self._url(version, include_deleted, locator_id, end)
        )
