"""The run service: a :class:`RunConfig` is prepared (checked, stored), then executed or resumed.

Every run starts here — the CLI's ``run``, the studio's workbench and sweeps — so a run is
checked, stored, resumed and reported the same way wherever it was started::

    prepared = prepare(RunConfig(framework="fc", model="oracle", limit=2), store=store)
    outcome = prepared.execute(progress)        # or: outcome = run(config, store=store)

:func:`prepare` raises a :class:`~crm_core.errors.UserFacingError` (one line) for anything the
user must fix, before any episode is played. A config naming a stored run id resumes that run:
only the (instance, trial) pairs not stored yet are played, and values that differ from the
stored ones are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.frameworks import FRAMEWORK_NAMES, Framework, make_framework
from crm_core.agents.models import LangChainModelSource, ModelSource, PriceTable, load_prices
from crm_core.agents.offline import BaselineSource, OracleSource, ReplaySource
from crm_core.agents.progress import RunProgress
from crm_core.agents.records import EpisodeRecord, FrameworkName, RunRecord
from crm_core.agents.run_store import delete_error_episodes, load_run, save_run
from crm_core.agents.runner import default_run_id, execute_run, instances_digest, parse_tasks, select_instances
from crm_core.db import DatabaseURLError, org_db_url
from crm_core.errors import UserFacingError
from crm_core.store.engine import open_app_store
from crm_core.store.models import utc_now
from crm_core.tasks.records import TaskInstance, load_tasks

T = TypeVar("T")

DEFAULT_TRIALS = 1
DEFAULT_MAX_TURNS = 20


class RunConfig(BaseModel):
    """What to run. Unset values of a resumed run come from the stored run; set ones must match it.

    `tasks` is a list of task names or a comma-separated string (``all`` or nothing: every task);
    `instance_ids` narrows the selection to those instance idx (the workbench runs one);
    `limit` keeps the N lowest-idx instances of each task. Instances come from `task_file` when
    given, else from the org's task set (`org_db`, default ``$CRM_ORG_DB``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: FrameworkName | None = None
    model: str | None = None
    tasks: list[str] | None = None
    instance_ids: list[int] | None = None
    limit: int | None = Field(default=None, ge=1)
    trials: int | None = Field(default=None, ge=1)
    max_turns: int | None = Field(default=None, ge=1)
    run_id: str | None = None
    base_url: str | None = None
    concurrency: int = Field(default=4, ge=1)
    task_file: Path | None = None
    org_db: str | None = None
    prices: Path | None = None
    retry_errors: bool = False

    @field_validator("framework", mode="before")
    @classmethod
    def _known_framework(cls, value: object) -> object:
        if value is not None and value not in FRAMEWORK_NAMES:
            raise UserFacingError(f"unknown framework {value!r}: choose one of {', '.join(FRAMEWORK_NAMES)}")
        return value

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_names(cls, value: object) -> object:
        return parse_tasks(value) if isinstance(value, str) else value


@dataclass
class RunOutcome:
    """A run after :meth:`PreparedRun.execute`: its record and the episodes this call played."""

    run: RunRecord
    planned: int
    episodes: list[EpisodeRecord]


@dataclass
class PreparedRun:
    """A checked and stored run, ready to play: call :meth:`execute` once (it closes the org)."""

    run: RunRecord
    instances: list[TaskInstance]
    resumed: bool
    """Whether the run id was already stored (this continues it)."""
    retried_errors: int
    """Episodes that had ended in error and were forgotten, to be played again (``retry_errors``)."""
    source: ModelSource
    framework: Framework
    env: OrgEnvironment
    store: sessionmaker[Session]
    concurrency: int
    _closed: bool = field(default=False, repr=False)

    @property
    def planned(self) -> int:
        """Episodes of the whole run: instances times trials."""
        return len(self.instances) * self.run.trials

    def execute(self, progress: RunProgress | None = None) -> RunOutcome:
        """Play every pending episode (storing each as it ends), then close the org's engine."""
        if self._closed:
            raise RuntimeError(f"run {self.run.run_id} was already executed or closed")
        progress = progress or RunProgress()
        self.env.on_action = progress.action
        try:
            episodes = execute_run(
                self.run,
                self.instances,
                source=self.source,
                framework=self.framework,
                env=self.env,
                store=self.store,
                concurrency=self.concurrency,
                on_start=lambda planned, pending: progress.started(self.run, planned, pending),
                on_episode=progress.episode,
            )
        finally:
            self.close()
        return RunOutcome(run=self.run, planned=self.planned, episodes=episodes)

    def close(self) -> None:
        """Release the org's engine without playing (execute does this itself)."""
        self._closed = True
        self.env.dispose()


