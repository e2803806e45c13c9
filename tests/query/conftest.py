"""Fixtures of the SOQL/SOSL conformance suite: the tiny org on both databases, an independent
in-memory copy of its rows, and comparison of engine results with expectations.

The suite runs on a copy of the tiny org in which some nullable fields are set to null and a few
values hold quotes, ``%`` and ``_`` (:data:`SPARSE`): the generator never leaves a lookup empty,
and Salesforce's outer-join, null-ordering and escaping rules need such rows to be tested.

Expectations never come from the engine: the rows are read with plain ``SELECT`` statements on
the schema's tables, relationships are walked with the hand-written map below, and Salesforce's
rules (case-insensitive strings, nulls first, REST value formats) are re-stated here.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text, update

from crm_core.db import make_engine, make_readonly_engine, sqlite_path
from crm_core.org.schema import MODEL_BY_OBJECT, Base, LatentBase
from crm_core.org.search_index import build_search_index
from tests.conftest import create_pg_database, drop_pg_database, shared_sqlite_org

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

# (object, relationship name) -> (foreign key column, parent object); written by hand from the schema.
PARENTS: dict[tuple[str, str], tuple[str, str]] = {
    ("Contact", "Account"): ("AccountId", "Account"),
    ("Contact", "Owner"): ("OwnerId", "User"),
    ("Case", "Account"): ("AccountId", "Account"),
    ("Case", "Contact"): ("ContactId", "Contact"),
    ("Case", "Owner"): ("OwnerId", "User"),
    ("Case", "OrderItemId__r"): ("OrderItemId__c", "OrderItem"),
    ("Case", "IssueId__r"): ("IssueId__c", "Issue__c"),
    ("CaseHistory__c", "CaseId__r"): ("CaseId__c", "Case"),
    ("Order", "Account"): ("AccountId", "Account"),
    ("Order", "Pricebook2"): ("Pricebook2Id", "Pricebook2"),
    ("OrderItem", "Order"): ("OrderId", "Order"),
    ("OrderItem", "Product2"): ("Product2Id", "Product2"),
    ("OrderItem", "PricebookEntry"): ("PricebookEntryId", "PricebookEntry"),
    ("PricebookEntry", "Pricebook2"): ("Pricebook2Id", "Pricebook2"),
    ("PricebookEntry", "Product2"): ("Product2Id", "Product2"),
    ("ProductCategoryProduct", "ProductCategory"): ("ProductCategoryId", "ProductCategory"),
    ("ProductCategoryProduct", "Product"): ("ProductId", "Product2"),
    ("EmailMessage", "Parent"): ("ParentId", "Case"),
    ("LiveChatTranscript", "Case"): ("CaseId", "Case"),
    ("LiveChatTranscript", "Account"): ("AccountId", "Account"),
    ("LiveChatTranscript", "Contact"): ("ContactId", "Contact"),
    ("LiveChatTranscript", "Owner"): ("OwnerId", "User"),
}

Row = dict[str, Any]


def rest_value(value: Any) -> Any:
    """A Python value as the REST API writes it (datetimes with milliseconds and +0000)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def sort_key(value: Any) -> tuple[int, Any]:
    """Salesforce's order of one value: strings case-insensitively (nulls are handled by the caller)."""
    if isinstance(value, str):
        return (0, value.lower())
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)


