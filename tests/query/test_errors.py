"""Invalid SOQL and SOSL: exact Salesforce error codes and messages, with row and column.

Each case names the offending token by a marker substring of the query (``@N`` picks the N-th
occurrence); the expected message is assembled here from Salesforce's format: a newline, the
query line, a caret under the column, ``ERROR at Row:R:Column:C`` and the error text.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine

from crm_core.org.schema import Base
from crm_core.query import QueryError, run_query, run_soql, run_sosl
from crm_core.query.engine import guarded

TODAY = dt.date(2024, 3, 13)
EOF_MARK = "<EOF>"

SUFFIX_C = (
    ". If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
SUFFIX_OBJ = (
    ". If you are attempting to use a custom object, be sure to append the '__c' after the entity name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
SUFFIX_R = (
    ". If you are attempting to use a custom relationship, be sure to append the '__r' after the custom "
    "relationship name. Please reference your WSDL or the describe call for the appropriate names."
)


def no_column(field: str, entity: str) -> str:
    return f"No such column '{field}' on entity '{entity}'{SUFFIX_C}"


def no_type(name: str) -> str:
    return f"sObject type '{name}' is not supported{SUFFIX_OBJ}"


def no_relationship(name: str, where: str = "field path") -> str:
    return f"Didn't understand relationship '{name}' in {where}{SUFFIX_R}"


def criterion(field: str, soap: str, quoted: bool) -> str:
    quotes = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return f"value of filter criterion for field '{field}' must be of type {soap} and {quotes}"


MQ, MS, IF, IT, OP, NR = (
    "MALFORMED_QUERY",
    "MALFORMED_SEARCH",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE",
)

# (query, error code, marker of the offending token, error text)
SOQL_CASES: list[tuple[str, str, str, str]] = [
    # --- syntax ---------------------------------------------------------------------------
    ("SELECT Id FROM Case WHERE Status = 'New' AND Priority = 'High' OR Origin = 'Web'", MQ, "OR",
     "unexpected token: OR"),
    ("SELECT Id FROM Case WHERE Status = 'New' OR Priority = 'High' AND Origin = 'Web'", MQ, "AND",
     "unexpected token: AND"),
    ("select id from case where status = 'New' and priority = 'High' or origin = 'Web'", MQ, "or o",
     "unexpected token: or"),
    ("SELECT Id FROM", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT FROM Case", MQ, "FROM", "unexpected token: FROM"),
    ("SELECT Id FROM Case WHERE", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id, FROM Case", MQ, "FROM", "unexpected token: FROM"),
    ("SELECT Id FROM Case WHERE Status = 'New' AND NOT Priority = 'High'", MQ, "NOT",
     "unexpected token: NOT"),
    ("SELECT Id FROM Case WHERE NOT Status = 'New' AND Priority = 'High'", MQ, "AND",
     "unexpected token: AND"),
    ("SELECT Id FROM Case LIMIT", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id FROM Case LIMIT abc", MQ, "abc", "unexpected token: 'abc'"),
    ("SELECT Id FROM Case LIMIT 5.5", MQ, "5.5", "unexpected token: '5.5'"),
    ("SELECT Id FROM Case WHERE Status = 'New'; DROP TABLE Case", MQ, ";", "unexpected token: ';'"),
    ("SELECT Id FROM Case WHERE Subject = 'unterminated", MQ, "'unt", "unterminated string literal"),
    ("SELECT Id FROM Case WHERE Subject = 'a\\qb'", MQ, "'a",
     "Invalid string literal 'a\\q'. Illegal character sequence '\\q' in string literal."),
    ("SELECT Id FROM Case ORDER BY", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id FROM Case WHERE Status IN 'New'", MQ, "'New'", "unexpected token: 'New'"),
    ("SELECT Id FROM Case WHERE Status = ", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id FROM Case WHERE Status IS NULL", MQ, "IS", "unexpected token: 'IS'"),
    ("SELECT Id FROM Case WHERE NOT Subject LIKE 'a%' OR Subject = 'b'", MQ, "OR", "unexpected token: OR"),
    ("SELECT Id FROM Case WHERE (Status = 'New' OR Status = 'Closed'", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id FROM Case WHERE CreatedDate > 2024-01-01T10:00:00", MQ, "2024",
     "unexpected token: '2024-01-01T10:00:00'"),
    ("SELECT Id FROM Case LIMIT 1e1", MQ, "1e1", "unexpected token: '1e1'"),
    # --- semi-joins under OR, LIMIT in an aggregate query, too many child subqueries ---
    ("SELECT Id FROM Case WHERE Status = 'New' OR Id IN (SELECT CaseId FROM LiveChatTranscript)", MQ, "IN (",
     "Semi join sub-selects are not allowed with the 'OR' operator"),
    ("SELECT Id FROM Case WHERE Status = 'New' AND (Priority = 'High' OR Id NOT IN (SELECT CaseId FROM "
     "LiveChatTranscript))", MQ, "NOT IN",
     "Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE "
     "expressions."),
    ("SELECT MAX(CreatedDate) FROM Account LIMIT 1", MQ, "1", "LIMIT is not allowed in an aggregate query without "
     "GROUP BY"),
    ("SELECT Id, " + ", ".join(["(SELECT Id FROM Contacts)"] * 21) + " FROM Account", MQ, "(SELECT@21",
     "SOQL statements cannot query more than 20 parent-to-child relationships"),
    ("SELECT Id, " + ", ".join(["(SELECT Id FROM Contacts)"] * 20) + " FROM Account", IF, "(SELECT@2",
     "duplicate field selected: Contacts"),
    # --- relationship paths named in FROM (alias notation) ---
    ("SELECT Id FROM Account a, a.Contacts c", IT, "Contacts",
     no_relationship("Contacts", "FROM part of query call")),
    ("SELECT Id FROM Contact c, x.Account a", IT, "x.Account", no_relationship("x", "FROM part of query call")),
    ("SELECT Id FROM Contact c, Account a", IT, "Account a", no_relationship("Account", "FROM part of query call")),
    ("SELECT Id FROM Contact x, x.Account x", MQ, "x@3", "duplicate alias: x"),
    ("SELECT Id FROM Contact c, c.Account", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id FROM Contact c, c.Account WHERE Name != null", MQ, "WHERE", "unexpected token: WHERE"),
    ("SELECT a.Nme FROM Contact c, c.Account a", IF, "Nme", no_column("Nme", "Account")),
    # --- the rest of the grammar (issue 12) misused ---
    ("SELECT FIELDS(ALL) FROM Case", MQ, "FIELDS", "The SOQL FIELDS function must have a LIMIT of at most 200"),
    ("SELECT FIELDS(CUSTOM) FROM Case LIMIT 201", MQ, "FIELDS",
     "The SOQL FIELDS function must have a LIMIT of at most 200"),
    ("SELECT Id, FIELDS(STANDARD) FROM Case", IF, "FIELDS", "duplicate field selected: Id"),
    ("SELECT FIELDS(EVERYTHING) FROM Case LIMIT 1", MQ, "EVERYTHING", "unexpected token: 'EVERYTHING'"),
    ("SELECT Name FROM Account USING SCOPE somewhere", MQ, "somewhere", "Invalid scope: somewhere"),
    ("SELECT Name FROM Account WITH SECURITY", MQ, "SECURITY", "unexpected token: 'SECURITY'"),
    ("SELECT Name FROM Account WITH SECURITY_ENFORCED WITH USER_MODE", MQ, "WITH@2", "unexpected token: WITH"),
    ("SELECT Name FROM Account WITH USER_MODE WHERE Name != null", MQ, "WHERE", "unexpected token: WHERE"),
    ("SELECT Id FROM Case WITH DATA CATEGORY Products__c AT Footwear__c", MQ, "DATA",
     "WITH DATA CATEGORY is only supported on knowledge articles, not on Case"),
    ("SELECT Id FROM Knowledge__kav WITH DATA CATEGORY Regions__c AT Europe__c", IF, "Regions__c",
     "Invalid data category group: Regions__c"),
    ("SELECT Id FROM Knowledge__kav WITH DATA CATEGORY Products__c AT (Footwear__c, Skis__c)", IF, "Skis__c",
     "Invalid data category: Skis__c in group Products__c"),
    ("SELECT Id FROM Knowledge__kav WITH DATA CATEGORY Products__c NEAR Footwear__c", MQ, "NEAR",
     "unexpected token: 'NEAR'"),
    ("SELECT Id FROM Knowledge__kav WITH DATA CATEGORY Products__c AT Footwear__c OR Topics__c AT All__c", MQ,
     "OR Topics", "unexpected token: OR"),
    ("SELECT Status, Priority, Origin, Subject, COUNT(Id) FROM Case GROUP BY ROLLUP(Status, Priority, Origin, "
     "Subject)", MQ, "ROLLUP", "GROUP BY ROLLUP accepts at most 3 fields"),
    ("SELECT Status, COUNT(Id) FROM Case GROUP BY ROLLUP(Status", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Status, GROUPING(Status) g, COUNT(Id) FROM Case GROUP BY Status", MQ, "Status@2",
     "GROUPING() can only be used with GROUP BY ROLLUP or CUBE"),
    ("SELECT Status, GROUPING(Origin) g, COUNT(Id) FROM Case GROUP BY ROLLUP(Status)", MQ, "Origin",
     "GROUPING() needs a field of the GROUP BY ROLLUP or CUBE"),
    ("SELECT toLabel(Subject) FROM Case", IF, "Subject", "toLabel() can only be used on picklist fields: Subject"),
    ("SELECT convertCurrency(Quantity) FROM OrderItem", IF, "Quantity",
     "convertCurrency() can only be used on currency fields: Quantity"),
    ("SELECT convertTimezone(CreatedDate) FROM Case", MQ, "convertTimezone",
     "convertTimezone() can only be used inside a date function"),
    ("SELECT DAY_IN_MONTH(convertTimezone(EffectiveDate)), COUNT(Id) FROM Order GROUP BY DAY_IN_MONTH(EffectiveDate)",
     MQ, "convertTimezone",
     "convertTimezone() only applies to dateTime fields: EffectiveDate"),
    ("SELECT FORMAT(LOWER(Name)) FROM Account", MQ, "LOWER", "Unknown function: LOWER"),
    ("SELECT Subject s FROM Case", MQ, "s", "Only aggregate expressions use field aliasing"),
    ("SELECT Name FROM Account WHERE DISTANCE(ShippingState, GEOLOCATION(37.7, -122.4), 'mi') < 20", IF,
     "ShippingState", "DISTANCE() needs a location or address field of Account: ShippingState"),
    ("SELECT Name FROM Account WHERE DISTANCE(ShippingAddress, GEOLOCATION(37.7, -122.4), 'miles') < 20", MQ,
     "DISTANCE", "DISTANCE() unit must be 'mi' or 'km': 'miles'"),
    ("SELECT Name FROM Account WHERE DISTANCE(ShippingAddress, GEOLOCATION(97.7, -122.4), 'km') < 20", NR,
     "DISTANCE", "GEOLOCATION() needs a latitude in [-90, 90] and a longitude in [-180, 180]: 97.7, -122.4"),
    ("SELECT Name FROM Account WHERE DISTANCE(ShippingAddress, 37.7, 'km') < 20", MQ, "37.7",
     "unexpected token: '37.7'"),
    ("SELECT TYPEOF Account WHEN Account THEN Name END FROM Case", MQ, "TYPEOF",
     "TYPEOF can only be used on a polymorphic relationship: Account"),
    ("SELECT TYPEOF Owner WHEN User THEN Name END FROM Contact", MQ, "TYPEOF",
     "TYPEOF can only be used on a polymorphic relationship: Owner"),
    ("SELECT TYPEOF Owner WHEN Account THEN Name END FROM Case", IT, "Account",
     "Account is not a type of the polymorphic relationship Owner"),
    ("SELECT TYPEOF Owner WHEN User THEN Foo END FROM Case", IF, "Foo", no_column("Foo", "User")),
    ("SELECT TYPEOF Owner ELSE Name END FROM Case", MQ, "ELSE", "unexpected token: ELSE"),
    ("SELECT TYPEOF Owner WHEN User THEN Name FROM Case", MQ, "FROM", "unexpected token: FROM"),
    ("SELECT Id, (SELECT LastName FROM Contact.Contacts) FROM Account", IT, "Contacts",
     no_relationship("Contact.Contacts", "FROM part of query call")),
    ("SELECT Id FROM Case WHERE Id IN (SELECT CaseId FROM Case.LiveChatTranscripts)", MQ, ".",
     "unexpected token: '.'"),
    ("SELECT Id FROM Case FOR VIEW LIMIT 1", MQ, "LIMIT", "unexpected token: LIMIT"),
    ("SELECT Id FROM Case UPDATE TRACKING FOR VIEW", MQ, "FOR", "unexpected token: FOR"),
    ("SELECT Id FROM Case WHERE Id IN (SELECT CaseId FROM LiveChatTranscript WHERE Id IN (SELECT Id FROM Case))",
     MQ, "IN@2", "Nesting of semi join sub-selects is not supported"),
    ("SELECT LOWER(Subject) FROM Case", MQ, "LOWER", "Unknown function: LOWER"),
    ("SELECT Id FROM Case WHERE Subject LIKE", MQ, EOF_MARK, "unexpected token: <EOF>"),
    ("SELECT Id, (SELECT Id, (SELECT Id, (SELECT Id, (SELECT Id, (SELECT Id FROM F) FROM E) FROM D) FROM C) FROM B) "
     "FROM A", MQ, "(SELECT Id FROM F", "unexpected token: '('"),
    # --- aggregates and grouping --------------------------------------------------------------
    ("SELECT COUNT(), Id FROM Case", MQ, "SELECT", "COUNT() must be the only element in the SELECT list"),
    ("SELECT Subject, COUNT(Id) FROM Case", MQ, "Subject", "Field must be grouped or aggregated: Subject"),
    ("SELECT Status, Priority, COUNT(Id) FROM Case GROUP BY Status", MQ, "Priority",
     "Field must be grouped or aggregated: Priority"),
    ("SELECT Id n FROM Case", MQ, "n FROM", "Only aggregate expressions use field aliasing"),
    ("SELECT Status, COUNT(Id) c, MAX(CreatedDate) c FROM Case GROUP BY Status", MQ, "c FROM",
     "duplicate alias: c"),
    ("SELECT Status FROM Case GROUP BY Status ORDER BY Priority", MQ, "Priority",
     "Ordered field must be grouped or aggregated: Priority"),
    ("SELECT Status, COUNT(Id) FROM Case GROUP BY Status HAVING Priority = 'High'", MQ, "Priority",
     "Field must be grouped or aggregated: Priority"),
    ("SELECT Id FROM Case WHERE COUNT(Id) > 1", MQ, "COUNT",
     "Aggregate functions are not supported in the WHERE clause"),
    ("SELECT CALENDAR_YEAR(CreatedDate) FROM Case", MQ, "CreatedDate",
     "CALENDAR_YEAR can only be used in a query with GROUP BY"),
    ("SELECT Id FROM Case ORDER BY COUNT(Id)", MQ, "COUNT", "COUNT can only be used in a query with GROUP BY"),
    ("SELECT Status, COUNT(Id) FROM Case GROUP BY COUNT(Id)", MQ, "COUNT(Id)@2",
     "Aggregate functions are not allowed in GROUP BY"),
    ("SELECT Id FROM Case WHERE CALENDAR_YEAR(Subject) = 2024", MQ, "Subject",
     "CALENDAR_YEAR only applies to date or dateTime fields: Subject"),
    ("SELECT Id FROM Order WHERE HOUR_IN_DAY(EffectiveDate) = 3", MQ, "EffectiveDate",
     "HOUR_IN_DAY only applies to dateTime fields: EffectiveDate"),
    ("SELECT Id FROM Order WHERE DAY_ONLY(EffectiveDate) = 2024-01-01", MQ, "EffectiveDate",
     "DAY_ONLY only applies to dateTime fields: EffectiveDate"),
    # --- date values --------------------------------------------------------------------------
    ("SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS", MQ, "LAST_N_DAYS",
     "Date literal LAST_N_DAYS needs a number: LAST_N_DAYS:n"),
    ("SELECT Id FROM Case WHERE CreatedDate = TODAY:3", MQ, "TODAY", "Date literal TODAY does not take a number"),
    ("SELECT Id FROM Case WHERE CreatedDate = LAST_MONTHS", MQ, "LAST_MONTHS", "unexpected token: 'LAST_MONTHS'"),
    ("SELECT Id FROM Order WHERE EffectiveDate = 2024-02-30", MQ, "2024", "invalid date: 2024-02-30"),
    ("SELECT Id FROM Case WHERE CreatedDate > null", MQ, ">", "invalid operator for null: >"),
    # --- objects and fields ---------------------------------------------------------------------
    ("SELECT Id FROM Foo", IT, "Foo", no_type("Foo")),
    ("SELECT Id FROM Cases", IT, "Cases", no_type("Cases")),
    ("SELECT Id, (SELECT Id FROM Case) FROM Account", IT, "Case)", no_relationship("Case", "FROM part of query call")),
    ("SELECT Id, (SELECT Id FROM Histories) FROM Case", IT, "Histories",
     no_relationship("Histories", "FROM part of query call")),
    ("SELECT Id FROM Case WHERE Id IN (SELECT CaseId FROM Chat)", IT, "Chat", no_type("Chat")),
    ("SELECT Foo FROM Case", IF, "Foo", no_column("Foo", "Case")),
    ("SELECT Id, Account.Foo FROM Case", IF, "Foo", no_column("Foo", "Account")),
    ("SELECT Id, Foo.Name FROM Case", IF, "Foo", no_relationship("Foo")),
    ("SELECT Issue__r.Name FROM Case", IF, "Issue__r", no_relationship("Issue__r")),
    ("SELECT IssueId__c.Name FROM Case", IF, "IssueId__c", no_relationship("IssueId__c")),
    ("SELECT Id, Owner.Name.First FROM Case", IF, "Name", no_relationship("Name")),
    ("SELECT Id FROM Case WHERE Account.Nme = 'x'", IF, "Nme", no_column("Nme", "Account")),
    ("SELECT Id FROM Case ORDER BY Foo", IF, "Foo", no_column("Foo", "Case")),
    ("SELECT Id, (SELECT Foo FROM Cases) FROM Account", IF, "Foo", no_column("Foo", "Case")),
    ("SELECT Id, Id FROM Case", IF, "Id@2", "duplicate field selected: Id"),
    # --- long text fields -----------------------------------------------------------------------
    ("SELECT Id FROM Case WHERE Description = 'x'", IF, "Description",
     "field 'Description' can not be filtered in query call"),
    ("SELECT Id FROM Case ORDER BY Description", IF, "Description",
     "field 'Description' can not be sorted in a query call"),
    ("SELECT Description, COUNT(Id) FROM Case GROUP BY Description", IF, "Description@2",
     "field 'Description' can not be grouped in a query call"),
    ("SELECT Id FROM EmailMessage WHERE TextBody LIKE '%refund%'", IF, "TextBody",
     "field 'TextBody' can not be filtered in query call"),
    ("SELECT Id FROM Knowledge__kav WHERE FAQ_Answer__c != null", IF, "FAQ_Answer__c",
     "field 'FAQ_Answer__c' can not be filtered in query call"),
    ("SELECT Id FROM LiveChatTranscript WHERE Body IN ('hi')", IF, "Body",
     "field 'Body' can not be filtered in query call"),
    ("SELECT UnitPrice, COUNT(Id) FROM OrderItem GROUP BY UnitPrice", IF, "UnitPrice@2",
     "field 'UnitPrice' can not be grouped in a query call"),
    # --- value types ----------------------------------------------------------------------------
    ("SELECT Id FROM Case WHERE CreatedDate = 2024-01-01", IF, "2024", criterion("CreatedDate", "dateTime", False)),
    ("SELECT Id FROM Case WHERE CreatedDate > '2024-01-01T00:00:00Z'", IF, "'2024",
     criterion("CreatedDate", "dateTime", False)),
    ("SELECT Id FROM Order WHERE EffectiveDate = '2024-02-10'", IF, "'2024", criterion("EffectiveDate", "date", False)),
    ("SELECT Id FROM Order WHERE EffectiveDate = 2024-02-10T00:00:00Z", IF, "2024",
     criterion("EffectiveDate", "date", False)),
    ("SELECT Id FROM Case WHERE Status = Closed", IF, "Closed", criterion("Status", "string", True)),
    ("SELECT Id FROM Case WHERE Subject = 5", IF, "5", criterion("Subject", "string", True)),
    ("SELECT Id FROM Case WHERE Subject = TODAY", IF, "TODAY", criterion("Subject", "string", True)),
    ("SELECT Id FROM OrderItem WHERE Quantity = '2'", IF, "'2'", criterion("Quantity", "double", False)),
    ("SELECT Id FROM User WHERE IsActive = 'true'", IF, "'true'", criterion("IsActive", "boolean", False)),
    ("SELECT Id FROM Case WHERE OwnerId = 5", IF, "5", criterion("OwnerId", "id", True)),
    ("SELECT Id FROM OrderItem WHERE Quantity LIKE '2%'", IF, "'2%'", criterion("Quantity", "double", False)),
    ("SELECT Status, COUNT(Id) FROM Case GROUP BY Status HAVING COUNT(Id) > 'many'", IF, "'many'",
     criterion("COUNT(Id)", "double", False)),
    ("SELECT Id FROM Case WHERE CALENDAR_YEAR(CreatedDate) = '2024'", IF, "'2024'",
     criterion("CreatedDate", "int", False)),
    # --- aggregates on the wrong fields -----------------------------------------------------------
    ("SELECT SUM(Subject) FROM Case", IF, "Subject", "field Subject does not support aggregate operator SUM"),
    ("SELECT AVG(CreatedDate) FROM Case", IF, "CreatedDate",
     "field CreatedDate does not support aggregate operator AVG"),
    ("SELECT COUNT(Description) FROM Case", IF, "Description",
     "field Description does not support aggregate operator COUNT"),
    ("SELECT MAX(IsActive) FROM User", IF, "IsActive", "field IsActive does not support aggregate operator MAX"),
    # --- semi-joins -------------------------------------------------------------------------------
    ("SELECT Id FROM Account WHERE Id IN (SELECT OwnerId FROM Case)", IF, "OwnerId",
     "The selected field 'OwnerId' in the subquery and the left operand field in the where expression in the "
     "outer query 'Id' should point to the same object type"),
    ("SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Case)", IF, "Name",
     "semi join sub-selects are only allowed on id or reference fields"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId, Id FROM Case)", MQ, "Id FROM Case",
     "semi join sub-selects must select exactly one id or reference field"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Case LIMIT 5)", MQ, "5)",
     "semi join sub-selects do not support GROUP BY, ORDER BY, LIMIT or OFFSET"),
    # --- filter operators ---------------------------------------------------------------------------
    ("SELECT Id FROM Case WHERE Id = '123'", OP, "'123'", "invalid ID field: 123"),
    ("SELECT Id FROM Case WHERE AccountId IN ('001', 'abc')", OP, "'001'", "invalid ID field: 001"),
    ("SELECT Id FROM Case WHERE OwnerId LIKE '005%'", OP, "LIKE", "invalid operator on id field"),
    ("SELECT Id FROM Case WHERE Status INCLUDES ('New')", OP, "INCLUDES",
     "includes or excludes operator only valid on multipicklist field"),
    ("SELECT Id FROM Case WHERE Status EXCLUDES ('New')", OP, "EXCLUDES",
     "includes or excludes operator only valid on multipicklist field"),
    ("SELECT Id FROM User WHERE IsActive > true", OP, ">", "invalid operator on boolean field: >"),
    # --- ranges -------------------------------------------------------------------------------------
    ("SELECT Id FROM Case LIMIT 10 OFFSET 2001", NR, "2001", "Maximum SOQL offset allowed is 2000"),
    ("SELECT Id FROM Case LIMIT 0", NR, "0", "The LIMIT must be greater than zero"),
    ("SELECT Id, (SELECT Id FROM Cases OFFSET 1) FROM Account", MQ, "1)",
     "OFFSET is not supported in a child subquery"),
    ("SELECT Id, (SELECT COUNT(Id) FROM Cases) FROM Account", MQ, "COUNT",
     "Aggregate queries are not supported in a child subquery"),
    ("SELECT Id, (SELECT Status FROM Cases GROUP BY Status) FROM Account", MQ, "Cases",
     "Aggregate queries are not supported in a child subquery"),
]  # fmt: skip

SOSL_CASES: list[tuple[str, str, str, str]] = [
    ("FIND {jacket|coat} RETURNING Case", MS, "|",
     "line 1:12 no viable alternative at character '|' (escape it with a backslash)"),
    ("FIND {t-shirt}", MS, "-", "line 1:7 no viable alternative at character '-' (escape it with a backslash)"),
    ("FIND jacket RETURNING Case", MS, "jacket", "No search term found. The search term must be enclosed in braces."),
    ("FIND {jacket", MS, "{", "missing closing brace '}' after the search term"),
    ("FIND {*acket}", MS, "*", "a wildcard (* or ?) cannot start a search term"),
    ('FIND {"torn jacket}', MS, '"', "unmatched quote in search term"),
    ("FIND {jacket} IN BODY FIELDS", MS, "BODY", "unexpected token: 'BODY'"),
    ("FIND {jacket} RETURNING Case(Subject", MS, EOF_MARK, "unexpected token: <EOF>"),
    ("FIND {a}", MS, "a", "search term must be longer than one character"),
    ("FIND {a b}", MS, "a", "search term must be longer than one character"),
    ("FIND {jacket} WITH SNIPPET (target_length=50)", MS, "50", "target_length must be between 100 and 500"),
    ("FIND {jacket} WITH METADATA = 'FIELDS'", MS, "'FIELDS'", "unexpected token: 'FIELDS'"),
    ("FIND {jacket} WITH SPELL_CORRECTION = maybe", MS, "maybe", "unexpected token: 'maybe'"),
    ("FIND {jacket} WITH COLOR", MS, "COLOR", "unexpected token: 'COLOR'"),
    ("FIND {jacket} IN SIDEBAR RETURNING Case", MS, "RETURNING", "unexpected token: RETURNING"),
    ("FIND {jacket} RETURNING Knowledge__kav WITH DATA CATEGORY Colors__c AT Red__c", IF, "Colors__c",
     "Invalid data category group: Colors__c"),
    ("FIND {jacket} RETURNING Case LIMIT 5 WITH HIGHLIGHT", MS, "WITH", "unexpected token: WITH"),
    ("FIND {a OR 7}", MS, "a", "search term must be longer than one character"),
    ('FIND {"x"} RETURNING Case', MS, '"', "search term must be longer than one character"),
    ("FIND {(q) AND NOT z}", MS, "q", "search term must be longer than one character"),
    ("FIND {}", MS, "{", "No search term found. The search term must be enclosed in braces."),
    ("FIND {jacket AND}", MS, EOF_MARK, "unexpected end of search term"),
    ("FIND {(jacket}", MS, "(", "missing ')' in search term"),
    ("FIND {jacket} RETURNING Foo", IT, "Foo", no_type("Foo")),
    ("FIND {jacket} RETURNING Case(Foo)", IF, "Foo", no_column("Foo", "Case")),
    ("FIND {jacket} RETURNING Case(Subject WHERE Description = 'x')", IF, "Description",
     "field 'Description' can not be filtered in query call"),
    ("FIND {jacket} RETURNING Case(Subject, COUNT(Id))", MS, "Subject", "Field must be grouped or aggregated: Subject"),
]  # fmt: skip


def expected_message(query: str, marker: str, text: str) -> tuple[int, int, str]:
    if marker == EOF_MARK:
        offset = len(query)
    else:
        token, _, nth = marker.partition("@")
        offset = -1
        for _ in range(int(nth or 1)):
            offset = query.index(token, offset + 1)
    line_start = query.rfind("\n", 0, offset) + 1
    line_end = query.find("\n", offset)
    line = query[line_start : line_end if line_end >= 0 else len(query)]
    row = query[:offset].count("\n") + 1
    column = offset - line_start + 1
    return row, column, f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{text}"


@pytest.fixture(scope="module")
def empty_org(tmp_path_factory):
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('empty') / 'org.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_there_are_at_least_60_invalid_queries():
    assert len(SOQL_CASES) + len(SOSL_CASES) >= 60
    assert len({q for q, *_ in SOQL_CASES + SOSL_CASES}) == len(SOQL_CASES) + len(SOSL_CASES)


@pytest.mark.parametrize(("query", "code", "marker", "text"), SOQL_CASES, ids=[c[0][:70] for c in SOQL_CASES])
def test_soql_error(empty_org, query, code, marker, text):
    row, column, message = expected_message(query, marker, text)
    with pytest.raises(QueryError) as caught:
        run_soql(empty_org, query, today=TODAY)
    error = caught.value
    assert (error.error_code, error.message) == (code, message)
    assert (error.row, error.column) == (row, column)
    assert error.to_rest() == [{"message": message, "errorCode": code}]


@pytest.mark.parametrize(("query", "code", "marker", "text"), SOSL_CASES, ids=[c[0][:70] for c in SOSL_CASES])
def test_sosl_error(empty_org, query, code, marker, text):
    _, _, message = expected_message(query, marker, text)
    with pytest.raises(QueryError) as caught:
        run_sosl(empty_org, query, today=TODAY)
    assert (caught.value.error_code, caught.value.message) == (code, message)


def test_error_names_row_and_column_on_later_lines(empty_org):
    query = "SELECT Id\nFROM Case\nWHERE Foo = 1"
    with pytest.raises(QueryError) as caught:
        run_soql(empty_org, query)
    assert caught.value.message == (f"\nWHERE Foo = 1\n      ^\nERROR at Row:3:Column:7\n{no_column('Foo', 'Case')}")


def test_deep_nesting_is_a_query_error_not_a_recursion_error(empty_org):
    deep = "SELECT Id FROM Case WHERE " + "(" * 5000 + "Status = 'New'" + ")" * 5000
    with pytest.raises(QueryError) as caught:
        run_soql(empty_org, deep)
    assert (caught.value.error_code, caught.value.column) == (MQ, len("SELECT Id FROM Case WHERE ") + 51)
    assert caught.value.text == "conditions are nested more than 50 levels deep"
    with pytest.raises(QueryError) as caught:
        run_sosl(empty_org, "FIND {" + "(" * 5000 + "jacket" + ")" * 5000 + "}")
    assert caught.value.error_code == MS
    fifty = "SELECT Id FROM Case WHERE " + "(" * 50 + "Status = 'New'" + ")" * 50
    assert run_soql(empty_org, fifty)["records"] == []


def test_run_query_routes_find_to_sosl(empty_org):
    with pytest.raises(QueryError) as caught:
        run_query(empty_org, "  find {jacket|coat}")
    assert caught.value.error_code == MS
    with pytest.raises(QueryError) as caught:
        run_query(empty_org, "FINDER Id FROM Case")
    assert caught.value.error_code == MQ


def test_internal_failures_become_a_generic_query_error(monkeypatch):
    monkeypatch.delenv("CRM_QUERY_STRICT", raising=False)

    def broken() -> dict:
        raise KeyError("internal")

    with pytest.raises(QueryError) as caught:
        guarded(broken)
    assert caught.value.error_code == "UNKNOWN_EXCEPTION"
    assert "Traceback" not in caught.value.message and "internal" not in caught.value.message
    assert isinstance(caught.value.__cause__, KeyError)
    monkeypatch.setenv("CRM_QUERY_STRICT", "1")
    with pytest.raises(KeyError):
        guarded(broken)


def test_database_failures_name_the_reason_without_sql(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_QUERY_STRICT", raising=False)
    engine = create_engine(f"sqlite:///{tmp_path / 'no_tables.db'}")
    with pytest.raises(QueryError) as caught:
        run_soql(engine, "SELECT Id FROM Case")
    assert caught.value.error_code == "UNKNOWN_EXCEPTION"
    assert caught.value.message == "The org database could not run the query: no such table: Case"
    engine.dispose()


def test_errors_never_leak_sql(empty_org):
    for query, *_ in SOQL_CASES:
        with pytest.raises(QueryError) as caught:
            run_soql(empty_org, query)
        assert '"Case"' not in caught.value.message and "sqlalchemy" not in caught.value.message.lower()
