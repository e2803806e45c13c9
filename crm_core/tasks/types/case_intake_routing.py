"""case_intake_routing (manager, workflow): a customer reports a problem with an order; create
the case (customer, order item, issue) and route it to the agent the routing policy picks."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, func, select

from crm_core.org.schema import Case, Contact, Issue, Order, OrderItem, User
from crm_core.scoring.state import StateDiff
from crm_core.tasks import query_oracle as q
from crm_core.tasks.reference import TiedAnswerError
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import OracleError, ToolSession
from crm_core.tasks.types.case_routing import REQUIRED as ROUTING_POLICY
from crm_core.tasks.types.case_routing import case_routing, cases_by_owner, closed_cases_by, new_case_text, route
from crm_core.tasks.types.case_routing import solve_with_queries as route_with_queries
from crm_core.tasks.types.case_routing import solve_with_tools as route_with_tools
from crm_core.tasks.workflow import (
    DONE,
    created,
    find,
    find_order_line,
    lines_once_per_order,
    no_answers,
    order_line,
    owner_assignment,
    query_order_line,
    select_one,
)

PHRASINGS = (
    "New {origin} case from {email} about the {product} of order {order} ({issue}).\nSubject: {subject}\n"
    "Description: {description}\nCreate the case and route it.",
    "A customer ({email}) contacted us by {origin}. Order {order}, product {product}, issue {issue}.\n"
    "Subject: {subject}\nDescription: {description}\nOpen a case for it with the right agent.",
    "Please log this {origin} request as a case and assign it per the routing policy. Customer {email}, "
    "order {order}, {product}, issue category {issue}.\nSubject: {subject}\nDescription: {description}",
    "Case intake ({origin}). From: {email}. Order {order}, item {product}. Issue: {issue}.\n"
    "Subject: {subject}\nDescription: {description}",
    "Create a case: customer {email}, channel {origin}, order {order} / {product}, issue {issue}.\n"
    "Subject: {subject}\nDescription: {description}\nRoute it to the best agent.",
    "Incoming by {origin} from {email}:\nSubject: {subject}\nDescription: {description}\nIt is about the "
    "{product} on order {order}; issue {issue}. Record the case and route it.",
    "Open and route a new case. Issue {issue}; order {order}; product {product}; customer {email}; came in "
    "by {origin}.\nSubject: {subject}\nDescription: {description}",
    "{email} reached out by {origin} about order {order} ({product}), a {issue} problem.\nSubject: {subject}\n"
    "Description: {description}\nPlease create the case and give it to the right agent.",
)
REQUIRED = (
    "A new case gets the given Subject, Description and Origin, the customer's contact (by Email) and "
    "that contact's account, the order item (the product's line on the order, by OrderNumber) in "
    "OrderItemId__c, the issue (Issue__c by Name) in IssueId__c, and Status 'New'; set no other field. "
    + ROUTING_POLICY.replace("Answer with the agent's User Id only.", "Make the picked agent the case's owner.")
)
ORIGINS = ("Email", "Phone", "Web", "Chat")


def _facts(conn: Connection, p: dict[str, Any]) -> dict[str, str]:
    """The ids behind an instance's names, over SQLAlchemy."""
    contact, account = conn.execute(select(Contact.Id, Contact.AccountId).where(Contact.Email == p["email"])).one()
    item, product = order_line(conn, p["order"], p["product"])
    issue = conn.execute(select(Issue.Id).where(Issue.Name == p["issue"])).scalar_one()
    return {"contact": contact, "account": account, "item": item, "product": product, "issue": issue}


def _expected(p: dict[str, Any], facts: dict[str, str], owner: str) -> StateDiff:
    case = created(
        "Case",
        Subject=p["subject"],
        Description=p["description"],
        Origin=p["origin"],
        Status="New",
        ContactId=facts["contact"],
        AccountId=facts["account"],
        OrderItemId__c=facts["item"],
        IssueId__c=facts["issue"],
        OwnerId=owner,
    )
    history = created("CaseHistory__c", CaseId__c="new:Case", Field__c="Case Creation")
    return StateDiff(created=[case, history, owner_assignment("new:Case", None, owner)])


def reference(conn: Connection, p: dict[str, Any]) -> str:
    """The change in words: the new case's owner."""
    facts = _facts(conn, p)
    owner = case_routing(conn, facts["issue"], facts["product"])
    return _answer(p, conn.execute(select(User.Name).where(User.Id == owner)).scalar_one())


