"""Every table of the app store: users and settings; studies, items, drafts and responses;
agent runs and their episodes; sweeps; workbench sessions; the REST API's tokens, failed logins,
query locators and bulk ingest jobs.

All timestamps are naive UTC ``datetime`` values (see :func:`utc_now`). Responses are immutable
once written: a changed answer is a new :class:`Response` with the next ``version``. The code
that reads and writes each table lives with its concern (``crm_core.users``, ``crm_core.studies``,
``crm_core.agents.run_store``, ``crm_core.studio.workbench``, ``crm_core.api``); a new table is
added here, with its migration under ``crm_core/store/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> dt.datetime:
    """The current time as a naive UTC datetime (the store's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class AppBase(DeclarativeBase):
    """Declarative base of the app store (constraint names fixed for migrations)."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class AppSetting(AppBase):
    """A named value of the installation (e.g. the pseudonymization key)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class AppUser(AppBase):
    """A studio user: lower-case username, bcrypt hash and one role."""

    __tablename__ = "app_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now, onupdate=utc_now)


class Study(AppBase):
    """A loaded study definition; ``definition`` is the validated YAML as JSON."""

    __tablename__ = "studies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open | closed
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False, default="")
    org_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    items: Mapped[list[StudyItem]] = relationship(back_populates="study", order_by="StudyItem.position")


