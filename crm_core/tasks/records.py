"""Task instances, their files (our JSON / JSONL and CRMArena's variants) and their rows in the org database.

An instance is CRMArena's record (idx, task, persona, query, answer, metadata, reward_metric)
plus ``params``: the structured parameters the answer is computed from (never shown to agents).
``answer`` is None when the correct answer is "None"; files in CRMArena's format carry the string.
``task`` names a task type of :mod:`crm_core.tasks.registry`. Workflow instances (``reward_metric``
``state_match``) carry ``expected_diff``, the changes a correct episode leaves in its sandbox; the
field is absent from the files of read-only instances, so their bytes stay CRMArena's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_core.errors import UserFacingError
from crm_core.scoring.metrics import RewardMetric
from crm_core.scoring.state import StateDiff
from crm_core.tasks.registry import spec_of, task_names
from crm_core.tasks.spec import Persona, Suite
from crm_core.tasks.store import read_rows, replace_rows

ExportFormat = Literal["jsonl", "json", "crmarena", "crmarena-v1"]


class TaskFileError(UserFacingError):
    """A task file that cannot be read; the message names the file, record and field."""


class TaskMetadata(BaseModel):
    """What the agent is told besides the query: required policies and optional domain details."""

    model_config = ConfigDict(extra="forbid")

    required: str = ""
    optional: str = ""


class TaskInstance(BaseModel):
    """One benchmark instance: CRMArena's fields plus the hidden structured ``params``."""

    model_config = ConfigDict(extra="forbid")

    idx: int = Field(ge=0)
    task: str
    persona: Persona
    query: str = Field(min_length=1)
    answer: str | None
    metadata: TaskMetadata = TaskMetadata()
    reward_metric: RewardMetric
    params: dict[str, Any] = Field(default_factory=dict)
    expected_diff: StateDiff | None = None
    """``state_match`` instances: the records a correct episode creates, updates and deletes."""

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        if task not in task_names(None):
            raise ValueError(f"unknown task {task!r}; tasks are {', '.join(task_names(None))}")
        return task

    @model_validator(mode="after")
    def _state_has_expected_diff(self) -> TaskInstance:
        if self.reward_metric == "state_match" and self.expected_diff is None:
            raise ValueError("a state_match instance needs an expected_diff")
        return self

    def to_record(self) -> dict[str, Any]:
        """The instance as a JSON-ready dict (``expected_diff`` only when there is one)."""
        return self.model_dump(mode="json", exclude=None if self.expected_diff is not None else {"expected_diff"})

    @property
    def answer_text(self) -> str:
        """The answer as CRMArena writes it (``"None"`` for no answer)."""
        return "None" if self.answer is None else self.answer


def _from_original(record: dict[str, Any]) -> dict[str, Any]:
    """Map CRMArena's file variants to our fields (``type``, list answers, string metadata)."""
    record = dict(record)
    if "task" not in record and "type" in record:
        record["task"] = record.pop("type")
    answer = record.get("answer")
    if isinstance(answer, list):
        if len(answer) != 1:
            raise ValueError(f"field 'answer': expected a one-item list, got {len(answer)} items")
        answer = answer[0]
    if answer == "None":
        answer = None
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        answer = str(answer)
    record["answer"] = answer
    metadata = record.get("metadata")
    if isinstance(metadata, str):
        record["metadata"] = {"required": metadata, "optional": ""}
    elif metadata is None:
        record["metadata"] = {}
    if record.get("persona") == "service agent":
        record["persona"] = "service_agent"
    if "persona" not in record and record.get("task") in task_names(None):
        record["persona"] = spec_of(record["task"]).persona
    return record


def parse_record(record: object, where: str) -> TaskInstance:
    """Validate one record; `where` ("tasks.json record 3") prefixes the error message."""
    if not isinstance(record, dict):
        raise TaskFileError(f"{where}: expected an object, got {type(record).__name__}")
    label = f"{where} (idx {record['idx']})" if "idx" in record else where
    try:
        return TaskInstance.model_validate(_from_original(record))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "record"
            raise TaskFileError(f"{label}: field '{field}': {first['msg']}") from None
        raise TaskFileError(f"{label}: {exc}") from None


