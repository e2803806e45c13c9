"""Verify the invariants of a generated org (issue 2) and report every violation.

Most rules are single SQL queries; the audit-trail rules walk each case's history rows in
order. At most :data:`MAX_PER_RULE` violations are listed per rule, then a count of the rest.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, Select, and_, func, not_, or_, select

from crm_core.org.catalog import END, PRODUCT_KINDS, START, kind_of
from crm_core.org.ids import KEY_PREFIXES, is_valid_id
from crm_core.org.schema import (
    OBJECT_MODELS,
    Account,
    Case,
    CaseHistory,
    Contact,
    EmailMessage,
    Knowledge,
    LatentArticleFact,
    LatentCasePolicy,
    LiveChatTranscript,
    Order,
    OrderItem,
    OrgInfo,
    PricebookEntry,
    Product2,
    User,
)

MAX_PER_RULE = 50
_FIELD_RANK = {"Case Creation": 0, "Owner Assignment": 1, "Case Closed": 2}


class Violation(BaseModel):
    """One broken invariant: which rule, on which record, and what is wrong."""

    rule: str
    object: str
    record_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.object} {self.record_id}" if self.record_id else self.object
        return f"[{self.rule}] {where}: {self.message}"


def check_org(engine: Engine, rules: Iterable[str] | None = None) -> list[Violation]:
    """Every violation of the org's invariants (empty when the org is consistent); `rules`
    limits the check to the named rules."""
    wanted = set(RULES if rules is None else rules)
    if unknown := wanted - set(RULES):
        raise ValueError(f"unknown rules: {', '.join(sorted(unknown))}")
    found: list[Violation] = []
    with engine.connect() as conn:
        for rule in _RULES:
            name = _rule_name(rule)
            if name in wanted:
                found += _capped(name, rule(conn))
    return found


def _rule_name(rule: Callable[..., object]) -> str:
    return rule.__name__.removeprefix("_rule_").replace("_", "-")


def _capped(rule: str, violations: Iterable[Violation]) -> list[Violation]:
    listed = list(itertools.islice(violations, MAX_PER_RULE + 1))
    if len(listed) <= MAX_PER_RULE:
        return listed
    rest = 1 + sum(1 for _ in violations)
    return [*listed[:MAX_PER_RULE], Violation(rule=rule, object="*", record_id=None, message=f"{rest} more")]


def _v(rule: str, obj: str, record_id: str | None, message: str) -> Violation:
    return Violation(rule=rule, object=obj, record_id=record_id, message=message)


def _rows(conn: Connection, query: Select[Any]) -> Iterator[Any]:
    yield from conn.execution_options(yield_per=20_000).execute(query)


def _rule_ids(conn: Connection) -> Iterator[Violation]:
    """Every Id is an 18-character id with the object's key prefix and a correct case-safe suffix."""
    for model in OBJECT_MODELS:
        name = model.__tablename__
        prefix = KEY_PREFIXES[name]
        for (record_id,) in _rows(conn, select(model.__table__.c.Id)):
            if len(record_id) != 18 or not is_valid_id(record_id):
                yield _v("ids", name, record_id, "not a valid 18-character id")
            elif not record_id.startswith(prefix):
                yield _v("ids", name, record_id, f"key prefix is not {prefix}")


def _rule_references(conn: Connection) -> Iterator[Violation]:
    """Every reference field names an existing record of its target object."""
    for model in OBJECT_MODELS:
        table = model.__table__
        for column in table.c:
            for fk in column.foreign_keys:
                parent = fk.column.table.alias()
                query = (
                    select(table.c.Id, column)
                    .select_from(table.outerjoin(parent, parent.c.Id == column))
                    .where(column.is_not(None), parent.c.Id.is_(None))
                )
                for record_id, value in _rows(conn, query):
                    yield _v("references", table.name, record_id, f"{column.name} = {value} does not exist")


