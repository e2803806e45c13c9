"""Sweeps in the app store: the sweep, its runs (one per model × framework) and the state of
every episode.

The tables (``Sweep``, ``SweepRun``, ``SweepEpisode``, ``ProviderPace``) are in
:mod:`crm_core.store.models`. The episodes themselves are ordinary run episodes
(``agent_episodes``), so ``runs``, ``score`` and the studio read a sweep's runs unchanged.
``sweep_episodes`` adds what a queue needs: each (run, instance, trial) is ``queued``,
``running``, ``done``, ``failed`` (ended in error), ``cancelled`` or ``skipped`` (the budget was
spent). A finished episode and its state are written in one transaction, and
``UNIQUE(run_id, instance_idx, trial)`` on both tables means that an episode played twice (a
worker killed after storing it, a stalled job retried) is stored once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.records import EpisodeRecord, RunRecord
from crm_core.agents.run_store import episode_row
from crm_core.errors import UserFacingError
from crm_core.store.engine import begin_write
from crm_core.store.models import AgentEpisode, AgentRun, Sweep, SweepEpisode, SweepRun, utc_now
from crm_core.sweeps.definition import SweepDefinition

EpisodeState = Literal["queued", "running", "done", "failed", "cancelled", "skipped"]
STATES: tuple[EpisodeState, ...] = ("queued", "running", "done", "failed", "cancelled", "skipped")


class EpisodeKey(BaseModel):
    """Which episode: the job's arguments."""

    sweep_id: str
    run_id: str
    instance_idx: int
    trial: int


class ModelProgress(BaseModel):
    """Progress of one model of a sweep (all its frameworks)."""

    model: str
    done: int
    failed: int
    planned: int
    episodes_per_minute: float | None


class RunProgress(BaseModel):
    """Progress of one run of a sweep: a model × framework (on one org variant)."""

    run_id: str
    variant: str | None
    model: str
    framework: str
    counts: dict[str, int]
    planned: int
    cost_usd: float
    unpriced_episodes: int
    episodes_per_minute: float | None

    @property
    def cost_text(self) -> str:
        """US dollars so far, and how many episodes had no known cost."""
        return f"{self.cost_usd:.4f}" + (f" (+{self.unpriced_episodes} unknown)" if self.unpriced_episodes else "")

    @property
    def label(self) -> str:
        """``model · framework``, after the variant's label when the sweep has variants."""
        return " · ".join(filter(None, [self.variant, self.model, self.framework]))


class SweepStatus(BaseModel):
    """What ``sweep status`` prints: counts per state, cost, time left, per-model throughput."""

    sweep_id: str
    name: str
    status: Literal["queued", "running", "finished", "cancelled", "budget spent"]
    backend: str
    planned: int
    counts: dict[str, int]
    cost_usd: float
    unpriced_episodes: int
    budget_usd: float | None
    started_at: dt.datetime | None
    elapsed_s: float | None
    eta_s: float | None
    runs: list[str]
    models: list[ModelProgress]
    per_run: list[RunProgress]
    recent_errors: list[str]
    created_at: dt.datetime
    created_by: str | None


def format_duration(seconds: float | None) -> str:
    """``1h05m`` or ``3m07s``; ``unknown`` for None."""
    if seconds is None:
        return "unknown"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class PlannedRun(BaseModel):
    """A run of a sweep to create: its record, provider, the (instance idx, trial) pairs, its org
    and the label of its org variant (None when the sweep has one org)."""

    run: RunRecord
    provider: str
    keys: list[tuple[int, int]]
    org_url: str
    variant: str | None = None


