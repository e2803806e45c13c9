"""Runs: many episodes, concurrently, recorded in the app store and resumable.

A run is planned as (instance, trial) pairs. Pairs already stored are skipped, so calling
:func:`execute_run` again with the same run id continues where it stopped; each finished episode
is written whole in one transaction (see :mod:`crm_core.agents.run_store`). Episodes run as asyncio
tasks behind a semaphore of `concurrency`; model calls are ``ainvoke`` and tools run in worker
threads, so slow models overlap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.episode import run_episode
from crm_core.agents.frameworks import Framework
from crm_core.agents.models import EpisodeContext, ModelSource, RetryPolicy
from crm_core.agents.records import EpisodeRecord, RunRecord
from crm_core.agents.run_store import completed_keys, save_episode
from crm_core.errors import UserFacingError
from crm_core.tasks.records import TaskInstance
from crm_core.tasks.registry import task_names

T = TypeVar("T")

EpisodeCallback = Callable[[EpisodeRecord, bool], None]
FAIL_FAST_AFTER = 5
"""A run with more episodes than this stops when its first this-many all ended in error."""


class RunAbortedError(UserFacingError):
    """The model failed on every episode so far (bad key, unreachable server, ...): the run stopped."""


def default_run_id(framework: str, model: str, now: dt.datetime | None = None) -> str:
    """A readable, unique-enough run id: framework, model and UTC time."""
    now = now or dt.datetime.now(dt.UTC)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-")[:60]
    return f"{framework}-{slug}-{now:%Y%m%d-%H%M%S}"


def parse_tasks(value: str | None) -> list[str]:
    """``all`` (or nothing) for CRMArena's tasks, ``workflow`` for the workflow tasks, else a
    comma-separated list of task names."""
    if value is None or value.strip().lower() in {"", "all"}:
        return list(task_names())
    if value.strip().lower() == "workflow":
        return list(task_names("workflow"))
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = task_names(None)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UserFacingError(f"unknown task {unknown[0]!r}: choose 'all', 'workflow' or some of {', '.join(known)}")
    return list(dict.fromkeys(names))


def select_instances(instances: Sequence[TaskInstance], tasks: Sequence[str], limit: int | None) -> list[TaskInstance]:
    """The instances of `tasks`, at most `limit` per task (the lowest idx first)."""
    wanted = set(tasks)
    chosen: list[TaskInstance] = []
    taken: dict[str, int] = {}
    for instance in sorted(instances, key=lambda i: i.idx):
        if instance.task not in wanted or (limit is not None and taken.get(instance.task, 0) >= limit):
            continue
        taken[instance.task] = taken.get(instance.task, 0) + 1
        chosen.append(instance)
    return chosen


def instances_digest(instances: Sequence[TaskInstance]) -> str:
    """A fingerprint of the selected instances (idx, task, query, answer), to detect a changed task set."""
    payload = json.dumps([[i.idx, i.task, i.query, i.answer] for i in instances], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def pending_episodes(
    instances: Sequence[TaskInstance], trials: int, done: set[tuple[int, int]]
) -> list[tuple[TaskInstance, int]]:
    """The (instance, trial) pairs not stored yet, instance by instance."""
    return [(i, t) for i in instances for t in range(trials) if (i.idx, t) not in done]


async def run_pending(
    run: RunRecord,
    pending: Sequence[tuple[TaskInstance, int]],
    *,
    source: ModelSource,
    framework: Framework,
    env: OrgEnvironment,
    store: sessionmaker[Session],
    concurrency: int = 4,
    retry: RetryPolicy | None = None,
    on_episode: EpisodeCallback | None = None,
) -> list[EpisodeRecord]:
    """Play and store every pending episode, at most `concurrency` at a time."""
    if concurrency < 1:
        raise UserFacingError(f"--concurrency must be at least 1, got {concurrency}")
    semaphore = asyncio.Semaphore(concurrency)
    finished: list[EpisodeRecord] = []

    async def play(instance: TaskInstance, trial: int) -> None:
        async with semaphore:
            context = EpisodeContext(run.run_id, instance, trial, framework, env)
            record = await run_episode(source, context, max_turns=run.max_turns, retry=retry)
            saved = await asyncio.to_thread(save_episode, store, record)
        finished.append(record)
        if on_episode is not None:
            on_episode(record, saved)
        if (
            len(pending) > FAIL_FAST_AFTER
            and len(finished) == FAIL_FAST_AFTER
            and all(e.end_reason == "error" for e in finished)
        ):
            raise RunAbortedError(
                f"the first {FAIL_FAST_AFTER} episodes all failed ({record.error}); the run stopped. "
                f"Fix the cause, then resume with --run-id {run.run_id} --retry-errors"
            )

    tasks = [asyncio.create_task(play(instance, trial)) for instance, trial in pending]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return finished


def execute_run(
    run: RunRecord,
    instances: Sequence[TaskInstance],
    *,
    source: ModelSource,
    framework: Framework,
    env: OrgEnvironment,
    store: sessionmaker[Session],
    concurrency: int = 4,
    retry: RetryPolicy | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_episode: EpisodeCallback | None = None,
) -> list[EpisodeRecord]:
    """Run (or continue) `run` over `instances`; `on_start(planned, pending)` sees the plan first."""
    source.prepare(instances, env)
    done = completed_keys(store, run.run_id)
    pending = pending_episodes(instances, run.trials, done)
    if on_start is not None:
        on_start(len(instances) * run.trials, len(pending))
    return run_to_end(
        run_pending(
            run,
            pending,
            source=source,
            framework=framework,
            env=env,
            store=store,
            concurrency=concurrency,
            retry=retry,
            on_episode=on_episode,
        )
    )


def run_to_end(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end from synchronous code, even where an event loop already runs.

    A notebook, or a test process that drives Chromium through Playwright's sync API, has a loop
    running in this thread, where ``asyncio.run`` refuses; the run then gets a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
