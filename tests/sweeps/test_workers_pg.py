"""Workers on a real PostgreSQL app store, as separate processes: one SIGKILLed mid-sweep and
restarted, one stopped; every episode stored exactly once, scores equal to serial runs'."""

from __future__ import annotations

import asyncio
import signal
import subprocess

import pytest
from sqlalchemy import func, select

from crm_core.agents.results import score_run
from crm_core.agents.run_store import list_runs, load_episodes
from crm_core.agents.service import RunConfig, run
from crm_core.store.engine import open_app_store
from crm_core.store.models import AgentEpisode
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.queue import defer_episodes
from crm_core.sweeps.store import SweepEpisode, sweep_status
from crm_core.sweeps.submit import submit
from tests.sweeps.workers import start_worker, stop_workers, wait_for_the_end, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
FRAMEWORKS = ["act", "react", "fc", "fc_flex"]
# two instances of three tasks, two trials: pass^2, and every model × framework has several episodes
SELECTION = {"tasks": ["handle_time", "top_issue_identification", "knowledge_qa"], "limit": 2, "trials": 2}


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
        stop_workers([p for p in (killed, stopped, steady, locals().get("restarted")) if p is not None])

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