class StudyItem(AppBase):
    """One thing to rate: a record (object + id), a whole object, or the org."""

    __tablename__ = "study_items"
    __table_args__ = (UniqueConstraint("study_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(120), nullable=False)  # "record:Case:500...", "object:Case", "org"
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # record | object | org
    object_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    study: Mapped[Study] = relationship(back_populates="items")


class Draft(AppBase):
    """A rater's unsubmitted answer to one item, saved on every change."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("item_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("study_items.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id"), nullable=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    comments: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)


class Response(AppBase):
    """One submitted answer of one rater to one item (immutable; changes are new versions)."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("item_id", "user_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    study_id: Mapped[str] = mapped_column(ForeignKey("studies.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("study_items.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    time_on_item_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)

    ratings: Mapped[list[Rating]] = relationship(back_populates="response", order_by="Rating.position")
    item: Mapped[StudyItem] = relationship()
    user: Mapped[AppUser] = relationship()


class Rating(AppBase):
    """The value (and comment) a response gives on one dimension."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("response_id", "dimension"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), nullable=False, index=True)
    dimension: Mapped[str] = mapped_column(String(64), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The value on the scale; None for "Not applicable" (the label says so)."""
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")

    response: Mapped[Response] = relationship(back_populates="ratings")


# --- agent runs (read and written by crm_core.agents.run_store) --------------------------------


class AgentRun(AppBase):
    """A run: framework, model and instance selection (`config` is the whole RunRecord)."""

    __tablename__ = "agent_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    framework: Mapped[str] = mapped_column(String(10), nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    planned: Mapped[int] = mapped_column(Integer, nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class AgentEpisode(AppBase):
    """One finished (instance, trial) of a run, with its whole trajectory."""

    __tablename__ = "agent_episodes"
    __table_args__ = (UniqueConstraint("run_id", "instance_idx", "trial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("agent_runs.run_id"), nullable=False)
    instance_idx: Mapped[int] = mapped_column(Integer, nullable=False)
    trial: Mapped[int] = mapped_column(Integer, nullable=False)
    task: Mapped[str] = mapped_column(String(40), nullable=False)
    persona: Mapped[str] = mapped_column(String(20), nullable=False)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    reward: Mapped[float | None] = mapped_column(Float, nullable=True)
    turns: Mapped[int] = mapped_column(Integer, nullable=False)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_s: Mapped[float] = mapped_column(Float, nullable=False)
    end_reason: Mapped[str] = mapped_column(String(12), nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


# --- sweeps (crm_core.sweeps): a sweep, its runs, the queue state of each episode, provider pacing


class Sweep(AppBase):
    """A submitted sweep: its definition, org and how it is executed (``queue`` or ``local``)."""

    __tablename__ = "sweeps"

    sweep_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    org_url: Mapped[str] = mapped_column(Text, nullable=False)
    backend: Mapped[str] = mapped_column(String(10), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class SweepRun(AppBase):
    """One run of a sweep (an org variant × model × framework) and the org it plays on."""

    __tablename__ = "sweep_runs"

    run_id: Mapped[str] = mapped_column(ForeignKey("agent_runs.run_id"), primary_key=True)
    sweep_id: Mapped[str] = mapped_column(ForeignKey("sweeps.sweep_id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(60), nullable=False)
    org_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The run's org (None in sweeps stored before org variants: the sweep's org)."""
    variant: Mapped[str | None] = mapped_column(String(24), nullable=True)
    """The label of the run's org variant (``orgs:`` in the sweep file), None with one org."""


class SweepEpisode(AppBase):
    """The queue state of one (run, instance, trial) of a sweep."""

    __tablename__ = "sweep_episodes"
    __table_args__ = (
        UniqueConstraint("run_id", "instance_idx", "trial"),
        Index("ix_sweep_episodes_sweep_id_state", "sweep_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sweep_id: Mapped[str] = mapped_column(ForeignKey("sweeps.sweep_id"), nullable=False)
    run_id: Mapped[str] = mapped_column(ForeignKey("agent_runs.run_id"), nullable=False)
    instance_idx: Mapped[int] = mapped_column(Integer, nullable=False)
    trial: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ProviderPace(AppBase):
    """The next free request slot of a provider (seconds since the epoch), shared by all workers."""

    __tablename__ = "provider_pace"

    provider: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float, nullable=False)


# --- workbench sessions (crm_core.studio.workbench) ------------------------------------------


class WorkbenchSession(AppBase):
    """One expert's work on one task instance (unique per user and instance)."""

    __tablename__ = "workbench_sessions"
    __table_args__ = (UniqueConstraint("user_id", "instance_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id"), nullable=False)
    instance_idx: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    task: Mapped[str] = mapped_column(String(40), nullable=False)
    persona: Mapped[str] = mapped_column(String(20), nullable=False)
    study_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_side: Mapped[str] = mapped_column(String(5), nullable=False)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    reward: Mapped[float | None] = mapped_column(Float, nullable=True)
    reward_normalized: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utc_now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    submission_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    state_diff: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """Workflow tasks: the changes the expert's sandbox held at submission (a StateDiff)."""

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None


# --- the REST API (crm_core.api): kept in the app database, not in memory, so that several API
# replicas share sessions, login throttling and query cursors. Tokens are stored as SHA-256
# hashes: a token is 256 random bits, so a fast hash is enough and a stolen table yields nothing.


class ApiToken(AppBase):
    """An OAuth access token (hashed) of one studio user."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ApiLoginFailure(AppBase):
    """One failed OAuth login, counted per username and per client address."""

    __tablename__ = "api_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    client_ip: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)


class ApiQueryLocator(AppBase):
    """A query whose result spans several batches; ``nextRecordsUrl`` points at it."""

    __tablename__ = "api_query_locators"

    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False)
    include_deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    total_size: Mapped[int] = mapped_column(Integer, nullable=False)
    batch_size: Mapped[int] = mapped_column(Integer, nullable=False)
    today: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)


class ApiIngestJob(AppBase):
    """A Bulk API 2.0 ingest job: its settings, the uploaded CSV, its state and result files."""

    __tablename__ = "api_ingest_jobs"

    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)  # whose sandbox takes the writes
    object: Mapped[str] = mapped_column(String(80), nullable=False)
    operation: Mapped[str] = mapped_column(String(16), nullable=False)
    external_id_field: Mapped[str | None] = mapped_column(String(80))
    column_delimiter: Mapped[str] = mapped_column(String(16), nullable=False)
    line_ending: Mapped[str] = mapped_column(String(8), nullable=False)
    api_version: Mapped[str] = mapped_column(String(8), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    error_message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str | None] = mapped_column(Text)  # the uploaded CSV
    successful: Mapped[str | None] = mapped_column(Text)  # result files (CSV), once processed
    failed: Mapped[str | None] = mapped_column(Text)
    unprocessed: Mapped[str | None] = mapped_column(Text)
    records_processed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    records_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    processing_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    modified_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class ImmutableResponseError(RuntimeError):
    """Raised when code tries to change or delete a stored response or rating."""


@event.listens_for(Response, "before_update")
@event.listens_for(Rating, "before_update")
@event.listens_for(Response, "before_delete")
@event.listens_for(Rating, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: AppBase) -> None:
    raise ImmutableResponseError(f"{type(target).__name__} rows are immutable: submit a new version instead")
