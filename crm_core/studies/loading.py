"""Loading study files into the app store (items sampled from the org), listing and closing.

Record items are sampled deterministically: for each object, ``per_object`` positions are drawn
with a random generator seeded by the study id, the item spec's seed and the object name, among
the object's records ordered by ``Id``. The same org and file always give the same items.
"""

from __future__ import annotations

import random
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crm_core.db import DatabaseURLError, display_url, make_readonly_engine
from crm_core.errors import UserFacingError
from crm_core.org.metadata import find_object
from crm_core.store.engine import write_transaction
from crm_core.store.models import Study, StudyItem, utc_now
from crm_core.studies.definition import (
    ObjectItems,
    OrgItem,
    RecordItems,
    StudyDefinition,
    TaskItems,
    read_study_file,
)
from crm_core.tasks.records import load_tasks
from crm_core.tasks.registry import task_names


class StudyError(UserFacingError):
    """A study operation that cannot be done (unknown or closed study, conflicting reload ...)."""


def definition_of(study: Study) -> StudyDefinition:
    """The validated definition stored with `study`."""
    return StudyDefinition.model_validate(study.definition)


def get_study(session: Session, study_id: str) -> Study:
    """The study `study_id`; raises :class:`StudyError` if it is not loaded."""
    study = session.get(Study, study_id)
    if study is None:
        raise StudyError(f"no study {study_id!r}: load it with `python -m crm_core studies load FILE`")
    return study


def list_studies(session: Session, *, include_closed: bool = True) -> list[Study]:
    """Loaded studies, newest first."""
    query = select(Study).order_by(Study.loaded_at.desc(), Study.id)
    if not include_closed:
        query = query.where(Study.status == "open")
    return list(session.scalars(query))


def _object_label(name: str) -> str:
    described = find_object(name)
    return described.label if described else name


def _name_column(object_name: str, available: set[str]) -> str | None:
    described = find_object(object_name)
    names = [f.name for f in described.name_fields] if described else []
    return next((name for name in names if name in available), None)


def sample_records(org_url: str, object_name: str, count: int, seed: str) -> list[tuple[str, str | None]]:
    """`count` records of `object_name` drawn deterministically from the org: ``(Id, name)`` pairs.

    Fewer when the org has fewer; the name is the object's name field (None if it has none).
    """
    try:
        engine = make_readonly_engine(org_url)
    except DatabaseURLError as exc:
        raise StudyError(str(exc)) from None
    ids = column("Id")
    records = table(object_name, ids)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(object_name):
                raise StudyError(
                    f"the org at {display_url(org_url)} has no {object_name} table: generate the org first"
                )
            total = conn.scalar(select(func.count()).select_from(records)) or 0
            offsets = sorted(random.Random(seed).sample(range(total), min(count, total)))
            sampled = [conn.scalar(select(ids).order_by(ids).limit(1).offset(offset)) for offset in offsets]
            name_column = _name_column(object_name, {c["name"] for c in inspect(conn).get_columns(object_name)})
            names: dict[str, str | None] = {}
            if name_column is not None and sampled:
                named = table(object_name, column("Id"), column(name_column))
                query = select(named.c.Id, named.c[name_column]).where(named.c.Id.in_(sampled))
                names = {rid: (str(value) if value is not None else None) for rid, value in conn.execute(query)}
            return [(rid, names.get(rid)) for rid in sampled]
    except SQLAlchemyError as exc:
        raise StudyError(
            f"cannot read {object_name} from the org at {display_url(org_url)}: {exc.__class__.__name__}"
        ) from None
    finally:
        engine.dispose()


def _task_items(study_id: str, spec: TaskItems, org_url: str | None) -> list[StudyItem]:
    """`per_task` instances of each task of the org's task set, drawn deterministically."""
    if org_url is None:
        raise StudyError(f"study {study_id!r} samples task instances: give the org database (--org-db)")
    instances = load_tasks(org_url)
    items = []
    for task in spec.include or task_names():
        pool = sorted(i.idx for i in instances if i.task == task)
        if not pool:
            raise StudyError(f"the task set of the org at {display_url(org_url)} has no {task} instances")
        chosen = sorted(random.Random(f"{study_id}:{spec.seed}:{task}").sample(pool, min(spec.per_task, len(pool))))
        items += [StudyItem(key=f"task:{idx}", kind="task", label=f"Task #{idx} ({task})") for idx in chosen]
    return items


