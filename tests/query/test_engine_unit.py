"""Engine tests on a small hand-made org (SQLite and PostgreSQL) with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, insert

from crm_core.org.ids import make_id
from crm_core.org.schema import MODEL_BY_OBJECT, Base
from crm_core.query import run_query, run_soql, run_sosl
from tests.conftest import create_pg_database, drop_pg_database

TODAY = dt.date(2024, 3, 13)  # a Wednesday


def _ids(name: str, n: int) -> list[str]:
    return [make_id(name, i) for i in range(n)]


U = _ids("User", 2)
A = _ids("Account", 3)
C = _ids("Contact", 3)
ISS = _ids("Issue__c", 2)
PB = _ids("Pricebook2", 1)
P = _ids("Product2", 2)
PBE = _ids("PricebookEntry", 2)
O = _ids("Order", 2)  # noqa: E741
OI = _ids("OrderItem", 3)
CS = _ids("Case", 5)
EM = _ids("EmailMessage", 2)
LC = _ids("LiveChatTranscript", 1)
KA = _ids("Knowledge__kav", 2)
CH = _ids("CaseHistory__c", 2)


def d(*args: int) -> dt.datetime:
    return dt.datetime(*args)


ROWS: dict[str, list[dict]] = {
    "User": [
        dict(Id=U[0], Name="Alice Smith", FirstName="Alice", LastName="Smith", Email="alice@shop.example",
             Phone="(415) 555-0101", Username="alice@shop.example", Alias="asmit", IsActive=True,
             CreatedDate=d(2023, 1, 2, 9, 0)),
        dict(Id=U[1], Name="Bob Jones", FirstName="Bob", LastName="Jones", Email="bob@shop.example",
             Phone="(415) 555-0102", Username="bob@shop.example", Alias="bjone", IsActive=False,
             CreatedDate=d(2023, 1, 3, 9, 0)),
    ],
    "Account": [
        dict(Id=A[0], Name="Ann Lee", FirstName="Ann", LastName="Lee", PersonEmail="ann.lee@mail.example",
             Phone="212-555-0199", ShippingState="CA", CreatedDate=d(2023, 5, 1, 12, 0)),
        dict(Id=A[1], Name="Ben Park", FirstName="Ben", LastName="Park", PersonEmail="ben@mail.example",
             ShippingState="NY", CreatedDate=d(2024, 3, 12, 23, 59)),
        dict(Id=A[2], Name="carl 100%_done", FirstName="carl", LastName="100%_done", PersonEmail=None,
             ShippingState=None, CreatedDate=d(2024, 3, 13, 0, 0)),
    ],
    "Contact": [
        dict(Id=C[0], Name="Ann Lee", LastName="Lee", Email="ann.lee@mail.example", AccountId=A[0], OwnerId=U[0],
             CreatedDate=d(2023, 5, 1, 12, 0)),
        dict(Id=C[1], Name="Ben Park", LastName="Park", Email="ben@mail.example", AccountId=A[1], OwnerId=U[1],
             CreatedDate=d(2024, 3, 12, 23, 59)),
        dict(Id=C[2], Name="Carl", LastName="Carl", Email=None, AccountId=A[2], OwnerId=U[0],
             CreatedDate=d(2024, 3, 13, 0, 0)),
    ],
    "Issue__c": [
        dict(Id=ISS[0], Name="Sizing", Description__c="Wrong size", CreatedDate=d(2022, 1, 1)),
        dict(Id=ISS[1], Name="Damaged item", Description__c="Arrived broken", CreatedDate=d(2022, 1, 1)),
    ],
    "Pricebook2": [
        dict(Id=PB[0], Name="Standard", IsActive=True, IsStandard=True, CreatedDate=d(2022, 1, 1)),
    ],
    "Product2": [
        dict(Id=P[0], Name="Trail Runner Shoe", Description="A light trail shoe.", Family="Footwear",
             IsActive=True, ProductCode="TRS-1", CreatedDate=d(2022, 1, 1)),
        dict(Id=P[1], Name="Rain Jacket", Description="Waterproof jacket.", Family="Apparel",
             IsActive=True, ProductCode="RJ-2", CreatedDate=d(2022, 1, 1)),
    ],
    "PricebookEntry": [
        dict(Id=PBE[0], Pricebook2Id=PB[0], Product2Id=P[0], UnitPrice=120.0, IsActive=True,
             CreatedDate=d(2022, 1, 1)),
        dict(Id=PBE[1], Pricebook2Id=PB[0], Product2Id=P[1], UnitPrice=80.5, IsActive=True,
             CreatedDate=d(2022, 1, 1)),
    ],
    "Order": [
        dict(Id=O[0], OrderNumber="00000100", AccountId=A[0], Pricebook2Id=PB[0], Status="Activated",
             EffectiveDate=dt.date(2024, 2, 10), CreatedDate=d(2024, 2, 10, 8, 0)),
        dict(Id=O[1], OrderNumber="00000101", AccountId=A[1], Pricebook2Id=PB[0], Status="Draft",
             EffectiveDate=dt.date(2024, 3, 1), CreatedDate=d(2024, 3, 1, 8, 0)),
    ],
    "OrderItem": [
        dict(Id=OI[0], OrderItemNumber="1", OrderId=O[0], Product2Id=P[0], PricebookEntryId=PBE[0], Quantity=1.0,
             UnitPrice=120.0, CreatedDate=d(2024, 2, 10, 8, 0)),
        dict(Id=OI[1], OrderItemNumber="2", OrderId=O[0], Product2Id=P[1], PricebookEntryId=PBE[1], Quantity=2.0,
             UnitPrice=80.5, CreatedDate=d(2024, 2, 10, 8, 0)),
        dict(Id=OI[2], OrderItemNumber="1", OrderId=O[1], Product2Id=P[1], PricebookEntryId=PBE[1], Quantity=1.0,
             UnitPrice=75.0, CreatedDate=d(2024, 3, 1, 8, 0)),
    ],
    "Case": [
        dict(Id=CS[0], CaseNumber="00001001", Subject="Shoe too small", Description="The trail shoe is too small.",
             Status="Closed", Priority="High", Origin="Email", AccountId=A[0], ContactId=C[0], OwnerId=U[0],
             OrderItemId__c=OI[0], IssueId__c=ISS[0], CreatedDate=d(2024, 2, 12, 10, 0),
             ClosedDate=d(2024, 2, 14, 10, 0)),
        dict(Id=CS[1], CaseNumber="00001002", Subject="Jacket torn", Description="Torn sleeve on arrival.",
             Status="New", Priority=None, Origin="Chat", AccountId=A[0], ContactId=C[0], OwnerId=U[1],
             OrderItemId__c=OI[1], IssueId__c=ISS[1], CreatedDate=d(2024, 3, 12, 15, 30), ClosedDate=None),
        dict(Id=CS[2], CaseNumber="00001003", Subject="Where is my order", Description=None,
             Status="Working", Priority="Low", Origin="Phone", AccountId=A[1], ContactId=C[1], OwnerId=U[0],
             OrderItemId__c=None, IssueId__c=None, CreatedDate=d(2024, 3, 13, 1, 0), ClosedDate=None),
        dict(Id=CS[3], CaseNumber="00001004", Subject="Refund for jacket", Description="Please refund.",
             Status="Closed", Priority="Medium", Origin="Web", AccountId=A[1], ContactId=C[1], OwnerId=U[1],
             OrderItemId__c=OI[2], IssueId__c=ISS[1], CreatedDate=d(2023, 12, 31, 23, 0),
             ClosedDate=d(2024, 1, 2, 9, 0)),
        dict(Id=CS[4], CaseNumber="00001005", Subject=None, Description=None,
             Status="Escalated", Priority="high", Origin=None, AccountId=A[2], ContactId=C[2], OwnerId=U[0],
             OrderItemId__c=None, IssueId__c=ISS[0], CreatedDate=d(2024, 1, 15, 6, 0), ClosedDate=None),
    ],
    "CaseHistory__c": [
        dict(Id=CH[0], CaseId__c=CS[0], Field__c="Case Creation", CreatedDate=d(2024, 2, 12, 10, 0)),
        dict(Id=CH[1], CaseId__c=CS[0], Field__c="Case Closed", CreatedDate=d(2024, 2, 14, 10, 0)),
    ],
    "Knowledge__kav": [
        dict(Id=KA[0], ArticleNumber="000001", Title="Return policy", Summary="How returns work.",
             UrlName="return-policy", FAQ_Answer__c="Items can be returned within 30 days of delivery.",
             PublishStatus="Online", Language="en_US", CreatedDate=d(2022, 1, 1)),
        dict(Id=KA[1], ArticleNumber="000002", Title="Shoe sizing guide", Summary="Find your size.",
             UrlName="shoe-sizing", FAQ_Answer__c="Trail shoes run small; order half a size up.",
             PublishStatus="Online", Language="en_US", CreatedDate=d(2022, 1, 1)),
    ],
    "EmailMessage": [
        dict(Id=EM[0], ParentId=CS[0], Subject="Re: Shoe too small", TextBody="My new trail shoes are too small.",
             FromAddress="ann.lee@mail.example", ToAddress="alice@shop.example", MessageDate=d(2024, 2, 12, 10, 5),
             CreatedDate=d(2024, 2, 12, 10, 5)),
        dict(Id=EM[1], ParentId=CS[0], Subject="Exchange", TextBody="We will exchange them for a larger size.",
             FromAddress="alice@shop.example", ToAddress="ann.lee@mail.example", MessageDate=d(2024, 2, 13, 9, 0),
             CreatedDate=d(2024, 2, 13, 9, 0)),
    ],
    "LiveChatTranscript": [
        dict(Id=LC[0], Name="00000001", CaseId=CS[1], AccountId=A[0], ContactId=C[0], OwnerId=U[1],
             Body="Customer: my jacket arrived torn. Agent: sorry, we will replace it.",
             StartTime=d(2024, 3, 12, 15, 0), EndTime=d(2024, 3, 12, 15, 20), CreatedDate=d(2024, 3, 12, 15, 20)),
    ],
}  # fmt: skip


def build_org(engine: Engine) -> None:
    """Create the org's tables and insert :data:`ROWS`."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for name, rows in ROWS.items():
            table = MODEL_BY_OBJECT[name].__table__
            stamped = [{"LastModifiedDate": row["CreatedDate"], **row} for row in rows]  # never changed
            conn.execute(insert(table), [{c.name: row.get(c.name) for c in table.columns} for row in stamped])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], ids=["sqlite", "pg"]
)
def org(request, tmp_path_factory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('org') / 'org.db'}"
        engine = create_engine(url)
        build_org(engine)
        yield engine
        engine.dispose()
    else:
        url = create_pg_database("crm_query")
        engine = create_engine(url)
        build_org(engine)
        yield engine
        engine.dispose()
        drop_pg_database(url)


