"""Runs: concurrency loses and duplicates nothing; a run killed with SIGKILL resumes to exactly
one stored episode per (instance, trial), on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from openai_server import Reply, openai_server
from scripted_policies import contact_policy
from sqlalchemy import func, select

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.frameworks import make_framework
from crm_core.agents.models import LangChainModelSource, RetryPolicy
from crm_core.agents.records import RunRecord
from crm_core.agents.run_store import completed_keys, list_runs, load_episodes, save_run
from crm_core.agents.runner import execute_run
from crm_core.store.engine import open_app_store
from crm_core.store.models import AgentEpisode

REPO = Path(__file__).resolve().parents[2]


def _record(run_id: str, instances, trials: int, base_url: str) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        framework="fc",
        model="openai:scripted",
        base_url=base_url,
        tasks=sorted({i.task for i in instances}),
        trials=trials,
        created_at="2026-01-01T00:00:00",
    )


def _execute(store, org_url, instances, run, base_url, concurrency):
    env = OrgEnvironment.open(org_url)
    try:
        return execute_run(
            run,
            instances,
            source=LangChainModelSource("openai:scripted", base_url=base_url),
            framework=make_framework("fc", env.tool_schemas),
            env=env,
            store=store,
            concurrency=concurrency,
            retry=RetryPolicy(attempts=2, initial_wait_s=0.01),
        )
    finally:
        env.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store(request):
    """The app store on SQLite, then on PostgreSQL."""
    url = request.getfixturevalue("app_db_url" if request.param == "sqlite" else "app_db_pg_url")
    store = open_app_store(url)
    yield store
    store.kw["bind"].dispose()


@pytest.mark.slow
def test_concurrency_8_loses_and_duplicates_nothing(any_store, contact_org, instances):
    app_store = any_store
    with openai_server(functools.partial(contact_policy, delay_s=0.2)) as server:
        run = _record("c8", instances, 2, server.base_url)
        save_run(app_store, run, planned=len(instances) * 2)
        finished = _execute(app_store, contact_org[0], instances, run, server.base_url, concurrency=8)
    expected = {(i.idx, t) for i in instances for t in range(2)}
    assert 2 <= server.max_in_flight <= 8
    assert len(server.requests) == 2 * len(expected)  # two turns each, nothing replayed
    assert sorted((e.instance_idx, e.trial) for e in finished) == sorted(expected)
    stored = load_episodes(app_store, "c8")
    assert Counter((e.instance_idx, e.trial) for e in stored) == Counter(expected)
    gold = {i.idx: i.answer for i in instances}
    assert all(e.reward == 1.0 and e.answer == gold[e.instance_idx] for e in stored)


def test_resume_runs_only_the_missing_episodes(app_store, contact_org, instances):
    with openai_server(contact_policy) as server:
        run = _record("resume", instances, 1, server.base_url)
        save_run(app_store, run, planned=len(instances))
        _execute(app_store, contact_org[0], instances[:5], run, server.base_url, concurrency=3)
        assert len(server.requests) == 10
        again = _execute(app_store, contact_org[0], instances, run, server.base_url, concurrency=3)
        assert sorted(e.instance_idx for e in again) == [i.idx for i in instances[5:]]
        assert len(server.requests) == 2 * len(instances)
        assert _execute(app_store, contact_org[0], instances, run, server.base_url, concurrency=3) == []
    assert completed_keys(app_store, "resume") == {(i.idx, 0) for i in instances}
    (summary,) = list_runs(app_store)
    assert (summary.completed, summary.planned, summary.mean_reward) == (len(instances), len(instances), 1.0)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "crm_core", *args]


def _stored_count(store) -> int:
    with store() as session:
        return session.scalar(select(func.count()).select_from(AgentEpisode))


def _wait_until_stored(store, count: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while _stored_count(store) < count:
        assert process.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, "the run stored nothing"
        time.sleep(0.05)


def _default_sigint() -> None:
    """In a child before it starts: SIGINT handled by default and not blocked."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _Gate:
    """The scripted contact model, answering only as many requests as the test allows.

    A process is interrupted or killed while it waits for a held answer, so it is always mid-run
    whatever the machine's speed (a run of 24 quick episodes can end between two looks at the store).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: int | None = None
        self._held = threading.Event()

    def script(self, body: dict) -> Reply:
        reply = contact_policy(body, delay_s=0.05)
        with self._lock:
            if self._left is None or self._left > 0:
                self._left = None if self._left is None else self._left - 1
                return reply
            reply.hold = self._held
            return reply

    def allow(self, requests: int | None) -> None:
        """Answer `requests` more requests (None: all), then hold; held requests go now."""
        with self._lock:
            held, self._held, self._left = self._held, threading.Event(), requests
        held.set()


def _kill_and_resume(
    app_url: str, org_url: str, task_file: Path, instances, tmp_path: Path, interrupt: bool, cli, monkeypatch
) -> None:
    """Start a run, (interrupt it with Ctrl-C and start it again,) SIGKILL it, resume it, check it.

    The interrupted and killed runs are real processes, stopped while the model holds an answer;
    the resume and the score run in this one.
    """
    store = open_app_store(app_url)
    planned = 2 * len(instances)
    common = ["--run-id", "killed", "--app-db", app_url, "--org-db", org_url, "--task-file", str(task_file)]
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    log = tmp_path / "run.log"
    gate = _Gate()
    with openai_server(gate.script) as server:
        first = _cli(
            "run", "--framework", "act", "--model", "openai:scripted", "--base-url", server.base_url,
            "--trials", "2", "--concurrency", "3", *common,
        )  # fmt: skip

        def start(args: list[str]) -> subprocess.Popen:
            # as from a terminal: Ctrl-C at its default, whatever this test process inherited or set
            return subprocess.Popen(
                args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), preexec_fn=_default_sigint
            )

        gate.allow(12)  # two turns an episode, three at once: twelve answers end four episodes or more
        process = start(first)
        if interrupt:
            _wait_until_stored(store, 2, process, log)
            status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
            signals = " ".join(line for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt")))
            process.send_signal(signal.SIGINT)
            try:
                code = process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
                code = None
            here = " ".join(
                line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("Sig")
            )
            assert code == 130, f"run {signals}; test {here}\n{log.read_text()[-2000:]}"
            assert "Interrupted: the finished episodes are stored. Continue with --run-id killed." in log.read_text()
            assert "Traceback" not in log.read_text()
            gate.allow(12)
            process = start(_cli("run", *common))
        _wait_until_stored(store, 4, process, log)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at = _stored_count(store)
        assert 4 <= killed_at < planned
        gate.allow(None)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        code, _, err = cli("run", *common)
        assert code == 0, err[-2000:]
        assert f"{killed_at} of {planned} episodes already done" in err
    episodes = load_episodes(store, "killed")
    assert Counter((e.instance_idx, e.trial) for e in episodes) == Counter(
        {(i.idx, t): 1 for i in instances for t in range(2)}
    )
    gold = {i.idx: i.answer for i in instances}
    assert all(e.end_reason == "responded" and e.answer == gold[e.instance_idx] for e in episodes)
    code, out, err = cli("score", "killed", "--json", "--app-db", app_url)
    assert code == 0, err
    assert '"completed": 24' in out and '"overall": 1.0' in out
    store.kw["bind"].dispose()


@pytest.mark.slow
def test_interrupt_sigkill_and_resume_sqlite(tmp_path, contact_org, instances, task_file, cli, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    _kill_and_resume(url, contact_org[0], task_file, instances, tmp_path, True, cli, monkeypatch)


@pytest.mark.postgres
def test_sigkill_and_resume_postgres(tmp_path, app_db_pg_url, contact_org, instances, task_file, cli, monkeypatch):
    _kill_and_resume(app_db_pg_url, contact_org[0], task_file, instances, tmp_path, False, cli, monkeypatch)
