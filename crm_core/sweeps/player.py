"""Playing a sweep's episodes in one process (a queue worker, or ``sweep submit --run-here``).

:class:`SweepPlayer` takes an episode key, claims it in the app store, plays it with the run's
model and framework and stores it with its state in one transaction. Each process prepares a
run once (instances, model source, framework, read-only org) and keeps it; each provider gets
a semaphore of its ``concurrency`` in this process, and, when the sweep sets
``requests_per_minute``, every model call first waits for a slot shared by all workers.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.episode import run_episode
from crm_core.agents.frameworks import Framework, make_framework
from crm_core.agents.models import BeforeCall, EpisodeContext, ModelSource, resolve_model
from crm_core.agents.records import EpisodeRecord, RunRecord
from crm_core.agents.runner import instances_digest, select_instances
from crm_core.errors import UserFacingError
from crm_core.sweeps.definition import OFFLINE_PROVIDER, SweepDefinition
from crm_core.sweeps.pace import wait_for_slot
from crm_core.sweeps.store import EpisodeKey, claim_episode, load_sweep, store_episode, sweep_runs
from crm_core.tasks.records import TaskInstance, load_tasks


def worker_name() -> str:
    """``host:pid`` of this process, recorded on the episodes it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class PreparedRun:
    """What playing an episode of a run needs, made once per process."""

    run: RunRecord
    provider: str
    definition: SweepDefinition
    instances: dict[int, TaskInstance]
    source: ModelSource
    framework: Framework
    env: OrgEnvironment


@dataclass
class SweepPlayer:
    """Plays sweep episodes for one process; see the module docstring."""

    store: sessionmaker[Session]
    worker: str = field(default_factory=worker_name)
    _runs: dict[str, PreparedRun] = field(default_factory=dict)
    _envs: dict[str, OrgEnvironment] = field(default_factory=dict)
    _gates: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _prepare_lock: asyncio.Lock | None = None

    async def play(self, key: EpisodeKey) -> EpisodeRecord | None:
        """Claim, play and store one episode; None when there was nothing to play."""
        if not await asyncio.to_thread(claim_episode, self.store, key, self.worker):
            return None
        prepared = await self._prepared(key)
        instance = prepared.instances.get(key.instance_idx)
        if instance is None:
            raise UserFacingError(f"instance {key.instance_idx} is not in the task set of run {key.run_id}")
        limits = prepared.definition.limits_of(prepared.provider)
        gate = self._gates.setdefault(prepared.provider, asyncio.Semaphore(limits.concurrency))
        before_call: BeforeCall | None = None
        if limits.requests_per_minute is not None and prepared.provider != OFFLINE_PROVIDER:
            rpm = limits.requests_per_minute

            async def before_call() -> None:
                await wait_for_slot(self.store, prepared.provider, rpm)

        async with gate:
            context = EpisodeContext(key.run_id, instance, key.trial, prepared.framework, prepared.env)
            record = await run_episode(
                prepared.source,
                context,
                max_turns=prepared.run.max_turns,
                retry=prepared.definition.retry,
                before_call=before_call,
            )
        await asyncio.to_thread(store_episode, self.store, record)
        return record

    async def _prepared(self, key: EpisodeKey) -> PreparedRun:
        if key.run_id in self._runs:
            return self._runs[key.run_id]
        if self._prepare_lock is None:
            self._prepare_lock = asyncio.Lock()
        async with self._prepare_lock:  # concurrent first episodes of a run prepare it once
            if key.run_id not in self._runs:
                self._runs[key.run_id] = await asyncio.to_thread(self._prepare, key)
        return self._runs[key.run_id]

    def _prepare(self, key: EpisodeKey) -> PreparedRun:
        sweep = load_sweep(self.store, key.sweep_id)
        definition = SweepDefinition.model_validate(sweep.definition)
        found = {run.run_id: (run, provider) for run, provider in sweep_runs(self.store, key.sweep_id)}
        if key.run_id not in found:
            raise UserFacingError(f"run {key.run_id!r} is not part of sweep {key.sweep_id!r}")
        run, provider = found[key.run_id]
        if sweep.org_url not in self._envs:
            self._envs[sweep.org_url] = OrgEnvironment.open(sweep.org_url)
        env = self._envs[sweep.org_url]
        instances = select_instances(load_tasks(sweep.org_url), run.tasks, run.limit)
        if run.instances_digest not in {None, instances_digest(instances)}:
            raise UserFacingError(f"the task set of {sweep.org_url} changed since sweep {key.sweep_id} was submitted")
        source = resolve_model(run.model, base_url=run.base_url, store=self.store)
        source.prepare(instances, env)
        return PreparedRun(
            run=run,
            provider=provider,
            definition=definition,
            instances={i.idx: i for i in instances},
            source=source,
            framework=make_framework(run.framework, env.tool_schemas),
            env=env,
        )

    def close(self) -> None:
        """Release the org engines."""
        for env in self._envs.values():
            env.engine.dispose()
        self._envs.clear()
        self._runs.clear()
