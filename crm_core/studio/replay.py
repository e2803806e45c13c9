"""Trajectory Replay: an agent's episode (or an expert's workbench session) as numbered steps.

A step is one assistant turn: the exact messages it was prompted with, what it replied, the
action the harness understood (kind, tool, JSON arguments) and the observation that came back.
:func:`first_failed_step` finds the first step that went wrong: an action that errored, an
invalid action, or a final answer that scored below 1.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.records import EpisodeRecord, MessageRecord
from crm_core.scoring.state import StateDiff, normalize_value
from crm_core.store.models import AgentEpisode
from crm_core.studio.query_tables import name_text, query_table, table_ids, text_ids
from crm_core.studio.workbench import is_workbench_run

_ERROR_OBSERVATION = re.compile(r"^(Error\b|[A-Z][A-Z_]{3,}: )")


class ChangeRow(BaseModel):
    """One changed field (or a deleted record) of a workflow episode, as a table row."""

    change: str
    """created, updated or deleted."""
    object: str
    record: str
    """The record's id; ``new`` for a record the episode created."""
    field: str = ""
    value: str = ""


CHANGE_COLUMNS = ["change", "object", "record", "field", "value"]


def change_rows(diff: StateDiff | None) -> list[ChangeRow]:
    """A diff as rows: one per field of a created or updated record, one per deleted record."""
    if diff is None:
        return []
    rows: list[ChangeRow] = []
    for made in diff.created:
        rows += [
            ChangeRow(change="created", object=made.object, record="new", field=name, value=_text(value))
            for name, value in sorted(made.fields.items())
        ]
    for changed in diff.updated:
        rows += [
            ChangeRow(change="updated", object=changed.object, record=changed.id, field=name, value=_text(value))
            for name, value in sorted(changed.fields.items())
        ]
    rows += [ChangeRow(change="deleted", object=gone.object, record=gone.id) for gone in diff.deleted]
    return rows


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def new_rows(before: list[ChangeRow], after: list[ChangeRow]) -> list[ChangeRow]:
    """The rows of `after` that `before` lacks (what one step changed), compared as the scorer does."""

    def key(row: ChangeRow) -> tuple[Any, ...]:
        return (row.change, row.object, row.record, row.field, normalize_value(row.value))

    seen = {key(row) for row in before}
    return [row for row in after if key(row) not in seen]


class Step(BaseModel):
    """One turn of a trajectory."""

    number: int
    """1-based."""
    kind: str
    """execute, tool, respond, invalid (agents) or the same for an expert's steps."""
    name: str | None = None
    arguments: dict[str, Any] | None = None
    reply: str = ""
    """The assistant's text (empty for an expert's steps)."""
    thought: str | None = None
    observation: str | None = None
    error: str | None = None
    prompt_end: int = 0
    """The step was prompted with ``messages[:prompt_end]`` of its episode."""
    failed: bool = False
    changes: list[ChangeRow] = []
    """What this step changed in the episode's sandbox (workflow tasks)."""

    @property
    def summary(self) -> str:
        """A one-line description for the step list."""
        if self.kind == "execute":
            what = (self.arguments or {}).get("query") or self.reply
        elif self.kind == "tool":
            what = f"{self.name}(…)"
        elif self.kind == "respond":
            what = f"respond: {(self.arguments or {}).get('content', '')}"
        elif self.kind == "reset":
            what = "reset the sandbox (every change undone)"
        else:
            what = f"invalid: {self.error or ''}"
        return " ".join(str(what).split())[:90]


class Trajectory(BaseModel):
    """The steps of one episode or workbench session, with its outcome."""

    label: str
    answer: str | None
    gold: str | None
    reward: float | None
    end_reason: str
    error: str | None = None
    turns: int
    messages: list[MessageRecord] = []
    steps: list[Step]
    changes: list[ChangeRow] | None = None
    """Workflow tasks: every change the episode left (None for read-only tasks)."""
    expected_changes: list[ChangeRow] = []
    state_f1: float | None = None
    missing: list[str] = []
    """Expected changes the episode did not make."""
    unexpected: list[str] = []
    """Changes the episode made that were not expected."""


def observation_failed(observation: str | None) -> bool:
    """Whether an observation reports an error (``Error: ...`` or a query's ``ERRORCODE: ...``)."""
    return bool(observation) and bool(_ERROR_OBSERVATION.match(observation or ""))


