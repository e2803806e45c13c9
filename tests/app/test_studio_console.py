"""The console's shaping of REST results and errors into table rows, on hand-written REST bodies."""

from __future__ import annotations

from crm_core.studio.console import query_language, shape_error, shape_result

SOQL_RESULT = {
    "totalSize": 2,
    "done": True,
    "records": [
        {
            "attributes": {"type": "Case", "url": "/services/data/v60.0/sobjects/Case/500A"},
            "Id": "500A",
            "Account": {"attributes": {"type": "Account", "url": "/x"}, "Name": "Grace", "Owner": {"Name": "Ada"}},
            "EmailMessages": {"totalSize": 3, "done": True, "records": [{}, {}, {}]},
        },
        {
            "attributes": {"type": "Case", "url": "/services/data/v60.0/sobjects/Case/500B"},
            "Id": "500B",
            "Account": None,
            "EmailMessages": None,
        },
    ],
}


def test_parents_become_dotted_columns_and_children_counts():
    result = shape_result("SOQL", SOQL_RESULT)
    assert result.total_size == 2
    assert result.columns == ["Id", "Account.Name", "Account.Owner.Name", "EmailMessages"]
    assert result.rows[0] == {
        "Id": "500A",
        "Account.Name": "Grace",
        "Account.Owner.Name": "Ada",
        "EmailMessages": "3 records",
    }
    assert result.rows[1] == {"Id": "500B", "EmailMessages": None}  # a null parent leaves its columns blank


def test_sosl_results_get_their_type():
    body = {
        "searchRecords": [
            {"attributes": {"type": "Case"}, "Id": "500A", "Subject": "Late"},
            {"attributes": {"type": "Knowledge__kav"}, "Id": "ka0A", "Title": "Returns"},
        ]
    }
    result = shape_result("SOSL", body)
    assert result.columns == ["Type", "Id", "Subject", "Title"]
    assert [r["Type"] for r in result.rows] == ["Case", "Knowledge__kav"]
    assert result.total_size == 2


def test_errors_keep_code_and_message():
    message = "\nSELECT Foo FROM Case\n       ^\nERROR at Row:1:Column:8\nNo such column 'Foo' on entity 'Case'."
    error = shape_error([{"message": message, "errorCode": "INVALID_FIELD"}])
    assert (error.error_code, error.message) == ("INVALID_FIELD", message)


def test_find_as_the_first_word_means_sosl():
    assert query_language("  find {x} RETURNING Case") == "SOSL"
    assert query_language("SELECT Id FROM Case") == "SOQL"
    assert query_language("FINDER") == "SOQL"  # FIND must be a word of its own (crm_core.query.is_sosl)
