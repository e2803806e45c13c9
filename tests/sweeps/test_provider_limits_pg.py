"""A provider's limits (requests per window with a flaky provider; episodes at once) over three
sweep workers on a real PostgreSQL app store. The workers start once for the module (each starts
Python and imports the model client); the module's tests run on one xdist worker
(``tests/conftest.py``), so they share them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crm_core.store.engine import open_app_store
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.queue import defer_episodes
from crm_core.sweeps.store import sweep_status
from crm_core.sweeps.submit import submit
from tests.agents.openai_server import answer_at_once, flaky, openai_server
from tests.conftest import create_pg_database, drop_pg_database
from tests.sweeps.workers import start_worker, stop_workers, wait_for_the_end

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def sweep_on_stub(store, org: str, base_url: str, limits: str, *, limit: int, extra: str = "") -> tuple[str, int]:
    """Submit and queue a sweep of the stub model (fc and act on handle_time) with `limits`."""
    text = (
        f"name: stub\norg: {{url: '{org}'}}\n"
        f"models: [{{name: 'openai:stub', base_url: '{base_url}'}}]\n"
        f"frameworks: [fc, act]\ntasks: [handle_time]\nlimit: {limit}\n"
        f"providers: {{openai: {limits}}}\n{extra}"
    )
    sweep_id, keys = submit(store, parse_sweep(text), source="test", backend="queue")
    asyncio.run(defer_episodes(app_db_url_of(store), keys))
    return sweep_id, len(keys)


def app_db_url_of(store) -> str:
    return store.kw["bind"].url.render_as_string(hide_password=False)


@dataclass
class Workers:
    """Three worker processes on an app store of their own, shared by the module's stub sweeps."""

    store: sessionmaker[Session]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def workers(tmp_path_factory) -> Iterator[Workers]:
    url = create_pg_database("crm_app_test")
    store = open_app_store(url)
    log = tmp_path_factory.mktemp("workers") / "workers.log"
    processes = [start_worker(url, log) for _ in range(3)]
    try:
        yield Workers(store, log)
    finally:
        stop_workers(processes)
        store.kw["bind"].dispose()
        drop_pg_database(url)


def test_flaky_provider_with_a_rate_limit_shared_by_three_workers(tiny_tasks_org, workers):
    """429/500 on a third of the calls, 10 requests per 4-second window (a minute made short)
    over three workers: every episode ends, and the stub never sees more than 10 requests in
    any rolling 4-second window."""
    per_window, window_s = 10, 4.0
    with openai_server(flaky(answer_at_once(0.0), 1 / 3, seed=5)) as server:
        limits = f"{{concurrency: 4, requests_per_minute: {per_window}, rate_window_s: {window_s}}}"
        retry = "retry: {attempts: 12, initial_wait_s: 0.05, max_wait_s: 0.5}\n"
        sweep_id, planned = sweep_on_stub(workers.store, tiny_tasks_org, server.base_url, limits, limit=4, extra=retry)
        wait_for_the_end(workers.store, sweep_id)
        times = sorted(server.times)
        busiest = server.busiest(window_s)
    status = sweep_status(workers.store, sweep_id)
    assert status.counts["done"] == planned == 8, workers.log_tail()
    assert len(times) > planned  # errors happened and were retried
    assert busiest <= per_window, (busiest, times)
    assert times[-1] - times[0] >= (len(times) - 1) * window_s / per_window * 0.9  # spread at the limit's pace


def test_episodes_at_once_capped_across_three_workers(tiny_tasks_org, workers):
    """A provider's concurrency of 2 holds over three workers of 4 jobs each: the stub, answering
    after 0.6 s, never has more than 2 requests in hand (each worker alone would allow 2)."""
    with openai_server(answer_at_once(0.6)) as server:
        sweep_id, planned = sweep_on_stub(workers.store, tiny_tasks_org, server.base_url, "{concurrency: 2}", limit=6)
        wait_for_the_end(workers.store, sweep_id)
    status = sweep_status(workers.store, sweep_id)
    assert status.counts["done"] == planned == 12, workers.log_tail()
    assert server.max_in_flight == 2, server.max_in_flight  # the cap was reached, never passed
