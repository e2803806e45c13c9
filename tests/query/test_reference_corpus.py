"""Parse validity on a corpus of SOQL and SOSL in the style of Salesforce's reference examples.

Every query of `corpus/*.txt` must parse (syntax only: the reference's sample objects, such as
Opportunity or Lead, are not in the org). The test prints the agreement, query by query on failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.query import QueryError
from crm_core.query.parser import parse_soql
from crm_core.query.sosl import parse_sosl

CORPUS = Path(__file__).parent / "corpus"


def _queries(name: str) -> list[str]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


SOQL = _queries("soql_reference.txt")
SOSL = _queries("sosl_reference.txt")


def _parses(query: str) -> str | None:
    """None when `query` parses, else the error."""
    try:
        if query.lstrip().upper().startswith("FIND"):
            parse_sosl(query)
        else:
            parse_soql(query)
    except QueryError as exc:
        return f"{exc.error_code}: {exc.text}"
    return None


def test_the_corpus_is_large_and_has_no_duplicates() -> None:
    assert len(SOQL) + len(SOSL) >= 300
    assert len(set(SOQL)) == len(SOQL) and len(set(SOSL)) == len(SOSL)


def test_every_reference_query_parses(capsys: pytest.CaptureFixture[str]) -> None:
    failures = {q: error for q in SOQL + SOSL if (error := _parses(q)) is not None}
    total = len(SOQL) + len(SOSL)
    with capsys.disabled():
        print(f"\nreference corpus: {total - len(failures)}/{total} parse ({len(SOQL)} SOQL, {len(SOSL)} SOSL)")
        for query, error in failures.items():
            print(f"  FAILS {query!r}: {error}")
    assert not failures


@pytest.mark.parametrize(
    "query",
    [
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account LIMIT 5 WITH SECURITY_ENFORCED",
        "SELECT Id FROM Account GROUP BY ROLLUP Name",
        "SELECT TYPEOF What WHEN Account THEN Phone FROM Event",
        "FIND {test} RETURNING Account(Name) WITH SNIPPET (length=120)",
        "FIND {test} RETURNING Account(Name USING ListView Recent)",
        "FIND {test} LIMIT 5 RETURNING Account",
        "FIND test RETURNING Account",
    ],
)
def test_the_check_can_fail(query: str) -> None:
    assert _parses(query) is not None