def _answer(p: dict[str, Any], agent: str) -> str:
    return f"new case of {p['email']} on order {p['order']} routed to {agent}"


def expected_diff(conn: Connection, p: dict[str, Any]) -> StateDiff:
    """The new case (owner by the routing policy) and the two history rows the org writes with it."""
    facts = _facts(conn, p)
    return _expected(p, facts, case_routing(conn, facts["issue"], facts["product"]))


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """An order line a contact of the ordering account bought (the product once on the order), with an issue."""
    single = lines_once_per_order()
    emails = dict(
        conn.execute(
            select(Contact.Email, func.count()).where(Contact.Email.is_not(None)).group_by(Contact.Email)
        ).all()
    )
    lines = sorted(
        (email, number, product, item, contact, account)
        for email, number, product, item, contact, account in conn.execute(
            select(Contact.Email, Order.OrderNumber, OrderItem.Product2Id, OrderItem.Id, Contact.Id, Contact.AccountId)
            .join(Order, Order.Id == OrderItem.OrderId)
            .join(Contact, Contact.AccountId == Order.AccountId)
            .join(single, (single.c.OrderId == OrderItem.OrderId) & (single.c.Product2Id == OrderItem.Product2Id))
        )
        if emails.get(email) == 1 and product in view.products
    )
    agents = [row[0] for row in conn.execute(select(User.Id).order_by(User.Id)).all()]
    open_cases = cases_by_owner(conn, closed=False)
    by_issue = closed_cases_by(conn, Case.IssueId__c)
    by_product = closed_cases_by(conn, OrderItem.Product2Id)
    issues = sorted(view.issues)

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        email, number, product, item, contact, account = rng.choice(lines)
        issue = rng.choice(issues)
        try:
            owner = route(agents, by_issue[issue], by_product[product], open_cases)
        except TiedAnswerError:
            return None
        if owner is None:
            return None
        subject, description = new_case_text(rng, view.products[product], view.issues[issue], number)
        params = {
            "email": email,
            "order": number,
            "product": view.products[product],
            "issue": view.issues[issue],
            "origin": rng.choice(ORIGINS),
            "subject": subject,
            "description": description,
        }
        facts = {"contact": contact, "account": account, "item": item, "product": product, "issue": issue}
        name = conn.execute(select(User.Name).where(User.Id == owner)).scalar_one()
        query = fill(rng.choice(PHRASINGS), **params)
        return Draft(query, _answer(params, name), params, expected_diff=_expected(params, facts, owner))

    return sample


def _fields(p: dict[str, Any], contact: dict[str, Any], item: str, issue: str, owner: str) -> dict[str, Any]:
    return {
        "Subject": p["subject"],
        "Description": p["description"],
        "Origin": p["origin"],
        "Status": "New",
        "ContactId": contact["Id"],
        "AccountId": contact["AccountId"],
        "OrderItemId__c": item,
        "IssueId__c": issue,
        "OwnerId": owner,
    }


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str:
    """Contact, order line and issue by get_records and get_issues; the agent by the routing tools."""
    contact = find(s, "Contact", Email=p["email"])
    item = find_order_line(s, p["order"], p["product"])
    issues = [issue["Id"] for issue in s.call("get_issues") if issue["Name"] == p["issue"]]
    if len(issues) != 1:
        raise OracleError(f"expected one issue named {p['issue']!r}, got {issues}")
    owner = route_with_tools(s, {"issue_id": issues[0], "product_id": item["Product2Id"]})
    s.call("create_record", object="Case", fields=_fields(p, contact, item["Id"], issues[0], owner))
    return DONE


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str:
    """Contact, order line and issue by SOQL; the agent by grouped SOQL counts."""
    contact = select_one(call, f"SELECT Id, AccountId FROM Contact WHERE Email = {q.quoted(p['email'])}")
    item = query_order_line(call, p["order"], p["product"])
    issue = select_one(call, f"SELECT Id FROM Issue__c WHERE Name = {q.quoted(p['issue'])}")
    owner = route_with_queries(call, {"issue_id": issue["Id"], "product_id": item["Product2Id"]})
    call("create_record", object="Case", fields=_fields(p, contact, item["Id"], issue["Id"], owner))
    return DONE


SPEC = TaskSpec(
    name="case_intake_routing",
    order=100,
    persona="manager",
    metric="state_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=no_answers,
    suite="workflow",
    expected_diff=expected_diff,
)
