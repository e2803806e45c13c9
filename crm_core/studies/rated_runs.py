"""Which agent run a workbench study shows an expert, and what a stored rating refers to.

A workbench study (items ``task:IDX``) shows each expert one agent run per instance, drawn
stably per (expert, instance) among the study's runs (:func:`study_agent`). The draw is
recomputed, with the runs that existed when the rating was submitted, to name the rated run in
exports (:func:`rated_trajectory`), beside the expert's own answer on the instance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.store.models import AgentEpisode, AgentRun, AppUser, StudyItem, WorkbenchSession
from crm_core.studies.definition import StudyDefinition
from crm_core.studies.loading import StudyError


class AgentOption(BaseModel):
    """A run that has an episode on an instance, as the workbench offers it."""

    run_id: str
    model: str
    framework: str
    trial: int
    reward: float | None
    created_at: dt.datetime


def agent_options(
    store: sessionmaker[Session] | Session, instance_idx: int, *, created_by: dt.datetime | None = None
) -> list[AgentOption]:
    """The runs with a finished episode on the instance (first trial), newest run first.

    `created_by` keeps only runs created by then (to recompute what an expert was shown).
    """
    query = (
        select(AgentRun.run_id, AgentRun.model, AgentRun.framework, AgentEpisode.trial, AgentEpisode.reward)
        .add_columns(AgentRun.created_at)
        .join(AgentEpisode, AgentEpisode.run_id == AgentRun.run_id)
        .where(AgentEpisode.instance_idx == instance_idx)
        .order_by(AgentRun.created_at.desc(), AgentRun.run_id, AgentEpisode.trial)
    )
    if created_by is not None:
        query = query.where(AgentRun.created_at <= created_by)
    if isinstance(store, Session):
        rows = store.execute(query).all()
    else:
        with store() as session:
            rows = session.execute(query).all()
    seen: set[str] = set()
    options = []
    for run_id, model, framework, trial, reward, created in rows:
        if run_id in seen:
            continue
        seen.add(run_id)
        options.append(
            AgentOption(run_id=run_id, model=model, framework=framework, trial=trial, reward=reward, created_at=created)
        )
    return options


def study_agent(options: Sequence[AgentOption], username: str, instance_idx: int) -> AgentOption:
    """The run a study shows this expert on this instance: a stable draw among `options` by run id."""
    ordered = sorted(options, key=lambda o: o.run_id)
    digest = hashlib.sha256(f"study-agent\0{username.lower()}\0{instance_idx}".encode()).digest()
    return ordered[int.from_bytes(digest[:4], "big") % len(ordered)]


class RatedTrajectory(BaseModel):
    """What an expert rated in a workbench study, beside their own answer on the instance."""

    run_id: str | None
    model: str | None
    framework: str | None
    expert_answer: str | None
    expert_score: float | None
    expert_seconds: float | None


def rated_trajectory(
    session: Session, definition: StudyDefinition, username: str, instance_idx: int, at: dt.datetime
) -> RatedTrajectory:
    """The run `username` was shown on the instance when rating at `at`, and their own answer.

    The run is recomputed with the page's draw (:func:`study_agent`) among the study's runs that
    existed at `at`, so runs added later do not change what a stored rating refers to.
    """
    wanted = study_runs(definition)
    options = [o for o in agent_options(session, instance_idx, created_by=at) if not wanted or o.run_id in wanted]
    option = study_agent(options, username, instance_idx) if options else None
    own = session.scalar(
        select(WorkbenchSession)
        .join(AppUser, AppUser.id == WorkbenchSession.user_id)
        .where(AppUser.username == username, WorkbenchSession.instance_idx == instance_idx)
    )
    return RatedTrajectory(
        run_id=option.run_id if option else None,
        model=option.model if option else None,
        framework=option.framework if option else None,
        expert_answer=own.answer if own else None,
        expert_score=own.reward if own else None,
        expert_seconds=own.seconds if own else None,
    )


def study_runs(definition: StudyDefinition) -> list[str]:
    """The runs a study shows beside the experts (empty: any run on the instance)."""
    return [run for spec in definition.items if spec.kind == "tasks" for run in getattr(spec, "runs", [])]


def item_instance(item: StudyItem) -> int:
    """The task instance idx of a study item keyed ``task:IDX``."""
    kind, _, idx = item.key.partition(":")
    if kind != "task" or not idx.isdigit():
        raise StudyError(f"study item {item.key!r} is not a task instance")
    return int(idx)
