"""Issue 6's concurrency test: 20 raters submit 50 responses each at once; each is stored once.

Every rater runs in its own thread with its own engine (as from separate app replicas), opens
each item (a draft), submits it, and re-sends every fifth submission as a retrying browser
would. SQLite (WAL, ``BEGIN IMMEDIATE``) and PostgreSQL must both end with exactly 1,000
responses, one per (rater, item), all version 1.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from studyfiles import study_yaml

from crm_core.store import open_app_store, store_session
from crm_core.studies import claim_next_item, load_definition, parse_study, save_draft, submit
from crm_core.users import add_user

RATERS = 20
ITEMS = 50


def _prepare(url: str, org_url: str, yaml_text: str, usernames: list[str]) -> tuple[str, list[int]]:
    """Load the study and create the users; returns the study id and its item ids."""
    with store_session(url) as session:
        study = load_definition(session, parse_study(yaml_text), org_url)
        for username in usernames:
            add_user(session, username, "expert", "password-123")
        return study.id, [item.id for item in study.items]


def _run(url: str, org_url: str) -> None:
    study_id, item_ids = _prepare(
        url, org_url, study_yaml(cases=ITEMS, ratings_per_item=RATERS), [f"rater{r:02d}" for r in range(RATERS)]
    )
    assert len(item_ids) == ITEMS

    start = threading.Barrier(RATERS, timeout=120)

    def rater(r: int) -> int:
        sessions = open_app_store(url)  # its own engine and connections
        username = f"rater{r:02d}"
        sent = 0
        start.wait()
        with sessions() as session:
            for n, item_id in enumerate(item_ids[r:] + item_ids[:r]):  # overlapping, different orders
                sid = f"{username}-{item_id}"
                save_draft(session, study_id, item_id, username, {"data": 1 + n % 5})
                values = {"data": 1 + n % 5, "overall": 1 + r % 5}
                comments = {"data": "low"}
                submit(session, study_id, item_id, username, values, comments, submission_id=sid)
                sent += 1
                if n % 5 == 0:  # a retried request: same submission id
                    submit(session, study_id, item_id, username, values, comments, submission_id=sid)
        sessions.kw["bind"].dispose()
        return sent

    with ThreadPoolExecutor(RATERS) as pool:
        assert sum(pool.map(rater, range(RATERS))) == RATERS * ITEMS

    check = open_app_store(url)
    with check() as session:
        total, distinct_ids, pairs, max_version = session.execute(
            text(
                "SELECT count(*), count(DISTINCT submission_id), "
                "count(DISTINCT item_id || '/' || user_id), max(version) FROM responses"
            )
        ).one()
        assert (total, distinct_ids, pairs, max_version) == (RATERS * ITEMS, RATERS * ITEMS, RATERS * ITEMS, 1)
        per_rater = session.execute(text("SELECT user_id, count(*) FROM responses GROUP BY user_id")).all()
        assert sorted(n for _, n in per_rater) == [ITEMS] * RATERS
        assert session.scalar(text("SELECT count(*) FROM ratings")) == 2 * RATERS * ITEMS
        assert session.scalar(text("SELECT count(*) FROM drafts")) == 0
        expected = {f"rater{r:02d}-{i}" for r in range(RATERS) for i in item_ids}
        assert set(session.scalars(text("SELECT submission_id FROM responses"))) == expected
    check.kw["bind"].dispose()


@pytest.mark.slow
def test_twenty_raters_at_once_on_sqlite(app_db_url, id_org):
    _run(app_db_url, id_org[0])


@pytest.mark.slow
@pytest.mark.postgres
def test_twenty_raters_at_once_on_postgresql(app_db_pg_url, id_org):
    _run(app_db_pg_url, id_org[0])


def _claims(url: str, org_url: str) -> None:
    experts = 10
    study_id, _ = _prepare(
        url, org_url, study_yaml(cases=3, ratings_per_item=2), [f"expert{r:02d}" for r in range(experts)]
    )
    start = threading.Barrier(experts, timeout=120)

    def claim(r: int) -> int | None:
        sessions = open_app_store(url)
        start.wait()
        with sessions() as session:
            item = claim_next_item(session, study_id, f"expert{r:02d}")
        sessions.kw["bind"].dispose()
        return item.id if item else None

    with ThreadPoolExecutor(experts) as pool:
        claimed = list(pool.map(claim, range(experts)))
    got = [c for c in claimed if c is not None]
    assert len(got) == 6 and claimed.count(None) == 4  # 3 items x 2 raters, never more
    assert sorted(Counter(got).values()) == [2, 2, 2]


@pytest.mark.slow
def test_claims_never_exceed_the_raters_per_item_on_sqlite(app_db_url, id_org):
    _claims(app_db_url, id_org[0])


@pytest.mark.slow
@pytest.mark.postgres
def test_claims_never_exceed_the_raters_per_item_on_postgresql(app_db_pg_url, id_org):
    _claims(app_db_pg_url, id_org[0])
