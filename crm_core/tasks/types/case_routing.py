"""case_routing (manager): which agent a new case should be routed to, by the routing policy."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import InstrumentedAttribute

from crm_core.org.catalog import ISSUES
from crm_core.org.schema import Case, OrderItem, User
from crm_core.org.text import description, subject
from crm_core.tasks import query_oracle as q
from crm_core.tasks.reference import CLOSED, TiedAnswerError
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill, user_ids
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, single

OPEN_STATUSES = ["New", "Working", "Escalated"]

PHRASINGS = (
    "A new case just came in.\nSubject: {subject}\nDescription: {description}\nWhich agent should it be routed to?",
    "Route this new case to the best agent.\nSubject: {subject}\nDescription: {description}",
    "New case:\nSubject: {subject}\nDescription: {description}\nWho is the best agent to take it?",
    "Please assign the following case under our routing policy.\nSubject: {subject}\nDescription: {description}",
    "Which agent should handle this incoming case?\nSubject: {subject}\nDescription: {description}",
    "A customer opened a case.\nSubject: {subject}\nDescription: {description}\nFind the right agent for it.",
    "Subject: {subject}\nDescription: {description}\nWho should this new case be routed to?",
    "Incoming case to route.\nSubject: {subject}\nDescription: {description}\nPick the agent.",
    "Help me route a new case.\nSubject: {subject}\nDescription: {description}\nWhich agent is best "
    "placed to resolve it?",
)

REQUIRED = (
    "Routing policy: route a new case to the agent with the most Closed cases of the same issue "
    "(IssueId__c). If several agents tie, prefer the one with the most Closed cases on order items of the "
    "same product; if still tied, the one with the fewest cases whose Status is not 'Closed'. "
    "Answer with the agent's User Id only."
)


# --- reference ---------------------------------------------------------------------------------


def _lexicographic_best(keys: Iterable[str], criteria: list[Callable[[str], float]]) -> str | None:
    """Narrow `keys` criterion by criterion (each maximized); ties after the last raise."""
    candidates = list(keys)
    for criterion in criteria:
        if len(candidates) <= 1:
            break
        scores = {key: criterion(key) for key in candidates}
        best = max(scores.values())
        candidates = [key for key in candidates if scores[key] == best]
    if not candidates:
        return None
    if len(candidates) > 1:
        raise TiedAnswerError(f"{len(candidates)} agents tied after every routing rule")
    return candidates[0]


def cases_by_owner(
    conn: Connection, *, closed: bool, issue_id: str | None = None, product_id: str | None = None
) -> Counter[str]:
    """Cases per owner: Closed (or not Closed) ones, optionally of one issue or on one product's order items."""
    statement = select(Case.OwnerId, func.count()).where(Case.Status == CLOSED if closed else Case.Status != CLOSED)
    if issue_id is not None:
        statement = statement.where(Case.IssueId__c == issue_id)
    if product_id is not None:
        statement = statement.join(OrderItem, OrderItem.Id == Case.OrderItemId__c).where(
            OrderItem.Product2Id == product_id
        )
    return Counter(dict(conn.execute(statement.group_by(Case.OwnerId).order_by(Case.OwnerId)).all()))


def closed_cases_by(conn: Connection, key: InstrumentedAttribute[Any]) -> defaultdict[str, Counter[str]]:
    """Closed cases per owner for every value of `key` (Case.IssueId__c or OrderItem.Product2Id), in one query."""
    statement = select(key, Case.OwnerId, func.count()).where(Case.Status == CLOSED)
    if key.class_ is OrderItem:
        statement = statement.join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for value, owner, count in conn.execute(statement.group_by(key, Case.OwnerId)):
        counts[value][owner] = count
    return counts


def route(
    agents: Iterable[str], by_issue: Counter[str], by_product: Counter[str], open_cases: Counter[str]
) -> str | None:
    """The routing policy over precomputed counts (see :func:`case_routing`)."""
    if not by_issue:
        raise TiedAnswerError("no agent has closed a case of this issue")
    return _lexicographic_best(
        sorted(agents), [lambda a: by_issue[a], lambda a: by_product[a], lambda a: -open_cases[a]]
    )