class OrgData:
    """All rows of the org, read with plain SELECTs, and a small evaluator of expectations."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: dict[str, list[Row]] = {}
        with engine.connect() as conn:
            for name, model in MODEL_BY_OBJECT.items():
                self.rows[name] = [dict(r._mapping) for r in conn.execute(select(model.__table__))]
        self.by_id: dict[str, dict[str, Row]] = {n: {r["Id"]: r for r in rs} for n, rs in self.rows.items()}

    def sql(self, query: str, **params: Any) -> list[Row]:
        """Run hand-written SQL (bound parameters only) and return its rows as dicts."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(query), params)]

    def parent(self, obj: str, row: Row | None, rel: str) -> tuple[str, Row | None]:
        fk, target = PARENTS[(obj, rel)]
        if row is None or row[fk] is None:
            return target, None
        return target, self.by_id[target][row[fk]]

    def get(self, obj: str, row: Row, path: str) -> Any:
        """The value of a dotted field path on `row` (None through a missing parent)."""
        *rels, field = path.split(".")
        current: Row | None = row
        for rel in rels:
            obj, current = self.parent(obj, current, rel)
            if current is None:
                return None
        return current[field]

    def rec(self, obj: str, row: Row, fields: Iterable[str]) -> Row:
        """The expected REST record (without attributes) of `row` for the selected field paths."""
        out: Row = {}
        for path in fields:
            *rels, field = path.split(".")
            target: Row | None = out
            current: Row | None = row
            current_obj = obj
            for rel in rels:
                current_obj, current = self.parent(current_obj, current, rel)
                if current is None:
                    target.setdefault(rel, None)
                    target = None
                    break
                target = target.setdefault(rel, {})
            if target is not None and current is not None:
                target[field] = current[field]
        return out

    def select(
        self,
        obj: str,
        fields: Iterable[str],
        where: Callable[[Row], bool] = lambda _r: True,
        order: Iterable[tuple[str, bool, bool]] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Expected records of a plain query; `order` is (path, descending, nulls_last) triples."""
        rows = [r for r in self.rows[obj] if where(r)]
        rows = self.ordered(obj, rows, order)
        rows = rows[offset:]
        if limit is not None:
            rows = rows[:limit]
        fields = list(fields)
        return [self.rec(obj, r, fields) for r in rows]

    def ordered(self, obj: str, rows: list[Row], order: Iterable[tuple[str, bool, bool]]) -> list[Row]:
        """Sort by several keys, Salesforce style: nulls first unless nulls_last, for ASC and DESC."""
        for path, descending, nulls_last in reversed(list(order)):
            present = [r for r in rows if self.get(obj, r, path) is not None]
            missing = [r for r in rows if self.get(obj, r, path) is None]
            present.sort(key=lambda r, p=path: sort_key(self.get(obj, r, p)), reverse=descending)
            rows = present + missing if nulls_last else missing + present
        return rows

    def children(self, obj: str, fk: str, parent_id: str) -> list[Row]:
        return [r for r in self.rows[obj] if r[fk] == parent_id]


def _strip(record: Any, expected_type: str | None, path: str) -> Any:
    """Remove and check `attributes`; turn nested query results into lists (or None)."""
    assert isinstance(record, dict), f"{path}: expected a record, got {record!r}"
    attributes = record.get("attributes")
    assert isinstance(attributes, dict), f"{path}: record without attributes: {record!r}"
    if expected_type is not None:
        assert attributes.get("type") == expected_type, f"{path}: type {attributes.get('type')!r}"
        if expected_type != "AggregateResult":
            url = attributes.get("url", "")
            assert url.startswith("/services/data/v") and f"/sobjects/{expected_type}/" in url, url
            if "Id" in record:
                assert url.endswith("/" + record["Id"]), url
    out: Row = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict) and "records" in value and "totalSize" in value:
            assert value["totalSize"] == len(value["records"]) and value["done"] is True, f"{path}.{key}"
            out[key] = [_strip(r, None, f"{path}.{key}") for r in value["records"]]
        elif isinstance(value, dict):
            out[key] = _strip(value, None, f"{path}.{key}")
        else:
            out[key] = value
    return out


def _canonical(value: Any) -> Any:
    """Expected values in REST form, recursively."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return rest_value(value)


def _same(actual: Any, expected: Any, path: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a record, got {actual!r}"
        assert list(actual) == list(expected), f"{path}: fields {list(actual)} != {list(expected)}"
        for key in expected:
            _same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected child records, got {actual!r}"
        _same_records(actual, expected, path, ordered=False)
    elif isinstance(expected, float) or (isinstance(expected, int) and not isinstance(expected, bool)):
        assert isinstance(actual, int | float) and not isinstance(actual, bool), f"{path}: {actual!r} not a number"
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(sorted((_freeze(v) for v in value), key=repr))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _same_records(actual: list[Row], expected: list[Row], path: str, *, ordered: bool) -> None:
    assert len(actual) == len(expected), f"{path}: {len(actual)} records, expected {len(expected)}"
    if ordered:
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same(a, e, f"{path}[{i}]")
        return
    by_key = {}
    for e in expected:
        by_key.setdefault(_freeze(e), []).append(e)
    unmatched = Counter(_freeze(a) for a in actual) - Counter(_freeze(e) for e in expected)
    assert not unmatched, f"{path}: unexpected records {list(unmatched)[:3]}"
    for a in actual:
        _same(a, by_key[_freeze(a)][0], f"{path}[Id={a.get('Id')}]")


def _project(record: Row, paths: Iterable[str]) -> tuple[Any, ...]:
    values = []
    for path in paths:
        value: Any = record
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values.append(value.lower() if isinstance(value, str) else _freeze(value))
    return tuple(values)


def check_result(
    result: dict,
    expected: list[Row],
    *,
    obj: str,
    order: Iterable[str] = (),
    subset_of: list[Row] | None = None,
) -> None:
    """Assert that a REST query result holds exactly `expected` (in the order of the `order`
    paths, ties in any order), or, with `subset_of`, len(expected) records drawn from it."""
    assert set(result) >= {"totalSize", "done", "records"}, result
    assert result["done"] is True
    records = [_strip(r, obj, "records") for r in result["records"]]
    assert result["totalSize"] == len(records)
    expected = _canonical(expected)
    if subset_of is not None:
        pool = Counter(_freeze(e) for e in _canonical(subset_of))
        assert len(records) == len(expected), f"{len(records)} records, expected {len(expected)}"
        assert not Counter(_freeze(r) for r in records) - pool, "records outside the expected pool"
        return
    order = list(order)
    _same_records(records, expected, "records", ordered=False)
    if order:
        assert [_project(r, order) for r in records] == [_project(e, order) for e in expected], "order differs"


# Nulls and special characters the tiny org does not have but Salesforce's semantics are about:
# (object, column, every n-th row by Id, offset, value) applied to a copy of the org.
SPARSE: list[tuple[str, str, int, int, Any]] = [
    ("Case", "IssueId__c", 5, 0, None),
    ("Case", "OrderItemId__c", 4, 1, None),
    ("Case", "Priority", 6, 2, None),
    ("Case", "Subject", 11, 3, None),
    ("Case", "Subject", 23, 4, "50% off code SIZE_10 did not apply"),
    ("Account", "PersonEmail", 5, 0, None),
    ("Account", "ShippingState", 7, 1, None),
    ("Account", "Phone", 6, 2, None),
    ("Account", "LastName", 29, 3, "O'Hara"),
    ("Account", "Name", 29, 3, "Maeve O'Hara"),
    ("Product2", "Family", 4, 0, None),
    ("Contact", "Email", 8, 0, None),
]


def _copy_sparse(source_url: str, target_url: str) -> None:
    """Copy every table of the org to `target_url`, then apply :data:`SPARSE` with bound parameters."""
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        Base.metadata.create_all(target)
        LatentBase.metadata.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in [*Base.metadata.sorted_tables, *LatentBase.metadata.sorted_tables]:
                rows = [dict(r._mapping) for r in src.execute(select(table))]
                if rows:
                    dst.execute(insert(table), rows)
            for obj, column, every, offset, value in SPARSE:
                table = MODEL_BY_OBJECT[obj].__table__
                ids = sorted(dst.execute(select(table.c.Id)).scalars())[offset::every]
                dst.execute(update(table).where(table.c.Id.in_(ids)).values({column: value}))
        build_search_index(target)  # SOSL runs on the full-text index, as on a generated org
    finally:
        source.dispose()
        target.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def query_org_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tiny org (seed 7) with a few nulls and special characters, on SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        tiny = request.getfixturevalue("tiny_org_url")
        yield shared_sqlite_org(tmp_path_factory, "query", lambda url: _copy_sparse(tiny, url))
        return
    source = request.getfixturevalue("tiny_org_pg_url")
    url = create_pg_database("crm_query_org")
    try:
        _copy_sparse(source, url)
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def own_query_org_url(query_org_url: str, tmp_path: Path) -> str:
    """The query org for a test that writes to it and rolls back: on SQLite a copy of its own,
    since other xdist workers read the shared file meanwhile, and a read-only connection that meets
    a writer's rollback journal fails ("attempt to write a readonly database"); on PostgreSQL the
    shared database, whose transactions keep an uncommitted write from every other session."""
    path = sqlite_path(query_org_url)
    if path is None:
        return query_org_url
    copy = tmp_path / "query-org.db"
    shutil.copy(path, copy)  # nothing writes the shared file, so a plain copy is whole
    return f"sqlite:///{copy}"


@pytest.fixture(scope="session")
def query_engine(query_org_url: str) -> Iterator[Engine]:
    """A read-only engine on the tiny org, as agents get it."""
    engine = make_readonly_engine(query_org_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def org_data(query_engine: Engine) -> OrgData:
    """Every row of the tiny org, for computing expectations."""
    return OrgData(query_engine)


@pytest.fixture(scope="session")
def check() -> Callable[..., None]:
    """The comparison of an engine result with independently computed records."""
    return check_result


@pytest.fixture(scope="session", name="rest_value")
def rest_value_fixture() -> Callable[[Any], Any]:
    """How the REST API writes a Python value."""
    return rest_value
