"""Task Workbench: an expert solves a task instance with the console and the tools, then compares.

A :class:`WorkbenchSession` is one expert on one instance: opened once (its clock starts then and
survives reloads), every query and tool call recorded as a :class:`WorkbenchStep`, then one
submitted answer, scored like an agent's. Which side the agent's run is shown on is drawn per
expert and instance when the session opens and stored. Tool forms come from each tool's JSON
schema (:func:`form_fields`, :func:`parse_form`). Submitted sessions are the human baseline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import queue
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.environment import instance_today
from crm_core.agents.frameworks import FRAMEWORK_NAMES, changes_the_org
from crm_core.agents.progress import RunProgress
from crm_core.agents.records import ActionRecord
from crm_core.agents.service import RunConfig, prepare
from crm_core.errors import UserFacingError
from crm_core.policy import Action, can, require
from crm_core.sandbox import Sandbox, SandboxPool, make_sandbox_engine
from crm_core.scoring import reward
from crm_core.scoring.state import StateDiff, diff_from_changes, score_state
from crm_core.store.engine import write_transaction
from crm_core.store.models import AppUser, Study, WorkbenchSession, utc_now
from crm_core.studies import definition_of, list_studies
from crm_core.studies.definition import StudyDefinition
from crm_core.studies.rated_runs import AgentOption
from crm_core.tasks.oracle import solve
from crm_core.tasks.records import TaskInstance
from crm_core.tasks.tool_oracle import OracleError
from crm_core.tools import RECORD_TOOLS, TASK_TOOLS, TOOLS, ToolContext
from crm_core.users import get_user

OBSERVATION_LIMIT = 20_000
"""Characters of an observation kept in a recorded step."""

StepKind = Literal["execute", "tool", "reset"]
Side = Literal["left", "right"]


class WorkbenchError(UserFacingError):
    """A workbench action that cannot be done (unknown user, already submitted, bad form value)."""


class WorkbenchStep(BaseModel):
    """One query or tool call of an expert, with what came back."""

    kind: StepKind
    name: str
    """``issue_soql_query`` / ``issue_sosl_query`` for console queries, else the tool's name."""
    arguments: dict[str, Any]
    observation: str
    at: dt.datetime


def _user(session: Session, username: str) -> AppUser:

    user = get_user(session, username)
    if user is None:
        raise WorkbenchError(f"no user {username!r}")
    return user


def agent_side(username: str, instance_idx: int) -> Side:
    """The side of the agent's run for this expert and instance: a stable coin flip."""
    digest = hashlib.sha256(f"workbench\0{username.lower()}\0{instance_idx}".encode()).digest()
    return "left" if digest[0] % 2 == 0 else "right"


def find_session(session: Session, username: str, instance_idx: int) -> WorkbenchSession | None:
    """The expert's session on the instance, if it was ever opened."""
    user = _user(session, username)
    return session.scalar(
        select(WorkbenchSession).where(
            WorkbenchSession.user_id == user.id, WorkbenchSession.instance_idx == instance_idx
        )
    )


def open_session(
    session: Session, username: str, instance: TaskInstance, *, study_id: str | None = None
) -> WorkbenchSession:
    """The expert's session on `instance`, created (clock started, side drawn) on first open."""
    existing = find_session(session, username, instance.idx)
    if existing is not None:
        return existing
    user = _user(session, username)
    try:
        with write_transaction(session):
            session.add(
                WorkbenchSession(
                    user_id=user.id,
                    instance_idx=instance.idx,
                    task=instance.task,
                    persona=instance.persona,
                    study_id=study_id,
                    agent_side=agent_side(user.username, instance.idx),
                    steps=[],
                    started_at=utc_now(),
                )
            )
            session.commit()
    except IntegrityError:  # opened at the same moment in another tab
        pass
    found = find_session(session, username, instance.idx)
    assert found is not None
    return found


def record_step(session: Session, session_id: int, step: WorkbenchStep) -> WorkbenchSession:
    """Append `step` to an open session (commits); a submitted session refuses new steps."""
    with write_transaction(session):
        row = session.get(WorkbenchSession, session_id, populate_existing=True)
        if row is None:
            raise WorkbenchError(f"no workbench session {session_id}")
        if row.submitted:
            raise WorkbenchError("this answer is submitted: the session takes no more queries")
        kept = step.model_copy(update={"observation": step.observation[:OBSERVATION_LIMIT]})
        row.steps = [*row.steps, kept.model_dump(mode="json")]
        session.commit()
    return row