def _mark_failures(steps: list[Step], reward: float | None) -> list[Step]:
    for step in steps:
        step.failed = (
            step.kind == "invalid"
            or observation_failed(step.observation)
            or (step.kind == "respond" and reward is not None and reward < 1.0)
        )
    return steps


def episode_trajectory(episode: EpisodeRecord, label: str | None = None) -> Trajectory:
    """An agent's episode as steps (one per assistant message, matched to the action of its turn)."""
    actions = {action.turn: action for action in episode.actions}
    steps: list[Step] = []
    so_far: list[ChangeRow] = []
    for position, message in enumerate(episode.messages):
        if message.role != "assistant":
            continue
        number = len(steps) + 1
        action = actions.get(number)
        arguments = action.arguments if action is not None else None
        if action is not None and action.kind == "execute":
            arguments = {"query": action.content or ""}
        elif action is not None and action.kind == "respond":
            arguments = {"content": action.content or ""}
        steps.append(
            Step(
                number=number,
                kind=action.kind if action is not None else "invalid",
                name=action.name if action is not None else None,
                arguments=arguments,
                reply=message.content
                + "".join(f"\n[tool call] {call.name} {call.arguments}" for call in message.tool_calls),
                thought=action.thought if action is not None else None,
                observation=action.observation if action is not None else None,
                error=action.error if action is not None else episode.error,
                prompt_end=position,
            )
        )
        if action is not None and action.state_diff is not None:
            now = change_rows(action.state_diff)
            steps[-1].changes, so_far = new_rows(so_far, now), now
    score = episode.state_score
    return Trajectory(
        label=label or f"{episode.model} · {episode.framework}",
        answer=episode.answer,
        gold=episode.gold,
        reward=episode.reward,
        end_reason=episode.end_reason,
        error=episode.error,
        turns=episode.turns,
        messages=episode.messages,
        steps=_mark_failures(steps, episode.reward if episode.end_reason == "responded" else None),
        changes=change_rows(episode.state_diff) if episode.state_diff is not None else None,
        expected_changes=change_rows(episode.expected_diff),
        state_f1=score.f1 if score is not None else None,
        missing=score.missing if score is not None else [],
        unexpected=score.unexpected if score is not None else [],
    )


def workbench_trajectory(
    steps: Sequence[Any], answer: str | None, reward: float | None, gold: str | None, label: str = "Expert"
) -> Trajectory:
    """An expert's workbench session (its :class:`~crm_core.studio.workbench.WorkbenchStep` list) as steps."""
    made = [
        Step(
            number=i + 1,
            kind=step.kind,
            name=step.name,
            arguments=step.arguments,
            observation=step.observation,
        )
        for i, step in enumerate(steps)
    ]
    if answer is not None:
        made.append(Step(number=len(made) + 1, kind="respond", arguments={"content": answer}))
    return Trajectory(
        label=label,
        answer=answer,
        gold=gold,
        reward=reward,
        end_reason="responded" if answer is not None else "open",
        turns=len(made),
        steps=_mark_failures(made, reward),
    )


def first_failed_step(trajectory: Trajectory) -> int | None:
    """The number of the first failed step; the last step when the episode ended without answering."""
    for step in trajectory.steps:
        if step.failed:
            return step.number
    if trajectory.end_reason in {"max_turns", "error"} and trajectory.steps:
        return trajectory.steps[-1].number
    return None


def search_steps(trajectory: Trajectory, text: str) -> list[int]:
    """Numbers of the steps whose reply, arguments or observation contain `text` (any case)."""
    needle = text.strip().casefold()
    if not needle:
        return []
    found = []
    for step in trajectory.steps:
        haystack = " ".join(
            part
            for part in (step.reply, step.thought, str(step.arguments or ""), step.observation, step.error, step.name)
            if part
        )
        if needle in haystack.casefold():
            found.append(step.number)
    return found


def step_prompt(trajectory: Trajectory, step: Step) -> list[MessageRecord]:
    """The exact messages the model was sent for `step` (empty for an expert's steps)."""
    return trajectory.messages[: step.prompt_end]