def _rule_dates(conn: Connection) -> Iterator[Violation]:
    """Every CreatedDate lies in the org's time span."""
    for model in OBJECT_MODELS:
        c = model.__table__.c
        query = select(c.Id, c.CreatedDate).where(or_(c.CreatedDate < START, c.CreatedDate > END))
        for record_id, created in _rows(conn, query):
            yield _v("dates", model.__tablename__, record_id, f"CreatedDate {created} outside {START}..{END}")


def _rule_last_modified(conn: Connection) -> Iterator[Violation]:
    """LastModifiedDate lies between CreatedDate and the span's end; a case's is its last history row's."""
    for model in OBJECT_MODELS:
        c = model.__table__.c
        query = select(c.Id, c.CreatedDate, c.LastModifiedDate).where(
            or_(c.LastModifiedDate < c.CreatedDate, c.LastModifiedDate > END)
        )
        for record_id, created, modified in _rows(conn, query):
            yield _v(
                "last-modified", model.__tablename__, record_id, f"LastModifiedDate {modified}, CreatedDate {created}"
            )
    case, hist = Case.__table__.c, CaseHistory.__table__.c
    last = select(hist.CaseId__c, func.max(hist.CreatedDate).label("at")).group_by(hist.CaseId__c).subquery()
    query = (
        select(case.Id, case.LastModifiedDate, last.c.at)
        .join_from(Case.__table__, last, last.c.CaseId__c == case.Id)
        .where(case.LastModifiedDate != last.c.at)
    )
    for record_id, modified, at in _rows(conn, query):
        yield _v("last-modified", "Case", record_id, f"LastModifiedDate {modified}, last history row at {at}")


def _rule_chronology(conn: Connection) -> Iterator[Violation]:
    """Customers exist before they order, and orders before the cases about their items."""
    account, order, item, case = Account.__table__.c, Order.__table__.c, OrderItem.__table__.c, Case.__table__.c
    query = (
        select(order.Id, order.CreatedDate, account.CreatedDate)
        .join_from(Order.__table__, Account.__table__, account.Id == order.AccountId)
        .where(order.CreatedDate < account.CreatedDate)
    )
    for record_id, created, account_created in _rows(conn, query):
        yield _v("chronology", "Order", record_id, f"created {created}, before its account ({account_created})")
    query = (
        select(case.Id, case.CreatedDate, order.CreatedDate)
        .join_from(Case.__table__, OrderItem.__table__, item.Id == case.OrderItemId__c)
        .join(Order.__table__, order.Id == item.OrderId)
        .where(case.CreatedDate < order.CreatedDate)
    )
    for record_id, created, order_created in _rows(conn, query):
        yield _v("chronology", "Case", record_id, f"created {created}, before its order ({order_created})")


def _rule_picklists(conn: Connection) -> Iterator[Violation]:
    """Every picklist field holds one of its values."""
    for model in OBJECT_MODELS:
        table = model.__table__
        for column in table.c:
            values = column.info.get("sf", {}).get("picklist")
            if column.info.get("sf", {}).get("type") != "picklist" or not values:
                continue
            query = select(table.c.Id, column).where(column.is_not(None), column.not_in(values))
            for record_id, value in _rows(conn, query):
                yield _v("picklists", table.name, record_id, f"{column.name} = {value!r} is not a picklist value")


def _rule_case_closure(conn: Connection) -> Iterator[Violation]:
    """ClosedDate ≥ CreatedDate, and a case has a ClosedDate exactly when its Status is 'Closed'."""
    c = Case.__table__.c
    query = select(c.Id, c.Status, c.CreatedDate, c.ClosedDate).where(
        or_(
            c.ClosedDate < c.CreatedDate,
            and_(c.Status == "Closed", c.ClosedDate.is_(None)),
            and_(c.Status != "Closed", c.ClosedDate.is_not(None)),
        )
    )
    for record_id, status, created, closed in _rows(conn, query):
        yield _v("case-closure", "Case", record_id, f"Status {status}, CreatedDate {created}, ClosedDate {closed}")


