"""Study definitions: the YAML files in ``studies/``, validated with errors naming file, line, field.

A study lists what to rate (``items``: sampled records of objects, whole objects, the org), the
labelled scale, the dimensions (a question each, which item kinds it applies to, and the value
at or below which a comment is required), how many raters each item gets and whether each
rater sees the items in their own random order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from crm_core.org.schema import MODEL_BY_OBJECT
from crm_core.tasks.registry import task_names
from crm_core.yaml_files import YamlFileError, parse_yaml_model, read_text_file

ItemKind = Literal["record", "object", "org", "task"]
ITEM_KINDS: tuple[ItemKind, ...] = ("record", "object", "org")
"""The default ``applies_to`` (task items are rated only by dimensions that name them)."""
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
NonEmpty = Annotated[str, Field(min_length=1)]


def _known_object(name: str) -> str:
    if name not in MODEL_BY_OBJECT:
        raise ValueError(f"unknown object {name!r}; objects are {', '.join(MODEL_BY_OBJECT)}")
    return name


def _all_objects(value: Any) -> Any:
    return list(MODEL_BY_OBJECT) if value == "all" else value


def _known_task(name: str) -> str:

    if name not in task_names():
        raise ValueError(f"unknown task {name!r}; tasks are {', '.join(task_names())}")
    return name


NOT_APPLICABLE = 0
"""The value of a "Not applicable" answer (stored as a rating without a value)."""
NOT_APPLICABLE_LABEL = "Not applicable"

ObjectName = Annotated[str, AfterValidator(_known_object)]
ObjectList = Annotated[list[ObjectName], BeforeValidator(_all_objects), Field(min_length=1)]
"""A list of object API names, or ``all`` for the 16 objects."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordItems(_Strict):
    """Records sampled from each listed object (deterministic for a given org and seed)."""

    kind: Literal["records"]
    objects: ObjectList = Field(default_factory=lambda: list(MODEL_BY_OBJECT))
    per_object: int = Field(default=3, ge=1, le=1000)
    seed: int = 0


class ObjectItems(_Strict):
    """One item per listed object: the object's data as a whole."""

    kind: Literal["objects"]
    objects: ObjectList = Field(default_factory=lambda: list(MODEL_BY_OBJECT))


class OrgItem(_Strict):
    """One item: the org as a whole."""

    kind: Literal["org"]


class TaskItems(_Strict):
    """Task instances sampled from the org's task set, solved in the Task Workbench.

    The expert answers the instance, then rates an agent's trajectory on it (of one of `runs`,
    or of any run when the list is empty).
    """

    kind: Literal["tasks"]
    include: list[Annotated[str, AfterValidator(_known_task)]] = Field(default_factory=list)
    """Task names to sample from (every task type when empty)."""
    per_task: int = Field(default=3, ge=1, le=1000)
    seed: int = 0
    runs: list[str] = Field(default_factory=list)


ItemSpec = Annotated[RecordItems | ObjectItems | OrgItem | TaskItems, Field(discriminator="kind")]


class Dimension(_Strict):
    """One question rated on the study's scale."""

    id: Slug
    question: NonEmpty
    applies_to: list[ItemKind] = Field(default_factory=lambda: list(ITEM_KINDS), min_length=1)
    comment_required_at_or_below: int = Field(default=0, ge=0)
    """A comment is required when the value is at or below this (0: never)."""
    not_applicable: bool = False
    """Offer "Not applicable" (value :data:`NOT_APPLICABLE`) for items the question does not fit."""


class StudyDefinition(_Strict):
    """A validated study file."""

    id: Slug
    title: NonEmpty
    instructions: NonEmpty
    scale: list[NonEmpty] = Field(min_length=2, max_length=11)
    """Labels of the values 1..n, lowest first."""
    dimensions: list[Dimension] = Field(min_length=1)
    items: list[ItemSpec] = Field(min_length=1)
    ratings_per_item: int = Field(default=3, ge=1, le=100)
    randomize_order: bool = True
    blind: bool = False

    def dimensions_for(self, kind: str) -> list[Dimension]:
        """The dimensions that apply to items of `kind` (record, object or org)."""
        return [d for d in self.dimensions if kind in d.applies_to]

    def label_of(self, value: int) -> str:
        """The scale label of `value` (1-based; :data:`NOT_APPLICABLE` is "Not applicable")."""
        return NOT_APPLICABLE_LABEL if value == NOT_APPLICABLE else self.scale[value - 1]


class StudyFileError(YamlFileError):
    """A study file that cannot be used; ``problems`` lists ``file:line: field: message``."""


def _message(error: Any) -> str:
    if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
        return "'kind' must be one of records, objects, org, tasks"
    return str(error["msg"]).removeprefix("Value error, ")


def _semantic_problems(study: StudyDefinition) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen: set[str] = set()
    for i, dim in enumerate(study.dimensions):
        if dim.id in seen:
            problems.append((("dimensions", i, "id"), f"duplicate dimension id {dim.id!r}"))
        seen.add(dim.id)
        if dim.comment_required_at_or_below > len(study.scale):
            problems.append(
                (
                    ("dimensions", i, "comment_required_at_or_below"),
                    f"must be at most {len(study.scale)} (the scale has {len(study.scale)} values)",
                )
            )
    kinds = {"records": "record", "objects": "object", "org": "org", "tasks": "task"}
    for i, spec in enumerate(study.items):
        kind = kinds[spec.kind]
        if not study.dimensions_for(kind):
            problems.append((("items", i, "kind"), f"no dimension applies to {kind!r} items (see applies_to)"))
    return problems


def parse_study(text: str, source: str = "<study>") -> StudyDefinition:
    """Validate study YAML `text`; errors name `source`, the line and the field."""
    return parse_yaml_model(
        text,
        source,
        StudyDefinition,
        error=StudyFileError,
        what="study file",
        fields_hint=" (id, title, ...)",
        message=_message,
        tag_key="kind",
        semantic=_semantic_problems,
    )


def read_study_file(path: str | Path) -> StudyDefinition:
    """Read and validate the study file at `path`."""
    return parse_study(read_text_file(str(path), StudyFileError, "study file"), str(path))