def build_items(definition: StudyDefinition, org_url: str | None) -> list[StudyItem]:
    """The items of `definition` (unsaved), sampling records from the org at `org_url`."""
    items: list[StudyItem] = []
    for spec in definition.items:
        if isinstance(spec, RecordItems):
            if org_url is None:
                raise StudyError(f"study {definition.id!r} samples records: give the org database (--org-db)")
            for name in spec.objects:
                records = sample_records(org_url, name, spec.per_object, f"{definition.id}:{spec.seed}:{name}")
                if not records:
                    raise StudyError(f"the org at {display_url(org_url)} has no {name} records to sample")
                label = _object_label(name)
                items += [
                    StudyItem(
                        key=f"record:{name}:{rid}",
                        kind="record",
                        object_name=name,
                        record_id=rid,
                        label=f"{label} {record_name or rid}"[:200],
                    )
                    for rid, record_name in records
                ]
        elif isinstance(spec, ObjectItems):
            items += [
                StudyItem(
                    key=f"object:{name}", kind="object", object_name=name, label=f"All {_object_label(name)} records"
                )
                for name in spec.objects
            ]
        elif isinstance(spec, OrgItem):
            items.append(StudyItem(key="org", kind="org", label="The org as a whole"))
        elif isinstance(spec, TaskItems):
            items += _task_items(definition.id, spec, org_url)
    unique: dict[str, StudyItem] = {}
    for item in items:
        unique.setdefault(item.key, item)
    for position, item in enumerate(unique.values()):
        item.position = position
    return list(unique.values())


def load_study(session: Session, path: str | Path, org_url: str | None = None) -> Study:
    """Validate the study file at `path`, sample its items and store it (commits).

    Loading the same definition again returns the stored study unchanged; a changed definition
    under an id already loaded is refused (give the changed study a new id).
    """
    definition = read_study_file(path)
    return load_definition(session, definition, org_url, source=str(path))


def load_definition(
    session: Session, definition: StudyDefinition, org_url: str | None = None, *, source: str = ""
) -> Study:
    """Store an already validated `definition` (see :func:`load_study`)."""
    stored = definition.model_dump(mode="json")
    existing = session.get(Study, definition.id)
    if existing is not None:
        if existing.definition == stored:
            return existing
        raise StudyError(
            f"study {definition.id!r} is already loaded with a different definition: give the changed study a new id"
        )
    items = build_items(definition, org_url)
    try:
        with write_transaction(session):
            if session.get(Study, definition.id) is None:
                study = Study(
                    id=definition.id,
                    title=definition.title,
                    status="open",
                    definition=stored,
                    source=source,
                    org_url=display_url(org_url) if org_url else None,
                )
                study.items = items
                session.add(study)
            session.commit()
    except IntegrityError:  # another process stored the same id in the meantime
        pass
    return load_definition(session, definition, org_url, source=source)  # the stored one, or a clear refusal


def close_study(session: Session, study_id: str) -> Study:
    """Close a study (commits): no more drafts or submissions; responses stay exportable."""
    with write_transaction(session):
        study = get_study(session, study_id)
        if study.status != "closed":
            study.status = "closed"
            study.closed_at = utc_now()
        session.commit()
    return study


def reopen_study(session: Session, study_id: str) -> Study:
    """Reopen a closed study (commits)."""
    with write_transaction(session):
        study = get_study(session, study_id)
        study.status = "open"
        study.closed_at = None
        session.commit()
    return study


class StudyLoad(BaseModel):
    """What loading a study file did: stored it now, or found it already loaded and unchanged."""

    study_id: str
    title: str
    items: int
    ratings_per_item: int
    newly_loaded: bool

    def message(self) -> str:
        """One line for the person who loaded it."""
        size = f"{self.items} items, {self.ratings_per_item} ratings per item"
        if self.newly_loaded:
            return f"Study {self.study_id} is loaded: {size}."
        return f"Study {self.study_id} is already loaded and unchanged ({size}): nothing to do."


def load_study_file(session: Session, path: str | Path, org_url: str | None = None) -> StudyLoad:
    """:func:`load_study`, reported as a :class:`StudyLoad` (read while the session is open)."""
    definition = read_study_file(path)
    known = session.get(Study, definition.id) is not None
    study = load_definition(session, definition, org_url, source=str(path))
    items = session.scalar(select(func.count()).select_from(StudyItem).where(StudyItem.study_id == study.id)) or 0
    return StudyLoad(
        study_id=study.id,
        title=study.title,
        items=items,
        ratings_per_item=definition.ratings_per_item,
        newly_loaded=not known,
    )