def _rule_case_parties(conn: Connection) -> Iterator[Violation]:
    """A case's contact and the order of its order item belong to the case's account."""
    case, contact = Case.__table__.c, Contact.__table__.c
    query = (
        select(case.Id, case.AccountId, contact.AccountId)
        .join_from(Case.__table__, Contact.__table__, contact.Id == case.ContactId)
        .where(contact.AccountId != case.AccountId)
    )
    for record_id, account, other in _rows(conn, query):
        yield _v("case-parties", "Case", record_id, f"contact belongs to {other}, case to {account}")
    item, order = OrderItem.__table__.c, Order.__table__.c
    query = (
        select(case.Id, case.AccountId, order.AccountId)
        .join_from(Case.__table__, OrderItem.__table__, item.Id == case.OrderItemId__c)
        .join(Order.__table__, order.Id == item.OrderId)
        .where(order.AccountId != case.AccountId)
    )
    for record_id, account, other in _rows(conn, query):
        yield _v("case-parties", "Case", record_id, f"order item was ordered by {other}, case is of {account}")


def _rule_case_history(conn: Connection) -> Iterator[Violation]:
    """Creation first; one Owner Assignment per owner, chained, the last naming OwnerId; closure iff Closed."""
    case, hist = Case.__table__.c, CaseHistory.__table__.c
    users = {row[0] for row in conn.execute(select(User.__table__.c.Id))}
    missing = select(case.Id).where(not_(select(hist.Id).where(hist.CaseId__c == case.Id).exists()))
    for (record_id,) in _rows(conn, missing):
        yield _v("case-history", "Case", record_id, "has no history")
    query = (
        select(
            hist.CaseId__c,
            hist.Field__c,
            hist.OldValue__c,
            hist.NewValue__c,
            hist.CreatedDate,
            case.OwnerId,
            case.Status,
            case.CreatedDate,
            case.ClosedDate,
        )
        .join_from(CaseHistory.__table__, Case.__table__, case.Id == hist.CaseId__c)
        .order_by(hist.CaseId__c, hist.CreatedDate)
    )
    for case_id, group in itertools.groupby(_rows(conn, query), key=lambda r: r[0]):
        rows = sorted(group, key=lambda r: (r[4], _FIELD_RANK.get(r[1], 3)))
        yield from _history_problems(case_id, rows, users)


def _history_problems(case_id: str, rows: list[Any], users: set[str]) -> Iterator[Violation]:
    def bad(message: str) -> Violation:
        return _v("case-history", "Case", case_id, message)

    _, _, _, _, _, owner, status, created, closed = rows[0]
    fields = [r[1] for r in rows]
    if fields.count("Case Creation") != 1 or fields[0] != "Case Creation":
        yield bad("history must start with exactly one 'Case Creation'")
    elif rows[0][4] != created:
        yield bad(f"'Case Creation' at {rows[0][4]}, case created {created}")
    assignments = [r for r in rows if r[1] == "Owner Assignment"]
    if not assignments:
        yield bad("no 'Owner Assignment'")
    else:
        previous = None
        for r in assignments:
            if r[2] != previous:
                yield bad(f"Owner Assignment at {r[4]} has OldValue__c {r[2]}, expected {previous}")
            if r[3] not in users:
                yield bad(f"Owner Assignment at {r[4]} names {r[3]}, not a user")
            previous = r[3]
        if previous != owner:
            yield bad(f"last Owner Assignment names {previous}, OwnerId is {owner}")
    closings = [r for r in rows if r[1] == "Case Closed"]
    if status == "Closed" and (len(closings) != 1 or closings[0][4] != closed or rows[-1][1] != "Case Closed"):
        yield bad("a Closed case needs exactly one 'Case Closed', last, at ClosedDate")
    if status != "Closed" and closings:
        yield bad(f"case is {status} but has 'Case Closed'")