def soql(org: Engine, query: str) -> dict:
    return run_soql(org, query, today=TODAY)


def ids(result: dict) -> list[str]:
    return [r["Id"] for r in result["records"]]


def test_select_returns_rest_shape(org):
    result = soql(org, f"select id, casenumber, createddate, closeddate from case where id = '{CS[0]}'")
    assert result == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Case", "url": f"/services/data/v60.0/sobjects/Case/{CS[0]}"},
                "Id": CS[0],
                "CaseNumber": "00001001",
                "CreatedDate": "2024-02-12T10:00:00.000+0000",
                "ClosedDate": "2024-02-14T10:00:00.000+0000",
            }
        ],
    }


def sosl(org: Engine, query: str) -> list[tuple[str, str]]:
    return [(r["attributes"]["type"], r["Id"]) for r in run_sosl(org, query, today=TODAY)["searchRecords"]]


def case_ids(org: Engine, where: str) -> set[str]:
    return set(ids(soql(org, f"SELECT Id FROM Case WHERE {where}")))


# --- names and strings -----------------------------------------------------------------------------


def test_names_are_case_insensitive_and_results_canonical(org):
    result = soql(org, "select ID, casenumber, ACCOUNT.name from CASE where STATUS = 'closed' order by CASENUMBER")
    assert [list(r) for r in result["records"]] == [["attributes", "Id", "CaseNumber", "Account"]] * 2
    assert ids(result) == [CS[0], CS[3]]
    assert result["records"][0]["Account"]["Name"] == "Ann Lee"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Priority = 'HIGH'", {0, 4}),
        ("Priority IN ('high', 'low')", {0, 2, 4}),
        ("Priority != 'High'", {1, 2, 3}),  # null is a value: != includes it
        ("Priority NOT IN ('Low', 'Medium')", {0, 1, 4}),
        ("Priority IN ('Low', null)", {1, 2}),
        ("Priority NOT IN ('Low', null)", {0, 3, 4}),
        ("Subject = null", {4}),
        ("ClosedDate != null", {0, 3}),
        ("NOT (Priority = 'High')", {1, 2, 3}),
        ("NOT (Priority = 'High' OR Status = 'New')", {2, 3}),
        ("(NOT Subject LIKE '%jacket%')", {0, 2, 4}),
        ("Subject LIKE '%JACKET%'", {1, 3}),
        ("Subject LIKE 'shoe%'", {0}),
        ("Subject LIKE 'Jacket_torn'", {1}),
        ("Subject > 'S'", {0, 2}),
        ("Subject < 'jacket z'", {1}),
        ("Account.ShippingState = 'ca'", {0, 1}),
        ("Account.ShippingState = null", {4}),
        ("Account.ShippingState != 'CA'", {2, 3, 4}),
        ("IssueId__r.Name = 'Sizing'", {0, 4}),
        ("IssueId__r.Name != 'Sizing'", {1, 2, 3}),
        ("OrderItemId__r.Order.Account.Name = 'ann lee'", {0, 1}),
        ("Status = 'Closed' AND (Priority = 'High' OR Priority = 'Medium')", {0, 3}),
        ("(Status = 'New' OR Status = 'Working') AND Owner.Name = 'Alice Smith'", {2}),
    ],
)
def test_filters(org, where, expected):
    assert case_ids(org, where) == {CS[i] for i in expected}


