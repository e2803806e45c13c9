"""Query errors as Salesforce reports them: an error code and a message naming row and column."""

from __future__ import annotations

MALFORMED_QUERY = "MALFORMED_QUERY"
MALFORMED_SEARCH = "MALFORMED_SEARCH"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
UNKNOWN_EXCEPTION = "UNKNOWN_EXCEPTION"

MAX_STATEMENT_LENGTH = 100_000
"""Salesforce's default limit on the length of a SOQL or SOSL statement, in characters."""
MAX_INTEGER = 2_147_483_647
"""The largest LIMIT or OFFSET value SOQL reads (a 32-bit integer)."""


def check_statement_length(query: str, language: str) -> None:
    """Refuse a statement longer than :data:`MAX_STATEMENT_LENGTH` as Salesforce does."""
    if len(query) > MAX_STATEMENT_LENGTH:
        code = MALFORMED_QUERY if language == "SOQL" else MALFORMED_SEARCH
        raise QueryError(code, f"{language} statements can not be longer than {MAX_STATEMENT_LENGTH} characters")


NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
NOT_SUPPORTED_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append "
    "the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
)
BAD_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in {where}. If you are attempting to use a custom relationship, "
    "be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


class QueryError(Exception):
    """A SOQL or SOSL error: ``error_code`` plus Salesforce's ``message`` (with row and column)."""

    def __init__(self, error_code: str, text: str, query: str | None = None, offset: int | None = None) -> None:
        self.error_code = error_code
        self.text = text
        self.row: int | None = None
        self.column: int | None = None
        if query is not None and offset is not None:
            self.row, self.column, line = _locate(query, offset)
            self.message = f"\n{line}\n{' ' * (self.column - 1)}^\nERROR at Row:{self.row}:Column:{self.column}\n{text}"
        else:
            self.message = text
        super().__init__(f"{error_code}: {self.message}")

    def to_rest(self) -> list[dict]:
        """The REST API's error body: ``[{"message": ..., "errorCode": ...}]``."""
        return [{"message": self.message, "errorCode": self.error_code}]


def _locate(query: str, offset: int) -> tuple[int, int, str]:
    offset = max(0, min(offset, len(query)))
    row = query.count("\n", 0, offset) + 1
    start = query.rfind("\n", 0, offset) + 1
    end = query.find("\n", offset)
    line = query[start : end if end >= 0 else len(query)]
    return row, offset - start + 1, line
