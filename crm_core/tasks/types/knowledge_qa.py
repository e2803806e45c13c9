"""knowledge_qa (service agent): a customer's question answered from the knowledge articles.
The ground truth is the planted `latent_article_fact`; answers are scored by token F1."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import LatentArticleFact
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, distinct_values, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession

PHRASINGS = (
    "{question}",
    "A customer asks: {question}",
    "Customer question: {question}",
    "Can you help me answer this? {question}",
    "I'm on a chat with a customer who wants to know: {question}",
    "Quick question from a customer: {question}",
    "Please look this up for a customer: {question}",
    "A shopper emailed us: {question}",
    "Help me answer a customer: {question}",
)

REQUIRED = "Answer the question from the knowledge articles, with the exact short answer they state."


def knowledge_answer(conn: Connection, article_id: str, position: int) -> str:
    """The answer the article states to its `position`-th planted question."""
    row = conn.execute(
        select(LatentArticleFact.answer).where(
            LatentArticleFact.article_id == article_id, LatentArticleFact.position == position
        )
    ).first()
    if row is None:
        raise LookupError(f"article {article_id} has no fact {position}")
    return row[0]


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return knowledge_answer(conn, p["article_id"], p["position"])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A planted question whose answer appears in its article's body."""

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        article, position, question, answer = rng.choice(view.facts)
        start = view.bodies.get(article, "").find(answer)
        if start < 0:
            return None
        query = fill(rng.choice(PHRASINGS), question=question)
        params = {"article_id": article, "position": position, "answer_start": start, "answer_end": start + len(answer)}
        return Draft(query, answer, params)

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Read the article (no task tool reads an article by Id, so this one step is SOQL)."""
    soql = f"SELECT Id, Title, FAQ_Answer__c FROM Knowledge__kav WHERE Id = '{p['article_id']}'"
    records = s.call("issue_soql_query", query=soql)
    body = records[0]["FAQ_Answer__c"] if records else ""
    return body[p["answer_start"] : p["answer_end"]]


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Select the article's body and cut the answer's span."""
    found = q.soql(call, f"SELECT Id, FAQ_Answer__c FROM Knowledge__kav WHERE Id = '{p['article_id']}'")
    return found[0]["FAQ_Answer__c"][p["answer_start"] : p["answer_end"]] if found else None


def answer_pool(conn: Connection) -> list[str]:
    """Every planted knowledge answer."""
    return distinct_values(conn, select(LatentArticleFact.answer))


SPEC = TaskSpec(
    name="knowledge_qa",
    order=90,
    persona="service_agent",
    metric="fuzzy_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=answer_pool,
)