def new_sweep_id(now: dt.datetime | None = None) -> str:
    """``sweep-YYYYMMDD-HHMMSS-xxxx`` (UTC, 4 random hex digits)."""
    now = now or dt.datetime.now(dt.UTC)
    return f"sweep-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def create_sweep(
    factory: sessionmaker[Session],
    sweep_id: str,
    definition: SweepDefinition,
    *,
    source: str,
    org_url: str,
    backend: str,
    runs: Sequence[PlannedRun],
    created_by: str | None = None,
) -> list[EpisodeKey]:
    """Store the sweep, its (already stored) runs and every episode as ``queued``, in one transaction."""
    now = utc_now()
    keys: list[EpisodeKey] = []
    with factory() as session:
        begin_write(session)
        session.add(
            Sweep(
                sweep_id=sweep_id,
                name=definition.name,
                definition=definition.model_dump(mode="json"),
                source=source,
                org_url=org_url,
                backend=backend,
                created_by=created_by,
                created_at=now,
            )
        )
        session.flush()
        for planned in runs:
            session.add(
                SweepRun(
                    run_id=planned.run.run_id,
                    sweep_id=sweep_id,
                    provider=planned.provider,
                    org_url=planned.org_url,
                    variant=planned.variant,
                )
            )
        session.flush()
        rows = []
        for planned in runs:
            for idx, trial in planned.keys:
                rows.append({"sweep_id": sweep_id, "run_id": planned.run.run_id, "instance_idx": idx, "trial": trial})
                keys.append(EpisodeKey(sweep_id=sweep_id, run_id=planned.run.run_id, instance_idx=idx, trial=trial))
        if rows:
            session.execute(insert(SweepEpisode).values(state="queued", attempts=0), rows)
        session.commit()
    return keys


def load_sweep(factory: sessionmaker[Session], sweep_id: str) -> Sweep:
    """The sweep row, or a one-line error naming the id."""
    with factory() as session:
        row = session.get(Sweep, sweep_id)
    if row is None:
        raise UserFacingError(f"no sweep {sweep_id!r} in the app store (see `python -m crm_core sweep list`)")
    return row


def list_sweeps(factory: sessionmaker[Session]) -> list[Sweep]:
    """Every sweep, newest first."""
    with factory() as session:
        return list(session.scalars(select(Sweep).order_by(Sweep.created_at.desc(), Sweep.sweep_id)).all())


class SweptRun(BaseModel):
    """A run of a sweep: its record, provider, org and org variant label (None with one org)."""

    run: RunRecord
    provider: str
    org_url: str
    variant: str | None


def sweep_runs(factory: sessionmaker[Session], sweep_id: str) -> list[SweptRun]:
    """Each run of the sweep, in the order they were planned."""
    query = (
        select(AgentRun.config, SweepRun.provider, func.coalesce(SweepRun.org_url, Sweep.org_url), SweepRun.variant)
        .join(SweepRun, SweepRun.run_id == AgentRun.run_id)
        .join(Sweep, Sweep.sweep_id == SweepRun.sweep_id)
        .where(SweepRun.sweep_id == sweep_id)
        .order_by(AgentRun.created_at, AgentRun.run_id)
    )
    with factory() as session:
        return [
            SweptRun(run=RunRecord.model_validate(config), provider=provider, org_url=org_url, variant=variant)
            for config, provider, org_url, variant in session.execute(query).all()
        ]


def open_runs(factory: sessionmaker[Session], sweep_id: str | None = None) -> list[tuple[str, str]]:
    """(sweep id, run id) of every run with episodes queued or running (of one sweep, or of all)."""
    query = (
        select(SweepEpisode.sweep_id, SweepEpisode.run_id)
        .where(SweepEpisode.state.in_(("queued", "running")))
        .distinct()
        .order_by(SweepEpisode.sweep_id, SweepEpisode.run_id)
    )
    if sweep_id is not None:
        query = query.where(SweepEpisode.sweep_id == sweep_id)
    with factory() as session:
        return [(sweep, run_id) for sweep, run_id in session.execute(query).all()]


def _spent(session: Session, sweep_id: str) -> tuple[float, int]:
    """(US dollars spent, episodes of unknown cost) of the sweep's stored episodes."""
    runs = select(SweepRun.run_id).where(SweepRun.sweep_id == sweep_id)
    cost, unknown = session.execute(
        select(
            func.coalesce(func.sum(AgentEpisode.cost_usd), 0.0),
            func.count().filter(AgentEpisode.cost_usd.is_(None)),
        ).where(AgentEpisode.run_id.in_(runs))
    ).one()
    return float(cost or 0.0), int(unknown or 0)


