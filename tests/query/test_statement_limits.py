"""Salesforce's statement limits: length of SOQL and SOSL, the range of LIMIT and OFFSET."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from crm_core.db import make_readonly_engine
from crm_core.query import QueryError, run_soql, run_sosl
from crm_core.query.errors import MAX_INTEGER, MAX_STATEMENT_LENGTH

TODAY = dt.date(2024, 3, 13)


@pytest.fixture(scope="module")
def org(tiny_org_url) -> Iterator[Engine]:
    engine = make_readonly_engine(tiny_org_url)
    yield engine
    engine.dispose()


def _padded(prefix: str, suffix: str, length: int) -> str:
    """`prefix` + spaces + `suffix`, exactly `length` characters long."""
    return prefix + " " * (length - len(prefix) - len(suffix)) + suffix


@pytest.mark.parametrize("over", [0, 1])
def test_soql_statement_length(org, over) -> None:
    query = _padded("SELECT Id FROM Case", "LIMIT 1", MAX_STATEMENT_LENGTH + over)
    if not over:
        assert run_soql(org, query, today=TODAY)["totalSize"] == 1
        return
    with pytest.raises(QueryError) as error:
        run_soql(org, query, today=TODAY)
    assert error.value.error_code == "MALFORMED_QUERY"
    assert error.value.message == "SOQL statements can not be longer than 100000 characters"


@pytest.mark.parametrize("over", [0, 1])
def test_sosl_statement_length(org, over) -> None:
    query = _padded("FIND {shoe}", "RETURNING Product2(Id)", MAX_STATEMENT_LENGTH + over)
    if not over:
        assert "searchRecords" in run_sosl(org, query, today=TODAY)
        return
    with pytest.raises(QueryError) as error:
        run_sosl(org, query, today=TODAY)
    assert error.value.error_code == "MALFORMED_SEARCH"


@pytest.mark.parametrize(
    "limit", [str(MAX_INTEGER + 1), "99999999999999999999", "9" * 400], ids=["int32+1", "20 digits", "400 digits"]
)
def test_a_limit_beyond_the_integer_range_is_number_outside_valid_range(org, limit) -> None:
    with pytest.raises(QueryError) as error:
        run_soql(org, f"SELECT Id FROM Case LIMIT {limit}", today=TODAY)
    assert error.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error.value.message.endswith(f"The LIMIT must be at most {MAX_INTEGER}")


def test_the_largest_limit_is_accepted(org) -> None:
    assert run_soql(org, f"SELECT COUNT() FROM Case LIMIT {MAX_INTEGER}", today=TODAY)["totalSize"] > 0


def test_a_huge_offset_is_refused_like_any_offset_past_2000(org) -> None:
    with pytest.raises(QueryError) as error:
        run_soql(org, "SELECT Id FROM Case LIMIT 1 OFFSET 99999999999999999999", today=TODAY)
    assert error.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error.value.message.endswith("Maximum SOQL offset allowed is 2000")