def _check_unique(instances: list[TaskInstance], source: str) -> list[TaskInstance]:
    seen: set[int] = set()
    for position, instance in enumerate(instances):
        if instance.idx in seen:
            raise TaskFileError(f"{source} record {position}: field 'idx': duplicate idx {instance.idx}")
        seen.add(instance.idx)
    return instances


def read_task_file(path: Path) -> list[TaskInstance]:
    """Read a JSON list or a JSON Lines file of instances (ours or CRMArena's variants)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(f"cannot read {path}: {exc.strerror}") from None
    name = path.name
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{name} line {exc.lineno}: not valid JSON: {exc.msg}") from None
        instances = [parse_record(record, f"{name} record {i}") for i, record in enumerate(records)]
    else:
        instances = []
        # Only "\n" ends a record: str.splitlines() would also split on U+0085 or U+2028 in a text.
        for line_number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskFileError(f"{name} line {line_number}: not valid JSON: {exc.msg}") from None
            instances.append(parse_record(record, f"{name} line {line_number}"))
    if not instances:
        raise TaskFileError(f"{name}: no task instances in the file")
    return _check_unique(instances, name)


def to_crmarena(instance: TaskInstance) -> dict[str, Any]:
    """The instance in CRMArena's published format (answer as a one-item list, no params)."""
    return {
        "idx": instance.idx,
        "answer": [instance.answer_text],
        "task": instance.task,
        "persona": instance.persona,
        "metadata": instance.metadata.model_dump(),
        "query": instance.query,
        "reward_metric": instance.reward_metric,
    }


def to_crmarena_v1(instance: TaskInstance) -> dict[str, Any]:
    """The instance as CRMArena's first release reads it: ``type`` for the task, the answer a string."""
    return {
        "idx": instance.idx,
        "answer": instance.answer_text,
        "type": instance.task,
        "persona": instance.persona,
        "metadata": instance.metadata.model_dump(),
        "query": instance.query,
        "reward_metric": instance.reward_metric,
    }


def dumps_instances(instances: Iterable[TaskInstance], fmt: ExportFormat = "jsonl") -> str:
    """Serialize deterministically: same instances, same bytes."""
    if fmt in ("crmarena", "crmarena-v1"):
        shape = to_crmarena if fmt == "crmarena" else to_crmarena_v1
        return json.dumps([shape(i) for i in instances], ensure_ascii=False, indent=2) + "\n"
    dumped = [i.to_record() for i in instances]
    if fmt == "json":
        return json.dumps(dumped, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n" for record in dumped)


def save_tasks(instances: Iterable[TaskInstance], path: str | Path, fmt: ExportFormat = "jsonl") -> Path:
    """Write instances to a file in our JSON Lines (default), JSON list, or CRMArena's formats."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_instances(instances, fmt), encoding="utf-8")
    return path


def load_tasks(source: str | Path) -> list[TaskInstance]:
    """Instances from a task file, or from the org database named by a SQLAlchemy URL."""
    if isinstance(source, str) and "://" in source:
        return read_tasks_from_org(source)
    return read_task_file(Path(source))


def write_tasks_to_org(url: str, instances: Iterable[TaskInstance], *, suite: Suite | None = None) -> int:
    """Replace the org's task set with `instances` (see :mod:`crm_core.tasks.store`); returns how many.

    With a `suite`, only that suite's instances are replaced and the other suites' are kept.
    """
    return replace_rows(
        url,
        [(i.idx, i.task, i.persona, json.dumps(i.to_record(), ensure_ascii=False)) for i in instances],
        tasks=None if suite is None else task_names(suite),
    )


def read_tasks_from_org(url: str) -> list[TaskInstance]:
    """The org's task set, read through a read-only engine; a clear error if there is none."""
    return [parse_record(json.loads(record), f"task_instance idx {idx}") for idx, record in read_rows(url)]
