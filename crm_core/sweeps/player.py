"""Playing a sweep's episodes in one process (a queue worker, or ``sweep submit --run-here``).

:class:`SweepPlayer` takes an episode key, claims it in the app store, plays it with the run's
model and framework and stores it with its state in one transaction. Each process resumes a
run once through the run service (:func:`crm_core.agents.service.prepare`: the stored run's
instances, model source, framework and read-only org) and keeps it. An episode plays holding
one of its provider's ``concurrency`` places, and, when the sweep sets ``requests_per_minute``,
every model call first waits for a slot; both limits are shared by all workers
(:mod:`crm_core.sweeps.pace`). Offline models have no provider limits: only this process's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.episode import run_episode
from crm_core.agents.models import BeforeCall, EpisodeContext
from crm_core.agents.records import EpisodeRecord
from crm_core.agents.service import PreparedRun, RunConfig, prepare
from crm_core.errors import UserFacingError, error_line
from crm_core.sweeps.definition import OFFLINE_PROVIDER, SweepDefinition
from crm_core.sweeps.pace import ProviderGates, wait_for_slot
from crm_core.sweeps.store import EpisodeKey, claim_episode, load_sweep, open_runs, store_episode, sweep_runs
from crm_core.tasks.records import TaskInstance, load_tasks

logger = logging.getLogger(__name__)


def worker_name() -> str:
    """``host:pid`` of this process, recorded on the episodes it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class SweepRunHere:
    """A run of a sweep prepared in this process: the run service's run plus the sweep's limits."""

    prepared: PreparedRun
    provider: str
    definition: SweepDefinition
    instances: dict[int, TaskInstance]


@dataclass
class SweepPlayer:
    """Plays sweep episodes for one process; see the module docstring."""

    store: sessionmaker[Session]
    worker: str = field(default_factory=worker_name)
    _runs: dict[str, SweepRunHere] = field(default_factory=dict)
    _task_sets: dict[str, list[TaskInstance]] = field(default_factory=dict)
    _gates: ProviderGates = field(init=False)
    _prepare_lock: asyncio.Lock | None = None

    def __post_init__(self) -> None:
        self._gates = ProviderGates(self.store)

    async def play(self, key: EpisodeKey) -> EpisodeRecord | None:
        """Claim, play and store one episode; None when there was nothing to play."""
        if not await asyncio.to_thread(claim_episode, self.store, key, self.worker):
            return None
        here = await self._prepared(key.sweep_id, key.run_id)
        prepared = here.prepared
        instance = here.instances.get(key.instance_idx)
        if instance is None:
            raise UserFacingError(f"instance {key.instance_idx} is not in the task set of run {key.run_id}")
        limits = here.definition.limits_of(here.provider)
        online = here.provider != OFFLINE_PROVIDER
        before_call: BeforeCall | None = None
        if limits.requests_per_minute is not None and online:
            rpm = limits.requests_per_minute

            async def before_call() -> None:
                await wait_for_slot(self.store, here.provider, rpm, limits.rate_window_s)

        async with self._gates.hold(here.provider, limits.concurrency, shared=online):  # no-op when unset
            context = EpisodeContext(key.run_id, instance, key.trial, prepared.framework, prepared.env)
            record = await run_episode(
                prepared.source,
                context,
                max_turns=prepared.run.max_turns,
                retry=here.definition.retry,
                before_call=before_call,
            )
        await asyncio.to_thread(store_episode, self.store, record)
        return record

    async def prepare_open_runs(self, sweep_id: str | None = None) -> int:
        """Prepare every run with episodes queued or running (of `sweep_id`, or of every sweep)
        in this event loop; returns how many runs are ready.

        A fresh process spends a good part of a second of CPU on a run's first episode (the
        model's client library imported and its HTTP client made, the org opened, the task set
        read): players do it before they take an episode, so that no episode waits on it. A run
        that cannot be prepared now is left to its episodes, which fail with the reason.
        """
        for sweep, run_id in await asyncio.to_thread(open_runs, self.store, sweep_id):
            try:
                here = await self._prepared(sweep, run_id)
                here.prepared.source.prepare_in_loop(here.prepared.framework)
            except Exception as exc:
                logger.warning("run %s of sweep %s not prepared ahead: %s", run_id, sweep, error_line(exc))
        return len(self._runs)

    async def _prepared(self, sweep_id: str, run_id: str) -> SweepRunHere:
        if run_id in self._runs:
            return self._runs[run_id]
        if self._prepare_lock is None:
            self._prepare_lock = asyncio.Lock()
        async with self._prepare_lock:  # concurrent first episodes of a run prepare it once
            if run_id not in self._runs:
                self._runs[run_id] = await asyncio.to_thread(self._prepare, sweep_id, run_id)
        return self._runs[run_id]

    def _prepare(self, sweep_id: str, run_id: str) -> SweepRunHere:
        """Resume the stored run through the run service (same checks as ``run --run-id``)."""
        sweep = load_sweep(self.store, sweep_id)
        swept = {entry.run.run_id: entry for entry in sweep_runs(self.store, sweep_id)}
        if run_id not in swept:
            raise UserFacingError(f"run {run_id!r} is not part of sweep {sweep_id!r}")
        org_url = swept[run_id].org_url
        if org_url not in self._task_sets:
            self._task_sets[org_url] = load_tasks(org_url)
        prepared = prepare(
            RunConfig(run_id=run_id, org_db=org_url),
            store=self.store,
            task_set=self._task_sets[org_url],
        )
        prepared.source.prepare(prepared.instances, prepared.env)
        return SweepRunHere(
            prepared=prepared,
            provider=swept[run_id].provider,
            definition=SweepDefinition.model_validate(sweep.definition),
            instances={i.idx: i for i in prepared.instances},
        )

    def close(self) -> None:
        """Release the org engines of the prepared runs."""
        for here in self._runs.values():
            here.prepared.close()
        self._runs.clear()
        self._gates.close()
