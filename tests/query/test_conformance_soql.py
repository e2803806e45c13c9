"""SOQL conformance: queries over the tiny org, each checked against an expectation computed
without the engine (plain rows and hand-written SQL), on SQLite and on PostgreSQL.

Every case is a function of the org's rows that returns the query and its expected records, so
that the suite holds for any seed; values are picked from the data (a real account id, the
median creation date) rather than copied from an engine's output.
"""

from __future__ import annotations

import calendar
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from crm_core.query import run_soql

Row = dict[str, Any]
AGG = "AggregateResult"


@dataclass
class Case:
    """One conformance query and what Salesforce would return for it."""

    query: str
    expected: list[Row]
    obj: str
    order: tuple[str, ...] = ()
    today: dt.date | None = None
    subset_of: list[Row] | None = None
    total: int | None = None  # COUNT() queries: only totalSize, no records
    extra: Callable[[dict], None] | None = field(default=None, repr=False)


CASES: dict[str, Callable[[Any], Case]] = {}


def case(fn: Callable[[Any], Case]) -> Callable[[Any], Case]:
    CASES[fn.__name__] = fn
    return fn


def lit(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def dt_lit(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def median_created(d: Any, obj: str = "Case") -> dt.datetime:
    return sorted(r["CreatedDate"] for r in d.rows[obj])[len(d.rows[obj]) // 2]


def today_of(d: Any) -> dt.date:
    """The injected "today": the median creation day of the cases, so periods around it hold data."""
    return median_created(d).date()


def first(d: Any, obj: str, pred: Callable[[Row], bool] = lambda _r: True) -> Row:
    return sorted((r for r in d.rows[obj] if pred(r)), key=lambda r: r["Id"])[0]


def busiest_state(d: Any) -> str:
    """The shipping state with the most cases."""
    states = [d.get("Case", r, "Account.ShippingState") for r in d.rows["Case"]]
    return sorted((s for s in set(states) if s is not None), key=lambda s: (-states.count(s), s))[0]


def ci(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# --- plain selection over every object -----------------------------------------------------------

OBJECT_FIELDS = {
    "User": ["Id", "Name", "Email", "Alias", "IsActive"],
    "Account": ["Id", "Name", "PersonEmail", "ShippingState"],
    "Contact": ["Id", "Name", "AccountId", "OwnerId"],
    "Issue__c": ["Id", "Name", "Description__c"],
    "Pricebook2": ["Id", "Name", "IsActive", "ValidFrom", "ValidTo"],
    "ProductCategory": ["Id", "Name"],
    "Product2": ["Id", "Name", "Family", "IsActive", "ProductCode"],
    "ProductCategoryProduct": ["Id", "ProductCategoryId", "ProductId"],
    "PricebookEntry": ["Id", "Pricebook2Id", "Product2Id", "UnitPrice"],
    "Order": ["Id", "OrderNumber", "Status", "EffectiveDate", "AccountId"],
    "OrderItem": ["Id", "OrderId", "Quantity", "UnitPrice"],
    "Case": ["Id", "CaseNumber", "Subject", "Status", "Priority", "CreatedDate", "ClosedDate"],
    "CaseHistory__c": ["Id", "CaseId__c", "Field__c", "OldValue__c", "NewValue__c", "CreatedDate"],
    "Knowledge__kav": ["Id", "ArticleNumber", "Title", "Summary", "UrlName", "PublishStatus"],
    "EmailMessage": ["Id", "ParentId", "Subject", "FromAddress", "MessageDate"],
    "LiveChatTranscript": ["Id", "Name", "CaseId", "StartTime", "EndTime"],
}


def _all_of(obj: str, fields: list[str]) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        return Case(f"SELECT {', '.join(fields)} FROM {obj}", d.select(obj, fields), obj)

    return build


for _obj, _fields in OBJECT_FIELDS.items():
    CASES[f"all_rows_{_obj}"] = _all_of(_obj, _fields)


@case
def lowercase_keywords_and_names(d: Any) -> Case:
    return Case(
        "select id, name, shippingstate from account", d.select("Account", ["Id", "Name", "ShippingState"]), "Account"
    )


@case
def uppercase_keywords_and_names(d: Any) -> Case:
    return Case("SELECT ID, CASENUMBER, STATUS FROM CASE", d.select("Case", ["Id", "CaseNumber", "Status"]), "Case")


@case
def mixed_case_custom_object(d: Any) -> Case:
    fields = ["Id", "Field__c", "NewValue__c"]
    return Case(
        "Select ID, field__C, NEWVALUE__c From casehistory__C", d.select("CaseHistory__c", fields), "CaseHistory__c"
    )


@case
def field_order_follows_select(d: Any) -> Case:
    fields = ["Status", "Id", "CaseNumber"]
    return Case("SELECT Status, Id, CaseNumber FROM Case", d.select("Case", fields), "Case")


@case
def id_not_selected(d: Any) -> Case:
    return Case("SELECT Name FROM Issue__c", d.select("Issue__c", ["Name"]), "Issue__c")


@case
def object_alias(d: Any) -> Case:
    want = d.select("Case", ["Id", "Status"], lambda r: r["Status"] == "Closed")
    return Case("SELECT c.Id, c.Status FROM Case c WHERE c.Status = 'Closed'", want, "Case")


@case
def numbers_and_dates(d: Any) -> Case:
    fields = ["Id", "Quantity", "UnitPrice", "CreatedDate"]
    return Case(
        "SELECT Id, Quantity, UnitPrice, CreatedDate FROM OrderItem", d.select("OrderItem", fields), "OrderItem"
    )


# --- parent paths ---------------------------------------------------------------------------------


def _paths(obj: str, fields: list[str], where: str = "", pred: Callable[[Row], bool] = lambda _r: True) -> Callable:
    def build(d: Any) -> Case:
        query = f"SELECT {', '.join(fields)} FROM {obj}" + (f" WHERE {where}" if where else "")
        return Case(query, d.select(obj, fields, pred), obj)

    return build


PARENT_PATH_CASES = {
    "parent_account_name": ("Case", ["Id", "Account.Name"]),
    "parent_owner_name": ("Case", ["Id", "Owner.Name", "Owner.Email"]),
    "parent_contact_two_fields": ("Case", ["Id", "Contact.Name", "Contact.Email", "Subject"]),
    "parent_custom_issue_nullable": ("Case", ["Id", "IssueId__r.Name"]),
    "parent_custom_order_item": ("Case", ["Id", "OrderItemId__r.Quantity", "OrderItemId__r.UnitPrice"]),
    "parent_two_levels_product": ("Case", ["Id", "OrderItemId__r.Product2.Name"]),
    "parent_two_levels_order_account": ("OrderItem", ["Id", "Order.Account.Name", "Order.EffectiveDate"]),
    "parent_three_levels_state": ("Case", ["Id", "OrderItemId__r.Order.Account.ShippingState"]),
    "parent_three_levels_history": ("CaseHistory__c", ["Id", "CaseId__r.OrderItemId__r.Product2.Name"]),
    "parent_history_case_owner": ("CaseHistory__c", ["Id", "Field__c", "CaseId__r.Owner.Name"]),
    "parent_email_parent_case": ("EmailMessage", ["Id", "Parent.CaseNumber", "Parent.Account.Name"]),
    "parent_chat_case_and_owner": ("LiveChatTranscript", ["Id", "Case.Status", "Owner.Alias"]),
    "parent_pricebook_entry_product": ("PricebookEntry", ["Id", "Product2.Name", "Pricebook2.Name", "UnitPrice"]),
    "parent_category_product": ("ProductCategoryProduct", ["ProductCategory.Name", "Product.Name"]),
    "parent_mixed_with_own_fields": ("Order", ["Account.Name", "Id", "Account.Phone", "Status"]),
    "parent_id_through_relationship": ("Case", ["Account.Id", "Owner.Id"]),
}
for _name, (_obj, _fields) in PARENT_PATH_CASES.items():
    CASES[_name] = _paths(_obj, _fields)


@case
def parent_object_prefix(d: Any) -> Case:
    want = d.select("OrderItem", ["Id", "Order.AccountId", "Quantity"])
    return Case("SELECT OrderItem.Id, OrderItem.Order.AccountId, OrderItem.Quantity FROM OrderItem", want, "OrderItem")


@case
def parent_lowercase_relationship(d: Any) -> Case:
    want = d.select("Case", ["Id", "Account.Name", "IssueId__r.Name"])
    return Case("select id, account.name, issueid__R.NAME from case", want, "Case")


@case
def parent_path_in_where(d: Any) -> Case:
    state = busiest_state(d)
    want = d.select(
        "Case", ["Id", "Account.ShippingState"], lambda r: d.get("Case", r, "Account.ShippingState") == state
    )
    return Case(f"SELECT Id, Account.ShippingState FROM Case WHERE Account.ShippingState = {lit(state)}", want, "Case")


@case
def parent_path_three_levels_in_where(d: Any) -> Case:
    want = d.select("Case", ["Id"], lambda r: ci(d.get("Case", r, "OrderItemId__r.Order.Status")) == "activated")
    return Case("SELECT Id FROM Case WHERE OrderItemId__r.Order.Status = 'activated'", want, "Case")


@case
def parent_path_null_parent_in_where(d: Any) -> Case:
    want = d.select("Case", ["Id"], lambda r: d.get("Case", r, "IssueId__r.Name") is None)
    return Case("SELECT Id FROM Case WHERE IssueId__r.Name = null", want, "Case")


@case
def parent_path_order_by(d: Any) -> Case:
    order = [("Account.Name", False, False), ("CaseNumber", False, False)]
    want = d.select("Case", ["CaseNumber", "Account.Name"], order=order)
    return Case(
        "SELECT CaseNumber, Account.Name FROM Case ORDER BY Account.Name, CaseNumber",
        want,
        "Case",
        order=("Account.Name", "CaseNumber"),
    )


# --- child subqueries -----------------------------------------------------------------------------


def _with_children(
    d: Any,
    parent: str,
    parent_fields: list[str],
    subs: list[tuple[str, str, str, list[str], Callable[[Row], bool]]],
    pred: Callable[[Row], bool] = lambda _r: True,
) -> list[Row]:
    """Expected parent records with child lists (None when there are no children)."""
    out = []
    for row in d.rows[parent]:
        if not pred(row):
            continue
        rec = d.rec(parent, row, parent_fields)
        for rel, child, fk, fields, child_pred in subs:
            kids = [d.rec(child, k, fields) for k in d.children(child, fk, row["Id"]) if child_pred(k)]
            rec[rel] = kids or None
        out.append(rec)
    return out


def _every(_r: Row) -> bool:
    return True


@case
def child_cases_of_account(d: Any) -> Case:
    want = _with_children(d, "Account", ["Id", "Name"], [("Cases", "Case", "AccountId", ["Id", "Subject"], _every)])
    return Case("SELECT Id, Name, (SELECT Id, Subject FROM Cases) FROM Account", want, "Account")


@case
def child_with_where(d: Any) -> Case:
    subs = [("Cases", "Case", "AccountId", ["Id"], lambda k: k["Status"] == "Closed")]
    want = _with_children(d, "Account", ["Id"], subs)
    return Case("SELECT Id, (SELECT Id FROM Cases WHERE Status = 'Closed') FROM Account", want, "Account")


@case
def child_with_order_and_limit(d: Any) -> Case:
    want = []
    for acc in d.rows["Account"]:
        kids = sorted(d.children("Case", "AccountId", acc["Id"]), key=lambda k: k["CaseNumber"].lower(), reverse=True)
        want.append({"Id": acc["Id"], "Cases": [{"CaseNumber": k["CaseNumber"]} for k in kids[:2]] or None})

    def exact_order(result: dict) -> None:
        got = {r["Id"]: r["Cases"] for r in result["records"]}
        for rec in want:
            sub = got[rec["Id"]]
            numbers = [r["CaseNumber"] for r in sub["records"]] if sub else None
            assert numbers == ([k["CaseNumber"] for k in rec["Cases"]] if rec["Cases"] else None), rec["Id"]

    query = "SELECT Id, (SELECT CaseNumber FROM Cases ORDER BY CaseNumber DESC LIMIT 2) FROM Account"
    return Case(query, want, "Account", extra=exact_order)


@case
def child_custom_histories(d: Any) -> Case:
    cid = first(d, "Case")["Id"]
    subs = [("Histories__r", "CaseHistory__c", "CaseId__c", ["Field__c", "NewValue__c"], _every)]
    want = _with_children(d, "Case", ["Id"], subs, lambda r: r["Id"] == cid)
    return Case(
        f"SELECT Id, (SELECT Field__c, NewValue__c FROM Histories__r) FROM Case WHERE Id = '{cid}'", want, "Case"
    )


@case
def child_two_subqueries(d: Any) -> Case:
    subs = [
        ("EmailMessages", "EmailMessage", "ParentId", ["Id"], _every),
        ("LiveChatTranscripts", "LiveChatTranscript", "CaseId", ["Id"], _every),
    ]
    want = _with_children(d, "Case", ["Id"], subs)
    query = "SELECT Id, (SELECT Id FROM EmailMessages), (SELECT Id FROM LiveChatTranscripts) FROM Case"
    return Case(query, want, "Case")


@case
def child_order_items_of_order(d: Any) -> Case:
    want = _with_children(
        d, "Order", ["Id"], [("OrderItems", "OrderItem", "OrderId", ["Quantity", "UnitPrice"], _every)]
    )
    return Case("SELECT Id, (SELECT Quantity, UnitPrice FROM OrderItems) FROM Order", want, "Order")


@case
def child_with_parent_path(d: Any) -> Case:
    want = _with_children(d, "Account", ["Id"], [("Cases", "Case", "AccountId", ["Id", "Owner.Name"], _every)])
    return Case("SELECT Id, (SELECT Id, Owner.Name FROM Cases) FROM Account", want, "Account")


@case
def child_lowercase_relationship(d: Any) -> Case:
    want = _with_children(d, "Account", ["Id"], [("Contacts", "Contact", "AccountId", ["Id"], _every)])
    return Case("select id, (select id from contacts) from account", want, "Account")


@case
def child_custom_cases_of_issue(d: Any) -> Case:
    want = _with_children(d, "Issue__c", ["Id", "Name"], [("Cases__r", "Case", "IssueId__c", ["Id"], _every)])
    return Case("SELECT Id, Name, (SELECT Id FROM Cases__r) FROM Issue__c", want, "Issue__c")


@case
def child_with_outer_where(d: Any) -> Case:
    state = busiest_state(d)
    subs = [("Orders", "Order", "AccountId", ["Id", "EffectiveDate"], _every)]
    want = _with_children(d, "Account", ["Id"], subs, lambda r: r["ShippingState"] == state)
    query = f"SELECT Id, (SELECT Id, EffectiveDate FROM Orders) FROM Account WHERE ShippingState = {lit(state)}"
    return Case(query, want, "Account")


# --- comparison operators, per field type ----------------------------------------------------------

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a is not None and a == b,
    "!=": lambda a, b: a is None or a != b,  # Salesforce: != matches nulls too
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
}
OP_NAMES = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def _compare(obj: str, fieldname: str, pick: Callable[[Any], tuple[str, Any]], op: str) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        literal, value = pick(d)
        want = d.select(obj, ["Id", fieldname], lambda r: OPS[op](ci(r[fieldname]), ci(value)))
        return Case(f"SELECT Id, {fieldname} FROM {obj} WHERE {fieldname} {op} {literal}", want, obj)

    return build


def _pick_state(d: Any) -> tuple[str, Any]:
    states = sorted({r["ShippingState"] for r in d.rows["Account"] if r["ShippingState"] is not None})
    return lit(states[len(states) // 2].lower()), states[len(states) // 2]


def _pick_quantity(d: Any) -> tuple[str, Any]:
    q = statistics.median_low(r["Quantity"] for r in d.rows["OrderItem"])
    return (str(int(q)) if float(q).is_integer() else repr(q)), q


def _pick_effective(d: Any) -> tuple[str, Any]:
    day = sorted(r["EffectiveDate"] for r in d.rows["Order"])[len(d.rows["Order"]) // 2]
    return day.isoformat(), day


def _pick_created(d: Any) -> tuple[str, Any]:
    moment = median_created(d)
    return dt_lit(moment), moment


def _pick_case_number(d: Any) -> tuple[str, Any]:
    number = sorted(r["CaseNumber"] for r in d.rows["Case"])[len(d.rows["Case"]) // 3]
    return lit(number), number


COMPARE_FIELDS = {
    "nullable_string": ("Account", "ShippingState", _pick_state),
    "quantity": ("OrderItem", "Quantity", _pick_quantity),
    "date": ("Order", "EffectiveDate", _pick_effective),
    "datetime": ("Case", "CreatedDate", _pick_created),
    "string": ("Case", "CaseNumber", _pick_case_number),
}
for _label, (_obj, _field, _pick) in COMPARE_FIELDS.items():
    for _op in OPS:
        CASES[f"compare_{_label}_{OP_NAMES[_op]}"] = _compare(_obj, _field, _pick, _op)


@case
def compare_string_case_insensitive(d: Any) -> Case:
    name = first(d, "Account")["Name"]
    want = d.select("Account", ["Id"], lambda r: r["Name"].lower() == name.lower())
    return Case(f"SELECT Id FROM Account WHERE Name = {lit(name.swapcase())}", want, "Account")


@case
def compare_not_equal_alias_operator(d: Any) -> Case:
    want = d.select("Case", ["Id"], lambda r: r["Status"] != "Closed")
    return Case("SELECT Id FROM Case WHERE Status <> 'CLOSED'", want, "Case")


@case
def compare_boolean_true(d: Any) -> Case:
    return Case(
        "SELECT Id FROM Product2 WHERE IsActive = TRUE",
        d.select("Product2", ["Id"], lambda r: r["IsActive"]),
        "Product2",
    )


@case
def compare_boolean_false(d: Any) -> Case:
    want = d.select("User", ["Id"], lambda r: r["IsActive"] is False)
    return Case("SELECT Id FROM User WHERE IsActive = false", want, "User")


@case
def compare_currency_decimal(d: Any) -> Case:
    price = round(statistics.median(r["UnitPrice"] for r in d.rows["PricebookEntry"]), 2)
    want = d.select("PricebookEntry", ["Id", "UnitPrice"], lambda r: r["UnitPrice"] > price)
    return Case(f"SELECT Id, UnitPrice FROM PricebookEntry WHERE UnitPrice > {price:.2f}", want, "PricebookEntry")


@case
def compare_negative_number(d: Any) -> Case:
    return Case("SELECT Id FROM OrderItem WHERE Quantity > -1", d.select("OrderItem", ["Id"]), "OrderItem")


# --- LIKE -----------------------------------------------------------------------------------------


def _like(pattern: str, value: str | None) -> bool:
    """Salesforce LIKE, re-stated: case-insensitive, % any run, _ one char, backslash escapes."""
    import re

    if value is None:
        return False
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.fullmatch(out, value, re.IGNORECASE | re.DOTALL) is not None


def _like_case(obj: str, fieldname: str, pattern: str, *, negate: bool = False) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        want = d.select(obj, ["Id", fieldname], lambda r: _like(pattern, d.get(obj, r, fieldname)) != negate)
        cond = f"{fieldname} LIKE '{pattern}'"  # backslash escapes are LIKE's own: written as they are
        return Case(f"SELECT Id, {fieldname} FROM {obj} WHERE " + (f"(NOT {cond})" if negate else cond), want, obj)

    return build


LIKE_CASES = {
    "like_prefix": ("Account", "Name", "a%"),
    "like_prefix_upper": ("Account", "Name", "A%"),
    "like_contains_any_case": ("Case", "Subject", "%ORDER%"),
    "like_single_char": ("Case", "CaseNumber", "0000000_"),
    "like_underscore_prefix": ("Case", "Status", "_losed"),
    "like_no_wildcard_is_equality": ("Case", "Status", "closed"),
    "like_escaped_percent": ("Case", "Subject", "%\\%%"),
    "like_escaped_underscore": ("Case", "Subject", "%\\_%"),
    "like_escaped_underscore_email": ("Account", "PersonEmail", "%\\_%"),
    "like_email_domain": ("Contact", "Email", "%@%.com"),
    "like_parent_path": ("Case", "Owner.Name", "%e%"),
    "like_all": ("Issue__c", "Name", "%"),
}
for _name, (_obj, _field, _pattern) in LIKE_CASES.items():
    CASES[_name] = _like_case(_obj, _field, _pattern)
CASES["like_negated"] = _like_case("Account", "Name", "%a%", negate=True)


# --- IN, NOT IN, semi-joins and anti-joins ----------------------------------------------------------


@case
def in_string_list(d: Any) -> Case:
    want = d.select("Case", ["Id", "Origin"], lambda r: r["Origin"] in ("Chat", "Phone"))
    return Case("SELECT Id, Origin FROM Case WHERE Origin IN ('chat', 'Phone')", want, "Case")


@case
def not_in_string_list(d: Any) -> Case:
    want = d.select("Case", ["Id", "Origin"], lambda r: r["Origin"] not in ("Email", "Web"))
    return Case("SELECT Id, Origin FROM Case WHERE Origin NOT IN ('Email', 'web')", want, "Case")


@case
def in_number_list(d: Any) -> Case:
    want = d.select("OrderItem", ["Id"], lambda r: r["Quantity"] in (1, 3))
    return Case("SELECT Id FROM OrderItem WHERE Quantity IN (1, 3)", want, "OrderItem")


@case
def in_date_list(d: Any) -> Case:
    days = sorted({r["EffectiveDate"] for r in d.rows["Order"]})[:3]
    want = d.select("Order", ["Id"], lambda r: r["EffectiveDate"] in days)
    return Case(
        f"SELECT Id FROM Order WHERE EffectiveDate IN ({', '.join(x.isoformat() for x in days)})", want, "Order"
    )


@case
def in_id_list_mixed_lengths(d: Any) -> Case:
    ids = sorted(r["Id"] for r in d.rows["Account"])[:3]
    want = d.select("Account", ["Id"], lambda r: r["Id"] in ids)
    return Case(f"SELECT Id FROM Account WHERE Id IN ('{ids[0][:15]}', '{ids[1]}', '{ids[2][:15]}')", want, "Account")


@case
def semi_join(d: Any) -> Case:
    closed = {r["AccountId"] for r in d.rows["Case"] if r["Status"] == "Closed"}
    want = d.select("Account", ["Id"], lambda r: r["Id"] in closed)
    return Case(
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Case WHERE Status = 'Closed')", want, "Account"
    )


@case
def anti_join(d: Any) -> Case:
    with_cases = {r["AccountId"] for r in d.rows["Case"]}
    want = d.select("Account", ["Id"], lambda r: r["Id"] not in with_cases)
    return Case("SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Case)", want, "Account")


@case
def semi_join_custom_reference(d: Any) -> Case:
    high = {r["IssueId__c"] for r in d.rows["Case"] if r["Priority"] == "High"}
    want = d.select("Issue__c", ["Id", "Name"], lambda r: r["Id"] in high)
    query = "SELECT Id, Name FROM Issue__c WHERE Id IN (SELECT IssueId__c FROM Case WHERE Priority = 'High')"
    return Case(query, want, "Issue__c")


@case
def semi_join_on_reference_field(d: Any) -> Case:
    big = {r["Id"] for r in d.rows["OrderItem"] if r["Quantity"] >= 2}
    want = d.select("Case", ["Id"], lambda r: r["OrderItemId__c"] in big)
    query = "SELECT Id FROM Case WHERE OrderItemId__c IN (SELECT Id FROM OrderItem WHERE Quantity >= 2)"
    return Case(query, want, "Case")


@case
def semi_join_with_other_condition(d: Any) -> Case:
    emailed = {r["ParentId"] for r in d.rows["EmailMessage"]}
    want = d.select("Case", ["Id"], lambda r: r["Id"] in emailed and r["Status"] != "New")
    query = "SELECT Id FROM Case WHERE Id IN (SELECT ParentId FROM EmailMessage) AND Status != 'New'"
    return Case(query, want, "Case")


@case
def semi_and_anti_join(d: Any) -> Case:
    ordered = {r["AccountId"] for r in d.rows["Order"]}
    chatted = {r["AccountId"] for r in d.rows["LiveChatTranscript"]}
    want = d.select("Account", ["Id"], lambda r: r["Id"] in ordered and r["Id"] not in chatted)
    query = (
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Order) "
        "AND Id NOT IN (SELECT AccountId FROM LiveChatTranscript)"
    )
    return Case(query, want, "Account")


@case
def not_in_includes_nulls(d: Any) -> Case:
    want = d.select("Case", ["Id", "Priority"], lambda r: r["Priority"] not in ("Low",))
    return Case("SELECT Id, Priority FROM Case WHERE Priority NOT IN ('low')", want, "Case")


@case
def not_like_includes_nulls(d: Any) -> Case:
    want = d.select("Case", ["Id"], lambda r: not _like("%shoe%", r["Subject"]))
    return Case("SELECT Id FROM Case WHERE (NOT Subject LIKE '%shoe%')", want, "Case")


@case
def ne_on_parent_path_includes_missing_parent(d: Any) -> Case:
    first_issue = first(d, "Issue__c")["Name"]
    want = d.select("Case", ["Id"], lambda r: d.get("Case", r, "IssueId__r.Name") != first_issue)
    return Case(f"SELECT Id FROM Case WHERE IssueId__r.Name != {lit(first_issue)}", want, "Case")


# --- boolean logic -----------------------------------------------------------------------------------


def _logic(where: str, pred: Callable[[Row], bool]) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        return Case(f"SELECT Id FROM Case WHERE {where}", d.select("Case", ["Id"], pred), "Case")

    return build


LOGIC_CASES: dict[str, tuple[str, Callable[[Row], bool]]] = {
    "logic_and": (
        "Status = 'Closed' AND Origin = 'Email'",
        lambda r: r["Status"] == "Closed" and r["Origin"] == "Email",
    ),
    "logic_or": ("Status = 'New' OR Priority = 'High'", lambda r: r["Status"] == "New" or r["Priority"] == "High"),
    "logic_or_then_and": (
        "(Priority = 'High' OR Priority = 'Medium') AND Origin = 'Phone'",
        lambda r: r["Priority"] in ("High", "Medium") and r["Origin"] == "Phone",
    ),
    "logic_and_then_or": (
        "Origin = 'Web' AND (Priority = 'Low' OR Priority = null)",
        lambda r: r["Origin"] == "Web" and r["Priority"] in ("Low", None),
    ),
    "logic_not": ("(NOT Status = 'Closed')", lambda r: r["Status"] != "Closed"),
    "logic_and_not_group": (
        "Origin = 'Chat' AND (NOT Priority = 'Low')",
        lambda r: r["Origin"] == "Chat" and r["Priority"] != "Low",
    ),
    "logic_nested_groups": (
        "(Status = 'Closed' AND Origin = 'Email') OR (Status = 'New' AND Origin = 'Web')",
        lambda r: (r["Status"], r["Origin"]) in (("Closed", "Email"), ("New", "Web")),
    ),
    "logic_not_of_or": (
        "NOT (Origin = 'Web' OR Origin = 'Email')",
        lambda r: r["Origin"] not in ("Web", "Email"),
    ),
    "logic_lowercase_keywords": (
        "status = 'closed' and (origin = 'email' or origin = 'phone')",
        lambda r: r["Status"] == "Closed" and r["Origin"] in ("Email", "Phone"),
    ),
    "logic_three_ands": (
        "Status != 'New' AND Origin != 'Web' AND ClosedDate != null",
        lambda r: r["Status"] != "New" and r["Origin"] != "Web" and r["ClosedDate"] is not None,
    ),
}
for _name, (_where, _pred) in LOGIC_CASES.items():
    CASES[_name] = _logic(_where, _pred)


# --- nulls and null ordering -----------------------------------------------------------------------

NULL_CASES: dict[str, tuple[str, str, Callable[[Row], bool]]] = {
    "null_datetime_equals": ("Case", "ClosedDate = null", lambda r: r["ClosedDate"] is None),
    "null_datetime_not_equals": ("Case", "ClosedDate != null", lambda r: r["ClosedDate"] is not None),
    "null_reference_equals": ("Case", "IssueId__c = NULL", lambda r: r["IssueId__c"] is None),
    "null_reference_not_equals": ("Case", "OrderItemId__c != null", lambda r: r["OrderItemId__c"] is not None),
    "null_picklist_equals": ("Case", "Priority = null", lambda r: r["Priority"] is None),
    "null_string_equals": ("Account", "PersonEmail = null", lambda r: r["PersonEmail"] is None),
}
for _name, (_obj, _where, _pred) in NULL_CASES.items():
    CASES[_name] = (lambda o, w, p: lambda d: Case(f"SELECT Id FROM {o} WHERE {w}", d.select(o, ["Id"], p), o))(
        _obj, _where, _pred
    )


def _ordered(
    obj: str,
    fields: list[str],
    order_sql: str,
    order: list[tuple[str, bool, bool]],
    where: str = "",
    pred: Callable[[Row], bool] = lambda _r: True,
    limit: int | None = None,
    offset: int = 0,
) -> Callable:
    def build(d: Any) -> Case:
        query = (
            f"SELECT {', '.join(fields)} FROM {obj}" + (f" WHERE {where}" if where else "") + f" ORDER BY {order_sql}"
        )
        if limit is not None:
            query += f" LIMIT {limit}"
        if offset:
            query += f" OFFSET {offset}"
        want = d.select(obj, fields, pred, order=order, limit=limit, offset=offset)
        return Case(query, want, obj, order=tuple(p for p, _desc, _nl in order))

    return build


ORDER_CASES = {
    "order_nulls_first_asc": ("Case", ["Id", "ClosedDate"], "ClosedDate", [("ClosedDate", False, False)]),
    "order_nulls_first_desc": ("Case", ["Id", "ClosedDate"], "ClosedDate DESC", [("ClosedDate", True, False)]),
    "order_nulls_last_asc": ("Case", ["Id", "ClosedDate"], "ClosedDate ASC NULLS LAST", [("ClosedDate", False, True)]),
    "order_nulls_last_desc": ("Case", ["Id", "ClosedDate"], "ClosedDate DESC NULLS LAST", [("ClosedDate", True, True)]),
    "order_nulls_first_explicit": ("Case", ["Id", "Priority"], "Priority NULLS FIRST", [("Priority", False, False)]),
    "order_parent_null_first": (
        "Case",
        ["Id", "IssueId__r.Name"],
        "IssueId__r.Name",
        [("IssueId__r.Name", False, False)],
    ),
    "order_string_case_insensitive": ("Account", ["Id", "Name"], "Name", [("Name", False, False)]),
    "order_string_desc": ("Contact", ["Id", "LastName"], "LastName DESC", [("LastName", True, False)]),
    "order_two_keys": (
        "Case",
        ["Id", "Status", "CreatedDate"],
        "Status ASC, CreatedDate DESC",
        [("Status", False, False), ("CreatedDate", True, False)],
    ),
    "order_number_desc": ("OrderItem", ["Id", "Quantity"], "Quantity DESC", [("Quantity", True, False)]),
    "order_date": ("Order", ["Id", "EffectiveDate"], "EffectiveDate", [("EffectiveDate", False, False)]),
    "order_lowercase_keywords": ("Case", ["Id", "CaseNumber"], "casenumber desc", [("CaseNumber", True, False)]),
    "order_parent_nulls_last_desc": (
        "Case",
        ["Id", "IssueId__r.Name"],
        "IssueId__r.Name DESC NULLS LAST",
        [("IssueId__r.Name", True, True)],
    ),
}
for _name, (_obj, _fields, _sql, _order) in ORDER_CASES.items():
    CASES[_name] = _ordered(_obj, _fields, _sql, _order)

CASES["limit_with_order"] = _ordered("Case", ["CaseNumber"], "CaseNumber", [("CaseNumber", False, False)], limit=5)
CASES["limit_offset"] = _ordered(
    "Case", ["CaseNumber"], "CaseNumber DESC", [("CaseNumber", True, False)], limit=3, offset=2
)
CASES["offset_without_limit"] = _ordered("Issue__c", ["Name"], "Name", [("Name", False, False)], offset=1)
CASES["limit_larger_than_rows"] = _ordered("Issue__c", ["Name"], "Name", [("Name", False, False)], limit=2000)
CASES["limit_with_where_and_order"] = _ordered(
    "Case",
    ["CaseNumber", "Status"],
    "CreatedDate DESC, CaseNumber",
    [("CreatedDate", True, False), ("CaseNumber", False, False)],
    where="Status = 'Closed'",
    pred=lambda r: r["Status"] == "Closed",
    limit=4,
)


@case
def limit_without_order(d: Any) -> Case:
    pool = d.select("Case", ["Id"])
    return Case("SELECT Id FROM Case LIMIT 3", pool[: min(3, len(pool))], "Case", subset_of=pool)


# --- date and datetime literals --------------------------------------------------------------------


@case
def datetime_literal_with_offset(d: Any) -> Case:
    moment = median_created(d)
    local = moment + dt.timedelta(hours=2)  # the same instant written in +02:00
    want = d.select("Case", ["Id"], lambda r: r["CreatedDate"] >= moment)
    return Case(f"SELECT Id FROM Case WHERE CreatedDate >= {local:%Y-%m-%dT%H:%M:%S}+02:00", want, "Case")


@case
def datetime_literal_with_millis(d: Any) -> Case:
    moment = median_created(d)
    want = d.select("Case", ["Id"], lambda r: r["CreatedDate"] < moment)
    return Case(f"SELECT Id FROM Case WHERE CreatedDate < {moment:%Y-%m-%dT%H:%M:%S}.000Z", want, "Case")


@case
def datetime_exact_equality(d: Any) -> Case:
    moment = first(d, "Case")["CreatedDate"].replace(microsecond=0)
    want = d.select("Case", ["Id"], lambda r: r["CreatedDate"] == moment)
    return Case(f"SELECT Id FROM Case WHERE CreatedDate = {dt_lit(moment)}", want, "Case")


@case
def date_range_on_date_field(d: Any) -> Case:
    year = today_of(d).year
    lo, hi = dt.date(year, 1, 1), dt.date(year, 6, 30)
    want = d.select("Order", ["Id", "EffectiveDate"], lambda r: lo <= r["EffectiveDate"] <= hi)
    return Case(
        f"SELECT Id, EffectiveDate FROM Order WHERE EffectiveDate >= {lo} AND EffectiveDate <= {hi}", want, "Order"
    )


@case
def date_range_on_datetime_field(d: Any) -> Case:
    year = today_of(d).year
    lo, hi = dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    want = d.select("Case", ["Id"], lambda r: lo <= r["CreatedDate"] < hi)
    query = f"SELECT Id FROM Case WHERE CreatedDate >= {dt_lit(lo)} AND CreatedDate < {dt_lit(hi)}"
    return Case(query, want, "Case")


@case
def datetime_field_on_other_object(d: Any) -> Case:
    moment = median_created(d, "EmailMessage") if d.rows["EmailMessage"] else median_created(d)
    want = d.select("EmailMessage", ["Id", "MessageDate"], lambda r: r["MessageDate"] > moment)
    return Case(f"SELECT Id, MessageDate FROM EmailMessage WHERE MessageDate > {dt_lit(moment)}", want, "EmailMessage")


# --- relative date literals against an injected today ----------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def relative_range(literal: str, n: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) of a relative date literal, as Salesforce defines it (weeks start on Sunday)."""
    day = dt.timedelta(days=1)
    week = today - dt.timedelta(days=(today.weekday() + 1) % 7)
    month = today.replace(day=1)
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year = dt.date(today.year, 1, 1)
    units = {
        "WEEKS": (lambda k: week + 7 * k * day),
        "MONTHS": (lambda k: _add_months(month, k)),
        "QUARTERS": (lambda k: _add_months(quarter, 3 * k)),
        "YEARS": (lambda k: dt.date(year.year + k, 1, 1)),
    }
    fixed = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
    }
    if literal in fixed:
        return fixed[literal]
    for unit, start in units.items():
        singular = unit[:-1]
        if literal == f"THIS_{singular}":
            return start(0), start(1)
        if literal == f"LAST_{singular}":
            return start(-1), start(0)
        if literal == f"NEXT_{singular}":
            return start(1), start(2)
    assert n is not None, literal
    if literal == "LAST_N_DAYS":
        return today - n * day, today + day
    if literal == "NEXT_N_DAYS":
        return today + day, today + (n + 1) * day
    if literal == "N_DAYS_AGO":
        return today - n * day, today - (n - 1) * day
    kind, unit = literal.split("_N_") if "_N_" in literal else ("AGO", literal[2:-4])
    if kind == "LAST":
        return units[unit](-n), units[unit](0)
    if kind == "NEXT":
        return units[unit](1), units[unit](n + 1)
    return units[unit](-n), units[unit](-n + 1)


def _relative(obj: str, fieldname: str, literal: str, n: int | None, op: str) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        today = today_of(d)
        start, end = relative_range(literal, n, today)

        def inside(r: Row) -> bool:
            value = r[fieldname]
            if value is None:
                return False
            value = value.date() if isinstance(value, dt.datetime) else value
            return {
                "=": start <= value < end,
                "<": value < start,
                ">": value >= end,
                "<=": value < end,
                ">=": value >= start,
                "!=": not start <= value < end,
            }[op]

        text = literal + (f":{n}" if n is not None else "")
        return Case(
            f"SELECT Id FROM {obj} WHERE {fieldname} {op} {text}", d.select(obj, ["Id"], inside), obj, today=today
        )

    return build


RELATIVE = [
    ("TODAY", None),
    ("YESTERDAY", None),
    ("TOMORROW", None),
    ("THIS_WEEK", None),
    ("LAST_WEEK", None),
    ("NEXT_WEEK", None),
    ("THIS_MONTH", None),
    ("LAST_MONTH", None),
    ("NEXT_MONTH", None),
    ("THIS_QUARTER", None),
    ("LAST_QUARTER", None),
    ("NEXT_QUARTER", None),
    ("THIS_YEAR", None),
    ("LAST_YEAR", None),
    ("NEXT_YEAR", None),
    ("LAST_90_DAYS", None),
    ("NEXT_90_DAYS", None),
    ("LAST_N_DAYS", 30),
    ("NEXT_N_DAYS", 30),
    ("N_DAYS_AGO", 3),
    ("LAST_N_WEEKS", 2),
    ("NEXT_N_WEEKS", 3),
    ("N_WEEKS_AGO", 1),
    ("LAST_N_MONTHS", 6),
    ("NEXT_N_MONTHS", 2),
    ("N_MONTHS_AGO", 1),
    ("LAST_N_QUARTERS", 2),
    ("N_QUARTERS_AGO", 1),
    ("LAST_N_YEARS", 1),
    ("N_YEARS_AGO", 2),
]
for _lit, _n in RELATIVE:
    _suffix = _lit.lower() + (f"_{_n}" if _n is not None else "")
    CASES[f"relative_datetime_{_suffix}"] = _relative("Case", "CreatedDate", _lit, _n, "=")
for _lit, _n in [("THIS_MONTH", None), ("LAST_QUARTER", None), ("LAST_N_MONTHS", 3), ("THIS_YEAR", None)]:
    CASES[f"relative_date_{_lit.lower()}"] = _relative("Order", "EffectiveDate", _lit, _n, "=")
for _op, _lit, _n in [
    ("<", "LAST_N_DAYS", 30),
    (">", "THIS_MONTH", None),
    ("<=", "LAST_YEAR", None),
    (">=", "THIS_QUARTER", None),
    ("!=", "THIS_YEAR", None),
]:
    CASES[f"relative_op_{OP_NAMES[_op]}_{_lit.lower()}"] = _relative("Case", "CreatedDate", _lit, _n, _op)


# --- date functions ----------------------------------------------------------------------------------

DATE_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "CALENDAR_MONTH": lambda v: v.month,
    "CALENDAR_QUARTER": lambda v: (v.month - 1) // 3 + 1,
    "CALENDAR_YEAR": lambda v: v.year,
    "DAY_IN_MONTH": lambda v: v.day,
    "DAY_IN_WEEK": lambda v: (v.weekday() + 1) % 7 + 1,  # 1 = Sunday
    "DAY_IN_YEAR": lambda v: v.timetuple().tm_yday,
    "HOUR_IN_DAY": lambda v: v.hour,
    "WEEK_IN_MONTH": lambda v: (v.day - 1) // 7 + 1,
    "WEEK_IN_YEAR": lambda v: (v.timetuple().tm_yday - 1) // 7 + 1,
    "FISCAL_YEAR": lambda v: v.year,
    "FISCAL_QUARTER": lambda v: (v.month - 1) // 3 + 1,
    "FISCAL_MONTH": lambda v: v.month,
}


def _function_where(fn: str, obj: str, fieldname: str, op: str) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        values = sorted(DATE_FUNCTIONS[fn](r[fieldname]) for r in d.rows[obj] if r[fieldname] is not None)
        value = values[len(values) // 2]
        want = d.select(
            obj, ["Id"], lambda r: r[fieldname] is not None and OPS[op](DATE_FUNCTIONS[fn](r[fieldname]), value)
        )
        return Case(f"SELECT Id FROM {obj} WHERE {fn}({fieldname}) {op} {value}", want, obj)

    return build


for _fn in DATE_FUNCTIONS:
    CASES[f"function_where_{_fn.lower()}"] = _function_where(_fn, "Case", "CreatedDate", "=")
CASES["function_where_year_of_date"] = _function_where("CALENDAR_YEAR", "Order", "EffectiveDate", ">=")
CASES["function_where_month_of_date"] = _function_where("CALENDAR_MONTH", "Order", "EffectiveDate", "<")
CASES["function_where_nullable_field"] = _function_where("CALENDAR_YEAR", "Case", "ClosedDate", "=")


@case
def function_day_only(d: Any) -> Case:
    day = today_of(d)
    want = d.select("Case", ["Id"], lambda r: r["CreatedDate"].date() == day)
    return Case(f"SELECT Id FROM Case WHERE DAY_ONLY(CreatedDate) = {day}", want, "Case")


def _group_counts(d: Any, obj: str, key: Callable[[Row], tuple], pred: Callable[[Row], bool] = lambda _r: True) -> dict:
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in d.rows[obj]:
        if pred(row):
            groups[key(row)].append(row)
    return groups


def _function_group(fns: list[str], obj: str, fieldname: str, aliases: list[str] | None = None) -> Callable:
    def build(d: Any) -> Case:
        groups = _group_counts(
            d, obj, lambda r: tuple(None if r[fieldname] is None else DATE_FUNCTIONS[f](r[fieldname]) for f in fns)
        )
        names = aliases or [f"expr{i}" for i in range(len(fns) + 1)]
        want = [dict(zip(names, [*k, len(v)], strict=True)) for k, v in groups.items()]
        select_items = [f"{f}({fieldname})" for f in fns] + ["COUNT(Id)"]
        if aliases:
            select_items = [f"{s} {a}" for s, a in zip(select_items, aliases, strict=True)]
        group = ", ".join(f"{f}({fieldname})" for f in fns)
        return Case(f"SELECT {', '.join(select_items)} FROM {obj} GROUP BY {group}", want, AGG)

    return build


CASES["group_by_calendar_year"] = _function_group(["CALENDAR_YEAR"], "Case", "CreatedDate")
CASES["group_by_year_and_month_aliased"] = _function_group(
    ["CALENDAR_YEAR", "CALENDAR_MONTH"], "Case", "CreatedDate", ["y", "m", "n"]
)
CASES["group_by_quarter_of_date"] = _function_group(["CALENDAR_QUARTER"], "Order", "EffectiveDate")
CASES["group_by_day_in_week"] = _function_group(["DAY_IN_WEEK"], "Case", "CreatedDate")
CASES["group_by_year_of_nullable"] = _function_group(["CALENDAR_YEAR"], "Case", "ClosedDate")


@case
def group_by_day_only(d: Any) -> Case:
    groups = _group_counts(d, "EmailMessage", lambda r: (r["MessageDate"].date(),))
    want = [{"sentOn": k[0], "expr0": len(v)} for k, v in groups.items()]
    query = "SELECT DAY_ONLY(MessageDate) sentOn, COUNT(Id) FROM EmailMessage GROUP BY DAY_ONLY(MessageDate)"
    return Case(query, want, AGG)


# --- aggregates (expected values from hand-written SQL where it is portable) ------------------------


@case
def count_star(d: Any) -> Case:
    n = d.sql('SELECT COUNT(*) AS n FROM "Case"')[0]["n"]
    return Case("SELECT COUNT() FROM Case", [], "Case", total=n)


@case
def count_star_with_where(d: Any) -> Case:
    n = d.sql('SELECT COUNT(*) AS n FROM "Case" WHERE "Status" = :s', s="Closed")[0]["n"]
    return Case("SELECT COUNT() FROM Case WHERE Status = 'closed'", [], "Case", total=n)


@case
def count_star_with_parent_filter(d: Any) -> Case:
    state = busiest_state(d)
    n = d.sql(
        'SELECT COUNT(*) AS n FROM "Case" c JOIN "Account" a ON a."Id" = c."AccountId" WHERE a."ShippingState" = :s',
        s=state,
    )[0]["n"]
    return Case(f"SELECT COUNT() FROM Case WHERE Account.ShippingState = {lit(state)}", [], "Case", total=n)


@case
def count_id(d: Any) -> Case:
    n = d.sql('SELECT COUNT("Id") AS n FROM "OrderItem"')[0]["n"]
    return Case("SELECT COUNT(Id) FROM OrderItem", [{"expr0": n}], AGG)


@case
def count_field_ignores_nulls(d: Any) -> Case:
    n = d.sql('SELECT COUNT("IssueId__c") AS n FROM "Case"')[0]["n"]
    return Case("SELECT COUNT(IssueId__c) FROM Case", [{"expr0": n}], AGG)


@case
def count_distinct(d: Any) -> Case:
    n = d.sql('SELECT COUNT(DISTINCT "AccountId") AS n FROM "Case"')[0]["n"]
    return Case("SELECT COUNT_DISTINCT(AccountId) FROM Case", [{"expr0": n}], AGG)


@case
def sum_avg_min_max(d: Any) -> Case:
    r = d.sql(
        'SELECT SUM("Quantity") AS s, AVG("Quantity") AS a, MIN("UnitPrice") AS lo, MAX("UnitPrice") AS hi '
        'FROM "OrderItem"'
    )[0]
    want = [{"expr0": float(r["s"]), "expr1": float(r["a"]), "expr2": float(r["lo"]), "expr3": float(r["hi"])}]
    return Case("SELECT SUM(Quantity), AVG(Quantity), MIN(UnitPrice), MAX(UnitPrice) FROM OrderItem", want, AGG)


@case
def aliases_and_expr_numbering(d: Any) -> Case:
    r = d.sql('SELECT COUNT("Id") AS n, MAX("Quantity") AS hi, MIN("Quantity") AS lo FROM "OrderItem"')[0]
    want = [{"n": r["n"], "expr0": float(r["hi"]), "expr1": float(r["lo"])}]
    return Case("SELECT COUNT(Id) n, MAX(Quantity), MIN(Quantity) FROM OrderItem", want, AGG)


@case
def min_max_datetime(d: Any) -> Case:
    created = [r["CreatedDate"] for r in d.rows["Case"]]
    closed = [r["ClosedDate"] for r in d.rows["Case"] if r["ClosedDate"] is not None]
    want = [{"earliest": min(created), "latest": max(closed) if closed else None}]
    return Case("SELECT MIN(CreatedDate) earliest, MAX(ClosedDate) latest FROM Case", want, AGG)


@case
def min_max_date_and_string(d: Any) -> Case:
    days = [r["EffectiveDate"] for r in d.rows["Order"]]
    numbers = [r["OrderNumber"] for r in d.rows["Order"]]
    want = [{"expr0": min(days), "expr1": max(numbers, key=str.lower)}]
    return Case("SELECT MIN(EffectiveDate), MAX(OrderNumber) FROM Order", want, AGG)


@case
def aggregate_over_empty_set(d: Any) -> Case:
    want = [{"expr0": 0, "expr1": None}]
    return Case("SELECT COUNT(Id), SUM(Quantity) FROM OrderItem WHERE Quantity > 1000000", want, AGG)


@case
def aggregate_with_where(d: Any) -> Case:
    r = d.sql('SELECT AVG("UnitPrice") AS a FROM "OrderItem" WHERE "Quantity" >= :q', q=2)[0]
    want = [{"avgPrice": None if r["a"] is None else float(r["a"])}]
    return Case("SELECT AVG(UnitPrice) avgPrice FROM OrderItem WHERE Quantity >= 2", want, AGG)


@case
def aggregate_lowercase_functions(d: Any) -> Case:
    r = d.sql('SELECT COUNT("Id") AS n, COUNT(DISTINCT "OwnerId") AS o FROM "Case"')[0]
    return Case("select count(id), count_distinct(ownerid) from case", [{"expr0": r["n"], "expr1": r["o"]}], AGG)


@case
def group_by_status(d: Any) -> Case:
    rows = d.sql('SELECT "Status" AS s, COUNT("Id") AS n FROM "Case" GROUP BY "Status"')
    return Case(
        "SELECT Status, COUNT(Id) FROM Case GROUP BY Status", [{"Status": r["s"], "expr0": r["n"]} for r in rows], AGG
    )


@case
def group_by_owner_in_period(d: Any) -> Case:
    year = today_of(d).year
    lo, hi = dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    rows = d.sql(
        'SELECT "OwnerId" AS o, COUNT("Id") AS n FROM "Case" WHERE "CreatedDate" >= :lo AND "CreatedDate" < :hi '
        'GROUP BY "OwnerId"',
        lo=lo,
        hi=hi,
    )
    query = (
        f"SELECT OwnerId, COUNT(Id) cases FROM Case WHERE CreatedDate >= {dt_lit(lo)} AND CreatedDate < {dt_lit(hi)} "
        "GROUP BY OwnerId"
    )
    return Case(query, [{"OwnerId": r["o"], "cases": r["n"]} for r in rows], AGG)


@case
def group_by_parent_field(d: Any) -> Case:
    rows = d.sql(
        'SELECT u."Name" AS name, COUNT(c."Id") AS n FROM "Case" c LEFT JOIN "User" u ON u."Id" = c."OwnerId" '
        'GROUP BY u."Name"'
    )
    return Case(
        "SELECT Owner.Name, COUNT(Id) FROM Case GROUP BY Owner.Name",
        [{"Name": r["name"], "expr0": r["n"]} for r in rows],
        AGG,
    )


@case
def group_by_parent_state_average(d: Any) -> Case:
    rows = d.sql(
        'SELECT a."ShippingState" AS st, AVG(i."Quantity") AS q FROM "OrderItem" i '
        'JOIN "Order" o ON o."Id" = i."OrderId" LEFT JOIN "Account" a ON a."Id" = o."AccountId" '
        'GROUP BY a."ShippingState"'
    )
    want = [{"ShippingState": r["st"], "avgQty": float(r["q"])} for r in rows]
    return Case(
        "SELECT Order.Account.ShippingState, AVG(Quantity) avgQty FROM OrderItem GROUP BY Order.Account.ShippingState",
        want,
        AGG,
    )


@case
def group_by_two_fields_with_null_group(d: Any) -> Case:
    rows = d.sql('SELECT "Status" AS s, "Priority" AS p, COUNT("Id") AS n FROM "Case" GROUP BY "Status", "Priority"')
    want = [{"Status": r["s"], "Priority": r["p"], "expr0": r["n"]} for r in rows]
    return Case("SELECT Status, Priority, COUNT(Id) FROM Case GROUP BY Status, Priority", want, AGG)


@case
def group_by_boolean(d: Any) -> Case:
    groups = _group_counts(d, "Product2", lambda r: (r["IsActive"],))
    want = [{"IsActive": k[0], "expr0": len(v)} for k, v in groups.items()]
    return Case("SELECT IsActive, COUNT(Id) FROM Product2 GROUP BY IsActive", want, AGG)


@case
def having_count(d: Any) -> Case:
    rows = d.sql('SELECT "AccountId" AS a, COUNT("Id") AS n FROM "Case" GROUP BY "AccountId" HAVING COUNT("Id") > 1')
    want = [{"AccountId": r["a"], "expr0": r["n"]} for r in rows]
    return Case("SELECT AccountId, COUNT(Id) FROM Case GROUP BY AccountId HAVING COUNT(Id) > 1", want, AGG)


@case
def having_and(d: Any) -> Case:
    rows = d.sql(
        'SELECT "OrderId" AS o, SUM("Quantity") AS q FROM "OrderItem" GROUP BY "OrderId" '
        'HAVING COUNT("Id") >= 1 AND SUM("Quantity") > 2'
    )
    want = [{"OrderId": r["o"], "qty": float(r["q"])} for r in rows]
    query = (
        "SELECT OrderId, SUM(Quantity) qty FROM OrderItem GROUP BY OrderId HAVING COUNT(Id) >= 1 AND SUM(Quantity) > 2"
    )
    return Case(query, want, AGG)


@case
def having_on_grouped_field(d: Any) -> Case:
    rows = d.sql(
        'SELECT "Status" AS s, COUNT("Id") AS n FROM "Case" WHERE "Status" != :x GROUP BY "Status"', x="Closed"
    )
    return Case(
        "SELECT Status, COUNT(Id) FROM Case GROUP BY Status HAVING Status != 'closed'",
        [{"Status": r["s"], "expr0": r["n"]} for r in rows],
        AGG,
    )


@case
def order_by_aggregate(d: Any) -> Case:
    rows = d.sql('SELECT "IssueId__c" AS i, COUNT("Id") AS n FROM "Case" GROUP BY "IssueId__c"')
    want = sorted(({"IssueId__c": r["i"], "expr0": r["n"]} for r in rows), key=lambda r: -r["expr0"])
    return Case(
        "SELECT IssueId__c, COUNT(Id) FROM Case GROUP BY IssueId__c ORDER BY COUNT(Id) DESC",
        want,
        AGG,
        order=("expr0",),
    )


@case
def order_by_aggregate_with_limit(d: Any) -> Case:
    rows = d.sql('SELECT "Product2Id" AS p, SUM("Quantity") AS q FROM "OrderItem" GROUP BY "Product2Id"')
    want = sorted(
        ({"Product2Id": r["p"], "units": float(r["q"])} for r in rows),
        key=lambda r: (-r["units"], r["Product2Id"].lower()),
    )
    return Case(
        "SELECT Product2Id, SUM(Quantity) units FROM OrderItem GROUP BY Product2Id "
        "ORDER BY SUM(Quantity) DESC, Product2Id LIMIT 3",
        want[:3],
        AGG,
        order=("units", "Product2Id"),
    )


@case
def group_by_with_order_by_group(d: Any) -> Case:
    rows = d.sql('SELECT "Origin" AS o, COUNT("Id") AS n FROM "Case" GROUP BY "Origin"')
    want = sorted(
        ({"Origin": r["o"], "expr0": r["n"]} for r in rows), key=lambda r: (r["Origin"] is not None, r["Origin"] or "")
    )
    return Case("SELECT Origin, COUNT(Id) FROM Case GROUP BY Origin ORDER BY Origin", want, AGG, order=("Origin",))


@case
def group_by_issue_for_product(d: Any) -> Case:
    product = first(d, "Product2", lambda p: any(i["Product2Id"] == p["Id"] for i in d.rows["OrderItem"]))["Id"]
    rows = d.sql(
        'SELECT c."IssueId__c" AS i, COUNT(c."Id") AS n FROM "Case" c '
        'JOIN "OrderItem" oi ON oi."Id" = c."OrderItemId__c" WHERE oi."Product2Id" = :p GROUP BY c."IssueId__c"',
        p=product,
    )
    query = f"SELECT IssueId__c, COUNT(Id) FROM Case WHERE OrderItemId__r.Product2Id = '{product}' GROUP BY IssueId__c"
    return Case(query, [{"IssueId__c": r["i"], "expr0": r["n"]} for r in rows], AGG)


@case
def history_owner_assignments_in_period(d: Any) -> Case:
    year = today_of(d).year
    lo, hi = dt.datetime(year, 1, 1), dt.datetime(year, 7, 1)
    rows = d.sql(
        'SELECT "Id" AS id, "CaseId__c" AS c, "NewValue__c" AS v FROM "CaseHistory__c" '
        'WHERE "Field__c" = :f AND "CreatedDate" >= :lo AND "CreatedDate" < :hi',
        f="Owner Assignment",
        lo=lo,
        hi=hi,
    )
    query = (
        "SELECT Id, CaseId__c, NewValue__c FROM CaseHistory__c WHERE Field__c = 'Owner Assignment' "
        f"AND CreatedDate >= {dt_lit(lo)} AND CreatedDate < {dt_lit(hi)}"
    )
    return Case(query, [{"Id": r["id"], "CaseId__c": r["c"], "NewValue__c": r["v"]} for r in rows], "CaseHistory__c")


# --- ids ----------------------------------------------------------------------------------------------


@case
def id_15_equals(d: Any) -> Case:
    row = first(d, "Case")
    return Case(f"SELECT Id FROM Case WHERE Id = '{row['Id'][:15]}'", [{"Id": row["Id"]}], "Case")


@case
def id_15_reference_filter(d: Any) -> Case:
    acc = first(d, "Case")["AccountId"]
    want = d.select("Case", ["Id", "AccountId"], lambda r: r["AccountId"] == acc)
    return Case(f"SELECT Id, AccountId FROM Case WHERE AccountId = '{acc[:15]}'", want, "Case")


@case
def id_15_not_equals(d: Any) -> Case:
    row = first(d, "Issue__c")
    want = d.select("Issue__c", ["Id"], lambda r: r["Id"] != row["Id"])
    return Case(f"SELECT Id FROM Issue__c WHERE Id != '{row['Id'][:15]}'", want, "Issue__c")


@case
def id_18_equals(d: Any) -> Case:
    row = first(d, "Account")
    return Case(
        f"SELECT Id, Name FROM Account WHERE Id = '{row['Id']}'", [{"Id": row["Id"], "Name": row["Name"]}], "Account"
    )


@case
def emails_by_case_id(d: Any) -> Case:
    cid = first(d, "EmailMessage")["ParentId"]
    want = d.select("EmailMessage", ["Id", "Subject", "MessageDate"], lambda r: r["ParentId"] == cid)
    return Case(f"SELECT Id, Subject, MessageDate FROM EmailMessage WHERE ParentId = '{cid}'", want, "EmailMessage")


# --- string literals -------------------------------------------------------------------------------


@case
def string_with_escaped_quote(d: Any) -> Case:
    names = [r["Name"] for r in d.rows["Account"] if "'" in r["Name"]]
    name = names[0] if names else "O'Hara"
    want = d.select("Account", ["Id"], lambda r: r["Name"].lower() == name.lower())
    return Case(f"SELECT Id FROM Account WHERE Name = {lit(name)}", want, "Account")


@case
def string_with_backslash(d: Any) -> Case:
    want = d.select("Case", ["Id"], lambda r: ci(r["Subject"]) == "a\\b")
    return Case("SELECT Id FROM Case WHERE Subject = 'a\\\\b'", want, "Case")


@case
def string_with_unicode_escape(d: Any) -> Case:
    name = first(d, "Issue__c")["Name"]
    encoded = "".join(f"\\u{ord(ch):04x}" if ch.isalpha() and i == 0 else ch for i, ch in enumerate(name))
    want = d.select("Issue__c", ["Id"], lambda r: r["Name"].lower() == name.lower())
    return Case(f"SELECT Id FROM Issue__c WHERE Name = '{encoded}'", want, "Issue__c")


@case
def whitespace_and_newlines(d: Any) -> Case:
    want = d.select("Case", ["Id", "Origin"], lambda r: r["Origin"] == "Web")
    return Case("SELECT\n  Id,\n  Origin\nFROM   Case\n\tWHERE Origin = 'Web'  ", want, "Case")


# --- the test ------------------------------------------------------------------------------------------


def test_case_count() -> None:
    assert len(CASES) >= 150, len(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_soql_conformance(name: str, query_engine: Any, org_data: Any, check: Callable[..., None]) -> None:
    spec = CASES[name](org_data)
    verify(spec, run_soql(query_engine, spec.query, today=spec.today), check)


def verify(spec: Case, result: dict, check: Callable[..., None]) -> None:
    """Assert that `result` is what `spec` expects (a COUNT() total, or its records)."""
    if spec.total is not None:
        assert result["totalSize"] == spec.total and result["records"] == [] and result["done"] is True, result
        return
    check(result, spec.expected, obj=spec.obj, order=spec.order, subset_of=spec.subset_of)
    if spec.extra is not None:
        spec.extra(result)


def test_month_arithmetic_of_the_oracle() -> None:
    """The expectation's own calendar maths, on worked examples."""
    today = dt.date(2024, 3, 13)  # a Wednesday
    assert relative_range("THIS_WEEK", None, today) == (dt.date(2024, 3, 10), dt.date(2024, 3, 17))
    assert relative_range("LAST_N_DAYS", 1, today) == (dt.date(2024, 3, 12), dt.date(2024, 3, 14))
    assert relative_range("LAST_QUARTER", None, today) == (dt.date(2023, 10, 1), dt.date(2024, 1, 1))
    assert relative_range("LAST_N_MONTHS", 2, today) == (dt.date(2024, 1, 1), dt.date(2024, 3, 1))
    assert relative_range("N_MONTHS_AGO", 3, today) == (dt.date(2023, 12, 1), dt.date(2024, 1, 1))
    assert relative_range("NEXT_N_DAYS", 2, today) == (dt.date(2024, 3, 14), dt.date(2024, 3, 16))
    assert relative_range("N_YEARS_AGO", 2, today) == (dt.date(2022, 1, 1), dt.date(2023, 1, 1))
    assert DATE_FUNCTIONS["DAY_IN_WEEK"](dt.date(2024, 3, 10)) == 1  # Sunday
    assert calendar.weekday(2024, 3, 10) == calendar.SUNDAY
