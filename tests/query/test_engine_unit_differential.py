"""Differential test: generated queries give the same results on SQLite and PostgreSQL.

The same tiny org (seed 7) is generated into both databases; queries are built from the
schema's metadata (every object, parent paths, every operator and value kind) with values
sampled from the data, and each must give identical results (or identical errors) on both.
Ordering is not compared (rows without ORDER BY come in database order).
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import create_engine, text

from crm_core.org.metadata import FieldDescribe, ObjectDescribe, describe_org
from crm_core.query import QueryError, run_query

TODAY = dt.date(2024, 6, 1)
QUERIES = 300


def _literal(described: FieldDescribe, value: object) -> str:
    kind = described.type
    if value is None:
        return "null"
    if kind in ("double", "currency", "int", "percent"):
        return repr(value)
    if kind == "boolean":
        return "TRUE" if value in (1, True) else "FALSE"
    if kind == "date":
        return str(value)[:10]
    if kind == "datetime":
        return str(value)[:19].replace(" ", "T") + "Z"
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


class _Generator:
    def __init__(self, rng: random.Random, samples: dict[str, list[dict]]) -> None:
        self.rng = rng
        self.samples = samples
        self.org = describe_org()

    def path(self, obj: ObjectDescribe, depth: int = 0) -> tuple[str, FieldDescribe]:
        described = self.rng.choice(obj.fields)
        if described.relationship_name and described.reference_to and depth < 3 and self.rng.random() < 0.4:
            rest, target = self.path(self.org[described.reference_to], depth + 1)
            return f"{described.relationship_name}.{rest}", target
        return described.name, described

    def condition(self, obj: ObjectDescribe) -> str | None:
        rng = self.rng
        path, described = self.path(obj)
        if described.is_long_text:
            return None
        rows = self.samples[obj.name]
        local = "." not in path and rows
        kind = described.type
        if kind in ("string", "picklist", "email", "phone", "textarea") and rng.random() < 0.3:
            return f"{path} LIKE '%{rng.choice('aeiouAEIOU')}%'"
        if kind in ("date", "datetime") and rng.random() < 0.4:
            literal = rng.choice(["TODAY", "LAST_N_DAYS:30", "THIS_YEAR", "LAST_QUARTER", "N_WEEKS_AGO:2"])
            return f"{path} {rng.choice(['=', '!=', '<', '>='])} {literal}"
        if local and rng.random() < 0.2:
            values = ", ".join(_literal(described, rng.choice(rows).get(described.name)) for _ in range(3))
            return f"{path} {rng.choice(['IN', 'NOT IN'])} ({values})"
        value = rng.choice(rows).get(described.name) if local else None
        if value is None:
            return f"{path} {rng.choice(['=', '!='])} null"
        operators = ["=", "!="] if kind == "boolean" else ["=", "!=", "<", ">="]
        if kind in ("string", "picklist", "email", "phone", "textarea") and rng.random() < 0.5:
            value = value.upper() if rng.random() < 0.5 else value.lower()  # case-insensitive on both
        return f"{path} {rng.choice(operators)} {_literal(described, value)}"

    def query(self) -> str | None:
        rng = self.rng
        obj = self.org[rng.choice(list(self.org))]
        conditions = [c for c in (self.condition(obj) for _ in range(rng.randint(0, 3))) if c]
        where = ""
        if conditions:
            where = " WHERE " + rng.choice([" AND ", " OR "]).join(conditions)
            if rng.random() < 0.2:
                where = f" WHERE NOT ({where[7:]})"
        if rng.random() < 0.3:
            group, described = self.path(obj)
            if not described.groupable:
                return None
            aggregate = rng.choice(["COUNT(Id)", "COUNT_DISTINCT(Id)", "MAX(CreatedDate)"])
            return f"SELECT {group}, {aggregate} FROM {obj.name}{where} GROUP BY {group}"
        fields = sorted({self.path(obj)[0] for _ in range(rng.randint(1, 4))} | {"Id"})
        return f"SELECT {', '.join(fields)} FROM {obj.name}{where}"


def _normalized(result: dict) -> tuple:
    records = result.get("records", result.get("searchRecords"))

    def clean(value: object) -> object:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return result.get("totalSize"), sorted(json.dumps(clean(r), sort_keys=True) for r in records)


def _outcome(engine, query: str) -> tuple:  # noqa: ANN001
    try:
        return ("result", _normalized(run_query(engine, query, today=TODAY)))
    except QueryError as exc:
        return ("error", exc.error_code, exc.text)


@pytest.mark.postgres
def test_sqlite_and_postgresql_agree(tiny_org_url, tiny_org_pg_url, monkeypatch):
    monkeypatch.setenv("CRM_QUERY_STRICT", "1")  # internal failures surface as themselves
    lite, pg = create_engine(tiny_org_url), create_engine(tiny_org_pg_url)
    with lite.connect() as conn:
        samples = {
            name: [dict(r) for r in conn.execute(text(f'SELECT * FROM "{name}" LIMIT 30')).mappings()]
            for name in describe_org()
        }
    generator = _Generator(random.Random(20240601), samples)
    queries = [q for q in (generator.query() for _ in range(QUERIES)) if q]
    searches = [
        "FIND {refund} RETURNING Case(Id, Subject), EmailMessage(Id)",
        "FIND {shoe* OR jacket} IN NAME FIELDS RETURNING Product2(Id, Name), Case(Id)",
        'FIND {"order number"} RETURNING LiveChatTranscript(Id), EmailMessage(Id, Subject)',
    ]
    disagreements = []
    for query in queries + searches:
        outcomes = _outcome(lite, query), _outcome(pg, query)
        if outcomes[0] != outcomes[1]:
            disagreements.append((query, outcomes))
    lite.dispose()
    pg.dispose()
    assert len(queries) > QUERIES // 2
    assert not disagreements, disagreements[:3]
