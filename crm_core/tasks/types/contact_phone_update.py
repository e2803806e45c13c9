"""contact_phone_update (analyst, workflow): a customer writes in with a new phone number; put it
on their contact record."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Contact
from crm_core.scoring.state import StateDiff
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession
from crm_core.tasks.workflow import DONE, find, no_answers, select_one, updated

PHRASINGS = (
    'A customer wrote in from {email}: "{message}" Update their contact record.',
    "Email from {email}:\n{message}\nPlease correct the customer's contact details.",
    'Keep our records right: the customer with email {email} says "{message}"',
    'Update the contact of {email}. Their message: "{message}"',
    'Data fix needed. From {email}: "{message}" Make the contact record match.',
    '{email} wrote: "{message}" Record the change on their contact.',
    'Please apply this customer\'s update (sender {email}): "{message}"',
    'Customer message from {email}: "{message}" Fix the contact record accordingly.',
)
MESSAGES = (
    "Hi, my phone number has changed, it is now {phone}.",
    "Please use my new number {phone} from now on.",
    "I switched carriers; you can reach me at {phone}.",
    "My old phone is disconnected. New number: {phone}.",
)
REQUIRED = (
    "Contacts are identified by their Email. A changed phone number goes in the contact's Phone "
    "field, exactly as the customer wrote it; change nothing else."
)


def _phone(rng: random.Random, old: str | None) -> str:
    while True:
        phone = f"({rng.randrange(201, 990)}) 555-{rng.randrange(10000):04d}"
        if phone != old:
            return phone


def reference(conn: Connection, p: dict[str, Any]) -> str:
    """The change in words: the contact and the new phone."""
    name = conn.execute(select(Contact.Name).where(Contact.Email == p["email"])).scalar_one()
    return f"{name}'s phone set to {p['phone']}"


def expected_diff(conn: Connection, p: dict[str, Any]) -> StateDiff:
    """The contact of the email gets the new Phone."""
    contact = conn.execute(select(Contact.Id).where(Contact.Email == p["email"])).scalar_one()
    return StateDiff(updated=[updated("Contact", contact, Phone=p["phone"])])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A contact with a unique email gets a new number."""
    rows = sorted(conn.execute(select(Contact.Email, Contact.Phone).where(Contact.Email.is_not(None))).all())
    counts: dict[str, int] = {}
    for email, _ in rows:
        counts[email] = counts.get(email, 0) + 1
    contacts = [(email, phone) for email, phone in rows if counts[email] == 1]

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        email, old = rng.choice(contacts)
        params = {"email": email, "phone": _phone(rng, old)}
        message = rng.choice(MESSAGES).format(phone=params["phone"])
        query = fill(rng.choice(PHRASINGS), email=email, message=message)
        return Draft(query, reference(conn, params), params, expected_diff=expected_diff(conn, params))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str:
    """Find the contact by email with get_records, then update its Phone."""
    contact = find(s, "Contact", Email=p["email"])
    s.call("update_record", object="Contact", id=contact["Id"], fields={"Phone": p["phone"]})
    return DONE


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str:
    """Find the contact by email with SOQL, then update its Phone."""
    contact = select_one(call, f"SELECT Id FROM Contact WHERE Email = {q.quoted(p['email'])}")
    call("update_record", object="Contact", id=contact["Id"], fields={"Phone": p["phone"]})
    return DONE


SPEC = TaskSpec(
    name="contact_phone_update",
    order=110,
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
