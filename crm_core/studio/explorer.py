"""The Org Explorer's data access: paged object tables and record views, streamlit-free.

Everything runs server-side in SQL with bound parameters only: filters become ``WHERE``
clauses, sorting ``ORDER BY`` (with the record id as tie-breaker so pages never overlap),
paging ``LIMIT``/``OFFSET``, and counts are capped so that a table over a million cases stays
as fast as one over a thousand. Record views read one row by primary key and each related list
through the indexed foreign key.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Connection, Engine, Table, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from crm_core.db import make_readonly_engine
from crm_core.errors import UserFacingError
from crm_core.org.ids import is_valid_id, object_of, to_18
from crm_core.org.metadata import FieldDescribe, ObjectDescribe, describe_org, find_object
from crm_core.org.schema import MODEL_BY_OBJECT, LatentBase
from crm_core.policy import Page, page_spec

COUNT_CAP = 10_000
"""Counts stop at this many rows; the table then says "10,000+" (a full count of 1M rows is slow)."""

CHILD_LIST_SIZE = 10
"""How many related records a record view lists per child relationship."""

MANY_CHILDREN = 1_000
"""Above this many children, a related list walks the CreatedDate index instead of the foreign key's."""

FilterOp = Literal["contains", "equals", "starts with", "not equals", "<", "<=", ">", ">=", "is empty", "is not empty"]

TEXT_OPS: tuple[FilterOp, ...] = ("contains", "equals", "starts with", "not equals", "is empty", "is not empty")
PICKLIST_OPS: tuple[FilterOp, ...] = ("equals", "not equals", "is empty", "is not empty")
ORDERED_OPS: tuple[FilterOp, ...] = ("equals", "not equals", "<", "<=", ">", ">=", "is empty", "is not empty")
BOOLEAN_OPS: tuple[FilterOp, ...] = ("equals",)
ID_OPS: tuple[FilterOp, ...] = ("equals", "not equals", "is empty", "is not empty")
CASE_INSENSITIVE_TYPES = frozenset({"string", "email", "phone", "url", "picklist", "textarea"})
"""Field types whose equality filters ignore case, as SOQL's do (ids and references compare exactly)."""


def explorer_url(object_name: str | None = None, record_id: str | None = None) -> str:
    """The Org Explorer's address (relative to the studio) showing an object's table or one record."""
    path = page_spec(Page.ORG_EXPLORER).url_path
    query = {key: value for key, value in (("object", object_name), ("id", record_id)) if value}
    return f"{path}?{urllib.parse.urlencode(query)}" if query else path


class ExplorerError(UserFacingError, ValueError):
    """A bad object, field, filter or id, or a failing org database; the message names what is wrong."""


_URL_CREDENTIALS = re.compile(r"(//[^/\s:@]*):[^@\s/]*@")


