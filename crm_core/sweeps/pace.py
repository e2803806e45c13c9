"""A provider's requests per minute, shared by every worker through the app store.

Each model call reserves the provider's next free slot in one short transaction (the row is
locked, so workers on any machine take turns) and sleeps until it: slots are at least
60 / rpm seconds apart, so no minute ever holds more than `rpm` calls. Retries of rate-limited
or failed calls reserve slots too: they count against the provider's limit. Time is the
database's clock on PostgreSQL, so machines with skewed clocks agree.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.store.engine import begin_write
from crm_core.store.models import ProviderPace


def _now(session: Session) -> float:
    if session.get_bind().dialect.name == "postgresql":
        return float(session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()


def reserve_slot(factory: sessionmaker[Session], provider: str, requests_per_minute: float) -> float:
    """Reserve the provider's next request slot; returns the seconds to wait until it."""
    interval = 60.0 / requests_per_minute
    for _ in range(5):
        with factory() as session:
            begin_write(session)
            now = _now(session)
            row = session.scalars(
                select(ProviderPace).where(ProviderPace.provider == provider).with_for_update()
            ).one_or_none()
            if row is None:
                slot = now
                session.add(ProviderPace(provider=provider, next_at=now + interval))
            else:
                slot = max(row.next_at, now)
                row.next_at = slot + interval
            try:
                session.commit()
            except IntegrityError:  # two first calls of a provider inserted its row at once
                session.rollback()
                continue
            return slot - now
    raise RuntimeError(f"could not reserve a request slot of provider {provider!r}")


async def wait_for_slot(factory: sessionmaker[Session], provider: str, requests_per_minute: float) -> None:
    """Wait until this process may send one request to `provider`."""
    wait = await asyncio.to_thread(reserve_slot, factory, provider, requests_per_minute)
    if wait > 0:
        await asyncio.sleep(wait)
