"""The state scorer (``reward_metric: "state_match"``): an episode's changes against the expected ones.

A :class:`StateDiff` is what an episode did to its sandbox, without the fields the platform
maintains (ids, dates, auto-numbers, compound names): records created (object and fields),
records updated (object, id and the new value of each changed field) and records deleted.
:func:`score_state` compares it with the expected diff: ``exact`` when both are the same
changes, and a partial-credit F1 over *facts* -- one per changed field, per deleted record,
and per field of a created record (created records have no stable id, so they are compared by
object and values; a reference to another created record reads ``new:<Object>``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from crm_core.org.ids import is_valid_id
from crm_core.org.metadata import is_platform_field


class CreatedRecord(BaseModel):
    object: str
    fields: dict[str, Any] = Field(default_factory=dict)


class UpdatedRecord(BaseModel):
    object: str
    id: str
    fields: dict[str, Any] = Field(default_factory=dict)


class DeletedRecord(BaseModel):
    object: str
    id: str


class StateDiff(BaseModel):
    """The changes of an episode (or the expected ones), in the task file's format."""

    created: list[CreatedRecord] = Field(default_factory=list)
    updated: list[UpdatedRecord] = Field(default_factory=list)
    deleted: list[DeletedRecord] = Field(default_factory=list)

    def is_empty(self) -> bool:
        """True when the diff changes nothing (no fact to compare)."""
        return not facts(self)


class StateScore(BaseModel):
    """How an episode's diff compares with the expected one."""

    exact: bool
    f1: float
    precision: float
    recall: float
    missing: list[str] = Field(default_factory=list)  # expected facts not done, readable
    unexpected: list[str] = Field(default_factory=list)  # facts done but not expected

    @property
    def reward(self) -> float:
        """The instance's reward: 1 for the exact expected state, else 0 (``f1`` is the partial credit)."""
        return 1.0 if self.exact else 0.0


def normalize_value(value: Any) -> Any:
    """A field value in comparable form: ids as they are, other text with single spaces and
    case-folded, numbers as floats, datetimes and dates in ISO form."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) == 18 and is_valid_id(value):
            return value
        return " ".join(value.split()).casefold()
    return str(value)


def is_system_field(object_name: str, field: str) -> bool:
    """True for fields the platform maintains, which a diff never compares (the write layer's rule)."""
    return is_platform_field(object_name, field)


def diff_from_changes(changes: Iterable[Any]) -> StateDiff:
    """The :class:`StateDiff` of a sandbox's :meth:`~crm_core.sandbox.Sandbox.diff` (system fields out)."""
    changes = list(changes)
    created_ids = {c.id: c.object for c in changes if c.kind == "created"}
    diff = StateDiff()
    for change in changes:
        if change.kind == "deleted":
            diff.deleted.append(DeletedRecord(object=change.object, id=change.id))
            continue
        fields = {
            name: _stable(value, created_ids)
            for name, value in change.fields.items()
            if not is_system_field(change.object, name)
        }
        if change.kind == "created":
            diff.created.append(CreatedRecord(object=change.object, fields=fields))
        elif fields:
            diff.updated.append(UpdatedRecord(object=change.object, id=change.id, fields=fields))
    return diff


def _stable(value: Any, created_ids: Mapping[str, str]) -> Any:
    if isinstance(value, str) and value in created_ids:
        return f"new:{created_ids[value]}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def facts(diff: StateDiff) -> Counter[tuple]:
    """The diff as a multiset of facts (see the module's docstring); system fields left out."""
    found: Counter[tuple] = Counter()
    for updated in diff.updated:
        for name, value in updated.fields.items():
            if not is_system_field(updated.object, name):
                found[("update", updated.object, updated.id, name, normalize_value(value))] += 1
    for deleted in diff.deleted:
        found[("delete", deleted.object, deleted.id)] += 1
    for created in diff.created:
        found[("create", created.object)] += 1
        for name, value in created.fields.items():
            if not is_system_field(created.object, name) and value is not None:
                found[("create", created.object, name, normalize_value(value))] += 1
    return found


def _records(diff: StateDiff) -> Counter[tuple]:
    """Each created record as one hashable whole (exactness needs whole records, not just fields)."""
    return Counter(
        (
            created.object,
            frozenset(
                (name, normalize_value(value))
                for name, value in created.fields.items()
                if not is_system_field(created.object, name) and value is not None
            ),
        )
        for created in diff.created
    )


def score_state(expected: StateDiff, actual: StateDiff) -> StateScore:
    """Compare an episode's diff with the expected diff (exact, and F1 over facts)."""
    want, got = facts(expected), facts(actual)
    common = sum((want & got).values())
    if not want and not got:
        precision = recall = f1 = 1.0
    else:
        precision = common / sum(got.values()) if got else 0.0
        recall = common / sum(want.values()) if want else 0.0
        f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    exact = want == got and _records(expected) == _records(actual)
    return StateScore(
        exact=exact,
        f1=f1,
        precision=precision,
        recall=recall,
        missing=[_describe(fact) for fact in sorted((want - got).elements(), key=repr)],
        unexpected=[_describe(fact) for fact in sorted((got - want).elements(), key=repr)],
    )


def _describe(fact: tuple) -> str:
    kind, obj = fact[0], fact[1]
    if kind == "update":
        return f"{obj} {fact[2]}: {fact[3]} = {fact[4]!r}"
    if kind == "delete":
        return f"{obj} {fact[2]} deleted"
    if len(fact) == 2:
        return f"a new {obj}"
    return f"new {obj}: {fact[2]} = {fact[3]!r}"