def _key_filter(model: type[SweepEpisode] | type[AgentEpisode], key: EpisodeKey) -> list[Any]:
    return [model.run_id == key.run_id, model.instance_idx == key.instance_idx, model.trial == key.trial]


def claim_episode(factory: sessionmaker[Session], key: EpisodeKey, worker: str) -> bool:
    """Mark the episode ``running`` if it should be played now; False when there is nothing to do.

    Nothing to do: the episode is stored already (its state is set from it), the sweep was
    cancelled (the episode becomes ``cancelled``) or its budget is spent (``skipped``).
    """
    with factory() as session:
        begin_write(session)
        state = session.scalars(select(SweepEpisode).where(*_key_filter(SweepEpisode, key))).one_or_none()
        if state is None or state.state in {"done", "failed", "cancelled", "skipped"}:
            session.rollback()
            return False
        stored = session.scalar(select(AgentEpisode.end_reason).where(*_key_filter(AgentEpisode, key)))
        sweep = session.get(Sweep, key.sweep_id)
        assert sweep is not None
        now = utc_now()
        if stored is not None:
            state.state, state.finished_at = ("failed" if stored == "error" else "done"), now
        elif sweep.stop_reason == "cancelled":
            state.state, state.finished_at = "cancelled", now
        elif _budget_spent(session, sweep):
            state.state, state.finished_at = "skipped", now
            if sweep.stop_reason is None:
                sweep.stop_reason, sweep.stopped_at = "budget spent", now
        else:
            state.state, state.attempts, state.worker = "running", state.attempts + 1, worker[:120]
            state.started_at, state.error = now, None
            session.commit()
            return True
        session.commit()
        return False


def _budget_spent(session: Session, sweep: Sweep) -> bool:
    budget = sweep.definition.get("budget_usd")
    return budget is not None and _spent(session, sweep.sweep_id)[0] >= budget


def store_episode(factory: sessionmaker[Session], episode: EpisodeRecord) -> bool:
    """Store a finished episode and mark it ``done`` (``failed`` if it ended in error), atomically.

    False when the episode was stored already (by an earlier attempt): nothing is duplicated.
    """
    key_filter = [
        AgentEpisode.run_id == episode.run_id,
        AgentEpisode.instance_idx == episode.instance_idx,
        AgentEpisode.trial == episode.trial,
    ]
    for _ in range(3):
        with factory() as session:
            begin_write(session)
            stored = session.scalar(select(AgentEpisode.end_reason).where(*key_filter))
            if stored is None:
                session.add(episode_row(episode))
            end_reason = stored or episode.end_reason
            values: dict[str, Any] = {"state": "failed" if end_reason == "error" else "done", "finished_at": utc_now()}
            if stored is None:
                values["error"] = episode.error
            session.execute(
                update(SweepEpisode)
                .where(
                    SweepEpisode.run_id == episode.run_id,
                    SweepEpisode.instance_idx == episode.instance_idx,
                    SweepEpisode.trial == episode.trial,
                )
                .values(**values)
            )
            try:
                session.commit()
            except IntegrityError:  # another worker stored it between our read and our write
                session.rollback()
                continue
            return stored is None
    raise RuntimeError(f"could not store episode {episode.run_id}/{episode.instance_idx}/{episode.trial}")


def release_episode(factory: sessionmaker[Session], key: EpisodeKey, error: str, *, final: bool) -> None:
    """An attempt failed outside the episode (org unreachable, ...): queue it again, or fail it."""
    with factory() as session:
        begin_write(session)
        session.execute(
            update(SweepEpisode)
            .where(*_key_filter(SweepEpisode, key), SweepEpisode.state == "running")
            .values(state="failed" if final else "queued", error=error[:2000], finished_at=utc_now() if final else None)
        )
        session.commit()


def cancel_sweep(factory: sessionmaker[Session], sweep_id: str) -> int:
    """Stop the sweep: its queued episodes become ``cancelled`` (running ones finish); returns how many."""
    with factory() as session:
        begin_write(session)
        sweep = session.get(Sweep, sweep_id)
        if sweep is None:
            session.rollback()
            raise UserFacingError(f"no sweep {sweep_id!r} in the app store")
        now = utc_now()
        sweep.stop_reason, sweep.stopped_at = "cancelled", now
        count = session.execute(
            update(SweepEpisode)
            .where(SweepEpisode.sweep_id == sweep_id, SweepEpisode.state == "queued")
            .values(state="cancelled", finished_at=now)
        ).rowcount
        session.commit()
        return count or 0