def test_like_escapes_percent_and_underscore(org):
    def names(pattern: str) -> set[str]:
        return {r["Name"] for r in soql(org, f"SELECT Name FROM Account WHERE Name LIKE '{pattern}'")["records"]}

    assert names("%100\\%\\_%") == {"carl 100%_done"}
    assert names("%\\%%") == {"carl 100%_done"}
    assert names("Ann_Lee") == {"Ann Lee"}
    assert names("Ann\\_Lee") == set()


def test_string_literal_injection_finds_nothing(org):
    assert case_ids(org, "Subject = 'x\\' OR Subject != \\'x'") == set()
    assert case_ids(org, "Subject LIKE '%\\' OR 1=1 --'") == set()
    assert soql(org, "SELECT COUNT() FROM Case")["totalSize"] == 5


# --- ids, numbers, booleans, dates -----------------------------------------------------------------------


def test_ids_accept_15_and_any_case_18_characters(org):
    assert case_ids(org, f"Id = '{CS[0][:15]}'") == {CS[0]}
    assert case_ids(org, f"Id = '{CS[0].lower()}'") == {CS[0]}
    assert case_ids(org, f"OwnerId IN ('{U[1][:15]}')") == {CS[1], CS[3]}
    assert case_ids(org, f"AccountId != '{A[0]}'") == {CS[2], CS[3], CS[4]}


