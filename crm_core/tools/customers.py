"""Customer tools: shipping states and closure times by region, accounts, purchases and products."""

from __future__ import annotations

from typing import Any

from crm_core.tools.base import (
    ToolArgumentError,
    ToolContext,
    case_records_arg,
    date_arg,
    id_arg,
    id_list_arg,
    mean_durations,
    run_engine,
    soql_in,
    soql_records,
    soql_records_in,
    strip_attributes,
    tool,
)

_RECORDS = {"type": "array", "items": {"type": "object"}}
SOSL_RESERVED = set("&|!{}[]()^~:\\'+-")
"""Characters escaped in search terms; `*`, `?` and `"` keep their SOSL meaning."""


def sosl_term(search_term: str) -> str:
    """A search term made safe for FIND {...}: reserved characters escaped with a backslash."""
    if not search_term.strip():
        raise ToolArgumentError("search_term is empty: send one or more words to search for")
    return "".join("\\" + ch if ch in SOSL_RESERVED else ch for ch in search_term.strip())


def search(ctx: ToolContext, search_term: str, returning: str) -> list[dict[str, Any]]:
    """SOSL search records (without attributes) for a user-supplied term."""
    result = run_engine(ctx, f"FIND {{{sosl_term(search_term)}}} IN ALL FIELDS RETURNING {returning}")
    return strip_attributes(result.get("searchRecords", []))


@tool(
    "get_shipping_state",
    "The given case records with each one's ShippingState (from the case's account) added.",
    {"cases": {**_RECORDS, "description": "Case records with AccountId, e.g. from get_cases."}},
    required=("cases",),
)
def get_shipping_state(ctx: ToolContext, cases: list[Any]) -> list[dict[str, Any]]:
    records = case_records_arg("cases", cases, ("AccountId",))
    if not records:
        return []
    accounts = sorted({record["AccountId"] for record in records})
    valid = id_list_arg("cases[].AccountId", accounts, "Account")
    rows = soql_records_in(ctx, "Id, ShippingState", "Account", lambda ids: f"Id IN {ids}", valid)
    state = {row["Id"]: row.get("ShippingState") for row in rows}
    return [{**record, "ShippingState": state.get(record["AccountId"])} for record in records]


@tool(
    "calculate_region_average_closure_times",
    "Average closure time (ClosedDate - CreatedDate, in seconds) per ShippingState over the given case "
    "records; records without a state or a ClosedDate are skipped. Returns {state: seconds}.",
    {"cases": {**_RECORDS, "description": "Case records with ShippingState, CreatedDate, ClosedDate."}},
    required=("cases",),
)
def calculate_region_average_closure_times(ctx: ToolContext, cases: list[Any]) -> dict[str, float]:
    records = case_records_arg("cases", cases, ("ShippingState", "CreatedDate", "ClosedDate"))
    return mean_durations("cases", records, "ShippingState", 1.0)


@tool(
    "get_account_id_by_contact_id",
    "The account id of a contact.",
    {"contact_id": {"type": "string", "description": "A Contact id."}},
    required=("contact_id",),
)
def get_account_id_by_contact_id(ctx: ToolContext, contact_id: str) -> str:
    contact = id_arg("contact_id", contact_id, "Contact")
    rows = soql_records(ctx, "AccountId", "Contact", f"Id = '{contact}'", limit=1)
    if not rows:
        raise ToolArgumentError(f"no contact with id {contact_id}")
    return rows[0]["AccountId"]


@tool(
    "get_purchase_history",
    "Order items of an account's Activated orders placed on purchase_date (Order EffectiveDate) whose "
    "product is one of related_product_ids. Returns records with Product2Id and the product Name.",
    {
        "account_id": {"type": "string", "description": "An Account id."},
        "purchase_date": {"type": "string", "description": "The order date, YYYY-MM-DD (a time part is ignored)."},
        "related_product_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Candidate Product2 ids, e.g. from search_products.",
        },
    },
    required=("account_id", "purchase_date", "related_product_ids"),
)
def get_purchase_history(
    ctx: ToolContext, account_id: str, purchase_date: str, related_product_ids: list[str]
) -> list[dict[str, Any]]:
    account = id_arg("account_id", account_id, "Account")
    day = date_arg("purchase_date", purchase_date).date().isoformat()
    products = id_list_arg("related_product_ids", related_product_ids, "Product2")
    if not products:
        return []
    rows = soql_records(
        ctx,
        "Product2Id, Product2.Name",
        "OrderItem",
        f"Order.AccountId = '{account}' AND Order.EffectiveDate = {day} "
        f"AND Order.Status = 'Activated' AND Product2Id IN {soql_in(products)}",
        "Product2Id",
    )
    return [
        {"Product2Id": row["Product2Id"], "Name": (row.get("Product2") or {}).get("Name"), "PurchaseDate": day}
        for row in rows
    ]


@tool(
    "search_products",
    "Products whose name or description contains all the words of search_term (SOSL). Returns Id and Name.",
    {"search_term": {"type": "string", "description": "Words to search for, e.g. 'trail jacket'."}},
    required=("search_term",),
)
def search_products(ctx: ToolContext, search_term: str) -> list[dict[str, Any]]:
    return search(ctx, search_term, "Product2(Id, Name ORDER BY Name)")
