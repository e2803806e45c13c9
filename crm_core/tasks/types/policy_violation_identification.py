"""policy_violation_identification (service agent): which policy article the agent on a case
breached, if any. The ground truth is the planted `latent_case_policy` record."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Knowledge, LatentCasePolicy
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, distinct_values, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, single

PHRASINGS = (
    "Did the agent on case {case_id} breach any company policy? If so, which policy article?",
    "Review case {case_id}: which policy, if any, did the service agent violate?",
    "Check the emails and chats of case {case_id} for a policy violation by our agent. Which article was breached?",
    "Quality audit of case {case_id}: identify the policy article the agent broke, if any.",
    "In case {case_id}, did our agent follow every policy? Name the breached policy article if not.",
    "Which knowledge policy did the agent violate while handling case {case_id}, if any?",
    "Audit case {case_id} and tell me which policy the agent broke (or None).",
    "Case {case_id} was flagged for review. Which policy article, if any, did the agent breach?",
    "Look at the conversation on case {case_id}: was a policy violated? Give the policy article.",
)

REQUIRED = (
    "Read the case's emails and chat transcripts and check the service agent's answers against the "
    "company's policy articles (Knowledge__kav). Answer with the Id of the policy article the agent "
    "breached, or None if the agent followed every policy."
)


def policy_violation(conn: Connection, case_id: str) -> str | None:
    """The policy article planted as breached in the case (None when the case is compliant)."""
    row = conn.execute(select(LatentCasePolicy.violated_article_id).where(LatentCasePolicy.case_id == case_id)).first()
    if row is None:
        raise LookupError(f"case {case_id} was not sampled for policy compliance")
    return row[0]


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return policy_violation(conn, p["case_id"])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A case sampled for policy compliance (breached or not, as planted)."""

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        case_id, article = rng.choice(view.policy_cases)
        query = fill(rng.choice(PHRASINGS), case_id=case_id)
        title = view.titles.get(article) if article else None
        return Draft(query, article, {"case_id": case_id, "policy_title": title})

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Read the conversation, then find the breached policy's article by its title."""
    s.call("get_email_messages_by_case_id", case_id=p["case_id"])
    s.call("get_livechat_transcript_by_case_id", case_id=p["case_id"])
    title = p.get("policy_title")
    if not title:
        return None
    phrase = '"' + title.split(":", 1)[-1].strip() + '"'  # a quoted phrase: words like "Not" stay words
    found = [a["Id"] for a in s.call("search_knowledge_articles", search_term=phrase) if a["Title"] == title]
    return single(found)


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Read the conversation, then select the breached policy's article by its title."""
    q.soql(call, f"SELECT Subject, TextBody FROM EmailMessage WHERE ParentId = '{p['case_id']}' ORDER BY MessageDate")
    q.soql(call, f"SELECT Body FROM LiveChatTranscript WHERE CaseId = '{p['case_id']}'")
    if not p.get("policy_title"):
        return None
    found = q.soql(call, f"SELECT Id, Title FROM Knowledge__kav WHERE Title = {q.quoted(p['policy_title'])}")
    return found[0]["Id"] if len(found) == 1 else None


def answer_pool(conn: Connection) -> list[str]:
    """Every policy article Id (every article Id when no title starts with "Policy:")."""
    return distinct_values(conn, select(Knowledge.Id).where(Knowledge.Title.like("Policy:%"))) or distinct_values(
        conn, select(Knowledge.Id)
    )


SPEC = TaskSpec(
    name="policy_violation_identification",
    order=80,
    persona="service_agent",
    metric="exact_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=answer_pool,
    allows_none=True,
)