def _rule_order_items(conn: Connection) -> Iterator[Violation]:
    """Order items use an entry of their order's price book, for their product, at its price."""
    item, order, entry = OrderItem.__table__.c, Order.__table__.c, PricebookEntry.__table__.c
    query = (
        select(
            item.Id,
            order.Pricebook2Id,
            entry.Pricebook2Id,
            item.Product2Id,
            entry.Product2Id,
            item.UnitPrice,
            entry.UnitPrice,
        )
        .join_from(OrderItem.__table__, Order.__table__, order.Id == item.OrderId)
        .join(PricebookEntry.__table__, entry.Id == item.PricebookEntryId)
        .where(
            or_(
                order.Pricebook2Id != entry.Pricebook2Id,
                item.Product2Id != entry.Product2Id,
                func.abs(item.UnitPrice - entry.UnitPrice) > 0.005,
            )
        )
    )
    for record_id, order_book, entry_book, product, entry_product, price, entry_price in _rows(conn, query):
        yield _v(
            "order-items",
            "OrderItem",
            record_id,
            f"order book {order_book} / entry book {entry_book}, product {product} / {entry_product}, "
            f"price {price} / {entry_price}",
        )


def _case_window(created: dt.datetime, closed: dt.datetime | None, when: dt.datetime) -> bool:
    return created <= when <= (closed or END)


def _rule_emails(conn: Connection) -> Iterator[Violation]:
    """Emails are between the case's contact and owner, dated between the case's creation and closure."""
    mail, case, contact, user = (EmailMessage.__table__.c, Case.__table__.c, Contact.__table__.c, User.__table__.c)
    query = (
        select(
            mail.Id,
            mail.FromAddress,
            mail.ToAddress,
            mail.MessageDate,
            case.CreatedDate,
            case.ClosedDate,
            contact.Email,
            user.Email,
        )
        .join_from(EmailMessage.__table__, Case.__table__, case.Id == mail.ParentId)
        .join(Contact.__table__, contact.Id == case.ContactId)
        .join(User.__table__, user.Id == case.OwnerId)
    )
    for record_id, sender, recipient, when, created, closed, customer, agent in _rows(conn, query):
        if {sender, recipient} != {customer, agent}:
            yield _v("emails", "EmailMessage", record_id, f"{sender} -> {recipient}, expected {customer} and {agent}")
        if not _case_window(created, closed, when):
            yield _v("emails", "EmailMessage", record_id, f"MessageDate {when} outside {created}..{closed or END}")


def _rule_chats(conn: Connection) -> Iterator[Violation]:
    """Chats belong to the case's account, contact and owner and fall inside the case's open time."""
    chat, case = LiveChatTranscript.__table__.c, Case.__table__.c
    query = select(
        chat.Id,
        chat.AccountId,
        chat.ContactId,
        chat.OwnerId,
        chat.StartTime,
        chat.EndTime,
        case.AccountId,
        case.ContactId,
        case.OwnerId,
        case.CreatedDate,
        case.ClosedDate,
    ).join_from(LiveChatTranscript.__table__, Case.__table__, case.Id == chat.CaseId)
    for record_id, account, contact, owner, start, end, c_account, c_contact, c_owner, created, closed in _rows(
        conn, query
    ):
        if (account, contact, owner) != (c_account, c_contact, c_owner):
            yield _v("chats", "LiveChatTranscript", record_id, "account, contact or owner differs from the case's")
        if not (_case_window(created, closed, start) and _case_window(created, closed, end) and start <= end):
            yield _v("chats", "LiveChatTranscript", record_id, f"{start}..{end} outside {created}..{closed or END}")