def requeue(factory: sessionmaker[Session], sweep_id: str, states: Iterable[str]) -> list[EpisodeKey]:
    """Queue again the sweep's episodes in `states` (their error episodes are forgotten first).

    The sweep is active again (a cancelled or budget-stopped sweep resumes).
    """
    wanted = list(states)
    with factory() as session:
        begin_write(session)
        sweep = session.get(Sweep, sweep_id)
        if sweep is None:
            session.rollback()
            raise UserFacingError(f"no sweep {sweep_id!r} in the app store")
        rows = session.scalars(
            select(SweepEpisode).where(SweepEpisode.sweep_id == sweep_id, SweepEpisode.state.in_(wanted))
        ).all()
        keys = [
            EpisodeKey(sweep_id=sweep_id, run_id=r.run_id, instance_idx=r.instance_idx, trial=r.trial) for r in rows
        ]
        for row in rows:
            session.execute(
                delete(AgentEpisode).where(
                    AgentEpisode.run_id == row.run_id,
                    AgentEpisode.instance_idx == row.instance_idx,
                    AgentEpisode.trial == row.trial,
                    AgentEpisode.end_reason == "error",
                )
            )
            row.state, row.error, row.finished_at, row.started_at = "queued", None, None, None
        sweep.stop_reason, sweep.stopped_at = None, None
        session.commit()
    return keys


def reset_running(factory: sessionmaker[Session], sweep_id: str) -> int:
    """Queue again the episodes left ``running`` by a process that died (in-process sweeps only)."""
    with factory() as session:
        begin_write(session)
        count = session.execute(
            update(SweepEpisode)
            .where(SweepEpisode.sweep_id == sweep_id, SweepEpisode.state == "running")
            .values(state="queued")
        ).rowcount
        session.commit()
        return count or 0


def queued_keys(factory: sessionmaker[Session], sweep_id: str) -> list[EpisodeKey]:
    """The sweep's queued episodes, run by run, instance by instance."""
    query = (
        select(SweepEpisode.run_id, SweepEpisode.instance_idx, SweepEpisode.trial)
        .where(SweepEpisode.sweep_id == sweep_id, SweepEpisode.state == "queued")
        .order_by(SweepEpisode.id)
    )
    with factory() as session:
        return [
            EpisodeKey(sweep_id=sweep_id, run_id=run_id, instance_idx=idx, trial=trial)
            for run_id, idx, trial in session.execute(query).all()
        ]