def test_numbers_and_booleans(org):
    assert ids(soql(org, "SELECT Id FROM OrderItem WHERE UnitPrice > 80 ORDER BY UnitPrice DESC")) == [OI[0], OI[1]]
    assert ids(soql(org, "SELECT Id FROM OrderItem WHERE Quantity = 2")) == [OI[1]]
    assert ids(soql(org, "SELECT Id FROM User WHERE IsActive = true")) == [U[0]]
    assert ids(soql(org, "SELECT Id FROM User WHERE IsActive = FALSE")) == [U[1]]
    record = soql(
        org, f"SELECT Quantity, UnitPrice, IsActive__x FROM OrderItem WHERE Id = '{OI[1]}'".replace(", IsActive__x", "")
    )["records"][0]
    assert record["Quantity"] == 2.0 and record["UnitPrice"] == 80.5


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("CreatedDate = TODAY", {2}),
        ("CreatedDate = YESTERDAY", {1}),
        ("CreatedDate = TOMORROW", set()),
        ("CreatedDate = LAST_N_DAYS:1", {1, 2}),
        ("CreatedDate = N_DAYS_AGO:1", {1}),
        ("CreatedDate = THIS_WEEK", {1, 2}),
        ("CreatedDate = THIS_MONTH", {1, 2}),
        ("CreatedDate = LAST_MONTH", {0}),
        ("CreatedDate = THIS_QUARTER", {0, 1, 2, 4}),
        ("CreatedDate = LAST_QUARTER", {3}),
        ("CreatedDate = THIS_YEAR", {0, 1, 2, 4}),
        ("CreatedDate = LAST_YEAR", {3}),
        ("CreatedDate = LAST_N_MONTHS:2", {0, 4}),
        ("CreatedDate = LAST_90_DAYS", {0, 1, 2, 3, 4}),
        ("CreatedDate < THIS_YEAR", {3}),
        ("CreatedDate > LAST_MONTH", {1, 2}),
        ("CreatedDate >= LAST_MONTH", {0, 1, 2}),
        ("CreatedDate <= LAST_MONTH", {0, 3, 4}),
        ("CreatedDate != THIS_YEAR", {3}),
        ("CreatedDate IN (YESTERDAY, LAST_YEAR)", {1, 3}),
        ("ClosedDate != THIS_YEAR", {1, 2, 4}),
        ("CreatedDate = 2024-03-13T03:00:00+02:00", {2}),
        ("CreatedDate > 2024-03-12T15:30:00Z", {2}),
        ("CreatedDate >= 2024-03-12T15:30:00.000Z", {1, 2}),
        ("CALENDAR_YEAR(CreatedDate) = 2023", {3}),
        ("CALENDAR_QUARTER(CreatedDate) = 4", {3}),
        ("CALENDAR_MONTH(CreatedDate) = 2", {0}),
        ("DAY_IN_WEEK(CreatedDate) = 1", {3}),
        ("DAY_IN_WEEK(CreatedDate) = 4", {2}),
        ("DAY_IN_MONTH(CreatedDate) = 15", {4}),
        ("DAY_IN_YEAR(CreatedDate) = 365", {3}),
        ("HOUR_IN_DAY(CreatedDate) = 15", {1}),
        ("WEEK_IN_MONTH(CreatedDate) = 2", {0, 1, 2}),
        ("WEEK_IN_YEAR(CreatedDate) = 3", {4}),
        ("DAY_ONLY(CreatedDate) = 2024-03-12", {1}),
    ],
)
def test_dates(org, where, expected):
    assert case_ids(org, where) == {CS[i] for i in expected}


