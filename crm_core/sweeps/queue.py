"""The sweep queue on Procrastinate (PostgreSQL app stores): one job per episode.

``submit`` defers a job per episode; ``python -m crm_core worker`` runs a Procrastinate worker
whose jobs call :class:`~crm_core.sweeps.player.SweepPlayer`. A worker killed at any moment
loses nothing: its jobs stay ``doing`` with a heartbeat that stops, and every worker retries
the jobs of workers silent for `stalled_after_s` (Procrastinate's stalled-job recipe). A job
that runs again finds its episode stored (or plays it again and stores it once), so nothing is
doubled. Failures outside the model (org unreachable, ...) are retried by Procrastinate with
exponential backoff; model errors are retried inside the episode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import procrastinate
from procrastinate import JobContext, RetryStrategy
from sqlalchemy.engine import make_url

from crm_core.errors import error_line
from crm_core.sweeps.player import SweepPlayer
from crm_core.sweeps.store import EpisodeKey, release_episode

QUEUE = "sweeps"
TASK = "crm_core.sweeps.play_episode"
JOB_RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)
"""Attempts of an episode whose play failed outside the model: waits of 2, 4, 8, 16 s."""
logger = logging.getLogger(__name__)


def conninfo(app_db_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    return make_url(app_db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(app_db_url: str, player: SweepPlayer | None = None) -> procrastinate.App:
    """A Procrastinate app on the app store with the episode task (played by `player` in workers)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(app_db_url)))

    @app.task(name=TASK, queue=QUEUE, retry=JOB_RETRY, pass_context=True)
    async def play_episode(context: JobContext, sweep_id: str, run_id: str, instance_idx: int, trial: int) -> None:
        if player is None:
            raise RuntimeError("episodes are played by `python -m crm_core worker`")
        key = EpisodeKey(sweep_id=sweep_id, run_id=run_id, instance_idx=instance_idx, trial=trial)
        try:
            await player.play(key)
        except Exception as exc:
            final = JOB_RETRY.get_retry_decision(exception=exc, job=context.job) is None
            await asyncio.to_thread(release_episode, player.store, key, error_line(exc), final=final)
            raise

    return app


async def defer_episodes(app_db_url: str, keys: Sequence[EpisodeKey], chunk: int = 1000) -> None:
    """Queue one job per episode key."""
    app = queue_app(app_db_url)
    async with app.open_async():
        task = app.tasks[TASK]
        for start in range(0, len(keys), chunk):
            await task.batch_defer_async(*(key.model_dump() for key in keys[start : start + chunk]))


async def retry_stalled(app: procrastinate.App, stalled_after_s: float) -> int:
    """Put back in the queue the jobs of workers without a heartbeat for `stalled_after_s`."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after_s):
        try:
            await app.job_manager.retry_job(job)
        except Exception:  # another worker retried it first
            logger.debug("stalled job %s was retried by another worker", job.id)
            continue
        retried += 1
    return retried


async def run_worker(
    app_db_url: str,
    store,  # noqa: ANN001  # sessionmaker[Session]
    *,
    concurrency: int = 4,
    stalled_after_s: float = 30.0,
    heartbeat_s: float = 5.0,
    wait: bool = True,
) -> None:
    """Take and play episodes until stopped (SIGINT/SIGTERM finish the jobs in hand first)."""
    player = SweepPlayer(store)
    app = queue_app(app_db_url, player)

    async def watch_stalled() -> None:
        while True:
            await retry_stalled(app, stalled_after_s)
            await asyncio.sleep(max(1.0, stalled_after_s / 3))

    async with app.open_async():
        watcher = asyncio.create_task(watch_stalled())
        try:
            await player.prepare_open_runs()  # before the worker registers and takes a job
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                wait=wait,
                update_heartbeat_interval=heartbeat_s,
                stalled_worker_timeout=stalled_after_s,
                delete_jobs="successful",
                name="crm-sweeps",
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            player.close()
