"""A provider's limits, shared by every worker through the app store: requests per window
(per minute by default) and episodes at once.

**Requests.** Each model call reserves the provider's next free slot with one upsert of its
``provider_pace`` row (the row is locked by the statement, so workers on any machine take
turns) and sleeps until it. Slots are ``(window + guard) / limit`` seconds apart: the `guard`
(a second, a tenth of a shorter window) absorbs the delay between a slot and the request's
arrival at the provider (a cold client, a busy machine, the network), so no window the
provider counts holds more than the limit. Retries of rate-limited or failed calls reserve
slots too: they count against the provider's limit. Time is the database's clock on
PostgreSQL, so machines with skewed clocks agree.

**Episodes at once.** On PostgreSQL a provider's `concurrency` is a set of that many session
advisory locks: an episode holds one for as long as it plays, on a connection of its own, so
the cap holds across all workers, and a killed worker's locks go with its connections. On
SQLite (one process: ``--run-here``, ``sweep resume``) it is a semaphore of the process.
Without a `concurrency`, a provider has no cap of its own (each worker's ``-c`` bounds it).
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Connection, Engine, create_engine, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from crm_core.store.engine import begin_write
from crm_core.store.models import ProviderPace

MINUTE_S = 60.0


def slot_interval(limit: float, window_s: float = MINUTE_S) -> float:
    """Seconds between two slots of a provider allowing `limit` requests per `window_s`."""
    guard = min(1.0, window_s / 10)
    return (window_s + guard) / limit


def reserve_slot(factory: sessionmaker[Session], provider: str, limit: float, window_s: float = MINUTE_S) -> float:
    """Reserve the provider's next request slot; returns the seconds to wait until it.

    One statement (an upsert of the provider's row, which the database locks), so one round trip.
    """
    interval = slot_interval(limit, window_s)
    with factory() as session:
        begin_write(session)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))  # a lost reservation costs nothing
            now, latest, insert = func.extract("epoch", func.clock_timestamp()), func.greatest, pg_insert
        else:
            now, latest, insert = literal(time.time()), func.max, sqlite_insert
        statement = insert(ProviderPace).values(provider=provider, next_at=now + interval)
        statement = statement.on_conflict_do_update(
            index_elements=[ProviderPace.provider], set_={"next_at": latest(ProviderPace.next_at, now) + interval}
        ).returning(ProviderPace.next_at, now)
        next_at, at = session.execute(statement).one()
        session.commit()
    return float(next_at) - interval - float(at)


async def wait_for_slot(
    factory: sessionmaker[Session], provider: str, limit: float, window_s: float = MINUTE_S
) -> None:
    """Wait until this process may send one request to `provider`."""
    wait = await asyncio.to_thread(reserve_slot, factory, provider, limit, window_s)
    if wait > 0:
        await asyncio.sleep(wait)


def _provider_key(provider: str) -> int:
    """The first key of the provider's advisory locks (a signed 32-bit hash of its name)."""
    return zlib.crc32(f"crm-provider:{provider}".encode()) - 2**31


class ProviderGates:
    """Episodes at once per provider for one process; see the module docstring.

    Waiters of this process queue on a local semaphore first, so at most `concurrency` of them
    per provider poll the database for a free lock (every 50 ms to 0.5 s, jittered). A lock's
    connection is kept for the next episode once its lock is released (no connection per episode).
    """

    def __init__(self, store: sessionmaker[Session]) -> None:
        bind = store.kw["bind"]
        self._shared = bind.dialect.name == "postgresql"
        # connections held for whole episodes stay out of the store's pool
        self._lock_engine: Engine | None = create_engine(bind.url, poolclass=NullPool) if self._shared else None
        self._idle: list[Connection] = []
        self._local: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def hold(self, provider: str, concurrency: int | None, *, shared: bool = True) -> AsyncIterator[None]:
        """One of the provider's `concurrency` places for the block (across workers if `shared`);
        no limit when `concurrency` is None."""
        if concurrency is None:
            yield
            return
        local = self._local.setdefault(f"{provider}/{concurrency}", asyncio.Semaphore(concurrency))
        async with local:
            if not (shared and self._shared):
                yield
                return
            connection, key = await self._acquire(provider, concurrency)
            try:
                yield
            finally:
                await asyncio.to_thread(self._release, connection, key)

    async def _acquire(self, provider: str, concurrency: int) -> tuple[Connection, tuple[int, int]]:
        connection = await asyncio.to_thread(self._connection)
        key = _provider_key(provider)
        wait = 0.05
        try:
            while True:
                place = await asyncio.to_thread(_try_lock, connection, key, concurrency)
                if place is not None:
                    return connection, (key, place)
                await asyncio.sleep(wait * random.uniform(0.5, 1.0))
                wait = min(0.5, wait * 2)
        except BaseException:
            await asyncio.to_thread(connection.close)
            raise

    def _connection(self) -> Connection:
        """An idle lock connection, or a new one."""
        if self._idle:
            return self._idle.pop()
        assert self._lock_engine is not None
        return self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _release(self, connection: Connection, key: tuple[int, int]) -> None:
        try:
            connection.execute(select(func.pg_advisory_unlock(*key)))
        except Exception:  # the connection died (and its lock with it): drop it
            connection.invalidate()
            connection.close()
            return
        self._idle.append(connection)

    def close(self) -> None:
        """Close the idle lock connections."""
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def _try_lock(connection: Connection, key: int, places: int) -> int | None:
    """Take one of the `places` advisory locks ``(key, 0..places-1)`` on `connection`; which one, if any."""
    for place in random.sample(range(places), places):
        if connection.execute(select(func.pg_try_advisory_lock(key, place))).scalar_one():
            return place
    return None
