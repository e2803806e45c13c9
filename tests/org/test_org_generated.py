"""A generated tiny org: counts, ids, invariants (by hand-written SQL and by `check_org`), text."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crm_core.db import make_readonly_engine, sqlite_path
from crm_core.org.check import RULES, check_org
from crm_core.org.ids import is_valid_id
from crm_core.org.knowledge import CompanyFacts, policies
from crm_core.org.scales import SCALES
from crm_core.org.schema import OBJECT_MODELS

# Salesforce's key prefixes of the 16 objects, typed by hand (not read from the code under test).
SALESFORCE_PREFIXES = {
    "User": "005", "Account": "001", "Contact": "003", "Case": "500", "Knowledge__kav": "ka0",
    "Product2": "01t", "Pricebook2": "01s", "PricebookEntry": "01u", "Order": "801", "OrderItem": "802",
    "EmailMessage": "02s", "LiveChatTranscript": "570", "ProductCategory": "0ZG",
    "ProductCategoryProduct": "0ZH", "Issue__c": "a1M", "CaseHistory__c": "a0C",
}  # fmt: skip

# Words a reader would use to recognise each issue in a customer's description.
ISSUE_WORDS = {
    "Sizing / Fit": ("size", "fit", "small", "big", "tight", "toes"),
    "Sole Separation": ("sole",),
    "Late Delivery": ("arrive", "deliver", "overdue", "waiting", "tracking", "late"),
    "Zipper Failure": ("zip",),
    "Color Fading": ("fade", "color", "dye"),
    "Damaged on Arrival": ("damaged", "broken", "torn", "crushed", "crack", "scuff"),
    "Missing Item": ("missing", "wasn't in the box", "not included", "except"),
    "Refund Delay": ("refund", "money back"),
    "Wrong Item Shipped": ("wrong", "different", "someone else"),
    "Waterproofing Failure": ("water", "soak", "leak", "drenched", "rain"),
}


@pytest.fixture(scope="module")
def conn(tiny_org_url: str):
    engine = make_readonly_engine(tiny_org_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def scalar(conn, sql: str) -> int:
    return conn.execute(text(sql)).scalar_one()


def test_counts_follow_the_tiny_scale(conn) -> None:
    tiny = SCALES["tiny"]
    assert scalar(conn, 'SELECT COUNT(*) FROM "User"') == tiny.agents
    assert scalar(conn, 'SELECT COUNT(*) FROM "Account"') == tiny.customers
    assert scalar(conn, 'SELECT COUNT(*) FROM "Contact"') == tiny.customers
    assert scalar(conn, 'SELECT COUNT(*) FROM "Order"') == tiny.orders
    assert scalar(conn, 'SELECT COUNT(*) FROM "Case"') == tiny.cases
    assert scalar(conn, 'SELECT COUNT(*) FROM "Issue__c"') == 10
    assert scalar(conn, 'SELECT COUNT(*) FROM "Product2"') == tiny.products
    assert scalar(conn, 'SELECT COUNT(*) FROM "Knowledge__kav"') == tiny.articles
    for table in ("CaseHistory__c", "EmailMessage", "LiveChatTranscript", "OrderItem", "PricebookEntry"):
        assert scalar(conn, f'SELECT COUNT(*) FROM "{table}"') > 0, table


def test_every_id_is_18_characters_with_the_spec_prefix(conn) -> None:
    for model in OBJECT_MODELS:
        name = model.__tablename__
        ids = [row[0] for row in conn.execute(text(f'SELECT "Id" FROM "{name}"'))]
        assert ids, name
        assert len(set(ids)) == len(ids), name
        for record_id in ids:
            assert len(record_id) == 18 and record_id.startswith(SALESFORCE_PREFIXES[name]), (name, record_id)
            assert is_valid_id(record_id), record_id


def test_time_span(conn) -> None:
    first = scalar(conn, 'SELECT MIN("CreatedDate") FROM "Case"')
    last = scalar(conn, 'SELECT MAX(COALESCE("ClosedDate", "CreatedDate")) FROM "Case"')
    assert str(first) >= "2020-01-01" and str(last) < "2026-01-01"


def test_org_check_finds_nothing(tiny_org_url: str) -> None:
    engine = make_readonly_engine(tiny_org_url)
    try:
        assert check_org(engine) == []
    finally:
        engine.dispose()


def test_history_by_hand(conn) -> None:
    # one 'Case Creation' per case, at the case's CreatedDate
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM "Case" c WHERE (SELECT COUNT(*) FROM "CaseHistory__c" h
        WHERE h."CaseId__c" = c."Id" AND h."Field__c" = 'Case Creation' AND h."CreatedDate" = c."CreatedDate") != 1""",
        )
        == 0
    )
    # 'Case Closed' exactly for Closed cases, at ClosedDate
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM "Case" c WHERE (SELECT COUNT(*) FROM "CaseHistory__c" h
        WHERE h."CaseId__c" = c."Id" AND h."Field__c" = 'Case Closed' AND h."CreatedDate" = c."ClosedDate")
        != (CASE WHEN c."Status" = 'Closed' THEN 1 ELSE 0 END)""",
        )
        == 0
    )
    # the latest Owner Assignment names the owner; the earliest has no old value
    rows = conn.execute(text("""SELECT c."Id", c."OwnerId", h."OldValue__c", h."NewValue__c" FROM "Case" c
        JOIN "CaseHistory__c" h ON h."CaseId__c" = c."Id" AND h."Field__c" = 'Owner Assignment'
        ORDER BY c."Id", h."CreatedDate" """)).all()  # fmt: skip
    chains: dict[str, list[tuple[str | None, str]]] = {}
    owners: dict[str, str] = {}
    for case_id, owner, old, new in rows:
        chains.setdefault(case_id, []).append((old, new))
        owners[case_id] = owner
    assert len(chains) == SCALES["tiny"].cases
    for case_id, chain in chains.items():
        assert chain[0][0] is None
        assert chain[-1][1] == owners[case_id]
        assert all(chain[i][0] == chain[i - 1][1] for i in range(1, len(chain)))
    assert any(len(chain) > 1 for chain in chains.values()), "some cases are transferred"
    assert scalar(conn, """SELECT COUNT(*) FROM "Case" WHERE "ClosedDate" < "CreatedDate" """) == 0


def test_last_modified_by_hand(conn) -> None:
    # never before the record was created, never after the span
    for model in OBJECT_MODELS:
        name = model.__tablename__
        assert scalar(conn, f'SELECT COUNT(*) FROM "{name}" WHERE "LastModifiedDate" IS NULL') == 0, name
        late = f"""SELECT COUNT(*) FROM "{name}" WHERE "LastModifiedDate" < "CreatedDate"
            OR "LastModifiedDate" >= '2026-01-01'"""
        assert scalar(conn, late) == 0, name
    # a case was last changed by its last history row: closed cases at ClosedDate, open ones at
    # their last owner assignment
    rows = conn.execute(text("""SELECT c."LastModifiedDate", c."ClosedDate",
        (SELECT MAX(h."CreatedDate") FROM "CaseHistory__c" h WHERE h."CaseId__c" = c."Id"
         AND h."Field__c" = 'Owner Assignment') FROM "Case" c""")).all()  # fmt: skip
    assert rows
    for modified, closed, assigned in rows:
        assert str(modified) == str(closed if closed is not None else assigned)
    # an email at its message date, a chat when it ended, history rows when they were written
    assert scalar(conn, 'SELECT COUNT(*) FROM "EmailMessage" WHERE "LastModifiedDate" != "MessageDate"') == 0
    assert scalar(conn, 'SELECT COUNT(*) FROM "LiveChatTranscript" WHERE "LastModifiedDate" != "EndTime"') == 0
    assert scalar(conn, 'SELECT COUNT(*) FROM "CaseHistory__c" WHERE "LastModifiedDate" != "CreatedDate"') == 0
    # a price book that ran out was deactivated the second after its last valid one
    books = conn.execute(text('SELECT "IsActive", "ValidTo", "CreatedDate", "LastModifiedDate" FROM "Pricebook2"'))
    expired = 0
    for active, valid_to, created, modified in books:
        if active:
            assert modified == created
        else:
            expired += 1
            ended = dt.datetime.fromisoformat(str(valid_to)) + dt.timedelta(seconds=1)
            assert dt.datetime.fromisoformat(str(modified)) == ended
    assert expired
    # everything else was never changed after it was created
    for name in ("User", "Account", "Contact", "Order", "OrderItem", "Knowledge__kav", "Product2"):
        assert scalar(conn, f'SELECT COUNT(*) FROM "{name}" WHERE "LastModifiedDate" != "CreatedDate"') == 0, name
    # some cases were changed long after they were opened
    assert scalar(conn, 'SELECT COUNT(*) FROM "Case" WHERE "LastModifiedDate" > "CreatedDate"') > 0


def test_order_items_priced_from_their_orders_book(conn) -> None:
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM "OrderItem" oi JOIN "Order" o ON o."Id" = oi."OrderId"
        JOIN "PricebookEntry" e ON e."Id" = oi."PricebookEntryId"
        WHERE e."Pricebook2Id" != o."Pricebook2Id" OR e."Product2Id" != oi."Product2Id"
           OR ABS(e."UnitPrice" - oi."UnitPrice") > 0.001""",
        )
        == 0
    )
    statuses = dict(conn.execute(text('SELECT "Status", COUNT(*) FROM "Order" GROUP BY "Status"')).all())
    assert statuses["Activated"] > 0.8 * SCALES["tiny"].orders
    assert scalar(conn, 'SELECT COUNT(*) FROM "Pricebook2" WHERE "IsStandard" = 1') == 1
    assert scalar(conn, 'SELECT COUNT(*) FROM "Pricebook2" WHERE "ValidFrom" IS NOT NULL') >= 6


