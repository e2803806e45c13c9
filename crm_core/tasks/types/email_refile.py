"""email_refile (analyst, workflow): an email was logged on the wrong case of a customer; move it
to the case it belongs to."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Case, EmailMessage
from crm_core.scoring.state import StateDiff
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession
from crm_core.tasks.workflow import DONE, emails_once_per_sender, find, no_answers, select_one, updated

PHRASINGS = (
    'The email "{subject}" from {sender} was logged on the wrong case. It belongs to case {case}. Move it.',
    'Please refile the email from {sender} with subject "{subject}": it should be on case {case}.',
    'Data cleanup: {sender}\'s email "{subject}" is attached to the wrong case; attach it to case {case}.',
    'Move the email "{subject}" (sent by {sender}) to case {case}, where it belongs.',
    'Case {case} is missing an email: "{subject}" from {sender} was filed elsewhere. Fix that.',
    'Wrong case on an email. Sender {sender}, subject "{subject}". Correct case: {case}.',
    'Reattach the email from {sender} titled "{subject}" to case number {case}.',
    'An agent filed {sender}\'s email "{subject}" under another case. Put it on case {case}.',
)
REQUIRED = (
    "An email's case is its ParentId; cases are identified by their CaseNumber. Moving an email "
    "changes its ParentId only."
)


def _email(conn: Connection, p: dict[str, Any]) -> str:
    return conn.execute(
        select(EmailMessage.Id).where(EmailMessage.Subject == p["subject"], EmailMessage.FromAddress == p["sender"])
    ).scalar_one()


def reference(conn: Connection, p: dict[str, Any]) -> str:
    """The change in words."""
    return f"email moved to case {p['case']}"


def expected_diff(conn: Connection, p: dict[str, Any]) -> StateDiff:
    """The email's ParentId becomes the named case."""
    case = conn.execute(select(Case.Id).where(Case.CaseNumber == p["case"])).scalar_one()
    return StateDiff(updated=[updated("EmailMessage", _email(conn, p), ParentId=case)])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A uniquely named email of a customer with several cases moves to another of their cases."""
    unique = emails_once_per_sender()
    emails = sorted(
        conn.execute(
            select(EmailMessage.Subject, EmailMessage.FromAddress, Case.ContactId, Case.CaseNumber)
            .join(Case, Case.Id == EmailMessage.ParentId)
            .join(
                unique, (unique.c.Subject == EmailMessage.Subject) & (unique.c.FromAddress == EmailMessage.FromAddress)
            )
        ).all()
    )
    cases_of: dict[str, list[str]] = defaultdict(list)
    for contact, number in sorted(conn.execute(select(Case.ContactId, Case.CaseNumber)).all()):
        cases_of[contact].append(number)
    candidates = [row for row in emails if len(cases_of[row[2]]) > 1]

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        subject, sender, contact, current = rng.choice(candidates)
        target = rng.choice([number for number in cases_of[contact] if number != current])
        params = {"subject": subject, "sender": sender, "case": target}
        query = fill(rng.choice(PHRASINGS), **params)
        return Draft(query, reference(conn, params), params, expected_diff=expected_diff(conn, params))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str:
    """Email and case by get_records, then the email's new ParentId."""
    email = find(s, "EmailMessage", Subject=p["subject"], FromAddress=p["sender"])
    case = find(s, "Case", CaseNumber=p["case"])
    s.call("update_record", object="EmailMessage", id=email["Id"], fields={"ParentId": case["Id"]})
    return DONE


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str:
    """Email and case by SOQL, then the email's new ParentId."""
    email = select_one(
        call,
        f"SELECT Id FROM EmailMessage WHERE Subject = {q.quoted(p['subject'])} "
        f"AND FromAddress = {q.quoted(p['sender'])}",
    )
    case = select_one(call, f"SELECT Id FROM Case WHERE CaseNumber = {q.quoted(p['case'])}")
    call("update_record", object="EmailMessage", id=email["Id"], fields={"ParentId": case["Id"]})
    return DONE


SPEC = TaskSpec(
    name="email_refile",
    order=140,
    persona="analyst",
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
