"""Benchmark of sweeps: episodes per second with 1, 2 and 4 queue workers against a 500 ms model,
and the queue's overhead per episode.

A local OpenAI-protocol server (``tests/agents/openai_server.py``, its own process) answers every
call after 500 ms; each episode is one call (the model responds at once). For each worker count a
fresh PostgreSQL app store gets the same sweep; the workers (``python -m crm_core worker -c 1``,
one episode at a time each) are started and registered first (a worker prepares the sweep's runs
before it registers), then the episodes are queued and the clock runs until the sweep's last
episode is stored. The baseline, measured in the same run, is the same sweep played in-process (``run_here``, one
episode at a time: claim, play, store, no queue), timed from when its runs are prepared; the
queue's overhead per episode is one worker's time per episode minus the baseline's.

    .venv/bin/python -m bench.sweeps [--pg-url URL] [--episodes 48] [--delay 0.5]

Targets: 4 workers >= 3.5x one worker; queue overhead <= 10 ms per episode.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from crm_core.org.generator import generate_org
from crm_core.store.engine import open_app_store
from crm_core.store.models import SweepEpisode
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.local import run_here
from crm_core.sweeps.queue import defer_episodes
from crm_core.sweeps.store import sweep_status
from crm_core.sweeps.submit import submit
from crm_core.tasks.build import build_tasks

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_model(delay_s: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, str(ROOT / "tests" / "agents" / "openai_server.py"), "--port", str(port)]
    process = subprocess.Popen([*command, "--delay-ms", str(delay_s * 1000)], cwd=ROOT)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}/v1"


def new_database(admin_url: str) -> str:
    name = f"bench_sweeps_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def sweep_text(org_url: str, base_url: str, episodes: int) -> str:
    trials = max(1, episodes // 6)
    return (
        f"name: bench\norg: {{url: '{org_url}'}}\n"
        f"models: [{{name: 'openai:bench', base_url: '{base_url}'}}]\n"
        f"frameworks: [fc]\ntasks: [handle_time]\nlimit: 6\ntrials: {trials}\n"
        "providers: {openai: {concurrency: 64}}\n"
    )


def in_process(app_url: str, text_: str) -> tuple[int, float]:
    store = open_app_store(app_url)
    sweep_id, keys = submit(store, parse_sweep(text_), source="bench", backend="local")
    started: list[float] = []
    run_here(store, sweep_id, concurrency=1, on_start=lambda _n: started.append(time.perf_counter()))
    elapsed = time.perf_counter() - started[0]
    assert sweep_status(store, sweep_id).counts["done"] == len(keys)
    store.kw["bind"].dispose()
    return len(keys), elapsed


def with_workers(app_url: str, text_: str, workers: int) -> tuple[int, float]:
    store = open_app_store(app_url)
    sweep_id, keys = submit(store, parse_sweep(text_), source="bench", backend="queue")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "crm_core", "worker", "--app-db", app_url, "-c", "1"]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        with store() as session:  # wait until every worker is registered and listening
            for _ in range(600):
                if session.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one() >= workers:
                    break
                session.rollback()
                time.sleep(0.05)
        start = time.time()
        asyncio.run(defer_episodes(app_url, keys))
        while sweep_status(store, sweep_id).status != "finished":
            time.sleep(0.2)
        with store() as session:  # the clock stops at the last episode stored, not at the next poll
            last = session.scalar(select(func.max(SweepEpisode.finished_at)).where(SweepEpisode.sweep_id == sweep_id))
        elapsed = last.replace(tzinfo=dt.UTC).timestamp() - start
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
        store.kw["bind"].dispose()
    return len(keys), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("CRM_TEST_PG_URL"), help="PostgreSQL server (admin URL).")
    parser.add_argument("--episodes", type=int, default=48)
    parser.add_argument("--delay", type=float, default=0.5, help="Seconds the model takes per call.")
    options = parser.parse_args()
    if not options.pg_url:
        raise SystemExit("give --pg-url or CRM_TEST_PG_URL (workers need a PostgreSQL app store)")
    console = Console()
    folder = Path(tempfile.mkdtemp(prefix="bench_sweeps_"))
    org_url = f"sqlite:///{folder / 'org.db'}"
    generate_org(org_url, scale="tiny", seed=7)
    build_tasks(org_url, per_task=6)
    console.print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    model, base_url = start_model(options.delay)
    text_ = sweep_text(org_url, base_url, options.episodes)
    rows = []
    try:
        baseline_db = new_database(options.pg_url)
        count, baseline = in_process(baseline_db, text_)
        drop_database(options.pg_url, baseline_db)
        for workers in (1, 2, 4):
            app_url = new_database(options.pg_url)
            count, elapsed = with_workers(app_url, text_, workers)
            drop_database(options.pg_url, app_url)
            rows.append((workers, count, elapsed))
    finally:
        model.terminate()
        model.wait(10)
    table = Table(title=f"sweep episodes against a {options.delay * 1000:.0f} ms model (PostgreSQL app store)")
    for column in ("played by", "episodes", "seconds", "episodes/s", "vs 1 worker", "s per episode"):
        table.add_column(column, justify="right")
    table.add_row(
        "in-process, 1 at a time (baseline)",
        str(count),
        f"{baseline:.2f}",
        f"{count / baseline:.2f}",
        "",
        f"{baseline / count:.3f}",
    )
    one = rows[0][1] / rows[0][2]
    for workers, n, elapsed in rows:
        rate = n / elapsed
        table.add_row(
            f"{workers} worker(s) × 1",
            str(n),
            f"{elapsed:.2f}",
            f"{rate:.2f}",
            f"{rate / one:.2f}x",
            f"{elapsed / n:.3f}",
        )
    console.print(table)
    overhead_ms = (rows[0][2] / rows[0][1] - baseline / count) * 1000
    console.print(f"queue overhead per episode (1 worker vs in-process): {overhead_ms:.1f} ms (target <= 10 ms)")
    console.print(f"4 workers vs 1: {rows[2][1] / rows[2][2] / one:.2f}x (target >= 3.5x)")
    console.print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