def test_date_fields(org):
    def orders(where: str) -> list[str]:
        return ids(soql(org, f"SELECT Id FROM Order WHERE {where}"))

    assert orders("EffectiveDate = 2024-03-01") == [O[1]]
    assert orders("EffectiveDate < 2024-03-01") == [O[0]]
    assert orders("EffectiveDate = LAST_MONTH") == [O[0]]
    assert orders("EffectiveDate = THIS_MONTH") == [O[1]]
    record = soql(org, f"SELECT EffectiveDate FROM Order WHERE Id = '{O[0]}'")["records"][0]
    assert record["EffectiveDate"] == "2024-02-10"


def test_relative_dates_follow_the_injected_today(org):
    query = "SELECT Id FROM Case WHERE CreatedDate = TODAY"
    assert ids(run_soql(org, query, today=dt.date(2024, 3, 12))) == [CS[1]]
    assert ids(run_soql(org, query, today=dt.date(2024, 1, 15))) == [CS[4]]


# --- shapes: parents, children, order, limits ----------------------------------------------------------------


def test_parent_records_nest_or_are_null(org):
    url = "/services/data/v60.0/sobjects/"
    query = (
        "SELECT Id, IssueId__r.Name, OrderItemId__r.Order.Account.Name FROM Case WHERE Id IN ('{}', '{}') ORDER BY Id"
    )
    result = soql(org, query.format(CS[0], CS[2]))
    by_id = {r["Id"]: r for r in result["records"]}
    assert by_id[CS[2]]["IssueId__r"] is None and by_id[CS[2]]["OrderItemId__r"] is None
    assert by_id[CS[0]]["IssueId__r"] == {
        "attributes": {"type": "Issue__c", "url": f"{url}Issue__c/{ISS[0]}"},
        "Name": "Sizing",
    }
    assert by_id[CS[0]]["OrderItemId__r"] == {
        "attributes": {"type": "OrderItem", "url": f"{url}OrderItem/{OI[0]}"},
        "Order": {
            "attributes": {"type": "Order", "url": f"{url}Order/{O[0]}"},
            "Account": {"attributes": {"type": "Account", "url": f"{url}Account/{A[0]}"}, "Name": "Ann Lee"},
        },
    }


