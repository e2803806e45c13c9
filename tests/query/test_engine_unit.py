"""Engine tests on a small hand-made org (SQLite and PostgreSQL) with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, insert

from crm_core.org.ids import make_id
from crm_core.org.schema import MODEL_BY_OBJECT, Base
from crm_core.query import run_soql
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
            conn.execute(insert(table), [{c.name: row.get(c.name) for c in table.columns} for row in rows])


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
