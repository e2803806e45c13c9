"""Salesforce's request-size limit: URI and headers together at most 16,384 bytes.

Over the limit, the URI alone gives ``414 URI Too Long`` and URI plus headers
``431 Request Header Fields Too Large``, both as JSON error lists. Checked through the real
simple-salesforce client against a server subprocess, and at the exact boundary in process.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

import pytest
from simple_salesforce.exceptions import SalesforceError

from crm_core.api.responses import MAX_URI_AND_HEADERS, oversized_request


def _case_ids(server, count: int) -> list[str]:
    path = server.org_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute('SELECT Id FROM "Case" ORDER BY Id LIMIT ?', (count,))]


def _in_query(ids: list[str]) -> str:
    return "SELECT Id FROM Case WHERE Id IN (" + ", ".join(f"'{i}'" for i in ids) + ")"


def test_a_long_in_list_is_refused_with_414_json_through_simple_salesforce(api_server, sf):
    ids = _case_ids(api_server, 900)  # about 19,000 characters of SOQL
    with pytest.raises(SalesforceError) as error:
        sf.query(_in_query(ids))
    assert error.value.status == 414
    assert error.value.content[0]["errorCode"] == "URI_TOO_LONG"
    assert "16,384" in error.value.content[0]["message"]
    # The same question in chunks that fit is answered in full.
    found = set()
    for start in range(0, len(ids), 300):
        found |= {r["Id"] for r in sf.query_all(_in_query(ids[start : start + 300]))["records"]}
    assert found == set(ids)


def test_a_45000_character_get_gets_a_json_error_not_a_bare_400(api_server, api_token):
    answer = api_server.session().get(
        f"{api_server.base_url}/services/data/v61.0/query?q=" + "x" * 45_000,
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert answer.status_code == 414
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()[0]["errorCode"] == "URI_TOO_LONG"


def test_large_headers_are_refused_with_431(api_server, api_token):
    answer = api_server.session().get(
        f"{api_server.base_url}/services/data/v61.0/limits",
        headers={"Authorization": f"Bearer {api_token}", "X-Padding": "p" * 17_000},
    )
    assert answer.status_code == 431
    assert answer.json()[0]["errorCode"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


@pytest.mark.parametrize("over", [0, 1])
def test_the_uri_limit_is_exact(client, over):
    prefix = "/services/data/v61.0/query?q="
    # A URI of exactly the limit (or one byte more); the query text itself does not matter.
    path = prefix + quote("x" * (MAX_URI_AND_HEADERS - len(prefix) + over))
    assert len(path) == MAX_URI_AND_HEADERS + over
    answer = client.get(path)
    assert (answer.status_code == 414) == bool(over)


@pytest.mark.parametrize("over", [0, 1])
def test_the_combined_limit_counts_header_lines(over):
    path = b"/services/data/v61.0/limits"
    headers = [(b"host", b"example.org"), (b"authorization", b"Bearer t")]
    # Each header line costs name + ": " + value + CRLF.
    used = len(path) + sum(len(n) + len(v) + 4 for n, v in headers) + len(b"x-padding") + 4
    headers.append((b"x-padding", b"p" * (MAX_URI_AND_HEADERS - used + over)))
    scope = {"type": "http", "path": path.decode(), "raw_path": path, "query_string": b"", "headers": headers}
    refused = oversized_request(scope)
    assert (refused is not None and refused.status_code == 431) == bool(over)


def test_a_limit_past_the_integer_range_is_a_clean_error_through_simple_salesforce(sf):
    with pytest.raises(SalesforceError) as error:
        sf.query("SELECT Id FROM Case LIMIT 99999999999999999999")
    assert error.value.status == 400
    assert error.value.content[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
