"""Benchmark of a provider's limits shared through the app store: what taking and giving back a
place of the provider's concurrency cap, and reserving a request slot, cost per episode.

On a fresh PostgreSQL app store, `--episodes` sequential episodes each take a place of a
provider capped at 8 (a PostgreSQL advisory lock on the worker's kept connection) and release
it; the baseline, measured in the same run, is the same through the in-process semaphore only
(what SQLite and offline models use). A first place also opens the worker's lock connection:
shown apart. Then `--episodes` request-slot reservations (one locked row update each) at a
limit high enough never to wait.

    .venv/bin/python -m bench.provider_gates [--pg-url URL] [--episodes 200]

Target: the shared limits add well under the queue's 10 ms per episode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from rich.console import Console
from rich.table import Table

from bench.sweeps import drop_database, new_database
from crm_core.store.engine import open_app_store
from crm_core.sweeps.pace import ProviderGates, reserve_slot


async def holds(gates: ProviderGates, episodes: int, *, shared: bool) -> tuple[float, float]:
    """(seconds of the first hold, mean seconds of the others)."""
    times = []
    for _ in range(episodes + 1):
        start = time.perf_counter()
        async with gates.hold("openai", 8, shared=shared):
            pass
        times.append(time.perf_counter() - start)
    return times[0], sum(times[1:]) / episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("CRM_TEST_PG_URL"), help="PostgreSQL server (admin URL).")
    parser.add_argument("--episodes", type=int, default=200)
    options = parser.parse_args()
    if not options.pg_url:
        raise SystemExit("give --pg-url or CRM_TEST_PG_URL")
    url = new_database(options.pg_url)
    try:
        store = open_app_store(url)
        gates = ProviderGates(store)
        _, local = asyncio.run(holds(gates, options.episodes, shared=False))
        first, shared = asyncio.run(holds(gates, options.episodes, shared=True))
        start = time.perf_counter()
        for _ in range(options.episodes):
            reserve_slot(store, "openai", 1e9)
        slot = (time.perf_counter() - start) / options.episodes
        gates.close()
        store.kw["bind"].dispose()
    finally:
        drop_database(options.pg_url, url)
    table = Table(title=f"a provider's shared limits, {options.episodes} episodes (PostgreSQL app store)")
    for column in ("step", "ms per episode", "vs baseline"):
        table.add_column(column, justify="right")
    table.add_row("place of the cap, in-process semaphore (baseline)", f"{local * 1000:.3f}", "1.0x")
    table.add_row("place of the cap, advisory lock (kept connection)", f"{shared * 1000:.3f}", f"{shared / local:.0f}x")
    table.add_row("first place (opens the lock connection)", f"{first * 1000:.3f}", f"{first / local:.0f}x")
    table.add_row("request slot (per model call)", f"{slot * 1000:.3f}", f"{slot / local:.0f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