def _rule_policy_cases(conn: Connection) -> Iterator[Violation]:
    """Each sampled compliance case exists, names a policy article or none, and has a conversation."""
    policy, case, article = LatentCasePolicy.__table__.c, Case.__table__.c, Knowledge.__table__.c
    chat, mail = LiveChatTranscript.__table__.c, EmailMessage.__table__.c
    query = (
        select(policy.case_id, policy.violated_article_id, policy.channel, case.Id, article.Title)
        .select_from(LatentCasePolicy.__table__)
        .outerjoin(Case.__table__, case.Id == policy.case_id)
        .outerjoin(Knowledge.__table__, article.Id == policy.violated_article_id)
    )
    chats = {r[0] for r in conn.execute(select(chat.CaseId).where(chat.CaseId.in_(select(policy.case_id))))}
    mails = {r[0] for r in conn.execute(select(mail.ParentId).where(mail.ParentId.in_(select(policy.case_id))))}
    for case_id, article_id, channel, found_case, title in _rows(conn, query):
        if found_case is None:
            yield _v("policy-cases", "latent_case_policy", case_id, "case does not exist")
        if article_id is not None and not (title or "").startswith("Policy:"):
            yield _v("policy-cases", "latent_case_policy", case_id, f"{article_id} is not a policy article")
        if (channel == "chat" and case_id not in chats) or (channel == "email" and case_id not in mails):
            yield _v("policy-cases", "latent_case_policy", case_id, f"no {channel} for the case")


def _rule_article_facts(conn: Connection) -> Iterator[Violation]:
    """Every stored FAQ answer appears verbatim in its article's body."""
    fact, article = LatentArticleFact.__table__.c, Knowledge.__table__.c
    query = select(fact.article_id, fact.position, fact.answer, article.FAQ_Answer__c).outerjoin_from(
        LatentArticleFact.__table__, Knowledge.__table__, article.Id == fact.article_id
    )
    for article_id, position, answer, body in _rows(conn, query):
        if body is None or answer not in body:
            yield _v("article-facts", "Knowledge__kav", article_id, f"fact {position}: {answer!r} not in the body")


# --- consistency of free text with facts ------------------------------------------------------

_ORDER_NUMBER = re.compile(r"\b\d{8}\b")
_QUOTE_HEAD = re.compile(r"^On (.+) at (\d\d:\d\d), (.+) <(.+)> wrote:$", re.MULTILINE)
_TRANSFER_LINE = re.compile(r"^\( (?:(\d+)m )?(\d+)s \) Chat transferred from (.+) to (.+)\.$", re.MULTILINE)
_PLURAL_NOUNS = "|".join(sorted({k.noun.split()[-1] for k in PRODUCT_KINDS if k.plural}))
_SINGULAR_NOUNS = "|".join(sorted({k.noun.split()[-1] for k in PRODUCT_KINDS if not k.plural}))
_DISAGREEMENT = re.compile(
    rf"\b(?:(?:{_PLURAL_NOUNS}) (?:is|was|has|doesn't|isn't)|(?:{_SINGULAR_NOUNS}) (?:are|were|have|don't|aren't))\b"
)


def agreement_error(text: str) -> str | None:
    """The first words of `text` where a verb disagrees with a product noun ("Shorts is"), or None."""
    match = _DISAGREEMENT.search(text)
    return match.group(0) if match else None


def _facts_of(text: str, labels: dict[str, re.Pattern[str]]) -> dict[str, str]:
    found = {}
    for key, pattern in labels.items():
        if match := pattern.search(text):
            found[key] = match.group(1)
    return found


_DESCRIPTION_FACTS = {
    "weight": re.compile(r"^Weight: ([\d,]+ grams)", re.MULTILINE),
    "material": re.compile(r"^Material: (.+)\.$", re.MULTILINE),
    "warranty": re.compile(r"^Warranty: (\d+ months)", re.MULTILINE),
}
_GUIDE_FACTS = {
    "weight": re.compile(r"^\| weight \| ([\d,]+ grams)", re.MULTILINE),
    "material": re.compile(r"^\| material \| (.+?) \|$", re.MULTILINE),
    "warranty": re.compile(r"^\| warranty \| (.+?) \|$", re.MULTILINE),
}
_GUIDE_PREFIX = "Care and Fit Guide: "


