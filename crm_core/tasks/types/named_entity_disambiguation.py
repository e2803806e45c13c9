"""named_entity_disambiguation (service agent): which product a customer means by a generic name
("the trail jacket I bought two weeks ago")."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.catalog import PRODUCT_KINDS
from crm_core.org.schema import Contact, Order, OrderItem, Product2
from crm_core.tasks import query_oracle as q
from crm_core.tasks.reference import TiedAnswerError
from crm_core.tasks.rules import NONE_ANSWER
from crm_core.tasks.sampling import Draft, OrgView, Sampler, distinct_values, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, single

PHRASINGS = (
    'Contact {contact_id} writes: "Hi, I have a question about the {term} I bought {when}." Which '
    "product do they mean?",
    'Customer (contact {contact_id}): "The {term} I purchased {when} has a problem." Which product is it?',
    'Contact {contact_id} says: "I\'d like to know more about the {term} I ordered {when}." Identify the product.',
    'A customer, contact {contact_id}, mentions "the {term} from my order {when}". Which product is that?',
    'Contact {contact_id}: "Can you check the {term} I got {when}?" Find the product they mean.',
    'Which product does contact {contact_id} mean by "the {term} I bought {when}"?',
    'Contact {contact_id} writes in about "my {term}, bought {when}". Which product record is it?',
    'Customer message from contact {contact_id}: "Quick question on the {term} I purchased {when}." '
    "Identify the product.",
    'Contact {contact_id} refers to "the {term} I ordered {when}". Which product is this?',
)

REQUIRED = (
    "Find the product the customer means among the items of the customer's Activated orders (the "
    "contact's account) placed on the purchase date (Order EffectiveDate). "
    f"Answer with the Product2 Id only. {NONE_ANSWER.format(what='product')}"
)

_TOKEN = re.compile(r"[0-9a-z]+")


# --- reference ---------------------------------------------------------------------------------


def tokens(text: str | None) -> set[str]:
    """Lower-case alphanumeric tokens of a text (how SOSL splits text into words)."""
    return set(_TOKEN.findall((text or "").lower()))


def products_matching(conn: Connection, term: str) -> set[str]:
    """Products whose Name or Description contains every word of `term` (SOSL's word rule)."""
    wanted = tokens(term)
    rows = conn.execute(select(Product2.Id, Product2.Name, Product2.Description).order_by(Product2.Id)).all()
    return {pid for pid, name, description in rows if wanted <= (tokens(name) | tokens(description))}


def purchased_products(conn: Connection, contact_id: str, purchase_date: dt.date) -> set[str]:
    """Products on Activated orders of the contact's account with EffectiveDate = purchase_date."""
    rows = conn.execute(
        select(OrderItem.Product2Id)
        .join(Order, Order.Id == OrderItem.OrderId)
        .join(Contact, Contact.AccountId == Order.AccountId)
        .where(Contact.Id == contact_id, Order.Status == "Activated", Order.EffectiveDate == purchase_date)
        .order_by(OrderItem.Id)
    ).all()
    return {row[0] for row in rows}


def named_entity(conn: Connection, contact_id: str, purchase_date: dt.date, term: str) -> str | None:
    """The product matching `term` among that day's purchases; None if none; ties raise."""
    matches = sorted(products_matching(conn, term) & purchased_products(conn, contact_id, purchase_date))
    if len(matches) > 1:
        raise TiedAnswerError(f"{len(matches)} purchased products match {term!r}")
    return matches[0] if matches else None


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return named_entity(conn, p["contact_id"], dt.date.fromisoformat(p["purchase_date"]), p["term"])


# --- sampler -----------------------------------------------------------------------------------


def product_term(name: str) -> str:
    """The generic words a customer uses for a product: its kind ("trail jacket"), not its brand line."""
    try:
        nouns = sorted((kind.noun for kind in PRODUCT_KINDS if kind.noun.lower() in name.lower()), key=len)
        if nouns:
            return nouns[-1].lower()
    except ImportError:
        pass
    return " ".join(name.split()[1:3]).lower() or name.lower()


def _when_phrase(rng: random.Random, purchase: dt.date, today: dt.date) -> str:
    days = (today - purchase).days
    named = {1: "yesterday", 7: "a week ago", 14: "two weeks ago"}
    if days in named and rng.random() < 0.7:
        return named[days]
    if rng.random() < 0.5:
        return f"{days} days ago"
    return f"on {purchase:%B} {purchase.day}" + ("" if purchase.year == today.year else f", {purchase.year}")


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A purchase day of a contact and the kind of one product bought (or of none, for None)."""
    all_terms = sorted({product_term(name) for name in view.products.values()})

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        contact, _, day = rng.choice(view.purchases)
        bought = sorted(purchased_products(conn, contact, day))
        if not bought:
            return None
        if want_none:
            bought_terms = {product_term(view.products.get(p, "")) for p in bought}
            term = rng.choice([t for t in all_terms if t not in bought_terms] or all_terms)
        else:
            target = rng.choice(bought)
            if target not in view.products:
                return None
            term = product_term(view.products[target])
        answer = named_entity(conn, contact, day, term)
        if not want_none and answer is None:
            return None
        today = day + dt.timedelta(days=rng.choice((1, 2, 3, 5, 7, 10, 14, 14, 21, 30)))
        query = fill(rng.choice(PHRASINGS), contact_id=contact, term=term, when=_when_phrase(rng, day, today))
        params = {"contact_id": contact, "purchase_date": day.isoformat(), "today": today.isoformat(), "term": term}
        return Draft(query, answer, params, today.isoformat())

    return sample


# --- solvers -----------------------------------------------------------------------------------


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Products matching the term, among the account's purchases of that day."""
    account = s.call("get_account_id_by_contact_id", contact_id=p["contact_id"])
    candidates = [product["Id"] for product in s.call("search_products", search_term=p["term"])]
    if not candidates:
        return None
    bought = s.call(
        "get_purchase_history", account_id=account, purchase_date=p["purchase_date"], related_product_ids=candidates
    )
    products = sorted({item["Product2Id"] for item in bought})
    return single(products) if products else None


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """A SOSL search for the term, then the account's order items of that day among the matches."""
    contact = q.soql(call, f"SELECT AccountId FROM Contact WHERE Id = '{p['contact_id']}'")
    found = call("issue_sosl_query", query=f"FIND {{{p['term']}}} IN ALL FIELDS RETURNING Product2(Id, Name)")
    candidates = {record["Id"] for record in found} if isinstance(found, list) else set()
    if not contact or not candidates:
        return None
    items = q.soql(
        call,
        f"SELECT Product2Id FROM OrderItem WHERE Order.AccountId = '{contact[0]['AccountId']}' "
        f"AND Order.EffectiveDate = {p['purchase_date']} AND Order.Status = 'Activated' "
        f"AND Product2Id IN {q.in_list(candidates)}",
    )
    products = sorted({item["Product2Id"] for item in items})
    return products[0] if len(products) == 1 else None


def answer_pool(conn: Connection) -> list[str]:
    """Every Product2 Id."""
    return distinct_values(conn, select(Product2.Id))


SPEC = TaskSpec(
    name="named_entity_disambiguation",
    order=70,
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