def database_problem(exc: Exception) -> ExplorerError:
    """A database error as one line for users: the driver's first line, without SQL or passwords."""
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(original).strip().splitlines()
    first = lines[0].strip() if lines else type(original).__name__
    if isinstance(exc, SQLAlchemyError) and not isinstance(exc, DBAPIError):
        first = type(exc).__name__  # SQLAlchemy's own messages quote the statement
    first = _URL_CREDENTIALS.sub(r"\1:***@", first)[:200]
    return ExplorerError(f"the org database could not answer: {first}")


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn SQLAlchemy and driver errors raised in the block into an :class:`ExplorerError`."""
    try:
        yield
    except (SQLAlchemyError, OverflowError) as exc:
        raise database_problem(exc) from exc


@contextmanager
def org_connection(engine: Engine) -> Iterator[Connection]:
    """A connection of `engine` whose database errors (connecting included) become :class:`ExplorerError`."""
    with database_errors(), engine.connect() as conn:
        yield conn


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _reads_org(function: Callable[_P, _T]) -> Callable[_P, _T]:
    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with database_errors():
            return function(*args, **kwargs)

    return wrapper


class ColumnFilter(BaseModel):
    """One filter of a table: ``field op value`` (value as typed; converted by field type)."""

    model_config = ConfigDict(frozen=True)

    field: str
    op: FilterOp
    value: str = ""


class SortOrder(BaseModel):
    """The sort of a table: one field, ascending or descending."""

    model_config = ConfigDict(frozen=True)

    field: str = "CreatedDate"
    descending: bool = True


class RecordLink(BaseModel):
    """A link to a record: its object, id and the text to show."""

    object: str
    id: str
    title: str


class RecordPage(BaseModel):
    """One page of an object's table."""

    object: str
    columns: list[str]
    rows: list[dict[str, Any]]
    parent_titles: dict[str, str]
    """Display titles of the records referenced on this page (parents, ids in text fields), by id."""
    page: int
    page_size: int
    total: int
    total_is_exact: bool

    def named_rows(self) -> list[dict[str, Any]]:
        """The rows as a person reads them: each referenced id as "Name (id)" (the record's own Id stays)."""
        titles = self.parent_titles
        return [
            {k: named(titles[v], v) if k != "Id" and isinstance(v, str) and v in titles else v for k, v in row.items()}
            for row in self.rows
        ]

    @property
    def page_count(self) -> int:
        """Pages available (at least 1); capped counts give the pages up to the cap."""
        return max(1, -(-self.total // self.page_size))


class FieldValue(BaseModel):
    """One field of a record view, formatted for reading."""

    name: str
    label: str
    type: str
    text: str
    link: RecordLink | None = None


class ChildList(BaseModel):
    """A related list of a record view: the first few children and how many there are."""

    relationship: str
    object: str
    label: str
    field: str
    records: list[RecordLink]
    total: int
    total_is_exact: bool


class RecordView(BaseModel):
    """A record with its fields (parents as links) and its related lists."""

    object: str
    label: str
    id: str
    title: str
    fields: list[FieldValue]
    children: list[ChildList]


def filter_ops(field: FieldDescribe) -> tuple[FilterOp, ...]:
    """The filter operators that make sense for a field (none for long text areas)."""
    if not field.filterable:
        return ()
    if field.type in {"id", "reference"}:
        return ID_OPS
    if field.type == "picklist":
        return PICKLIST_OPS
    if field.type == "boolean":
        return BOOLEAN_OPS
    if field.type in {"int", "double", "currency", "percent", "date", "datetime"}:
        return ORDERED_OPS
    return TEXT_OPS


def table_fields(obj: ObjectDescribe) -> list[FieldDescribe]:
    """The fields shown as table columns: everything but long text areas."""
    return [f for f in obj.fields if not f.is_long_text]


def title_field(obj: ObjectDescribe) -> str:
    """The field that names a record in links: its name field, else Subject/Title, else Id."""
    names = [f.name for f in obj.name_fields]
    if "Title" in names:
        return "Title"
    if names:
        return names[0]
    for candidate in ("Subject", "Title"):
        if obj.field(candidate) is not None:
            return candidate
    return "Id"


def require_object(name: str) -> ObjectDescribe:
    """The object called `name` (case-insensitive) or an ExplorerError naming it."""
    obj = find_object(name)
    if obj is None:
        known = ", ".join(describe_org())
        raise ExplorerError(f"unknown object {name!r}; the org has: {known}")
    return obj


def _require_field(obj: ObjectDescribe, name: str) -> FieldDescribe:
    field = obj.field(name)
    if field is None:
        raise ExplorerError(f"no field {name!r} on {obj.name}")
    return field


def _column(obj: ObjectDescribe, name: str) -> Column[Any]:
    return MODEL_BY_OBJECT[obj.name].__table__.c[name]


def _convert(field: FieldDescribe, raw: str) -> Any:
    text = raw.strip()
    try:
        if field.type == "boolean":
            lowered = text.lower()
            if lowered not in {"true", "false"}:
                raise ValueError
            return lowered == "true"
        if field.type == "int":
            return int(text)
        if field.type in {"double", "currency", "percent"}:
            return float(text)
        if field.type == "date":
            return dt.date.fromisoformat(text)
        if field.type == "datetime":
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value
    except (ValueError, OverflowError):
        expected = {
            "boolean": "true or false",
            "int": "a whole number",
            "date": "a date like 2023-07-02",
            "datetime": "a date-time like 2023-07-02T11:00:00Z",
        }.get(field.type, "a number")
        raise ExplorerError(f"filter on {field.name}: {raw!r} is not {expected}") from None
    if field.type in {"id", "reference"} and is_valid_id(text):
        return to_18(text)
    return text


def _condition(obj: ObjectDescribe, flt: ColumnFilter) -> ColumnElement[bool]:
    field = _require_field(obj, flt.field)
    ops = filter_ops(field)
    if not ops:
        raise ExplorerError(f"{obj.name}.{field.name} is a long text area and cannot be filtered (as on Salesforce)")
    if flt.op not in ops:
        raise ExplorerError(f"operator {flt.op!r} does not apply to {obj.name}.{field.name} ({field.type})")
    column = _column(obj, field.name)
    if flt.op == "is empty":
        return column.is_(None)
    if flt.op == "is not empty":
        return column.is_not(None)
    if not flt.value.strip():
        raise ExplorerError(f"filter on {field.name}: enter a value for {flt.op!r}")
    if "\x00" in flt.value:
        raise ExplorerError(f"filter on {field.name}: the value contains a NUL character")
    value = _convert(field, flt.value)
    if flt.op == "contains":
        return column.icontains(value, autoescape=True)
    if flt.op == "starts with":
        return column.istartswith(value, autoescape=True)
    if flt.op in {"equals", "not equals"}:
        # as SOQL compares strings; ids and references stay exact
        caseless = field.type in CASE_INSENSITIVE_TYPES
        equal = func.lower(column) == value.lower() if caseless else column == value
        return equal if flt.op == "equals" else (~equal) | column.is_(None)
    return {"<": column < value, "<=": column <= value, ">": column > value, ">=": column >= value}[flt.op]


def _capped_count(conn: Connection, table: Table, conditions: list[ColumnElement[bool]], cap: int) -> tuple[int, bool]:
    """Count matching rows, stopping at `cap` + 1: (count, exact) or (cap, False)."""
    inner = select(table.c.Id).where(*conditions).limit(cap + 1).subquery()
    total = conn.execute(select(func.count()).select_from(inner)).scalar_one()
    return (cap, False) if total > cap else (total, True)


def _order_by(obj: ObjectDescribe, sort: SortOrder) -> list[Any]:
    field = _require_field(obj, sort.field)
    if not field.sortable:
        raise ExplorerError(f"{obj.name}.{field.name} is a long text area and cannot be sorted (as on Salesforce)")
    column = _column(obj, field.name)
    id_column = _column(obj, "Id")
    key = column.desc() if sort.descending else column.asc()
    if column.nullable:
        # Salesforce's default null order: first when ascending, last when descending.
        key = key.nulls_last() if sort.descending else key.nulls_first()
    if field.name == "Id":
        return [key]
    return [key, id_column.desc() if sort.descending else id_column.asc()]


@_reads_org
def list_records(
    conn: Connection,
    object_name: str,
    *,
    filters: list[ColumnFilter] | None = None,
    sort: SortOrder | None = None,
    page: int = 0,
    page_size: int = 50,
    count_cap: int = COUNT_CAP,
) -> RecordPage:
    """One page (0-based) of an object's records, filtered and sorted in SQL."""
    obj = require_object(object_name)
    filters = filters or []
    sort = sort or SortOrder()
    if page < 0 or not 1 <= page_size <= 1000:
        raise ExplorerError("page must be >= 0 and page size between 1 and 1000")
    fields = table_fields(obj)
    table = MODEL_BY_OBJECT[obj.name].__table__
    conditions = [_condition(obj, flt) for flt in filters]
    total, exact = _capped_count(conn, table, conditions, count_cap)
    if exact:  # a page past the end shows the last page (the caller sees it in `page`)
        page = min(page, max(0, -(-total // page_size) - 1))
    stmt = select(*[table.c[f.name] for f in fields]).where(*conditions)
    stmt = stmt.order_by(*_order_by(obj, sort)).limit(page_size).offset(page * page_size)
    rows = [dict(row._mapping) for row in conn.execute(stmt)]
    references = [f for f in fields if f.type == "reference" and f.reference_to]
    titles: dict[str, str] = {}
    for field in references:
        ids = {row[field.name] for row in rows if row[field.name]}
        titles.update(record_titles(conn, require_object(field.reference_to or ""), ids))
    texts = [f.name for f in fields if f.type in {"string", "textarea"}]  # e.g. a Case History's old owner id
    titles.update(id_titles(conn, [row[name] for row in rows for name in texts]))
    return RecordPage(
        object=obj.name,
        columns=[f.name for f in fields],
        rows=rows,
        parent_titles=titles,
        page=page,
        page_size=page_size,
        total=total,
        total_is_exact=exact,
    )


@_reads_org
def record_titles(conn: Connection, obj: ObjectDescribe, ids: set[str]) -> dict[str, str]:
    """The link titles of some records of one object, by id (one query)."""
    if not ids:
        return {}
    title = title_field(obj)
    table = MODEL_BY_OBJECT[obj.name].__table__
    stmt = select(table.c.Id, table.c[title]).where(table.c.Id.in_(sorted(ids)))
    return {row[0]: str(row[1] if row[1] is not None else row[0]) for row in conn.execute(stmt)}


def named(title: str, record_id: str) -> str:
    """How a person reads a record reference: "Name (id)", or the bare id when it has no name."""
    return record_id if title == record_id else f"{title} ({record_id})"


def _org_id(value: Any) -> str | None:
    """`value` as an 18-character id of one of the org's objects, else None."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not is_valid_id(value):
        return None
    return to_18(value) if object_of(value) in MODEL_BY_OBJECT else None


@_reads_org
def id_titles(conn: Connection, values: Iterable[Any]) -> dict[str, str]:
    """The titles of the records whose ids appear among `values` (any text), by id; one query per object."""
    by_object: dict[str, set[str]] = {}
    for value in values:
        if (record_id := _org_id(value)) is not None:
            by_object.setdefault(object_of(record_id) or "", set()).add(record_id)
    titles: dict[str, str] = {}
    for name, ids in by_object.items():
        titles.update(record_titles(conn, require_object(name), ids))
    return titles


_ID_TOKEN = re.compile(r"\b[a-zA-Z0-9]{18}\b|\b[a-zA-Z0-9]{15}\b")


def name_ids_in_text(conn: Connection, text: str) -> str:
    """`text` with every record id of the org in it written as "Name (id)" (e.g. an answer)."""
    titles = id_titles(conn, [to_18(t) for t in _ID_TOKEN.findall(text or "") if _org_id(t)])
    if not titles:
        return text
    return _ID_TOKEN.sub(lambda m: named(titles.get(_org_id(m.group()) or "", m.group()), m.group()), text)


def format_value(field: FieldDescribe, value: Any) -> str:
    """A field value as the record view shows it (UTC datetimes, blanks for null)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field.type == "currency" and isinstance(value, int | float):
        return f"{value:,.2f}"
    return str(value)


def with_article(word: str) -> str:
    """`word` with "a" or "an" before it, as it is said ("an Account", "a Case", "a User")."""
    lowered = word.lower()
    vowel_sound = lowered[:1] in "aeio" or (lowered[:1] == "u" and not lowered.startswith(("us", "uni")))
    return f"{'an' if vowel_sound else 'a'} {word}"


def resolve_record_id(raw: str, object_name: str | None = None) -> tuple[ObjectDescribe, str]:
    """The object and 18-character id of a typed id (15 or 18 characters)."""
    text = raw.strip()
    if not is_valid_id(text):
        raise ExplorerError(f"{raw!r} is not a record id (15 or 18 letters and digits)")
    record_id = to_18(text)
    prefix_object = object_of(record_id)
    if object_name is not None:
        obj = require_object(object_name)
        if prefix_object != obj.name:
            found = (
                f"it is {with_article(prefix_object)} id"
                if prefix_object
                else f"no object of the org has its prefix {record_id[:3]!r}"
            )
            raise ExplorerError(f"{record_id} is not {with_article(obj.name)} id: {found}")
        return obj, record_id
    if prefix_object is None:
        raise ExplorerError(f"no object has the key prefix {record_id[:3]!r} of {record_id}")
    return require_object(prefix_object), record_id


@_reads_org
def load_record(
    conn: Connection, record_id: str, object_name: str | None = None, *, child_limit: int = CHILD_LIST_SIZE
) -> RecordView:
    """A record's fields with parents as links, and its related lists (first `child_limit` each)."""
    obj, record_id = resolve_record_id(record_id, object_name)
    table = MODEL_BY_OBJECT[obj.name].__table__
    row = conn.execute(select(table).where(table.c.Id == record_id)).mappings().first()
    if row is None:
        raise ExplorerError(f"no {obj.name} with id {record_id}")
    values: list[FieldValue] = []
    for field in obj.fields:
        value = row[field.name]
        link = None
        if field.type == "reference" and field.reference_to and value:
            parent = require_object(field.reference_to)
            title = record_titles(conn, parent, {value}).get(value, value)
            link = RecordLink(object=parent.name, id=value, title=title)
        elif field.type in {"string", "textarea"} and (other := _org_id(value)) is not None:
            title = id_titles(conn, [other]).get(other)
            link = RecordLink(object=object_of(other) or "", id=other, title=title) if title else None
        values.append(
            FieldValue(name=field.name, label=field.label, type=field.type, text=format_value(field, value), link=link)
        )
    children = [
        _child_list(conn, rel.name, require_object(rel.child_object), rel.field, record_id, child_limit)
        for rel in obj.child_relationships
    ]
    title = row[title_field(obj)]
    return RecordView(
        object=obj.name,
        label=obj.label,
        id=record_id,
        title=str(title if title is not None else record_id),
        fields=values,
        children=children,
    )


def _child_list(
    conn: Connection, relationship: str, child: ObjectDescribe, field: str, parent_id: str, limit: int
) -> ChildList:
    table = MODEL_BY_OBJECT[child.name].__table__
    title = title_field(child)
    condition = table.c[field] == parent_id
    total, exact = _capped_count(conn, table, [condition], COUNT_CAP)
    if total > MANY_CHILDREN:
        # Reading every child through the foreign-key index and sorting them grows with the parent;
        # walking the CreatedDate index newest first meets `limit` children after about
        # limit * rows / total rows. Wrapping the key in COALESCE keeps the planner off its index.
        condition = func.coalesce(table.c[field], "") == parent_id
    stmt = select(table.c.Id, table.c[title]).where(condition)
    stmt = stmt.order_by(table.c.CreatedDate.desc(), table.c.Id.desc()).limit(limit)
    records = [
        RecordLink(object=child.name, id=row[0], title=str(row[1] if row[1] is not None else row[0]))
        for row in conn.execute(stmt)
    ]
    return ChildList(
        relationship=relationship,
        object=child.name,
        label=child.label,
        field=field,
        records=records,
        total=total,
        total_is_exact=exact,
    )


@_reads_org
def object_counts(conn: Connection, cap: int = COUNT_CAP * 100) -> dict[str, tuple[int, bool]]:
    """Rows per object (capped at `cap`): ``{object: (count, exact)}``, for the overview page."""
    counts = {}
    for obj in describe_org().values():
        counts[obj.name] = _capped_count(conn, MODEL_BY_OBJECT[obj.name].__table__, [], cap)
    return counts


LATENT_TABLES: tuple[str, ...] = tuple(
    sorted(name for name in LatentBase.metadata.tables if name.startswith("latent_"))
)
"""The generator's hidden variables (researchers and admins only; see ``Action.VIEW_LATENT``)."""


@_reads_org
def list_latent(conn: Connection, table_name: str, *, page: int = 0, page_size: int = 50) -> RecordPage:
    """One page (0-based) of a ``latent_*`` table, in primary-key order."""
    if table_name not in LATENT_TABLES:
        raise ExplorerError(f"unknown latent table {table_name!r}; there are: {', '.join(LATENT_TABLES)}")
    if page < 0 or not 1 <= page_size <= 1000:
        raise ExplorerError("page must be >= 0 and page size between 1 and 1000")
    table = LatentBase.metadata.tables[table_name]
    total = conn.execute(select(func.count()).select_from(table)).scalar_one()
    page = min(page, max(0, -(-total // page_size) - 1))
    stmt = select(table).order_by(*table.primary_key.columns).limit(page_size).offset(page * page_size)
    rows = [dict(row._mapping) for row in conn.execute(stmt)]
    return RecordPage(
        object=table_name,
        columns=[c.name for c in table.columns],
        rows=rows,
        parent_titles=id_titles(conn, [value for row in rows for value in row.values()]),
        page=page,
        page_size=page_size,
        total=total,
        total_is_exact=True,
    )


def org_object_counts(url: str) -> dict[str, tuple[int, bool]]:
    """:func:`object_counts` of the org at `url`, through a read-only engine (for cached overviews)."""
    engine = make_readonly_engine(url)
    try:
        with engine.connect() as conn:
            return object_counts(conn)
    finally:
        engine.dispose()
