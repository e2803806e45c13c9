"""Sweep worker processes for the tests on a PostgreSQL app store, and waiting on them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crm_core.sweeps.store import sweep_status

ROOT = Path(__file__).parents[2]


def start_worker(app_url: str, log: Path, concurrency: int = 4) -> subprocess.Popen:
    """A `worker` process on the app store, quick to notice a stalled peer; its output goes to `log`."""
    command = [sys.executable, "-m", "crm_core", "worker", "--app-db", app_url, "-c", str(concurrency)]
    command += ["--stalled-after", "3", "--heartbeat", "0.5"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_until(condition, timeout_s: float, what: str, every_s: float = 0.05) -> None:
    """Poll `condition` every `every_s` until true; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every_s)


def wait_for_the_end(store, sweep_id: str) -> None:
    """Until the sweep has finished (its status, a few queries, asked twice a second)."""
    wait_until(lambda: sweep_status(store, sweep_id).status == "finished", 240, "the sweep to finish", every_s=0.5)


def stop_workers(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every worker still running (each finishes the episodes in hand), then wait for all."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    for process in running:
        process.wait(60)
