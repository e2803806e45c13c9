"""Typed records of agent runs: runs, episodes, messages, tool calls and parsed actions.

An *episode* is one (instance, trial) of a run. Episodes are stored whole once they finish, so a
stored episode is a completed one; everything an inspector needs to replay it is in the record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.scoring.state import StateDiff, StateScore

FrameworkName = Literal["act", "react", "fc", "fc_flex"]
EndReason = Literal["responded", "max_turns", "error"]
Role = Literal["system", "user", "assistant", "tool"]
ActionKind = Literal["execute", "respond", "tool", "invalid"]


class ToolCallRecord(BaseModel):
    """One tool call as the model emitted it; `arguments` is the raw text when it was not JSON."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] | str


class MessageRecord(BaseModel):
    """One message of the conversation, in the order it was sent or received."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None


class ActionRecord(BaseModel):
    """What the harness understood from one assistant turn and what came back.

    `kind` is ``execute`` (a raw SOQL/SOSL query of act/react), ``tool`` (a function call of
    fc/fc_flex), ``respond`` (the final answer) or ``invalid`` (no usable action; `error` says
    why and `observation` is the corrective message that was sent).
    """

    turn: int
    kind: ActionKind
    name: str | None = None
    arguments: dict[str, Any] | None = None
    content: str | None = None
    thought: str | None = None
    observation: str | None = None
    error: str | None = None
    state_diff: StateDiff | None = None
    """After a write of a workflow episode: the sandbox's changes so far (all the episode's writes)."""


class EpisodeRecord(BaseModel):
    """The full result of one instance and trial of a run.

    `answer` is None when the agent never responded; `gold` is the instance's answer as CRMArena
    writes it ("None" for no answer); `reward` is the original metric and `reward_normalized`
    the lenient exact match (equal to `reward` for fuzzy-match tasks). A workflow episode
    (``state_match``) is scored on `state_diff`, the changes it left in its sandbox: `reward` is
    the exact 0/1 and `state_score` has the partial-credit F1 and what was missing or unexpected.
    """

    run_id: str
    instance_idx: int
    task: str
    persona: str
    trial: int
    framework: FrameworkName
    model: str
    messages: list[MessageRecord]
    actions: list[ActionRecord]
    answer: str | None
    gold: str
    reward: float
    reward_normalized: float
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    latency_s: float
    end_reason: EndReason
    error: str | None = None
    started_at: dt.datetime
    finished_at: dt.datetime
    state_diff: StateDiff | None = None
    expected_diff: StateDiff | None = None
    state_score: StateScore | None = None


class RunRecord(BaseModel):
    """What a run is: its framework, model and instance selection (stored once per run)."""

    run_id: str
    framework: FrameworkName
    model: str
    base_url: str | None = None
    tasks: list[str]
    instance_ids: list[int] | None = None
    """Only these instance idx of the tasks (None: every instance, up to `limit` per task)."""
    limit: int | None = None
    trials: int = 1
    max_turns: int = 20
    instances_digest: str | None = None
    created_at: dt.datetime


class RunSummary(BaseModel):
    """A run with its progress, for ``runs list``."""

    run: RunRecord
    planned: int
    completed: int
    mean_reward: float | None
    cost_usd: float | None