def test_object_prefix_and_alias(org):
    assert ids(soql(org, "SELECT Case.Id FROM Case WHERE Case.Status = 'New'")) == [CS[1]]
    result = soql(org, "SELECT c.Subject, c.Account.Name FROM Case c WHERE c.Status = 'New'")
    assert result["records"][0]["Subject"] == "Jacket torn"
    assert result["records"][0]["Account"]["Name"] == "Ann Lee"


def test_child_subqueries(org):
    result = soql(
        org,
        "SELECT Name, (SELECT CaseNumber FROM Cases WHERE Status != 'Escalated' ORDER BY CaseNumber DESC LIMIT 1)"
        " FROM Account ORDER BY Name",
    )
    rows = [(r["Name"], r["Cases"]) for r in result["records"]]
    assert [name for name, _ in rows] == ["Ann Lee", "Ben Park", "carl 100%_done"]
    assert rows[2][1] is None
    assert rows[0][1]["totalSize"] == 1 and rows[0][1]["done"] is True
    assert rows[0][1]["records"] == [
        {"attributes": {"type": "Case", "url": f"/services/data/v60.0/sobjects/Case/{CS[1]}"}, "CaseNumber": "00001002"}
    ]
    assert rows[1][1]["records"][0]["CaseNumber"] == "00001004"
    result = soql(
        org,
        "SELECT Id, (SELECT Id, CaseId__r.CaseNumber FROM Histories__r), (SELECT Id FROM EmailMessages)"
        f" FROM Case WHERE Id = '{CS[0]}'",
    )
    record = result["records"][0]
    assert {r["Id"] for r in record["Histories__r"]["records"]} == set(CH)
    assert record["EmailMessages"]["totalSize"] == 2


def test_order_by_is_case_insensitive_with_nulls_first_by_default(org):
    result = soql(org, "SELECT Priority FROM Case ORDER BY Priority DESC NULLS LAST")
    priorities = [r["Priority"] for r in result["records"]]
    assert priorities[:2] == ["Medium", "Low"] and priorities[-1] is None
    assert {p for p in priorities[2:4]} == {"High", "high"}
    assert soql(org, "SELECT Priority FROM Case ORDER BY Priority")["records"][0]["Priority"] is None
    closed = [r["Id"] for r in soql(org, "SELECT Id FROM Case ORDER BY ClosedDate DESC")["records"]]
    assert set(closed[:3]) == {CS[1], CS[2], CS[4]} and closed[3:] == [CS[0], CS[3]]


def test_limit_and_offset(org):
    assert ids(soql(org, "SELECT Id FROM Case ORDER BY CaseNumber LIMIT 2 OFFSET 1")) == [CS[1], CS[2]]


# --- aggregates ------------------------------------------------------------------------------------------


def test_count_only(org):
    assert soql(org, "SELECT COUNT() FROM Case") == {"totalSize": 5, "done": True, "records": []}
    assert soql(org, "SELECT COUNT() FROM Case WHERE Account.ShippingState = 'NY'")["totalSize"] == 2
    assert soql(org, "SELECT COUNT() FROM Case GROUP BY OwnerId")["totalSize"] == 2
    assert soql(org, "SELECT COUNT() FROM Case LIMIT 3")["totalSize"] == 3
    assert soql(org, "SELECT COUNT() FROM Case LIMIT 3 OFFSET 4")["totalSize"] == 1


def test_aggregate_functions_and_expr_names(org):
    result = soql(
        org,
        "SELECT SUM(Quantity) q, AVG(UnitPrice), MIN(UnitPrice), MAX(CreatedDate), COUNT(Id), COUNT_DISTINCT(OrderId)"
        " FROM OrderItem",
    )
    (row,) = result["records"]
    assert row["attributes"] == {"type": "AggregateResult"}
    assert list(row)[1:] == ["q", "expr0", "expr1", "expr2", "expr3", "expr4"]
    assert row["q"] == pytest.approx(4.0)
    assert row["expr0"] == pytest.approx((120.0 + 80.5 + 75.0) / 3)
    assert row["expr1"] == pytest.approx(75.0)
    assert row["expr2"] == "2024-03-01T08:00:00.000+0000"
    assert (row["expr3"], row["expr4"]) == (3, 2)
    (row,) = soql(org, "SELECT COUNT(Priority), COUNT(Id) FROM Case")["records"]
    assert (row["expr0"], row["expr1"]) == (4, 5)


