"""case_reopen_routing (manager, workflow): a customer reopens a closed case; set it back to
Working and route it to the agent the routing policy picks (the org records the transfer)."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Case, OrderItem, User
from crm_core.scoring.state import StateDiff
from crm_core.tasks import query_oracle as q
from crm_core.tasks.reference import CLOSED, TiedAnswerError
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession
from crm_core.tasks.types.case_routing import REQUIRED as ROUTING_POLICY
from crm_core.tasks.types.case_routing import case_routing, cases_by_owner, closed_cases_by, route
from crm_core.tasks.types.case_routing import solve_with_queries as route_with_queries
from crm_core.tasks.types.case_routing import solve_with_tools as route_with_tools
from crm_core.tasks.workflow import DONE, find, no_answers, owner_assignment, select_one, updated

PHRASINGS = (
    "The customer of case {case} wrote back: the problem is not solved. Reopen the case and route it.",
    "Case {case} has to be reopened. Set it to Working and give it to the right agent.",
    "Please reopen case {case} and assign it under our routing policy.",
    "A closed case came back: {case}. Reopen it and route it to the best agent.",
    "Reopen {case}: the customer says the issue is back. Route it as the policy says.",
    "Case number {case} is not resolved after all. Put it back to Working with the agent the policy picks.",
    "The customer on case {case} is still having trouble. Reopen it and route it properly.",
    "Handle a reopened case: {case}. Status back to Working, owner by the routing policy.",
)
REQUIRED = "Reopening a case sets its Status to 'Working'; then route it. " + ROUTING_POLICY.replace(
    "Answer with the agent's User Id only.", "Make the picked agent the case's owner."
)


def _case(conn: Connection, number: str) -> Any:
    return conn.execute(
        select(Case.Id, Case.OwnerId, Case.IssueId__c, OrderItem.Product2Id)
        .join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
        .where(Case.CaseNumber == number)
    ).one()


def reference(conn: Connection, p: dict[str, Any]) -> str:
    """The change in words: the case and its new owner."""
    case = _case(conn, p["case"])
    owner = case_routing(conn, case.IssueId__c, case.Product2Id)
    name = conn.execute(select(User.Name).where(User.Id == owner)).scalar_one()
    return f"case {p['case']} reopened and routed to {name}"


def _expected(case: Any, owner: str) -> StateDiff:
    if owner == case.OwnerId:
        return StateDiff(updated=[updated("Case", case.Id, Status="Working")])
    return StateDiff(
        updated=[updated("Case", case.Id, Status="Working", OwnerId=owner)],
        created=[owner_assignment(case.Id, case.OwnerId, owner)],
    )


def expected_diff(conn: Connection, p: dict[str, Any]) -> StateDiff:
    """Status Working; a new owner (and its Owner Assignment row) when the policy picks another agent."""
    case = _case(conn, p["case"])
    return _expected(case, case_routing(conn, case.IssueId__c, case.Product2Id))


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A closed case on an order item with an issue, whose routing has no tie."""
    cases = sorted(
        conn.execute(
            select(Case.CaseNumber, Case.Id, Case.OwnerId, Case.IssueId__c, OrderItem.Product2Id)
            .join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
            .where(Case.Status == CLOSED, Case.IssueId__c.is_not(None))
        ).all()
    )
    agents = [row[0] for row in conn.execute(select(User.Id).order_by(User.Id)).all()]
    open_cases = cases_by_owner(conn, closed=False)
    by_issue = closed_cases_by(conn, Case.IssueId__c)
    by_product = closed_cases_by(conn, OrderItem.Product2Id)

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        case = rng.choice(cases)
        try:
            owner = route(agents, by_issue[case.IssueId__c], by_product[case.Product2Id], open_cases)
        except TiedAnswerError:
            return None
        if owner is None:
            return None
        params = {"case": case.CaseNumber}
        name = conn.execute(select(User.Name).where(User.Id == owner)).scalar_one()
        query = fill(rng.choice(PHRASINGS), case=case.CaseNumber)
        answer = f"case {case.CaseNumber} reopened and routed to {name}"
        return Draft(query, answer, params, expected_diff=_expected(case, owner))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str:
    """The case and its order item by get_records, the agent by the routing tools, then the update."""
    case = find(s, "Case", CaseNumber=p["case"])
    item = find(s, "OrderItem", Id=case["OrderItemId__c"])
    owner = route_with_tools(s, {"issue_id": case["IssueId__c"], "product_id": item["Product2Id"]})
    s.call("update_record", object="Case", id=case["Id"], fields={"Status": "Working", "OwnerId": owner})
    return DONE


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str:
    """The case by SOQL, the agent by grouped SOQL counts, then the update."""
    case = select_one(
        call, f"SELECT Id, IssueId__c, OrderItemId__r.Product2Id FROM Case WHERE CaseNumber = {q.quoted(p['case'])}"
    )
    product = case["OrderItemId__r"]["Product2Id"]
    owner = route_with_queries(call, {"issue_id": case["IssueId__c"], "product_id": product})
    call("update_record", object="Case", id=case["Id"], fields={"Status": "Working", "OwnerId": owner})
    return DONE


SPEC = TaskSpec(
    name="case_reopen_routing",
    order=150,
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
