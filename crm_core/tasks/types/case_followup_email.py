"""case_followup_email (service_agent, workflow): log a follow-up email on the case that a
customer's email belongs to."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Case, EmailMessage
from crm_core.scoring.state import StateDiff
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession
from crm_core.tasks.workflow import DONE, created, emails_once_per_sender, find, no_answers, select_one

PHRASINGS = (
    'We got this email from {sender}, subject "{subject}". Log our follow-up on its case: '
    'to {sender}, subject "{reply}", sent {sent}, text: "{body}"',
    'Follow up on the case of the email "{subject}" from {sender}. Log an email on that case to '
    '{sender} with subject "{reply}", dated {sent}, body: "{body}"',
    'Please log a follow-up. Original email: from {sender}, "{subject}". Follow-up: to {sender}, '
    'subject "{reply}", sent {sent}: "{body}"',
    'The customer {sender} emailed about "{subject}". Record this reply on the same case (sent {sent}, '
    'to {sender}, subject "{reply}"): "{body}"',
    'Log on the case behind {sender}\'s email "{subject}" the follow-up we sent at {sent}: subject '
    '"{reply}", to {sender}, text "{body}"',
    'Attach our follow-up to the right case. Their email: "{subject}" ({sender}). Ours: "{reply}" to '
    '{sender} at {sent}, saying "{body}"',
    'Email follow-up to record. Case: the one {sender}\'s email "{subject}" is on. Message: to {sender}, '
    'subject "{reply}", {sent}, body "{body}"',
    'Find the case of the email "{subject}" from {sender} and log the follow-up email we sent there: '
    'subject "{reply}", to {sender}, sent {sent}, text "{body}"',
)
BODIES = (
    "Following up on your request: we are on it and will update you within two business days.",
    "Just checking in: has the replacement arrived and does it work as expected?",
    "Thank you for your patience. Your case is with our specialist team now.",
    "We have not heard back from you. Reply to this email if you still need help.",
    "Your refund was approved and should reach your account within five business days.",
)
REQUIRED = (
    "An email belongs to the case in its ParentId. Log a follow-up as an EmailMessage on that case "
    "with exactly the given Subject, TextBody, ToAddress and MessageDate (UTC); set no other field."
)


def _case_of(conn: Connection, p: dict[str, Any]) -> str:
    return conn.execute(
        select(EmailMessage.ParentId).where(
            EmailMessage.Subject == p["subject"], EmailMessage.FromAddress == p["sender"]
        )
    ).scalar_one()


def reference(conn: Connection, p: dict[str, Any]) -> str:
    """The change in words: the case that gets the follow-up."""
    number = conn.execute(select(Case.CaseNumber).where(Case.Id == _case_of(conn, p))).scalar_one()
    return f"follow-up email logged on case {number}"


def expected_diff(conn: Connection, p: dict[str, Any]) -> StateDiff:
    """One new EmailMessage on the email's case."""
    email = created(
        "EmailMessage",
        ParentId=_case_of(conn, p),
        Subject=p["reply"],
        TextBody=p["body"],
        ToAddress=p["sender"],
        MessageDate=p["sent"],
    )
    return StateDiff(created=[email])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A customer's first email of a thread whose (subject, sender) names one email only."""
    unique = emails_once_per_sender()
    rows = sorted(
        (subject, sender, sent)
        for subject, sender, sent in conn.execute(
            select(EmailMessage.Subject, EmailMessage.FromAddress, EmailMessage.MessageDate).join(
                unique, (unique.c.Subject == EmailMessage.Subject) & (unique.c.FromAddress == EmailMessage.FromAddress)
            )
        )
        if subject and sender and not subject.startswith("Re:")
    )

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        subject, sender, received = rng.choice(rows)
        sent = (received + dt.timedelta(days=rng.randrange(1, 6), hours=rng.randrange(8))).replace(
            second=0, microsecond=0
        )
        params = {
            "subject": subject,
            "sender": sender,
            "reply": f"Follow-up: {subject}",
            "body": rng.choice(BODIES),
            "sent": sent.isoformat(),
        }
        query = fill(rng.choice(PHRASINGS), **{**params, "sent": f"{sent:%Y-%m-%dT%H:%M:%SZ}"})
        return Draft(query, reference(conn, params), params, expected_diff=expected_diff(conn, params))

    return sample


def _fields(case_id: str, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "ParentId": case_id,
        "Subject": p["reply"],
        "TextBody": p["body"],
        "ToAddress": p["sender"],
        "MessageDate": p["sent"] + "Z",
    }


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str:
    """The email by get_records (subject and sender), then a new email on its ParentId."""
    email = find(s, "EmailMessage", Subject=p["subject"], FromAddress=p["sender"])
    s.call("create_record", object="EmailMessage", fields=_fields(email["ParentId"], p))
    return DONE


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str:
    """The email's case by SOQL, then a new email on it."""
    email = select_one(
        call,
        f"SELECT ParentId FROM EmailMessage WHERE Subject = {q.quoted(p['subject'])} "
        f"AND FromAddress = {q.quoted(p['sender'])}",
    )
    call("create_record", object="EmailMessage", fields=_fields(email["ParentId"], p))
    return DONE


SPEC = TaskSpec(
    name="case_followup_email",
    order=130,
    persona="service_agent",
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