def case_routing(conn: Connection, issue_id: str, product_id: str) -> str | None:
    """Agent with most Closed cases of the issue; tie: most Closed cases on order items of the
    product; tie: fewest cases not Closed."""
    agents = [row[0] for row in conn.execute(select(User.Id).order_by(User.Id)).all()]
    return route(
        agents,
        cases_by_owner(conn, closed=True, issue_id=issue_id),
        cases_by_owner(conn, closed=True, product_id=product_id),
        cases_by_owner(conn, closed=False),
    )


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return case_routing(conn, p["issue_id"], p["product_id"])


# --- sampler -----------------------------------------------------------------------------------


def new_case_text(rng: random.Random, product: str, issue_name: str, order_number: str) -> tuple[str, str]:
    """Subject and description of a new case, from the org generator's templates when available."""
    try:
        key = next(kind.key for kind in ISSUES if kind.name == issue_name)
        return subject(rng, product, key), description(rng, product, key, rng.randrange(3), order_number)
    except (ImportError, StopIteration, KeyError):
        return f"Problem with {product}", f"My {product} has a problem: {issue_name}. Order {order_number}."


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A case seen in the org (issue, product, order number) becomes a new case to route."""
    pairs = [pair for pair in view.routing_pairs if pair[1] in view.products]
    agents = [row[0] for row in conn.execute(select(User.Id).order_by(User.Id)).all()]
    open_cases = cases_by_owner(conn, closed=False)
    by_issue = closed_cases_by(conn, Case.IssueId__c)
    by_product = closed_cases_by(conn, OrderItem.Product2Id)
    solved: dict[tuple[str, str], str | None] = {}

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        issue, product, order_number = rng.choice(pairs)
        if (issue, product) not in solved:
            try:
                solved[issue, product] = route(agents, by_issue[issue], by_product[product], open_cases)
            except TiedAnswerError:
                solved[issue, product] = None
        answer = solved[issue, product]
        if answer is None:
            return None
        subject_line, text = new_case_text(rng, view.products[product], view.issues[issue], order_number)
        query = fill(rng.choice(PHRASINGS), subject=subject_line, description=text)
        return Draft(query, answer, {"issue_id": issue, "product_id": product})

    return sample


# --- tool solver -------------------------------------------------------------------------------


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Narrow the agents rule by rule with the case tools."""
    issue_cases = s.call("get_cases", issue_ids=[p["issue_id"]], statuses=["Closed"])
    tied = s.call("get_agents_with_max_cases", subset_cases=issue_cases)
    if len(tied) > 1:
        items = s.call("get_order_item_ids_by_product", product_id=p["product_id"])
        product_cases = s.call("get_cases", order_item_ids=items, statuses=["Closed"], agent_ids=tied) if items else []
        if product_cases:  # agents absent from the list have 0 and lose to the ones present
            tied = s.call("get_agents_with_max_cases", subset_cases=product_cases)
    if len(tied) > 1:
        open_cases = s.call("get_cases", agent_ids=tied, statuses=OPEN_STATUSES)
        owners = {case["OwnerId"] for case in open_cases}
        without_open = [agent for agent in tied if agent not in owners]  # zero open cases: the fewest
        tied = without_open or s.call("get_agents_with_min_cases", subset_cases=open_cases)
    return single(tied)


# --- query solver ------------------------------------------------------------------------------


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Narrow the agents rule by rule with grouped SOQL counts."""

    def owner_counts(where: str) -> dict[str, int]:
        rows = q.soql(call, f"SELECT OwnerId, COUNT(Id) cases FROM Case WHERE {where} GROUP BY OwnerId")
        return {row["OwnerId"]: row["cases"] for row in rows}

    by_issue = owner_counts(f"Status = 'Closed' AND IssueId__c = '{p['issue_id']}'")
    top = max(by_issue.values())
    tied = sorted(agent for agent, count in by_issue.items() if count == top)
    if len(tied) > 1:
        by_product = owner_counts(
            f"Status = 'Closed' AND OrderItemId__r.Product2Id = '{p['product_id']}' AND OwnerId IN {q.in_list(tied)}"
        )
        best = max((by_product.get(agent, 0) for agent in tied), default=0)
        tied = [agent for agent in tied if by_product.get(agent, 0) == best]
    if len(tied) > 1:
        open_cases = owner_counts(f"Status != 'Closed' AND OwnerId IN {q.in_list(tied)}")
        fewest = min(open_cases.get(agent, 0) for agent in tied)
        tied = [agent for agent in tied if open_cases.get(agent, 0) == fewest]
    return tied[0] if len(tied) == 1 else None


SPEC = TaskSpec(
    name="case_routing",
    order=10,
    persona="manager",
    metric="exact_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=user_ids,
)
