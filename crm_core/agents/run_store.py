"""Agent runs in the app store: one row per run, one row per finished episode.

An episode row is written once, whole, in one transaction, when the episode ends: the row is its
own completion marker, so a run killed at any moment holds only finished episodes and resuming
it runs exactly the missing (instance, trial) pairs. ``UNIQUE(run_id, instance_idx, trial)``
makes a second write of the same episode a no-op instead of a duplicate. The tables are
:class:`~crm_core.store.models.AgentRun` and :class:`~crm_core.store.models.AgentEpisode`.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.records import EpisodeRecord, RunRecord, RunSummary
from crm_core.store.engine import begin_write
from crm_core.store.models import AgentEpisode, AgentRun


def run_row(run: RunRecord, planned: int) -> AgentRun:
    """The row of `run` with `planned` episodes."""
    return AgentRun(
        run_id=run.run_id,
        framework=run.framework,
        model=run.model,
        planned=planned,
        config=run.model_dump(mode="json"),
        created_at=run.created_at,
    )


def episode_row(episode: EpisodeRecord) -> AgentEpisode:
    """The row of a finished `episode` (the whole record in ``record``)."""
    return AgentEpisode(
        run_id=episode.run_id,
        instance_idx=episode.instance_idx,
        trial=episode.trial,
        task=episode.task,
        persona=episode.persona,
        answer=episode.answer,
        reward=episode.reward,
        turns=episode.turns,
        input_tokens=episode.input_tokens,
        output_tokens=episode.output_tokens,
        cost_usd=episode.cost_usd,
        latency_s=episode.latency_s,
        end_reason=episode.end_reason,
        error=episode.error,
        record=episode.model_dump(mode="json"),
        finished_at=episode.finished_at,
    )


def save_run(factory: sessionmaker[Session], run: RunRecord, planned: int) -> RunRecord:
    """Store `run` unless a run with its id exists; return the stored one either way."""
    with factory() as session:
        begin_write(session)
        existing = session.get(AgentRun, run.run_id)
        if existing is not None:
            session.rollback()
            return RunRecord.model_validate(existing.config)
        session.add(run_row(run, planned))
        session.commit()
        return run


def load_run(factory: sessionmaker[Session], run_id: str) -> RunRecord | None:
    """The run called `run_id`, or None."""
    with factory() as session:
        row = session.get(AgentRun, run_id)
        return None if row is None else RunRecord.model_validate(row.config)


def list_runs(factory: sessionmaker[Session], run_id: str | None = None) -> list[RunSummary]:
    """Every run (or only `run_id`), newest first, with its progress, mean reward and cost."""
    stats = (
        select(
            AgentEpisode.run_id,
            func.count().label("completed"),
            func.avg(AgentEpisode.reward).label("mean_reward"),
            func.sum(AgentEpisode.cost_usd).label("cost"),
        )
        .group_by(AgentEpisode.run_id)
        .subquery()
    )
    query = (
        select(AgentRun, stats.c.completed, stats.c.mean_reward, stats.c.cost)
        .outerjoin(stats, stats.c.run_id == AgentRun.run_id)
        .order_by(AgentRun.created_at.desc(), AgentRun.run_id)
    )
    if run_id is not None:
        query = query.where(AgentRun.run_id == run_id)
    with factory() as session:
        return [
            RunSummary(
                run=RunRecord.model_validate(row.config),
                planned=row.planned,
                completed=completed or 0,
                mean_reward=None if mean is None else float(mean),
                cost_usd=None if cost is None else float(cost),
            )
            for row, completed, mean, cost in session.execute(query).all()
        ]


def completed_keys(factory: sessionmaker[Session], run_id: str) -> set[tuple[int, int]]:
    """The (instance idx, trial) pairs of `run_id` that have finished."""
    query = select(AgentEpisode.instance_idx, AgentEpisode.trial).where(AgentEpisode.run_id == run_id)
    with factory() as session:
        return {(idx, trial) for idx, trial in session.execute(query).all()}


def save_episode(factory: sessionmaker[Session], episode: EpisodeRecord) -> bool:
    """Write a finished episode atomically; False when it was already stored (no duplicate)."""
    with factory() as session:
        begin_write(session)
        session.add(episode_row(episode))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True


def load_episodes(
    factory: sessionmaker[Session], run_id: str, *, instance_idx: int | None = None
) -> list[EpisodeRecord]:
    """The finished episodes of `run_id` (optionally of one instance), by instance then trial."""
    query = select(AgentEpisode.record).where(AgentEpisode.run_id == run_id)
    if instance_idx is not None:
        query = query.where(AgentEpisode.instance_idx == instance_idx)
    query = query.order_by(AgentEpisode.instance_idx, AgentEpisode.trial)
    with factory() as session:
        return [EpisodeRecord.model_validate(record) for record in session.scalars(query).all()]


def delete_error_episodes(factory: sessionmaker[Session], run_id: str) -> int:
    """Forget the episodes of `run_id` that ended in error, so that resuming plays them again."""
    with factory() as session:
        begin_write(session)
        result = session.execute(
            delete(AgentEpisode).where(AgentEpisode.run_id == run_id, AgentEpisode.end_reason == "error")
        )
        session.commit()
        return result.rowcount or 0


def delete_run(factory: sessionmaker[Session], run_id: str) -> int:
    """Delete a run and all its episodes; returns how many episodes went with it."""
    with factory() as session:
        begin_write(session)
        episodes = session.execute(delete(AgentEpisode).where(AgentEpisode.run_id == run_id)).rowcount or 0
        session.execute(delete(AgentRun).where(AgentRun.run_id == run_id))
        session.commit()
        return episodes