def test_group_by_having_and_order_by_aggregate(org):
    result = soql(org, "SELECT OwnerId, COUNT(Id) n FROM Case GROUP BY OwnerId HAVING COUNT(Id) > 2")
    assert [(r["OwnerId"], r["n"]) for r in result["records"]] == [(U[0], 3)]
    result = soql(org, "SELECT Owner.Name, COUNT(Id) FROM Case GROUP BY Owner.Name ORDER BY COUNT(Id) DESC")
    assert [(r["Name"], r["expr0"]) for r in result["records"]] == [("Alice Smith", 3), ("Bob Jones", 2)]
    result = soql(
        org,
        "SELECT CALENDAR_YEAR(CreatedDate), COUNT(Id) FROM Case GROUP BY CALENDAR_YEAR(CreatedDate)"
        " ORDER BY CALENDAR_YEAR(CreatedDate)",
    )
    assert [(r["expr0"], r["expr1"]) for r in result["records"]] == [(2023, 1), (2024, 4)]
    result = soql(
        org,
        "SELECT Status, COUNT(Id) FROM Case WHERE CreatedDate = THIS_YEAR GROUP BY Status"
        " HAVING (COUNT(Id) = 1 AND Status != 'New') ORDER BY Status",
    )
    assert [(r["Status"], r["expr0"]) for r in result["records"]] == [("Closed", 1), ("Escalated", 1), ("Working", 1)]


def test_semi_and_anti_joins(org):
    def accounts(where: str) -> set[str]:
        return set(ids(soql(org, f"SELECT Id FROM Account WHERE {where}")))

    assert accounts("Id IN (SELECT AccountId FROM Case WHERE Status = 'Closed')") == {A[0], A[1]}
    assert accounts("Id NOT IN (SELECT AccountId FROM Case WHERE Priority = 'Low')") == {A[0], A[2]}
    assert accounts("Id IN (SELECT AccountId FROM Case WHERE Owner.Name = 'Bob Jones') AND ShippingState = 'NY'") == {
        A[1]
    }
    assert case_ids(org, "IssueId__c NOT IN (SELECT Id FROM Issue__c WHERE Name = 'Sizing')") == {CS[1], CS[2], CS[3]}
    # the outer query and the subquery both join Account
    result = soql(
        org,
        "SELECT Id, Account.Name FROM Case WHERE ContactId IN"
        " (SELECT Id FROM Contact WHERE Account.ShippingState = 'NY') AND Account.Name != null",
    )
    assert {r["Id"] for r in result["records"]} == {CS[2], CS[3]}
    assert {r["Account"]["Name"] for r in result["records"]} == {"Ben Park"}


# --- SOSL -------------------------------------------------------------------------------------------------


def test_sosl_words_phrases_wildcards(org):
    everything = "RETURNING Case(Id), Product2(Id), Knowledge__kav(Id), EmailMessage(Id), LiveChatTranscript(Id)"
    assert set(sosl(org, f"FIND {{jacket}} {everything}")) == {
        ("Case", CS[1]), ("Case", CS[3]), ("Product2", P[1]), ("LiveChatTranscript", LC[0])
    }  # fmt: skip
    assert set(sosl(org, f'FIND {{"trail shoe"}} {everything}')) == {("Case", CS[0]), ("Product2", P[0])}
    shoe = {("Case", CS[0]), ("Product2", P[0]), ("Knowledge__kav", KA[1]), ("EmailMessage", EM[0])}
    assert set(sosl(org, f"FIND {{shoe*}} {everything}")) == shoe
    # "shop" (in alice@shop.example) is four characters starting with "sho"
    assert set(sosl(org, f"FIND {{SHO?}} {everything}")) == shoe | {("EmailMessage", EM[1])}
    assert set(sosl(org, f"FIND {{jacket AND NOT refund}} {everything}")) == {
        ("Case", CS[1]), ("Product2", P[1]), ("LiveChatTranscript", LC[0])
    }  # fmt: skip
    assert set(sosl(org, f"FIND {{torn arrival}} {everything}")) == {("Case", CS[1])}
    assert set(sosl(org, f"FIND {{(refund OR exchange) AND jacket}} {everything}")) == {("Case", CS[3])}