def _rule_product_facts(conn: Connection) -> Iterator[Violation]:
    """A product's description and guide state the same weight, material and warranty; the weight
    lies in its kind's range, the material is one of its kind's and the warranty is its family's."""
    product, article, info = Product2.__table__.c, Knowledge.__table__.c, OrgInfo.__table__.c
    facts = conn.execute(select(info.value).where(info.key == "company_facts")).scalar_one_or_none()
    warranty = json.loads(facts)["warranty"] if facts else {}
    guides = {
        title.removeprefix(_GUIDE_PREFIX): (article_id, body or "")
        for article_id, title, body in conn.execute(
            select(article.Id, article.Title, article.FAQ_Answer__c).where(article.Title.startswith(_GUIDE_PREFIX))
        )
    }
    for product_id, name, description, family in _rows(
        conn, select(product.Id, product.Name, product.Description, product.Family).order_by(product.Id)
    ):
        try:
            kind = kind_of(name)
        except KeyError:
            yield _v("product-facts", "Product2", product_id, f"{name!r} names no kind of product")
            continue
        stated = _facts_of(description or "", _DESCRIPTION_FACTS)
        low, high = kind.spec.weight
        if "weight" in stated and not low <= int(stated["weight"].split()[0].replace(",", "")) <= high:
            yield _v("product-facts", "Product2", product_id, f"weight {stated['weight']} outside {low}..{high} g")
        if "material" in stated and stated["material"] not in kind.materials:
            yield _v("product-facts", "Product2", product_id, f"material {stated['material']!r} is not a {kind.noun}'s")
        if "warranty" in stated and warranty and stated["warranty"] != warranty.get(family):
            yield _v(
                "product-facts",
                "Product2",
                product_id,
                f"warranty {stated['warranty']}, {family} has {warranty.get(family)}",
            )
        if name in guides:
            article_id, body = guides[name]
            for key, value in _facts_of(body, _GUIDE_FACTS).items():
                if key in stated and value != stated[key]:
                    yield _v(
                        "product-facts", "Knowledge__kav", article_id, f"{key} {value}, the product says {stated[key]}"
                    )


def _rule_case_facts(conn: Connection) -> Iterator[Violation]:
    """A case's description names the product of its order item, and any order number it states is its order's."""
    case, item, order, product = Case.__table__.c, OrderItem.__table__.c, Order.__table__.c, Product2.__table__.c
    query = (
        select(case.Id, case.Description, product.Name, order.OrderNumber)
        .join_from(Case.__table__, OrderItem.__table__, item.Id == case.OrderItemId__c)
        .join(Order.__table__, order.Id == item.OrderId)
        .join(Product2.__table__, product.Id == item.Product2Id)
    )
    for case_id, description, name, number in _rows(conn, query):
        text = description or ""
        if name not in text:
            yield _v("case-facts", "Case", case_id, f"description does not name its product {name!r}")
        for stated in set(_ORDER_NUMBER.findall(text)) - {number}:
            yield _v("case-facts", "Case", case_id, f"description states order {stated}, the case's order is {number}")


def _rule_grammar(conn: Connection) -> Iterator[Violation]:
    """Verbs agree with product names ("the ... Shorts are", "the ... Jacket is") in every text field."""
    fields = (
        (Case, "Subject"),
        (Case, "Description"),
        (EmailMessage, "TextBody"),
        (LiveChatTranscript, "Body"),
        (Knowledge, "FAQ_Answer__c"),
        (Product2, "Description"),
    )
    for model, name in fields:
        table = model.__table__
        for record_id, text in _rows(conn, select(table.c.Id, table.c[name])):
            if text and (error := agreement_error(text)):
                yield _v("grammar", table.name, record_id, f"{name}: {error!r} does not agree")


