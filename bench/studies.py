"""Benchmark of the study backend: storing answers alone and with 20 raters at once.

Usage: ``.venv/bin/python -m bench.studies [--items 50] [--raters 20] [--pg-url URL]``

Builds an Id-only org and a study in a temporary folder, then times ``claim_next_item`` + draft +
``submit`` per answer: one rater alone on SQLite (the baseline), 20 raters in threads on SQLite,
and the same two on PostgreSQL when ``--pg-url`` (or ``CRM_TEST_PG_URL``) names a server (a
scratch database is created and dropped). Prints answers/s and the ratio over the baseline.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm_core.org.ids import make_id
from crm_core.store import open_app_store
from crm_core.studies import claim_next_item, load_definition, save_draft, submit
from crm_core.studies.definition import Dimension, RecordItems, StudyDefinition
from crm_core.users import accounts


def bench_study(items: int, raters: int) -> StudyDefinition:
    """A study of `items` sampled cases, each to be answered by `raters` raters."""
    return StudyDefinition(
        id="bench",
        title="Bench",
        instructions="Rate.",
        scale=["Very unrealistic", "Unrealistic", "Neutral", "Realistic", "Very realistic"],
        dimensions=[
            Dimension(id="data", question="Values?", comment_required_at_or_below=2),
            Dimension(id="overall", question="Overall?"),
        ],
        items=[RecordItems(kind="records", objects=["Case"], per_object=items)],
        ratings_per_item=raters,
    )


def make_org(folder: Path, cases: int) -> str:
    url = f"sqlite:///{folder / 'org.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "Case" ("Id" VARCHAR(18) PRIMARY KEY)'))
        conn.execute(text('INSERT INTO "Case" ("Id") VALUES (:i)'), [{"i": make_id("Case", n)} for n in range(cases)])
    engine.dispose()
    return url


def run(app_url: str, org_url: str, items: int, raters: int) -> float:
    """Seconds for `raters` raters (threads) to answer `items` items each."""
    sessions = open_app_store(app_url)
    with sessions() as session:
        study = load_definition(session, bench_study(items, raters), org_url)
        for r in range(raters):
            accounts.add_user(session, f"r{r}", "expert", "password-123")
    start = threading.Barrier(raters + 1)

    def rater(r: int) -> None:
        own = open_app_store(app_url)
        start.wait()
        with own() as session:
            while (item := claim_next_item(session, study.id, f"r{r}")) is not None:
                save_draft(session, study.id, item.id, f"r{r}", {"data": 4})
                submit(session, study.id, item.id, f"r{r}", {"data": 4, "overall": 3})
        own.kw["bind"].dispose()

    with ThreadPoolExecutor(raters) as pool:
        futures = [pool.submit(rater, r) for r in range(raters)]
        start.wait()
        began = time.perf_counter()
        for future in futures:
            future.result()
    elapsed = time.perf_counter() - began
    sessions.kw["bind"].dispose()
    return elapsed


@contextmanager
def scratch_pg(admin_url: str):  # noqa: ANN201
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--pg-url", default=os.environ.get("CRM_TEST_PG_URL"))
    args = parser.parse_args()
    accounts.BCRYPT_ROUNDS = 4  # user creation is not what is measured
    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        org = make_org(folder, args.items)
        scenarios: list[tuple[str, int, Callable[[], str]]] = [
            ("SQLite, 1 rater", 1, lambda: f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"),
            (f"SQLite, {args.raters} raters", args.raters, lambda: f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"),
        ]
        for label, raters, url in scenarios:
            rows.append((label, raters * args.items, run(url(), org, args.items, raters)))
        if args.pg_url:
            for raters in (1, args.raters):
                with scratch_pg(args.pg_url) as url:
                    label = f"PostgreSQL, {raters} rater{'s' if raters > 1 else ''}"
                    rows.append((label, raters * args.items, run(url, org, args.items, raters)))
    baseline = rows[0][1] / rows[0][2]
    table = Table("scenario", "answers", "seconds", "answers/s", "ratio to SQLite, 1 rater")
    for label, answers, seconds in rows:
        rate = answers / seconds
        table.add_row(label, str(answers), f"{seconds:.2f}", f"{rate:.0f}", f"{rate / baseline:.2f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