def submit_answer(
    session: Session,
    session_id: int,
    answer: str,
    instance: TaskInstance,
    *,
    submission_id: str,
    state: StateDiff | None = None,
) -> WorkbenchSession:
    """Submit the expert's answer once (commits): timed, scored with the task's metric.

    A workflow instance is scored on `state`, the changes of the expert's sandbox, as an
    agent's episode is: reward the exact match, ``reward_normalized`` the F1. Idempotent: a
    repeated submission (double click) returns the stored session unchanged.
    """
    with write_transaction(session):
        row = session.get(WorkbenchSession, session_id, populate_existing=True)
        if row is None:
            raise WorkbenchError(f"no workbench session {session_id}")
        if row.instance_idx != instance.idx:
            raise WorkbenchError(f"session {session_id} is on instance {row.instance_idx}, not {instance.idx}")
        if row.submitted:
            session.rollback()
            return row
        text = answer.strip()
        if not text:
            raise WorkbenchError("the answer is empty: write the answer (or None when nothing qualifies)")
        now = utc_now()
        row.answer = text
        if instance.expected_diff is not None:
            scored = score_state(instance.expected_diff, state or StateDiff())
            row.reward, row.reward_normalized = scored.reward, scored.f1
            row.state_diff = (state or StateDiff()).model_dump(mode="json")
        else:
            row.reward = reward(instance, text)
            row.reward_normalized = reward(instance, text, normalized=True)
        row.submitted_at = now
        row.seconds = max(0.0, (now - row.started_at).total_seconds())
        row.submission_id = submission_id
        session.commit()
    return row


def session_state(row: WorkbenchSession) -> StateDiff | None:
    """The changes a submitted workflow session left (None for read-only tasks)."""
    return StateDiff.model_validate(row.state_diff) if row.state_diff is not None else None


# --- the expert's sandbox (workflow tasks) ----------------------------------------------------

WORKBENCH_SANDBOXES = 64
"""Experts' sandboxes kept by the studio process at once (the least recently used goes first)."""


def workbench_sandboxes(org_url: str) -> SandboxPool:
    """The pool of experts' sandboxes, one per workbench session (the page keeps one per process)."""
    return SandboxPool(org_url, WORKBENCH_SANDBOXES)


def reset_sandbox(session: Session, row: WorkbenchSession, box: Sandbox) -> WorkbenchSession:
    """Forget every change of the expert's sandbox, and record that they did."""
    box.reset()
    step = WorkbenchStep(
        kind="reset", name="reset", arguments={}, observation="The sandbox reads as the org again.", at=utc_now()
    )
    return record_step(session, row.id, step)


def sandbox_state(box: Sandbox) -> StateDiff:
    """The changes the expert's sandbox holds, as the state scorer compares them."""
    return diff_from_changes(box.diff())


def session_steps(row: WorkbenchSession) -> list[WorkbenchStep]:
    """The recorded steps of a session, in order."""
    return [WorkbenchStep.model_validate(step) for step in row.steps]


def submitted_sessions(session: Session, instance_idx: int | None = None) -> list[WorkbenchSession]:
    """Submitted sessions (of one instance, or all), oldest first."""
    query = select(WorkbenchSession).where(WorkbenchSession.submitted_at.is_not(None))
    if instance_idx is not None:
        query = query.where(WorkbenchSession.instance_idx == instance_idx)
    return list(session.scalars(query.order_by(WorkbenchSession.submitted_at, WorkbenchSession.id)))


# --- tool forms from JSON schemas -------------------------------------------------------------

FieldKind = Literal["text", "integer", "number", "choice", "lines", "json"]


class FormField(BaseModel):
    """One input of a tool form, derived from a property of the tool's JSON schema."""

    name: str
    kind: FieldKind
    required: bool
    help: str = ""
    options: list[str] = []


def form_fields(parameters: dict[str, Any]) -> list[FormField]:
    """The inputs of a tool form: text, whole or decimal numbers, choices, lists (one per line), JSON."""
    required = set(parameters.get("required") or [])
    fields = []
    for name, spec in (parameters.get("properties") or {}).items():
        kind: FieldKind
        kind_of = spec.get("type")
        if "enum" in spec:
            kind = "choice"
        elif kind_of == "integer":
            kind = "integer"
        elif kind_of == "number":
            kind = "number"
        elif kind_of == "array" and (spec.get("items") or {}).get("type") == "string":
            kind = "lines"
        elif kind_of in {"array", "object"}:
            kind = "json"
        else:
            kind = "text"
        fields.append(
            FormField(
                name=name,
                kind=kind,
                required=name in required,
                help=str(spec.get("description") or ""),
                options=[str(option) for option in spec.get("enum", [])],
            )
        )
    return fields