def test_conversations_belong_to_contact_and_owner(conn) -> None:
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM "EmailMessage" m JOIN "Case" c ON c."Id" = m."ParentId"
        JOIN "Contact" ct ON ct."Id" = c."ContactId" JOIN "User" u ON u."Id" = c."OwnerId"
        WHERE NOT ((m."FromAddress" = ct."Email" AND m."ToAddress" = u."Email")
                OR (m."FromAddress" = u."Email" AND m."ToAddress" = ct."Email"))
           OR m."MessageDate" < c."CreatedDate" OR m."MessageDate" > COALESCE(c."ClosedDate", '2026-01-01')""",
        )
        == 0
    )
    assert (
        scalar(
            conn,
            """SELECT COUNT(*) FROM "LiveChatTranscript" t JOIN "Case" c ON c."Id" = t."CaseId"
        WHERE t."OwnerId" != c."OwnerId" OR t."ContactId" != c."ContactId" OR t."AccountId" != c."AccountId"
           OR t."StartTime" < c."CreatedDate" OR t."EndTime" > COALESCE(c."ClosedDate", '2026-01-01')
           OR t."EndTime" < t."StartTime" """,
        )
        == 0
    )


def test_case_text_names_product_and_issue(conn) -> None:
    rows = conn.execute(text("""SELECT c."Subject", c."Description", p."Name", i."Name" FROM "Case" c
        JOIN "OrderItem" oi ON oi."Id" = c."OrderItemId__c" JOIN "Product2" p ON p."Id" = oi."Product2Id"
        JOIN "Issue__c" i ON i."Id" = c."IssueId__c" """)).all()  # fmt: skip
    assert len(rows) == SCALES["tiny"].cases
    for subject, description, product, issue in rows:
        assert product in subject and product in description
        lowered = description.lower()
        assert any(word in lowered for word in ISSUE_WORDS[issue]), (issue, description)
    assert len({r[1] for r in rows}) > 0.9 * len(rows), "descriptions vary"


def test_knowledge_articles(conn) -> None:
    titles = [r[0] for r in conn.execute(text('SELECT "Title" FROM "Knowledge__kav"'))]
    assert sum(t.startswith("Policy:") for t in titles) >= 10
    facts = conn.execute(text("""SELECT f.question, f.answer, k."FAQ_Answer__c" FROM latent_article_fact f
        JOIN "Knowledge__kav" k ON k."Id" = f.article_id""")).all()  # fmt: skip
    assert len(facts) >= 40
    assert all(answer in body for _, answer, body in facts)
    assert len({q for q, _, _ in facts}) == len(facts), "every question is asked once"


def conversation_of(conn, case_id: str) -> str:
    bodies = [
        r[0] for r in conn.execute(text('SELECT "TextBody" FROM "EmailMessage" WHERE "ParentId" = :c'), {"c": case_id})
    ]
    bodies += [
        r[0] for r in conn.execute(text('SELECT "Body" FROM "LiveChatTranscript" WHERE "CaseId" = :c'), {"c": case_id})
    ]
    return "\n".join(bodies)


def test_policy_cases_breach_exactly_their_article(conn) -> None:
    info = dict(conn.execute(text("SELECT key, value FROM org_info")).all())
    assert info["seed"] == "7"
    rows = conn.execute(
        text("""SELECT p.case_id, p.violated_article_id, p.channel, k."FAQ_Answer__c"
        FROM latent_case_policy p LEFT JOIN "Knowledge__kav" k ON k."Id" = p.violated_article_id""")
    ).all()
    assert len(rows) >= 30
    none_share = sum(r[1] is None for r in rows) / len(rows)
    assert 0.15 <= none_share <= 0.45
    # the org's policies, rebuilt from its stored company facts; a breach is matched by its rule text
    rules = policies(CompanyFacts(**json.loads(info["company_facts"])))
    for case_id, article_id, _channel, article_body in rows:
        conversation = conversation_of(conn, case_id)
        assert conversation, case_id
        breached = [p for p in rules if p.violation in conversation]
        if article_id is None:
            assert breached == [], case_id
        else:
            assert len(breached) == 1, case_id
            assert breached[0].rule in article_body
    assert Counter(r[2] for r in rows).keys() <= {"email", "chat"}


# --- the checker can fail: plant one violation per rule in a copy of the org ---------------

FIRST_CASE = '(SELECT MIN("Id") FROM "Case")'
PLANTS = {
    "references": [f"""UPDATE "Case" SET "IssueId__c" = 'a1MHs0000000000AAA' WHERE "Id" = {FIRST_CASE}"""],
    "ids": ["""UPDATE "Product2" SET "Id" = '01tHs0000000000xyz'
        WHERE "Id" = (SELECT MIN("Id") FROM "Product2")"""],
    "case-closure": ["""UPDATE "Case" SET "ClosedDate" = '2019-06-01 00:00:00.000000'
        WHERE "Id" = (SELECT MIN("Id") FROM "Case" WHERE "Status" = 'Closed')"""],
    "case-history": ["""UPDATE "Case" SET "OwnerId" = (SELECT MAX("Id") FROM "User")
        WHERE "Id" = (SELECT MIN("Id") FROM "Case" WHERE "OwnerId" != (SELECT MAX("Id") FROM "User"))"""],
    "order-items": ["""UPDATE "OrderItem" SET "UnitPrice" = "UnitPrice" + 5
        WHERE "Id" = (SELECT MIN("Id") FROM "OrderItem")"""],
    "emails": ["""UPDATE "EmailMessage" SET "FromAddress" = 'someone@else.example'
        WHERE "Id" = (SELECT MIN("Id") FROM "EmailMessage")"""],
    "chats": ["""UPDATE "LiveChatTranscript" SET "EndTime" = '2027-01-01 00:00:00.000000'
        WHERE "Id" = (SELECT MIN("Id") FROM "LiveChatTranscript")"""],
    "article-facts": ["""UPDATE latent_article_fact SET answer = 'forty-two parsecs' WHERE position = 0"""],
    "policy-cases": ["""UPDATE latent_case_policy
        SET channel = CASE channel WHEN 'chat' THEN 'email' ELSE 'chat' END"""],
    "chronology": ["""UPDATE "Account" SET "CreatedDate" = '2025-12-31 00:00:00.000000'
        WHERE "Id" = (SELECT MIN("AccountId") FROM "Case")"""],
    "picklists": [f"""UPDATE "Case" SET "Priority" = 'Urgent' WHERE "Id" = {FIRST_CASE}"""],
    "dates": ["""UPDATE "Account" SET "CreatedDate" = '2031-01-01 00:00:00.000000'
        WHERE "Id" = (SELECT MIN("Id") FROM "Account")"""],
    "product-facts": ["""UPDATE "Product2" SET "Description" = REPLACE("Description", 'Weight: ', 'Weight: 9')
        WHERE "Id" = (SELECT MIN("Id") FROM "Product2")"""],
    "case-facts": [f"""UPDATE "Case" SET "Description" = "Description" || ' Order 99999999.'
        WHERE "Id" = {FIRST_CASE}"""],
    "grammar": [f"""UPDATE "Case" SET "Description" = "Description" || ' The Tempo Training Shorts is torn.'
        WHERE "Id" = {FIRST_CASE}"""],
    "email-quotes": ["""UPDATE "EmailMessage"
        SET "TextBody" = REPLACE("TextBody", char(10) || '> ', char(10) || '> not ')
        WHERE "Id" = (SELECT MIN("Id") FROM "EmailMessage" WHERE "TextBody" LIKE '%wrote:%')"""],
    "chat-transfers": ["""UPDATE "LiveChatTranscript"
        SET "Body" = REPLACE("Body", 'Chat transferred from ', 'Chat transferred from Someone Else and ')
        WHERE "Id" = (SELECT MIN("Id") FROM "LiveChatTranscript" WHERE "Body" LIKE '%Chat transferred from%')"""],
    "last-modified": [f"""UPDATE "Case" SET "LastModifiedDate" = datetime("LastModifiedDate", '+1 second')
        WHERE "Id" = {FIRST_CASE}"""],
    "case-parties": [f"""UPDATE "Case"
        SET "ContactId" = (SELECT MAX("Id") FROM "Contact" WHERE "AccountId" != "Case"."AccountId")
        WHERE "Id" = {FIRST_CASE}"""],
}  # fmt: skip


def test_every_rule_has_a_plant() -> None:
    assert set(PLANTS) == set(RULES)


@pytest.mark.parametrize("rule", sorted(PLANTS))
def test_check_catches_a_planted_violation(rule: str, tiny_org_url: str, tmp_path: Path) -> None:
    copy = tmp_path / "broken.db"
    source = sqlite_path(tiny_org_url)
    assert source is not None
    shutil.copy(source, copy)
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:
        for statement in PLANTS[rule]:
            assert connection.execute(text(statement)).rowcount >= 1
    found = check_org(engine)
    engine.dispose()
    assert found, rule
    assert {v.rule for v in found} >= {rule}
    assert all(re.match(r"^\[[a-z-]+\] ", str(v)) for v in found)