def _rule_email_quotes(conn: Connection) -> Iterator[Violation]:
    """A reply quotes an earlier message of its case: the quoted lines and the date and sender above them."""
    mail = EmailMessage.__table__.c
    query = select(mail.ParentId, mail.Id, mail.MessageDate, mail.FromAddress, mail.TextBody).order_by(
        mail.ParentId, mail.MessageDate, mail.Id
    )
    for _, thread in itertools.groupby(_rows(conn, query), key=lambda r: r[0]):
        earlier: list[tuple[dt.datetime, str, str]] = []
        for _, record_id, when, sender, body in thread:
            text = body or ""
            head = _QUOTE_HEAD.search(text)
            if head:
                quoted = "\n".join(
                    line[2:] if line.startswith("> ") else line[1:]
                    for line in text[head.end() :].splitlines()
                    if line.startswith(">")
                )
                stamp = f"{head.group(1)} at {head.group(2)}"
                source = [
                    (w, a, b)
                    for w, a, b in earlier
                    if a == head.group(4) and f"{w:%a, %b} {w.day}, {w:%Y} at {w:%H:%M}" == stamp
                ]
                if not source:
                    yield _v(
                        "email-quotes",
                        "EmailMessage",
                        record_id,
                        f"quotes a message of {head.group(4)} on {stamp} the thread does not have",
                    )
                elif quoted.strip() not in source[-1][2]:
                    yield _v(
                        "email-quotes", "EmailMessage", record_id, "quoted text differs from the message it quotes"
                    )
                own = text[: head.start()].rstrip()
            else:
                own = text
                if any(line.startswith(">") for line in text.splitlines()):
                    yield _v("email-quotes", "EmailMessage", record_id, "quoted lines without an 'On ... wrote:' line")
            earlier.append((_naive(when), sender, own))


def _naive(value: dt.datetime | str) -> dt.datetime:
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when.replace(tzinfo=None)


def _rule_chat_transfers(conn: Connection) -> Iterator[Violation]:
    """Each "Chat transferred from A to B." line is a transfer A -> B of the case history, at that second."""
    chat, hist, user = LiveChatTranscript.__table__.c, CaseHistory.__table__.c, User.__table__.c
    names = {record_id: name for record_id, name in conn.execute(select(user.Id, user.Name))}
    transfers: dict[str, set[tuple[str, str, dt.datetime]]] = {}
    query = (
        select(hist.CaseId__c, hist.OldValue__c, hist.NewValue__c, hist.CreatedDate)
        .where(hist.Field__c == "Owner Assignment", hist.OldValue__c.is_not(None))
        .where(hist.CaseId__c.in_(select(chat.CaseId)))
    )
    for case_id, old, new, when in _rows(conn, query):
        transfers.setdefault(case_id, set()).add((names.get(old, old), names.get(new, new), _naive(when)))
    for record_id, case_id, start, body in _rows(conn, select(chat.Id, chat.CaseId, chat.StartTime, chat.Body)):
        for minutes, seconds, old, new in _TRANSFER_LINE.findall(body or ""):
            at = _naive(start) + dt.timedelta(minutes=int(minutes or 0), seconds=int(seconds))
            if (old, new, at) not in transfers.get(case_id, set()):
                yield _v(
                    "chat-transfers",
                    "LiveChatTranscript",
                    record_id,
                    f"no transfer {old} -> {new} at {at} in the case history",
                )


_RULES = (
    _rule_ids,
    _rule_references,
    _rule_dates,
    _rule_last_modified,
    _rule_chronology,
    _rule_picklists,
    _rule_case_closure,
    _rule_case_parties,
    _rule_case_history,
    _rule_order_items,
    _rule_emails,
    _rule_chats,
    _rule_policy_cases,
    _rule_article_facts,
    _rule_product_facts,
    _rule_case_facts,
    _rule_grammar,
    _rule_email_quotes,
    _rule_chat_transfers,
)
RULES: tuple[str, ...] = tuple(_rule_name(r) for r in _RULES)
"""The names of the rules, as they appear in :attr:`Violation.rule`."""
CONSISTENCY_RULES: tuple[str, ...] = (
    "article-facts",
    "product-facts",
    "case-facts",
    "grammar",
    "email-quotes",
    "chat-transfers",
)
"""The rules that compare the org's free text with its facts (shown by the realism report)."""