def parse_form(fields: Sequence[FormField], raw: dict[str, Any]) -> dict[str, Any]:
    """The tool arguments from the form's raw values; a :class:`WorkbenchError` names a bad field.

    Empty optional fields are left out; lists take one item per line; JSON fields take JSON.
    """
    arguments: dict[str, Any] = {}
    for field in fields:
        value = raw.get(field.name)
        text = "" if value is None else str(value).strip()
        if not text:
            if field.required:
                raise WorkbenchError(f"{field.name}: required")
            continue
        if field.kind == "integer":
            try:
                arguments[field.name] = int(text)
            except ValueError:
                raise WorkbenchError(f"{field.name}: {text!r} is not a whole number") from None
        elif field.kind == "number":
            try:
                arguments[field.name] = float(text)
            except ValueError:
                raise WorkbenchError(f"{field.name}: {text!r} is not a number") from None
        elif field.kind == "lines":
            arguments[field.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif field.kind == "json":
            try:
                arguments[field.name] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise WorkbenchError(f"{field.name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        else:
            arguments[field.name] = text
    return arguments


# --- the agent's side ---------------------------------------------------------------------------


def agent_label(option: AgentOption, number: int, *, blind: bool) -> str:
    """How a run is named to the expert: ``Agent N`` in a blind study, else model and framework."""
    return f"Agent {number}" if blind else f"{option.model} · {option.framework} ({option.run_id})"


WORKBENCH_RUN_PREFIX = "workbench-"
"""Run ids of runs started from the Task Workbench (practice runs, left out of Results by default)."""


def workbench_run_id(username: str, instance_idx: int) -> str:
    """A fresh run id for a run an expert starts from the workbench."""
    return f"{WORKBENCH_RUN_PREFIX}{username}-{instance_idx}-{uuid.uuid4().hex[:8]}"


def is_workbench_run(run_id: str) -> bool:
    """Whether a run was started from the Task Workbench."""
    return run_id.startswith(WORKBENCH_RUN_PREFIX)


WORKBENCH_OFFLINE_MODELS = ("oracle", "baseline:majority", "baseline:random")
"""The offline models the workbench always offers (no provider, no cost)."""


def is_offline_model(model: str) -> bool:
    """Whether `model` runs without a provider (oracle, ``baseline:*``, ``replay:*``)."""
    spec = model.strip()
    return spec == "oracle" or spec.startswith(("baseline:", "replay:"))


def run_action(model: str) -> Action:
    """The permission starting a run of `model` needs: offline models are free, provider models cost money."""
    return Action.RUN_OFFLINE_AGENT if is_offline_model(model) else Action.RUN_PAID_AGENT


def configured_models(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The provider models the studio is configured with: ``CRM_STUDIO_MODELS`` (comma-separated)."""
    return [m.strip() for m in environ.get("CRM_STUDIO_MODELS", "").split(",") if m.strip()]


def workbench_models(role: str | None, environ: Mapping[str, str] = os.environ) -> list[str]:
    """The models `role` may start from the workbench: the offline ones, then (for roles allowed
    provider runs) the configured ones."""
    offered = list(WORKBENCH_OFFLINE_MODELS) if can(role, Action.RUN_OFFLINE_AGENT) else []
    if can(role, Action.RUN_PAID_AGENT):
        offered += [m for m in configured_models(environ) if m not in offered]
    return offered


def model_base_url(model: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The OpenAI-compatible server of a provider model (``CRM_STUDIO_BASE_URL``); None for offline ones."""
    return None if is_offline_model(model) else environ.get("CRM_STUDIO_BASE_URL") or None


class LiveEvent(BaseModel):
    """What a live agent run reports: one action, or the end of the episode."""

    kind: Literal["action", "done", "failed"]
    text: str


def start_agent_run(
    store: sessionmaker[Session],
    org_url: str,
    instance: TaskInstance,
    *,
    role: str | None,
    model: str,
    framework: str,
    run_id: str,
    base_url: str | None = None,
) -> tuple[threading.Thread, queue.Queue[LiveEvent]]:
    """Run `model` in `framework` on one instance in a background thread, recording it as a run.

    `role` must hold :func:`run_action` of the model (else :class:`~crm_core.policy.PermissionDenied`),
    and a provider model must be one of :func:`configured_models` (else :class:`WorkbenchError`).
    The queue reports each action as it is performed and then ``done`` (or ``failed`` with the
    reason); the run and its episode are stored like any ``python -m crm_core run``.
    """
    require(role, run_action(model))
    if not is_offline_model(model) and model.strip() not in configured_models():
        raise WorkbenchError(f"model {model!r} is not configured for the studio (CRM_STUDIO_MODELS)")
    if framework not in FRAMEWORK_NAMES:
        raise WorkbenchError(f"unknown framework {framework!r}: choose one of {', '.join(FRAMEWORK_NAMES)}")
    config = RunConfig(
        framework=framework,  # type: ignore[arg-type]  # checked above
        model=model,
        tasks=[instance.task],
        instance_ids=[instance.idx],
        run_id=run_id,
        base_url=base_url,
        concurrency=1,
        org_db=org_url,
    )
    prepared = prepare(config, store=store, task_set=[instance])
    events: queue.Queue[LiveEvent] = queue.Queue()

    class Reporting(RunProgress):
        def action(self, action: ActionRecord) -> None:
            what = action.content if action.kind == "execute" else f"{action.name}({json.dumps(action.arguments)})"
            events.put(LiveEvent(kind="action", text=f"turn {action.turn}: {what}"[:500]))

    def work() -> None:
        try:
            episodes = prepared.execute(Reporting()).episodes
            reward = episodes[0].reward if episodes else None
            events.put(LiveEvent(kind="done", text=f"finished, reward {reward}"))
        except Exception as exc:  # reported to the page, which shows it as one line
            events.put(LiveEvent(kind="failed", text=f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=work, name=f"workbench-run-{run_id}", daemon=True)
    try:
        thread.start()
    except BaseException:
        prepared.close()
        raise
    return thread, events


RunState = Literal["running", "done", "failed"]


@dataclasses.dataclass
class LiveRun:
    """A run started from the page, followed without blocking: the page calls :meth:`poll` on
    each redraw (every second) and shows `lines`; the expert meanwhile goes on working."""

    run_id: str
    instance_idx: int
    label: str
    events: queue.Queue[LiveEvent]
    lines: list[str] = dataclasses.field(default_factory=list)
    state: RunState = "running"
    failure: str | None = None

    def poll(self) -> RunState:
        """Take the events reported since the last call (never waits); the run's state after them."""
        while self.state == "running":
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            self.lines.append(event.text)
            if event.kind == "done":
                self.state = "done"
            elif event.kind == "failed":
                self.state, self.failure = "failed", event.text
        return self.state


# --- studies done in the workbench ----------------------------------------------------------------


def uses_workbench(definition: StudyDefinition) -> bool:
    """Whether a study's items are task instances (done in the Task Workbench, not the Realism Study)."""
    return any(spec.kind == "tasks" for spec in definition.items)


def workbench_studies(session: Session) -> list[Study]:
    """Open studies whose items are task instances, newest first."""
    return [s for s in list_studies(session, include_closed=False) if uses_workbench(definition_of(s))]


class ToolInfo(BaseModel):
    """A task tool as the workbench lists it: name, description, and whether this instance needs it."""

    name: str
    description: str
    relevant: bool


def task_tools(org: Engine, instance: TaskInstance) -> list[ToolInfo]:
    """The task tools, those a solver of `instance` calls first (in the order it calls them), then the rest.

    "Relevant" is what the tool oracle calls on this instance (see :mod:`crm_core.tasks.oracle`;
    a workflow instance is solved in a scratch sandbox, so its writes count and the org stays as it
    is); if it cannot solve the instance, no tool is marked and the order is the tools' own.
    """
    names = [name for name in TASK_TOOLS if name != "respond"]
    if instance.expected_diff is not None:  # a workflow task: the record lookup and the writes too
        names += RECORD_TOOLS
    today = instance_today(instance.params)
    try:
        if changes_the_org(instance):  # the solver writes: in a scratch sandbox, thrown away after
            scratch_engine = make_sandbox_engine(org.url.render_as_string(hide_password=False))
            try:
                with Sandbox(scratch_engine) as scratch, scratch.lock:
                    trace = solve(instance, ToolContext(scratch.conn, today, scratch))
            finally:
                scratch_engine.dispose()
        else:
            with org.connect() as conn:
                trace = solve(instance, ToolContext(conn, today))
        used = list(dict.fromkeys(step.tool for step in trace.steps if step.tool in names))
    except (OracleError, UserFacingError):
        used = []
    ordered = used + [name for name in names if name not in used]
    return [ToolInfo(name=name, description=TOOLS[name].description, relevant=name in used) for name in ordered]
