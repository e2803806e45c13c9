"""What the workflow task types share: expected changes, record lookups through each solver's
tools, and the writes that both solvers make the same way.

A workflow type's ``reference`` names the change in words (the instance's ``answer``, shown to
people, never scored); its ``expected_diff`` is the change itself, from SQLAlchemy reads. The
tool solver finds records with ``get_records`` and the task tools, the query solver with SOQL;
both then write through ``create_record`` / ``update_record``.
"""

# ruff: noqa: S608 - the SOQL strings here are sent to `issue_soql_query`, whose engine binds
# every literal as a parameter; none of them is SQL.

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, Row, Subquery, func, select

from crm_core.org.schema import EmailMessage, Order, OrderItem, Product2
from crm_core.scoring.state import CreatedRecord, UpdatedRecord
from crm_core.tasks import query_oracle as q
from crm_core.tasks.tool_oracle import OracleError, ToolSession

DONE = "Done."
"""What a solver responds once its changes are made (workflow answers are not scored)."""


def no_answers(_conn: Connection) -> list[str]:
    """The answer pool of a workflow type: none (its floor baselines change nothing)."""
    return []


def updated(object_name: str, record_id: str, **fields: Any) -> UpdatedRecord:
    """An expected update of one record."""
    return UpdatedRecord(object=object_name, id=record_id, fields=fields)


def created(object_name: str, **fields: Any) -> CreatedRecord:
    """An expected new record (``new:Case`` stands for the id of a case created in the same episode)."""
    return CreatedRecord(object=object_name, fields={k: v for k, v in fields.items() if v is not None})


def owner_assignment(case: str, old: str | None, new: str) -> CreatedRecord:
    """The ``CaseHistory__c`` row the org writes when a case changes owner (or gets its first one)."""
    return created("CaseHistory__c", CaseId__c=case, Field__c="Owner Assignment", OldValue__c=old, NewValue__c=new)


def find(s: ToolSession, object_name: str, **where: Any) -> dict[str, Any]:
    """The one record of `object_name` matching `where`, by the ``get_records`` tool."""
    found = s.call("get_records", object=object_name, where=where)
    if not isinstance(found, list) or len(found) != 1:
        raise OracleError(f"expected one {object_name} for {where}, got {found!r:.200}")
    return found[0]


def select_one(call: q.Call, soql: str) -> dict[str, Any]:
    """The one record a SOQL query returns (OracleError otherwise)."""
    found = q.soql(call, soql)
    if len(found) != 1:
        raise OracleError(f"expected one record for {soql!r}, got {len(found)}")
    return found[0]


def pick_text(rng: random.Random, options: tuple[str, ...], **values: str) -> str:
    """One of `options`, filled with `values`."""
    return rng.choice(options).format(**values)


# --- order lines and emails, as several types name them -------------------------------------------


def lines_once_per_order() -> Subquery:
    """(OrderId, Product2Id) of the order lines whose product is on their order once (a line a
    customer can name by order number and product)."""
    return (
        select(OrderItem.OrderId, OrderItem.Product2Id)
        .group_by(OrderItem.OrderId, OrderItem.Product2Id)
        .having(func.count() == 1)
        .subquery()
    )


def emails_once_per_sender() -> Subquery:
    """(Subject, FromAddress) pairs that name one email only (an email a person can point at)."""
    return (
        select(EmailMessage.Subject, EmailMessage.FromAddress)
        .group_by(EmailMessage.Subject, EmailMessage.FromAddress)
        .having(func.count() == 1)
        .subquery()
    )


def order_line(conn: Connection, order: str, product: str) -> Row[tuple[str, str]]:
    """(Id, Product2Id) of the line of `product` (a name) on order `order` (an OrderNumber), over SQLAlchemy."""
    return conn.execute(
        select(OrderItem.Id, OrderItem.Product2Id)
        .join(Order, Order.Id == OrderItem.OrderId)
        .join(Product2, Product2.Id == OrderItem.Product2Id)
        .where(Order.OrderNumber == order, Product2.Name == product)
    ).one()


def find_order_line(s: ToolSession, order: str, product: str) -> dict[str, Any]:
    """The order line by ``get_records``: the order, the product, then the line."""
    order_record = find(s, "Order", OrderNumber=order)
    product_record = find(s, "Product2", Name=product)
    return find(s, "OrderItem", OrderId=order_record["Id"], Product2Id=product_record["Id"])


def query_order_line(call: q.Call, order: str, product: str) -> dict[str, Any]:
    """The order line (Id, Product2Id) by one SOQL query through its parent relationships."""
    return select_one(
        call,
        f"SELECT Id, Product2Id FROM OrderItem WHERE Order.OrderNumber = {q.quoted(order)} "
        f"AND Product2.Name = {q.quoted(product)}",
    )