def sweep_status(factory: sessionmaker[Session], sweep_id: str, now: dt.datetime | None = None) -> SweepStatus:
    """Counts per state, cost so far, time left (from the pace so far) and per-model throughput."""
    now = now or utc_now()
    sweep = load_sweep(factory, sweep_id)
    with factory() as session:
        per_run = session.execute(
            select(
                SweepEpisode.run_id,
                SweepEpisode.state,
                func.count(),
                func.min(SweepEpisode.started_at),
                func.max(SweepEpisode.finished_at),
            )
            .where(SweepEpisode.sweep_id == sweep_id)
            .group_by(SweepEpisode.run_id, SweepEpisode.state)
        ).all()
        run_rows = session.execute(
            select(SweepRun.run_id, SweepRun.variant, AgentRun.model, AgentRun.framework)
            .join(AgentRun)
            .where(SweepRun.sweep_id == sweep_id)
            .order_by(AgentRun.created_at, AgentRun.run_id)
        ).all()
        models = {run_id: model for run_id, _, model, _ in run_rows}
        run_costs = {
            run_id: (float(cost or 0.0), int(unknown or 0))
            for run_id, cost, unknown in session.execute(
                select(
                    AgentEpisode.run_id,
                    func.sum(AgentEpisode.cost_usd),
                    func.count().filter(AgentEpisode.cost_usd.is_(None)),
                )
                .where(AgentEpisode.run_id.in_(select(SweepRun.run_id).where(SweepRun.sweep_id == sweep_id)))
                .group_by(AgentEpisode.run_id)
            ).all()
        }
        cost, unpriced = _spent(session, sweep_id)
        errors = session.execute(
            select(SweepEpisode.run_id, SweepEpisode.instance_idx, SweepEpisode.trial, SweepEpisode.error)
            .where(SweepEpisode.sweep_id == sweep_id, SweepEpisode.error.is_not(None))
            .order_by(SweepEpisode.finished_at.desc())
            .limit(5)
        ).all()
    counts = dict.fromkeys(STATES, 0)
    by_model: dict[str, dict[str, Any]] = {}
    by_run: dict[str, dict[str, Any]] = {r: {"counts": dict.fromkeys(STATES, 0), "spans": []} for r in models}
    first_start: dt.datetime | None = None
    for run_id, state, count, started, finished in per_run:
        counts[state] += count
        if run_id in by_run:
            by_run[run_id]["counts"][state] += count
            by_run[run_id]["spans"].append((state, count, started, finished))
        model = by_model.setdefault(
            models.get(run_id, run_id), {"done": 0, "failed": 0, "planned": 0, "start": None, "end": None}
        )
        model["planned"] += count
        if state in {"done", "failed"}:
            model[state] += count
            model["end"] = max(filter(None, [model["end"], finished]), default=None)
        if started is not None:
            model["start"] = min(filter(None, [model["start"], started]), default=None)
            first_start = started if first_start is None else min(first_start, started)
    planned = sum(counts.values())
    finished = counts["done"] + counts["failed"]
    left = counts["queued"] + counts["running"]
    last_finish = max((m["end"] for m in by_model.values() if m["end"] is not None), default=None)
    end = now if left or last_finish is None else last_finish
    elapsed = (end - first_start).total_seconds() if first_start else None
    eta = elapsed / finished * left if elapsed and finished and left else (0.0 if not left else None)
    if sweep.stop_reason == "cancelled":
        status = "cancelled"
    elif sweep.stop_reason == "budget spent" and not counts["running"]:
        status = "budget spent"
    elif not left:
        status = "finished"
    else:
        status = "running" if first_start else "queued"
    progress = []
    for name, m in by_model.items():
        rate = _per_minute(m["done"] + m["failed"], m["start"], m["end"])
        progress.append(
            ModelProgress(
                model=name, done=m["done"], failed=m["failed"], planned=m["planned"], episodes_per_minute=rate
            )
        )
    runs_progress = []
    for run_id, variant, model, framework in run_rows:
        run_counts, spans = by_run[run_id]["counts"], by_run[run_id]["spans"]
        start = min((started for _, _, started, _ in spans if started is not None), default=None)
        end = max((f for state, _, _, f in spans if state in {"done", "failed"} and f is not None), default=None)
        run_cost, run_unpriced = run_costs.get(run_id, (0.0, 0))
        runs_progress.append(
            RunProgress(
                run_id=run_id,
                variant=variant,
                model=model,
                framework=framework,
                counts=run_counts,
                planned=sum(run_counts.values()),
                cost_usd=run_cost,
                unpriced_episodes=run_unpriced,
                episodes_per_minute=_per_minute(run_counts["done"] + run_counts["failed"], start, end),
            )
        )
    return SweepStatus(
        sweep_id=sweep_id,
        name=sweep.name,
        status=status,
        backend=sweep.backend,
        planned=planned,
        counts=counts,
        cost_usd=cost,
        unpriced_episodes=unpriced,
        budget_usd=sweep.definition.get("budget_usd"),
        started_at=first_start,
        elapsed_s=elapsed,
        eta_s=eta,
        runs=list(models),
        models=progress,
        per_run=runs_progress,
        recent_errors=[f"{r} instance {i} trial {t}: {e}" for r, i, t, e in errors],
        created_at=sweep.created_at,
        created_by=sweep.created_by,
    )


def _per_minute(ended: int, start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """Episodes per minute between the first start and the last finish (None before one ends)."""
    span = (end - start).total_seconds() if start and end else None
    return ended / span * 60 if span else None
