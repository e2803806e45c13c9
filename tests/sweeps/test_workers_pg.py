"""Workers on a real PostgreSQL app store, as separate processes: one SIGKILLed mid-sweep and
restarted, one stopped; every episode stored exactly once, scores equal to serial runs'. And a
provider's limits (requests per window, a flaky provider; episodes at once) over three workers,
started once for the module: each starts a Python process and imports the model client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.results import score_run
from crm_core.agents.run_store import list_runs, load_episodes
from crm_core.agents.service import RunConfig, run
from crm_core.store.engine import open_app_store
from crm_core.store.models import AgentEpisode
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.queue import defer_episodes
from crm_core.sweeps.store import SweepEpisode, sweep_status
from crm_core.sweeps.submit import submit
from tests.agents.openai_server import Reply, answer_at_once, flaky, openai_server
from tests.conftest import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
FRAMEWORKS = ["act", "react", "fc", "fc_flex"]
# two instances of three tasks, two trials: pass^2, and every model × framework has several episodes
SELECTION = {"tasks": ["handle_time", "top_issue_identification", "knowledge_qa"], "limit": 2, "trials": 2}


def start_worker(app_url: str, log: Path, concurrency: int = 4) -> subprocess.Popen:
    command = [sys.executable, "-m", "crm_core", "worker", "--app-db", app_url, "-c", str(concurrency)]
    command += ["--stalled-after", "3", "--heartbeat", "0.5"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_until(condition, timeout_s: float, what: str, every_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every_s)


def wait_for_the_end(store, sweep_id: str) -> None:
    """Until the sweep has finished (its status, a few queries, asked twice a second)."""
    wait_until(lambda: sweep_status(store, sweep_id).status == "finished", 240, "the sweep to finish", every_s=0.5)


def running_of(store, worker: subprocess.Popen) -> int:
    with store() as session:
        return session.scalar(
            select(func.count()).where(SweepEpisode.state == "running", SweepEpisode.worker.like(f"%:{worker.pid}"))
        )


def test_three_workers_one_killed_one_stopped_every_episode_once(tiny_tasks_org, app_db_pg_url, tmp_path):
    store = open_app_store(app_db_pg_url)
    for framework in FRAMEWORKS:  # the runs that replay:base-{framework} plays again
        config = RunConfig(run_id=f"base-{framework}", framework=framework, model="oracle", org_db=tiny_tasks_org)
        run(config.model_copy(update=SELECTION), store=store)
    text = (
        f"name: three workers\norg: {{url: '{tiny_tasks_org}'}}\n"
        "models: [oracle, 'baseline:random', 'replay:base-{framework}']\n"
        f"frameworks: {FRAMEWORKS}\ntasks: {SELECTION['tasks']}\n"
        f"limit: {SELECTION['limit']}\ntrials: {SELECTION['trials']}\n"
    )
    sweep_id, keys = submit(store, parse_sweep(text), source="test", backend="queue")
    assert len(keys) == 3 * 4 * 6 * 2  # models × frameworks × instances × trials
    asyncio.run(defer_episodes(app_db_pg_url, keys))

    log = tmp_path / "workers.log"
    killed, stopped, steady = (start_worker(app_db_pg_url, log) for _ in range(3))
    try:
        wait_until(lambda: running_of(store, killed) >= 2, 120, "the first worker to hold episodes")
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        wait_until(lambda: running_of(store, stopped) >= 1, 60, "the second worker to hold episodes")
        stopped.send_signal(signal.SIGTERM)
        assert stopped.wait(60) == 0  # finishes the episodes in hand, then exits cleanly
        restarted = start_worker(app_db_pg_url, log)
        wait_for_the_end(store, sweep_id)
    finally:
        for process in (killed, stopped, steady, locals().get("restarted")):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)

    status = sweep_status(store, sweep_id)
    assert status.counts["done"] == len(keys) == status.planned, log.read_text()[-3000:]
    with store() as session:
        stored = session.execute(
            select(AgentEpisode.run_id, AgentEpisode.instance_idx, AgentEpisode.trial).where(
                AgentEpisode.run_id.in_(status.runs)
            )
        ).all()
        retried = session.scalar(select(func.count()).where(SweepEpisode.attempts > 1))
    assert len(stored) == len(set(stored)) == len(keys)  # every episode, each exactly once
    assert retried >= 1  # the killed worker's episodes were played again by another worker

    # every sweep run scores exactly like the same run played serially in one process
    for summary in (s for s in list_runs(store) if s.run.run_id in status.runs):
        swept = score_run(summary.run, load_episodes(store, summary.run.run_id), summary.planned)
        serial_config = RunConfig(
            run_id=f"serial-{summary.run.run_id[-30:]}",
            framework=summary.run.framework,
            model=summary.run.model,
            org_db=tiny_tasks_org,
            **SELECTION,
        )
        outcome = run(serial_config, store=store)
        serial = score_run(outcome.run, load_episodes(store, outcome.run.run_id), outcome.planned)
        for field in ("per_task", "overall", "pass_hat_k", "end_reasons", "completed"):
            assert getattr(swept, field) == getattr(serial, field), (summary.run.run_id, field)
        if summary.run.model != "baseline:random":
            assert swept.overall == 1.0
    store.kw["bind"].dispose()


def respond_none(body):
    if body.get("tools"):
        return Reply(tool_calls=[("respond", json.dumps({"content": "None"}))])
    return Reply(content="<respond>None</respond>")


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
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
        store.kw["bind"].dispose()
        drop_pg_database(url)


def test_flaky_provider_with_a_rate_limit_shared_by_three_workers(tiny_tasks_org, workers):
    """429/500 on a third of the calls, 10 requests per 10-second window (a minute made short)
    over three workers: every episode ends, and the stub never sees more than 10 requests in
    any rolling 10-second window."""
    per_window, window_s = 10, 10.0
    with openai_server(flaky(respond_none, 1 / 3, seed=5)) as server:
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
