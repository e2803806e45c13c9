"""order_quantity_correction (service_agent, workflow): a customer says in a chat that an order
line has the wrong quantity; correct the order item."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Order, OrderItem
from crm_core.scoring.state import StateDiff
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession
from crm_core.tasks.workflow import (
    DONE,
    find_order_line,
    lines_once_per_order,
    no_answers,
    order_line,
    query_order_line,
    updated,
)

PHRASINGS = (
    "From a chat about order {order}:\nCustomer: {message}\nCorrect the order.",
    "Chat transcript, order {order}.\nCustomer: {message}\nPlease fix the order line.",
    'A customer in chat (order {order}) said: "{message}" Update the order item.',
    'Order {order} needs a correction. The customer wrote in chat: "{message}"',
    "Customer: {message}\n(This is about order {order}.) Make the order match what they ordered.",
    'Please correct order {order}. From the chat: "{message}"',
    'Chat with a customer about order {order}: "{message}" Fix the quantity on file.',
    'Order {order}. Customer says: "{message}" Correct our records.',
)
MESSAGES = (
    "I ordered {wanted} of the {product}, but the order shows {shown}.",
    "The {product} line is wrong: it says {shown}, I bought {wanted}.",
    "Can you fix my order? It should be {wanted} x {product}, not {shown}.",
    "You have {shown} {product} on my order; the right quantity is {wanted}.",
)
REQUIRED = (
    "Orders are identified by their OrderNumber and the line by its product. Set the order item's "
    "Quantity to what the customer ordered; change nothing else (the unit price stays)."
)


def reference(conn: Connection, p: dict[str, Any]) -> str:
    """The change in words."""
    return f"order {p['order']}: {p['product']} quantity set to {p['quantity']}"


def expected_diff(conn: Connection, p: dict[str, Any]) -> StateDiff:
    """The order item of the product on the order gets the new Quantity."""
    line = order_line(conn, p["order"], p["product"])
    return StateDiff(updated=[updated("OrderItem", line.Id, Quantity=p["quantity"])])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """An order line (its product on that order only once) gets a different quantity."""
    single = lines_once_per_order()
    rows = sorted(
        (number, product, int(quantity))
        for number, product, quantity in conn.execute(
            select(Order.OrderNumber, OrderItem.Product2Id, OrderItem.Quantity)
            .join(Order, Order.Id == OrderItem.OrderId)
            .join(single, (single.c.OrderId == OrderItem.OrderId) & (single.c.Product2Id == OrderItem.Product2Id))
        )
        if product in view.products
    )

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        number, product_id, shown = rng.choice(rows)
        wanted = rng.choice([n for n in range(1, 7) if n != shown])
        params = {"order": number, "product": view.products[product_id], "quantity": wanted}
        message = rng.choice(MESSAGES).format(wanted=wanted, shown=shown, product=params["product"])
        query = fill(rng.choice(PHRASINGS), order=number, message=message)
        return Draft(query, reference(conn, params), params, expected_diff=expected_diff(conn, params))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str:
    """Order, product and line by get_records; then update the line's Quantity."""
    line = find_order_line(s, p["order"], p["product"])
    s.call("update_record", object="OrderItem", id=line["Id"], fields={"Quantity": p["quantity"]})
    return DONE


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str:
    """The line through its parent relationships in one SOQL query; then update its Quantity."""
    line = query_order_line(call, p["order"], p["product"])
    call("update_record", object="OrderItem", id=line["Id"], fields={"Quantity": p["quantity"]})
    return DONE


SPEC = TaskSpec(
    name="order_quantity_correction",
    order=120,
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