def test_sosl_ranks_more_matched_terms_first(org):
    assert sosl(org, "FIND {jacket OR torn} RETURNING Case(Id)") == [("Case", CS[1]), ("Case", CS[3])]


def test_sosl_field_scopes(org):
    assert set(sosl(org, "FIND {ann.lee@mail.example} IN EMAIL FIELDS RETURNING Contact(Id), Account(Id)")) == {
        ("Contact", C[0]), ("Account", A[0])
    }  # fmt: skip
    assert sosl(org, "FIND {4155550101} IN PHONE FIELDS RETURNING User(Id)") == [("User", U[0])]
    assert sosl(org, "FIND {sleeve} IN NAME FIELDS RETURNING Case(Id)") == []
    assert sosl(org, "FIND {sleeve} IN ALL FIELDS RETURNING Case(Id)") == [("Case", CS[1])]
    assert sosl(org, "FIND {sleeve}") == [("Case", CS[1])]


def test_sosl_returning_options_and_limits(org):
    assert sosl(org, "FIND {jacket} RETURNING Case(Id, CaseNumber WHERE Status = 'Closed')") == [("Case", CS[3])]
    records = run_sosl(org, "FIND {jacket} RETURNING Case(CaseNumber, Account.Name ORDER BY CaseNumber DESC LIMIT 1)")
    assert records["searchRecords"] == [
        {
            "attributes": {"type": "Case", "url": f"/services/data/v60.0/sobjects/Case/{CS[3]}"},
            "CaseNumber": "00001004",
            "Account": {"attributes": {"type": "Account", "url": f"/services/data/v60.0/sobjects/Account/{A[1]}"},
                        "Name": "Ben Park"},
        }
    ]  # fmt: skip
    assert len(sosl(org, "FIND {jacket} RETURNING Case(Id), Product2(Id) LIMIT 2")) == 2
    assert sosl(org, "FIND {jacket} RETURNING Case(Id ORDER BY CaseNumber LIMIT 1 OFFSET 1)") == [("Case", CS[3])]


def test_sosl_escapes_and_injection(org):
    assert sosl(org, "FIND {100\\-done} RETURNING Account(Id)") == [("Account", A[2])]
    assert sosl(org, "FIND {zz%} RETURNING Account(Id), Case(Id)") == []
    assert sosl(org, "FIND {ann\\'} RETURNING Account(Id)") == [("Account", A[0])]


def test_run_query_dispatches_on_find(org):
    assert run_query(org, "  find {sleeve}", today=TODAY) == {"searchRecords": [
        {"attributes": {"type": "Case", "url": f"/services/data/v60.0/sobjects/Case/{CS[1]}"}, "Id": CS[1]}
    ]}  # fmt: skip
    assert run_query(org, "SELECT COUNT() FROM Account", today=TODAY)["totalSize"] == 3


# --- CLI ----------------------------------------------------------------------------------------------


def test_cli_prints_results_and_errors(tmp_path, cli):
    """The first query in a real process; the others through the same `main()` in this one."""
    import json
    import subprocess
    import sys

    engine = create_engine(f"sqlite:///{tmp_path / 'org.db'}")
    build_org(engine)
    engine.dispose()
    url = f"sqlite:///{tmp_path / 'org.db'}"

    command = [sys.executable, "-m", "crm_core", "soql", "SELECT Id FROM Case WHERE CreatedDate = TODAY"]
    done = subprocess.run(
        [*command, "--today", "2024-03-13", "--org-db", url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"][0]["Id"] == CS[2]
    assert done.stdout.startswith('{\n  "totalSize": 1')
    code, out, err = cli("sosl", "FIND {sleeve} RETURNING Case(Subject)", "--org-db", url)
    assert code == 0 and json.loads(out)["searchRecords"][0]["Subject"] == "Jacket torn", err
    code, out, err = cli("soql", "SELECT Foo FROM Case", "--org-db", url)
    assert code == 1 and "Traceback" not in err
    (error,) = json.loads(out)
    assert error["errorCode"] == "INVALID_FIELD" and "No such column 'Foo' on entity 'Case'" in error["message"]
    code, _, err = cli("soql", "SELECT Id FROM Case", "--today", "yesterday", "--org-db", url)
    assert code == 1 and "--today" in err and "Traceback" not in err