class EpisodeKey(BaseModel):
    """An episode of a run as the instance picker lists it (no trajectory loaded)."""

    instance_idx: int
    trial: int
    task: str
    reward: float | None


def run_episode_keys(store: sessionmaker[Session], run_id: str) -> list[EpisodeKey]:
    """The episodes of a run by instance and trial, read from columns only (fast on big runs)."""
    query = (
        select(AgentEpisode.instance_idx, AgentEpisode.trial, AgentEpisode.task, AgentEpisode.reward)
        .where(AgentEpisode.run_id == run_id)
        .order_by(AgentEpisode.instance_idx, AgentEpisode.trial)
    )
    with store() as session:
        return [
            EpisodeKey(instance_idx=idx, trial=trial, task=task, reward=reward)
            for idx, trial, task, reward in session.execute(query)
        ]


FOLD_CHARS = 1_500
"""Observations longer than this are folded (their size shown) until opened."""


def default_run(runs: Sequence[Any]) -> str | None:
    """The run Replay opens first: the newest real agent run (not a workbench practice run, more
    than one episode), else the newest run. `runs` are ``RunSummary`` rows, newest first."""
    ranked = sorted(runs, key=lambda r: (is_workbench_run(r.run.run_id), r.completed <= 1))  # stable: newest first
    return ranked[0].run.run_id if ranked else None


def failed_instances(keys: Sequence[EpisodeKey]) -> set[int]:
    """Instances with a trial that did not reach reward 1."""
    return {k.instance_idx for k in keys if (k.reward or 0.0) < 1.0 - 1e-9}


def step_signature(step: Step) -> str:
    """What a step did, comparable across trajectories: kind, tool and normalized arguments."""
    arguments = step.arguments or {}
    if step.kind == "execute" or (step.name or "").startswith("issue_s"):
        return "query " + " ".join(str(arguments.get("query", "")).split()).casefold()
    if step.kind == "respond":
        return "respond"
    return f"{step.kind} {step.name} {json.dumps(arguments, sort_keys=True, default=str)}"


def same_action(a: Step, b: Step) -> bool:
    """Whether two steps did the same thing (the same query or call; answers: the same answer)."""
    if step_signature(a) != step_signature(b):
        return False
    if a.kind == "respond":
        return " ".join(str((a.arguments or {}).get("content", "")).split()) == " ".join(
            str((b.arguments or {}).get("content", "")).split()
        )
    return True


def align_steps(a: Trajectory, b: Trajectory) -> list[tuple[Step | None, Step | None]]:
    """The steps of two trajectories paired: equal actions on one row, the rest in order beside
    each other, a step without a counterpart beside ``None`` (a longest-matching alignment)."""
    sig_a = [step_signature(s) for s in a.steps]
    sig_b = [step_signature(s) for s in b.steps]
    pairs: list[tuple[Step | None, Step | None]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, sig_a, sig_b, autojunk=False).get_opcodes():
        if op in {"equal", "replace"}:
            pairs += list(zip_longest(a.steps[i1:i2], b.steps[j1:j2]))
        elif op == "delete":
            pairs += [(step, None) for step in a.steps[i1:i2]]
        else:
            pairs += [(None, step) for step in b.steps[j1:j2]]
    return pairs


def trajectory_ids(trajectory: Trajectory) -> set[str]:
    """The record ids a person reads in a trajectory: its answers, step summaries and observations' tables."""
    found = text_ids(trajectory.answer) | text_ids(trajectory.gold)
    for step in trajectory.steps:
        found |= text_ids(step.summary)
        table = query_table(step.observation) if step.observation else None
        if table is not None:
            found |= table_ids(table)
    return found | change_ids([*(trajectory.changes or []), *trajectory.expected_changes])


def change_ids(rows: Sequence[ChangeRow]) -> set[str]:
    """The record ids in change rows (records changed, and ids written into fields)."""
    return {found for row in rows for found in text_ids(row.record) | text_ids(row.value)}


def change_table(rows: Sequence[ChangeRow], names: dict[str, str]) -> list[dict[str, str]]:
    """Change rows for display: ids shown as the names of their records."""
    return [
        {
            "change": row.change,
            "object": row.object,
            "record": name_text(row.record, names),
            "field": row.field,
            "value": name_text(row.value, names),
        }
        for row in rows
    ]