def prepare(
    config: RunConfig,
    *,
    store: sessionmaker[Session],
    task_set: Sequence[TaskInstance] | None = None,
) -> PreparedRun:
    """Check `config` against the stored run (if its id exists), select the instances, check the
    model, store the run; nothing is played yet.

    `task_set` replaces loading the instances from the task file or the org (a caller that has
    them already). Raises :class:`UserFacingError` for a new run without framework and model, a
    resumed run with other values, a changed task set, an empty selection, a bad model or org.
    """
    stored = load_run(store, config.run_id) if config.run_id else None
    record = _resumed_record(stored, config) if stored is not None else _new_record(config, store)
    org_url = _one_line(org_db_url, config.org_db)
    if task_set is None:
        task_set = load_tasks(config.task_file or org_url)
    instances = select_instances(task_set, record.tasks, record.limit)
    if record.instance_ids is not None:
        wanted = set(record.instance_ids)
        instances = [i for i in instances if i.idx in wanted]
    if not instances:
        raise UserFacingError(f"no instances of {', '.join(record.tasks)} in the task set")
    digest = instances_digest(instances)
    if stored is None:
        record = record.model_copy(update={"instances_digest": digest})
    elif stored.instances_digest not in {None, digest}:
        raise UserFacingError(
            f"run {stored.run_id!r} was started on other task instances (the task set changed): "
            "start a new run, or use the org or --task-file it was started with"
        )
    prices = load_prices(config.prices) if config.prices else None
    source = resolve_model(record.model, base_url=config.base_url or record.base_url, store=store, prices=prices)
    source.validate()
    env = _one_line(OrgEnvironment.open, org_url)
    try:
        framework = make_framework(record.framework, env.tool_schemas)
        record = save_run(store, record, planned=len(instances) * record.trials)
        retried = delete_error_episodes(store, record.run_id) if config.retry_errors and stored is not None else 0
    except BaseException:
        env.dispose()
        raise
    return PreparedRun(
        run=record,
        instances=instances,
        resumed=stored is not None,
        retried_errors=retried,
        source=source,
        framework=framework,
        env=env,
        store=store,
        concurrency=config.concurrency,
    )


def run(
    config: RunConfig,
    *,
    store: sessionmaker[Session],
    progress: RunProgress | None = None,
    task_set: Sequence[TaskInstance] | None = None,
) -> RunOutcome:
    """Prepare and execute `config` (a new run, or the continuation of a stored one)."""
    return prepare(config, store=store, task_set=task_set).execute(progress)


def resolve_model(
    spec: str,
    *,
    base_url: str | None = None,
    store: sessionmaker[Session] | None = None,
    prices: PriceTable | None = None,
) -> ModelSource:
    """The model source for a ``--model`` string: an offline model or ``provider:model``.

    `store` (the app store's session factory) is needed by ``replay:RUN_ID`` only.
    """
    spec = spec.strip()
    if not spec:
        raise UserFacingError("--model is empty: give provider:model (e.g. openai:gpt-4o) or an offline model")
    if spec == "oracle":
        return OracleSource()
    if spec.startswith("baseline:"):
        return BaselineSource(spec.split(":", 1)[1])
    if spec.startswith("replay:"):
        run_id = spec.split(":", 1)[1]
        if not run_id:
            raise UserFacingError("replay needs a run id: --model replay:RUN_ID")
        if store is None:
            raise UserFacingError("replay needs the app store")
        return ReplaySource(run_id, store)
    return LangChainModelSource(spec, base_url=base_url, prices=prices)


def open_store(app_db: str | None = None) -> sessionmaker[Session]:
    """The app store at `app_db` (default ``$CRM_APP_DB``); a bad URL is a one-line error."""
    return _one_line(open_app_store, app_db)


def _new_record(config: RunConfig, store: sessionmaker[Session]) -> RunRecord:
    framework, model = config.framework, config.model
    if framework is None and model is not None and model.startswith("replay:"):
        replayed = load_run(store, model.split(":", 1)[1])
        framework = replayed.framework if replayed is not None else None
    if framework is None or model is None:
        raise UserFacingError("a new run needs --framework and --model")
    return RunRecord(
        run_id=config.run_id or default_run_id(framework, model),
        framework=framework,
        model=model,
        base_url=config.base_url,
        tasks=config.tasks or parse_tasks(None),
        instance_ids=config.instance_ids,
        limit=config.limit,
        trials=config.trials or DEFAULT_TRIALS,
        max_turns=config.max_turns or DEFAULT_MAX_TURNS,
        created_at=utc_now(),
    )


def _resumed_record(stored: RunRecord, config: RunConfig) -> RunRecord:
    """The stored run, after checking that `config` asks for nothing else (base_url may change)."""
    for what, stored_value, given in (
        ("framework", stored.framework, config.framework),
        ("model", stored.model, config.model),
        ("limit", stored.limit, config.limit),
        ("trials", stored.trials, config.trials),
        ("max_turns", stored.max_turns, config.max_turns),
        ("instance_ids", stored.instance_ids, config.instance_ids),
    ):
        _check_same(stored.run_id, what, stored_value, given)
    if config.tasks is not None and config.tasks != stored.tasks:
        _check_same(stored.run_id, "tasks", ",".join(stored.tasks), ",".join(config.tasks))
    return stored


def _check_same(run_id: str, what: str, stored: object, given: object) -> None:
    if given is not None and given != stored:
        raise UserFacingError(
            f"run {run_id!r} exists with {what} {stored!r}, not {given!r}: resume it without --{what.replace('_', '-')}"
            " or choose a new --run-id"
        )


def _one_line(open_: Callable[[str | None], T], url: str | None) -> T:
    """Call `open_` on a database URL, turning a bad URL or a missing file into a one-line error."""
    try:
        return open_(url)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None
