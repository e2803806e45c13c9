"""A provider's limits shared through the app store: request slots and episodes at once."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from crm_core.store.engine import open_app_store
from crm_core.store.models import ProviderPace
from crm_core.sweeps.pace import ProviderGates, reserve_slot, slot_interval


@given(st.floats(min_value=1, max_value=100_000), st.floats(min_value=0.5, max_value=3600))
def test_no_window_holds_more_than_the_limit_even_with_late_arrivals(limit, window_s):
    # limit + 1 evenly spaced slots span more than the window plus the arrival guard
    guard = min(1.0, window_s / 10)
    assert limit * slot_interval(limit, window_s) >= window_s + guard * 0.999


def test_slots_are_reserved_one_interval_apart(tmp_path):
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    waits, next_free = [], []
    for _ in range(4):
        waits.append(reserve_slot(store, "openai", 6, window_s=3.0))
        with store() as session:
            next_free.append(session.get(ProviderPace, "openai").next_at)
    other = reserve_slot(store, "anthropic", 6, window_s=3.0)
    interval = (3.0 + 0.3) / 6
    gaps = [b - a for a, b in zip(next_free, next_free[1:], strict=False)]
    assert gaps == pytest.approx([interval] * 3)  # each reservation took the next slot
    assert waits[0] == 0 < waits[1]  # the first at once, the next later
    assert other == 0  # providers are paced apart


async def _most_at_once(gates: list[ProviderGates], cap: int, holders: int, shared: bool = True) -> int:
    now = peak = 0

    async def hold(gate: ProviderGates) -> None:
        nonlocal now, peak
        async with gate.hold("openai", cap, shared=shared):
            now += 1
            peak = max(peak, now)
            await asyncio.sleep(0.1)
            now -= 1

    await asyncio.gather(*(hold(gates[i % len(gates)]) for i in range(holders)))
    return peak


def test_one_process_on_sqlite_holds_the_cap(tmp_path):
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    assert asyncio.run(_most_at_once([ProviderGates(store)], cap=3, holders=9)) == 3


@pytest.mark.postgres
def test_the_cap_holds_across_processes_and_a_dead_holder_frees_its_place(app_db_pg_url):
    store = open_app_store(app_db_pg_url)
    workers = [ProviderGates(store) for _ in range(3)]  # as three worker processes: each its own locks

    async def a_holder_dies() -> bool:
        async with workers[0].hold("openai", 1):
            with store() as session:  # its connection is cut, as when its worker is killed
                session.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                    )
                )
            async with asyncio.timeout(10), workers[1].hold("openai", 1):
                return True

    async def checks() -> None:
        assert await _most_at_once(workers, cap=2, holders=9) == 2
        assert await _most_at_once(workers, cap=2, holders=9, shared=False) > 2  # each process's cap only
        assert await a_holder_dies()  # another worker took the place the dead one held

    try:
        asyncio.run(checks())
    finally:
        for gates in workers:
            gates.close()
        store.kw["bind"].dispose()
