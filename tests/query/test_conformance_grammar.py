"""Conformance of the rest of Salesforce's SOQL grammar (issue 12), on SQLite and PostgreSQL.

Each case states what Salesforce returns for the clause on the org's rows, computed here from
plain rows (the suite's :class:`OrgData`) and from rules re-stated below: field lists written by
hand from the schema, subtotal rows of ROLLUP and CUBE, the en_US formats of FORMAT(), the data
category hierarchy. Clauses without effect in a local single-user org must return exactly what
the query without them returns.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from crm_core.query import run_soql
from tests.query.test_conformance_soql import AGG, Case, _relative, busiest_state, ci, first, lit, verify

Row = dict[str, Any]
CASES: dict[str, Callable[[Any], Case]] = {}


def case(fn: Callable[[Any], Case]) -> Callable[[Any], Case]:
    CASES[fn.__name__] = fn
    return fn


# --- clauses without effect in a local org: same records as without them ----------------------------

NO_EFFECT = {
    "with_security_enforced": "WITH SECURITY_ENFORCED",
    "with_user_mode": "WITH USER_MODE",
    "with_system_mode": "WITH SYSTEM_MODE",
    "for_view": "FOR VIEW",
    "for_reference": "FOR REFERENCE",
    "for_update": "FOR UPDATE",
    "update_tracking": "UPDATE TRACKING",
    "update_viewstat": "UPDATE VIEWSTAT",
    "for_view_update_viewstat": "FOR VIEW UPDATE VIEWSTAT",
}


def _no_effect(clause: str) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        if clause.startswith("WITH"):
            query = f"SELECT Id, Subject FROM Case WHERE Status = 'Closed' {clause} ORDER BY CaseNumber LIMIT 7"
        else:
            query = f"SELECT Id, Subject FROM Case WHERE Status = 'Closed' ORDER BY CaseNumber LIMIT 7 {clause}"
        want = d.select("Case", ["Id", "Subject"], lambda r: r["Status"] == "Closed", [("CaseNumber", False, False)], 7)
        return Case(query, want, "Case", order=("Subject",))

    return build


for _name, _clause in NO_EFFECT.items():
    CASES[_name] = _no_effect(_clause)


@pytest.mark.parametrize("scope", ["everything", "mine", "mru", "team", "delegated", "Mine_And_My_Groups"])
def test_using_scope_has_no_effect(scope: str, query_engine: Any, org_data: Any, check: Callable) -> None:
    query = f"SELECT Name, Id FROM Contact USING SCOPE {scope} WHERE Name != null ORDER BY Name ASC"
    want = org_data.select("Contact", ["Name", "Id"], lambda r: r["Name"] is not None, [("Name", False, False)])
    check(run_soql(query_engine, query), want, obj="Contact", order=("Name",))


@case
def security_enforced_in_child_and_grouped(d: Any) -> Case:
    counts = Counter(r["Status"] for r in d.rows["Case"])
    want = [{"Status": s, "expr0": n} for s, n in counts.items()]
    return Case("SELECT Status, COUNT(Id) FROM Case WITH SECURITY_ENFORCED GROUP BY Status", want, AGG)


# --- object-qualified child subqueries -------------------------------------------------------------


@case
def child_subquery_qualified_by_parent(d: Any) -> Case:
    want = []
    for account in d.rows["Account"]:
        kids = [{"LastName": c["LastName"]} for c in d.children("Contact", "AccountId", account["Id"])]
        want.append({"Name": account["Name"], "Contacts": kids or None})
    return Case("SELECT Account.Name, (SELECT Contact.LastName FROM Account.Contacts) FROM Account", want, "Account")


@case
def child_subquery_qualified_lowercase(d: Any) -> Case:
    want = []
    for case_row in d.rows["Case"]:
        kids = [{"Id": e["Id"]} for e in d.children("EmailMessage", "ParentId", case_row["Id"])]
        want.append({"Id": case_row["Id"], "EmailMessages": kids or None})
    return Case("SELECT Id, (SELECT emailmessage.Id FROM case.emailmessages) FROM Case", want, "Case")


# --- acceptance gaps: forms Salesforce documents that were refused -----------------------------------


@case
def alias_paths_in_from(d: Any) -> Case:
    """Salesforce's alias notation: ``FROM Contact c, c.Account a`` names the parent path."""
    want = d.select("Contact", ["Name", "Account.Name"], order=[("Name", False, False)], limit=40)
    query = "SELECT c.Name, a.Name FROM Contact c, c.Account a ORDER BY c.Name LIMIT 40"
    return Case(query, want, "Contact", order=("Name",))


@case
def alias_paths_count_where(d: Any) -> Case:
    """The reference's own example: ``SELECT count() FROM Contact c, c.Account a WHERE a.name = ...``."""
    contact = first(d, "Contact", lambda r: r["AccountId"] is not None)
    name = d.get("Contact", contact, "Account.Name")
    n = sum(1 for r in d.rows["Contact"] if ci(d.get("Contact", r, "Account.Name")) == ci(name))
    query = f"SELECT count() FROM Contact c, c.Account a WHERE a.name = {lit(name)}"
    assert n > 0
    return Case(query, [], "Contact", total=n)


@case
def alias_paths_chained(d: Any) -> Case:
    """A named path may start from an earlier one: ``i.Order o, o.Account a``."""
    state = busiest_state(d)
    fields = ["Id", "Quantity", "Order.Account.ShippingState"]

    def keep(r: Row) -> bool:
        return ci(d.get("OrderItem", r, "Order.Account.ShippingState")) == ci(state)

    want = d.select("OrderItem", fields, keep)
    query = (
        "SELECT i.Id, i.Quantity, a.ShippingState FROM OrderItem i, i.Order o, o.Account a "
        f"WHERE a.ShippingState = {lit(state)}"
    )
    return Case(query, want, "OrderItem")


@case
def alias_paths_without_main_alias(d: Any) -> Case:
    """The path may start from the object's own name; the alias works in GROUP BY and ORDER BY."""
    counts = Counter(d.get("Case", r, "Owner.Name") for r in d.rows["Case"])
    want = [{"Name": owner, "expr0": n} for owner, n in counts.items()]
    query = "SELECT o.Name, COUNT(Id) FROM Case, Case.Owner o GROUP BY o.Name ORDER BY o.Name"
    return Case(query, want, AGG)


@case
def exponent_literal_double(d: Any) -> Case:
    """``1.5E2`` is 150: numbers may carry an exponent."""
    want = d.select("OrderItem", ["Id", "UnitPrice"], lambda r: r["UnitPrice"] > 150)
    return Case("SELECT Id, UnitPrice FROM OrderItem WHERE UnitPrice > 1.5E2", want, "OrderItem")


@case
def exponent_literal_signs(d: Any) -> Case:
    """``3e0`` is 3 and ``2.5e+1`` is 25; a negative exponent divides (``5E-1`` is 0.5)."""

    def keep(r: Row) -> bool:
        return r["Quantity"] >= 3 and r["UnitPrice"] < 25 and r["UnitPrice"] > 0.5

    want = d.select("OrderItem", ["Id"], keep)
    query = "SELECT Id FROM OrderItem WHERE Quantity >= 3e0 AND UnitPrice < 2.5e+1 AND UnitPrice > 5E-1"
    return Case(query, want, "OrderItem")


@case
def exponent_literal_in_list_and_having(d: Any) -> Case:
    """Exponents in an IN list and in HAVING."""
    counts = Counter(r["Product2Id"] for r in d.rows["OrderItem"] if r["Quantity"] in (1, 2, 3))
    want = [{"Product2Id": p, "expr0": n} for p, n in counts.items() if n > 10]
    assert want, "some product has more than ten such items"
    query = (
        "SELECT Product2Id, COUNT(Id) FROM OrderItem WHERE Quantity IN (1, 2.0, 3e0) GROUP BY Product2Id "
        "HAVING COUNT(Id) > 1e1"
    )
    return Case(query, want, AGG)


@case
def child_subqueries_two_levels(d: Any) -> Case:
    """REST API 58.0 and later: child subqueries inside child subqueries (Account, Contacts, Cases)."""
    want = []
    for account in d.rows["Account"]:
        contacts = []
        for contact in d.children("Contact", "AccountId", account["Id"]):
            cases = [{"CaseNumber": c["CaseNumber"]} for c in d.children("Case", "ContactId", contact["Id"])]
            contacts.append({"LastName": contact["LastName"], "Cases": cases or None})
        want.append({"Name": account["Name"], "Contacts": contacts or None})
    assert any(c["Cases"] for a in want for c in a["Contacts"] or []), "some contact has cases"
    query = "SELECT Name, (SELECT LastName, (SELECT CaseNumber FROM Cases) FROM Contacts) FROM Account"
    return Case(query, want, "Account")


@case
def child_subqueries_three_levels_filtered(d: Any) -> Case:
    """Three child levels, with WHERE, ORDER BY and LIMIT applying per parent at each level."""

    def filled(a: Row) -> bool:
        return any(
            c["Status"] == "Closed" and d.children("EmailMessage", "ParentId", c["Id"])
            for contact in d.children("Contact", "AccountId", a["Id"])
            for c in d.children("Case", "ContactId", contact["Id"])
        )

    account = first(d, "Account", filled)
    contacts = []
    for contact in d.children("Contact", "AccountId", account["Id"]):
        cases = sorted(
            (c for c in d.children("Case", "ContactId", contact["Id"]) if c["Status"] == "Closed"),
            key=lambda c: c["CaseNumber"],
        )[:2]
        shaped = []
        for case_row in cases:
            emails = [{"Id": e["Id"]} for e in d.children("EmailMessage", "ParentId", case_row["Id"])]
            shaped.append({"CaseNumber": case_row["CaseNumber"], "EmailMessages": emails or None})
        contacts.append({"LastName": contact["LastName"], "Cases": shaped or None})
    assert any(c["Cases"] and any(x["EmailMessages"] for x in c["Cases"]) for c in contacts), "three levels filled"
    query = (
        "SELECT Name, (SELECT LastName, (SELECT CaseNumber, (SELECT Id FROM EmailMessages) FROM Cases "
        f"WHERE Status = 'Closed' ORDER BY CaseNumber LIMIT 2) FROM Contacts) FROM Account WHERE Id = '{account['Id']}'"
    )
    return Case(query, [{"Name": account["Name"], "Contacts": contacts or None}], "Account")


# --- FIELDS() ------------------------------------------------------------------------------------------

# Written by hand from the schema (docs/org.md): standard fields, then custom ones.
ISSUE_FIELDS = {"STANDARD": ["Id", "Name", "CreatedDate", "LastModifiedDate"], "CUSTOM": ["Description__c"]}
CASE_CUSTOM = ["OrderItemId__c", "IssueId__c"]


@case
def fields_standard(d: Any) -> Case:
    return Case("SELECT FIELDS(STANDARD) FROM Issue__c", d.select("Issue__c", ISSUE_FIELDS["STANDARD"]), "Issue__c")


@case
def fields_all_limit_200(d: Any) -> Case:
    fields = ISSUE_FIELDS["STANDARD"] + ISSUE_FIELDS["CUSTOM"]
    want = d.select("Issue__c", fields, order=[("Name", False, False)], limit=200)
    return Case("SELECT FIELDS(ALL) FROM Issue__c ORDER BY Name LIMIT 200", want, "Issue__c", order=("Name",))


@case
def fields_custom_with_other_fields(d: Any) -> Case:
    want = d.select("Case", ["CaseNumber", *CASE_CUSTOM], order=[("CaseNumber", False, False)], limit=50)
    query = "SELECT CaseNumber, FIELDS(CUSTOM) FROM Case ORDER BY CaseNumber LIMIT 50"
    return Case(query, want, "Case", order=("CaseNumber",))


@case
def fields_custom_in_child_subquery(d: Any) -> Case:
    target = first(d, "Issue__c")
    kids = [{f: c[f] for f in CASE_CUSTOM} for c in d.children("Case", "IssueId__c", target["Id"])]
    query = f"SELECT Id, (SELECT FIELDS(CUSTOM) FROM Cases__r LIMIT 200) FROM Issue__c WHERE Id = '{target['Id']}'"
    return Case(query, [{"Id": target["Id"], "Cases__r": kids or None}], "Issue__c")


# --- TYPEOF ----------------------------------------------------------------------------------------------


@case
def typeof_owner_when_user(d: Any) -> Case:
    want = d.select("Case", ["Id", "Owner.Name", "Owner.Email"])
    return Case("SELECT Id, TYPEOF Owner WHEN User THEN Name, Email ELSE Name END FROM Case", want, "Case")


@case
def typeof_owner_else_branch(d: Any) -> Case:
    want = d.select("LiveChatTranscript", ["Owner.Alias", "Name"])
    query = "SELECT TYPEOF Owner WHEN Group THEN Name ELSE Alias END, Name FROM LiveChatTranscript"
    return Case(query, want, "LiveChatTranscript")


@case
def typeof_two_whens_lowercase(d: Any) -> Case:
    want = d.select("Case", ["Owner.Email", "CaseNumber"], lambda r: r["Priority"] == "High")
    query = (
        "select typeof owner when group then Name when user then Email end, CaseNumber "
        "from case where priority = 'High'"
    )
    return Case(query, want, "Case")


# --- GROUP BY ROLLUP / CUBE and GROUPING() ------------------------------------------------------------


def _key(value: Any) -> tuple[int, Any]:
    """Salesforce's ascending order with nulls first, strings case-insensitively."""
    return (0, "") if value is None else (1, value.lower() if isinstance(value, str) else value)


def _subtotals(rows: list[Row], fields: list[str], kind: str) -> list[tuple[tuple[int, ...], tuple, int]]:
    """(grouping flags, key values with None where rolled up, count) of every grouping set, in the order
    of a report: each group, its subtotals, the grand total last (CUBE: then the cross subtotals)."""
    n = len(fields)
    if kind == "ROLLUP":
        sets = [tuple(range(k)) for k in range(n, -1, -1)]
    else:
        sets = [s for size in range(n, -1, -1) for s in itertools.combinations(range(n), size)]
    out = []
    for kept in sets:
        counts = Counter(tuple(r[fields[i]] if i in kept else None for i in range(n)) for r in rows)
        flags = tuple(int(i not in kept) for i in range(n))
        out.extend((flags, values, count) for values, count in counts.items())
    out.sort(key=lambda item: [part for i in range(n) for part in (item[0][i], _key(item[1][i]))])
    return out


def _grouped_case(kind: str, fields: list[str], with_flags: bool) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        rows = _subtotals(d.rows["Case"], fields, kind)
        want = []
        for flags, values, count in rows:
            record: Row = dict(zip(fields, values, strict=True))
            if with_flags:
                record.update({f"g{f}": flag for f, flag in zip(fields, flags, strict=True)})
            record["n"] = count
            want.append(record)
        flag_items = "".join(f", GROUPING({f}) g{f}" for f in fields) if with_flags else ""
        query = f"SELECT {', '.join(fields)}{flag_items}, COUNT(Id) n FROM Case GROUP BY {kind}({', '.join(fields)})"

        def exact_order(result: dict) -> None:
            got = [tuple(r[f] for f in fields) + (r["n"],) for r in result["records"]]
            assert got == [values + (count,) for _, values, count in rows]

        return Case(query, want, AGG, extra=exact_order)

    return build


CASES["rollup_one_field"] = _grouped_case("ROLLUP", ["Status"], False)
CASES["rollup_two_fields"] = _grouped_case("ROLLUP", ["Status", "Origin"], False)
CASES["rollup_two_fields_grouping"] = _grouped_case("ROLLUP", ["Priority", "Origin"], True)
CASES["rollup_three_fields"] = _grouped_case("ROLLUP", ["Status", "Priority", "Origin"], False)
CASES["cube_two_fields_grouping"] = _grouped_case("CUBE", ["Status", "Origin"], True)
CASES["cube_one_field"] = _grouped_case("CUBE", ["Priority"], True)


@case
def rollup_with_having_and_order(d: Any) -> Case:
    rows = [item for item in _subtotals(d.rows["Case"], ["Origin"], "ROLLUP") if item[2] > 10]
    want = [{"Origin": values[0], "n": count} for _, values, count in rows]
    query = "SELECT Origin, COUNT(Id) n FROM Case GROUP BY ROLLUP(Origin) HAVING COUNT(Id) > 10 ORDER BY COUNT(Id) DESC"

    def by_count(result: dict) -> None:
        counts = [r["n"] for r in result["records"]]
        assert counts == sorted(counts, reverse=True) and counts[0] == len(d.rows["Case"])

    return Case(query, want, AGG, extra=by_count)


@case
def rollup_where_on_the_rolled_up_field(d: Any) -> Case:
    kept = [r for r in d.rows["Case"] if r["Status"] != "New"]
    want = [{"Status": values[0], "n": count} for _, values, count in _subtotals(kept, ["Status"], "ROLLUP")]
    return Case("SELECT Status, COUNT(Id) n FROM Case WHERE Status != 'New' GROUP BY ROLLUP(Status)", want, AGG)


@case
def rollup_with_where_and_sum(d: Any) -> Case:
    items = [r for r in d.rows["OrderItem"] if r["Quantity"] is not None and r["Quantity"] > 1]
    orders = d.by_id["Order"]
    by_status: Counter[str] = Counter()
    for r in items:
        by_status[orders[r["OrderId"]]["Status"]] += r["Quantity"]
    want = [{"Status": s, "q": q} for s, q in sorted(by_status.items(), key=lambda kv: _key(kv[0]))]
    want.append({"Status": None, "q": sum(by_status.values())})
    query = "SELECT Order.Status, SUM(Quantity) q FROM OrderItem WHERE Quantity > 1 GROUP BY ROLLUP(Order.Status)"
    return Case(query, want, AGG)


# --- FORMAT(), convertCurrency(), toLabel(), convertTimezone() ----------------------------------------


def us_date(value: dt.date) -> str:
    return f"{value.month}/{value.day}/{value.year}"


def us_datetime(value: dt.datetime) -> str:
    hour = value.hour % 12 or 12
    return f"{us_date(value)}, {hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


@case
def format_datetime_and_date(d: Any) -> Case:
    want = [
        {"Id": r["Id"], "created": us_datetime(r["CreatedDate"]), "EffectiveDate": us_date(r["EffectiveDate"])}
        for r in d.rows["Order"]
    ]
    return Case("SELECT Id, FORMAT(CreatedDate) created, FORMAT(EffectiveDate) FROM Order", want, "Order")


@case
def format_currency(d: Any) -> Case:
    want = [{"UnitPrice": r["UnitPrice"], "price": f"${r['UnitPrice']:,.2f}"} for r in d.rows["PricebookEntry"]]
    return Case("SELECT UnitPrice, FORMAT(UnitPrice) price FROM PricebookEntry", want, "PricebookEntry")


@case
def format_aggregate_min_date(d: Any) -> Case:
    earliest = min(r["CreatedDate"] for r in d.rows["Case"])
    return Case("SELECT FORMAT(MIN(CreatedDate)) d FROM Case", [{"d": us_datetime(earliest)}], AGG)


@case
def format_counts_and_sums(d: Any) -> Case:
    totals: dict[str, list[float]] = {}
    for r in d.rows["OrderItem"]:
        totals.setdefault(r["Product2Id"], []).append(r["UnitPrice"])
    want = [
        {"Product2Id": p, "expr0": f"{len(v):,}", "expr1": f"${sum(v):,.2f}"} for p, v in totals.items() if len(v) > 3
    ]
    query = (
        "SELECT Product2Id, FORMAT(COUNT(Id)), FORMAT(SUM(UnitPrice)) FROM OrderItem GROUP BY Product2Id "
        "HAVING COUNT(Id) > 3"
    )
    return Case(query, want, AGG)


@case
def format_convert_currency_nested(d: Any) -> Case:
    want = [{"Id": r["Id"], "c": f"${r['UnitPrice']:,.2f}"} for r in d.rows["OrderItem"]]
    return Case("SELECT Id, FORMAT(convertCurrency(UnitPrice)) c FROM OrderItem", want, "OrderItem")


@case
def convert_currency_single_currency_org(d: Any) -> Case:
    want = d.select("OrderItem", ["Id", "UnitPrice"], lambda r: r["UnitPrice"] > 50)
    return Case("SELECT Id, convertCurrency(UnitPrice) FROM OrderItem WHERE UnitPrice > 50", want, "OrderItem")


@case
def to_label_select_and_where(d: Any) -> Case:
    want = d.select("Case", ["Id", "Priority"], lambda r: r["Status"] == "Closed")
    return Case("SELECT Id, toLabel(Priority) FROM Case WHERE toLabel(Status) = 'closed'", want, "Case")


@case
def to_label_aliased_and_parent(d: Any) -> Case:
    want = [{"Id": r["Id"], "fam": d.get("OrderItem", r, "Product2.Family")} for r in d.rows["OrderItem"]]
    return Case("SELECT Id, toLabel(Product2.Family) fam FROM OrderItem", want, "OrderItem")


@case
def to_label_parent_path_nests(d: Any) -> Case:
    want = d.select("OrderItem", ["Id", "Product2.Family", "Order.Status"])
    return Case("SELECT Id, toLabel(Product2.Family), FORMAT(Order.Status) FROM OrderItem", want, "OrderItem")


@case
def convert_timezone_in_date_function(d: Any) -> Case:
    hours = Counter(r["CreatedDate"].hour for r in d.rows["Case"])
    want = [{"h": h, "n": n} for h, n in hours.items()]
    query = (
        "SELECT HOUR_IN_DAY(convertTimezone(CreatedDate)) h, COUNT(Id) n FROM Case "
        "GROUP BY HOUR_IN_DAY(convertTimezone(CreatedDate))"
    )
    return Case(query, want, AGG)


@case
def convert_timezone_in_where(d: Any) -> Case:
    want = d.select("Case", ["Id"], lambda r: r["CreatedDate"].hour >= 12)
    return Case("SELECT Id FROM Case WHERE HOUR_IN_DAY(convertTimezone(CreatedDate)) >= 12", want, "Case")


# --- DISTANCE / GEOLOCATION: the org's addresses have no coordinates ------------------------------------


@case
def distance_filter_matches_nothing(d: Any) -> Case:
    query = "SELECT Id FROM Account WHERE DISTANCE(ShippingAddress, GEOLOCATION(37.775, -122.418), 'mi') < 20000"
    return Case(query, [], "Account")


@case
def distance_selected_is_null(d: Any) -> Case:
    want = [{"Name": r["Name"], "dist": None} for r in d.rows["Account"]]
    query = "SELECT Name, DISTANCE(ShippingAddress, GEOLOCATION(40.7, -74.0), 'km') dist FROM Account"
    return Case(query, want, "Account")


@case
def distance_order_keeps_every_row(d: Any) -> Case:
    want = d.select("Account", ["Id"], lambda r: r["ShippingState"] == "CA")
    query = (
        "SELECT Id FROM Account WHERE ShippingState = 'CA' "
        "ORDER BY DISTANCE(ShippingAddress, GEOLOCATION(37.775, -122.418), 'mi') LIMIT 2000"
    )
    return Case(query, want, "Account")


# --- WITH DATA CATEGORY -------------------------------------------------------------------------------

# The hierarchy, re-stated: each group has the top category All__c with the others below it.
HIERARCHY = {
    "Products__c": {"Accessories__c", "Apparel__c", "Equipment__c", "Footwear__c"},
    "Topics__c": {"Policies__c", "Care_Guides__c", "Services__c"},
}


def _selected(group: str, selector: str, names: list[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        out.add(name)
        if selector in ("ABOVE", "ABOVE_OR_BELOW") and name != "All__c":
            out.add("All__c")
        if selector in ("BELOW", "ABOVE_OR_BELOW") and name == "All__c":
            out |= HIERARCHY[group]
    return out


def _categorized(d: Any, filters: list[tuple[str, str, list[str]]]) -> Callable[[Row], bool]:
    rows = d.sql("SELECT article_id, group_name, category_name FROM article_data_category")
    categories = {(r["article_id"], r["group_name"]): r["category_name"] for r in rows}
    return lambda r: all(categories.get((r["Id"], g)) in _selected(g, s, names) for s, g, names in filters)


def _category_case(text: str, filters: list[tuple[str, str, list[str]]]) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        want = d.select("Knowledge__kav", ["Id", "Title"], _categorized(d, filters))
        return Case(f"SELECT Id, Title FROM Knowledge__kav WITH DATA CATEGORY {text}", want, "Knowledge__kav")

    return build


CASES["category_at_family"] = _category_case("Products__c AT Footwear__c", [("AT", "Products__c", ["Footwear__c"])])
CASES["category_at_list"] = _category_case(
    "Products__c AT (Apparel__c, equipment__c)", [("AT", "Products__c", ["Apparel__c", "Equipment__c"])]
)
CASES["category_above"] = _category_case("Products__c ABOVE Apparel__c", [("ABOVE", "Products__c", ["Apparel__c"])])
CASES["category_below_top"] = _category_case("Topics__c BELOW All__c", [("BELOW", "Topics__c", ["All__c"])])
CASES["category_above_or_below"] = _category_case(
    "topics__c ABOVE_OR_BELOW Policies__c", [("ABOVE_OR_BELOW", "Topics__c", ["Policies__c"])]
)
CASES["category_two_groups"] = _category_case(
    "Topics__c AT Care_Guides__c AND Products__c AT (Footwear__c, Apparel__c)",
    [("AT", "Topics__c", ["Care_Guides__c"]), ("AT", "Products__c", ["Footwear__c", "Apparel__c"])],
)


@case
def category_with_where_and_order(d: Any) -> Case:
    inside = _categorized(d, [("AT", "Topics__c", ["Policies__c"])])
    want = d.select("Knowledge__kav", ["Title"], lambda r: inside(r) and r["PublishStatus"] == "Online")
    want.sort(key=lambda r: r["Title"].lower())
    query = (
        "SELECT Title FROM Knowledge__kav WHERE PublishStatus = 'Online' "
        "WITH DATA CATEGORY Topics__c AT Policies__c ORDER BY Title"
    )
    return Case(query, want, "Knowledge__kav", order=("Title",))


def test_every_article_has_one_category_per_group(query_engine: Any, org_data: Any) -> None:
    rows = org_data.sql("SELECT article_id, group_name, category_name FROM article_data_category")
    pairs = Counter((r["article_id"], r["group_name"]) for r in rows)
    articles = {r["Id"] for r in org_data.rows["Knowledge__kav"]}
    assert set(pairs) == {(a, g) for a in articles for g in HIERARCHY} and set(pairs.values()) == {1}
    for r in rows:
        assert r["category_name"] in HIERARCHY[r["group_name"]] | {"All__c"}
    used = Counter(r["category_name"] for r in rows)
    assert used["Policies__c"] >= 1 and used["Care_Guides__c"] >= 1 and used["Footwear__c"] >= 1


# --- date literals: the fiscal ones equal the calendar ones (fiscal year starts in January) -------------

FISCAL = [
    ("THIS_FISCAL_QUARTER", "THIS_QUARTER", None),
    ("LAST_FISCAL_QUARTER", "LAST_QUARTER", None),
    ("NEXT_FISCAL_QUARTER", "NEXT_QUARTER", None),
    ("THIS_FISCAL_YEAR", "THIS_YEAR", None),
    ("LAST_FISCAL_YEAR", "LAST_YEAR", None),
    ("NEXT_FISCAL_YEAR", "NEXT_YEAR", None),
    ("LAST_N_FISCAL_QUARTERS", "LAST_N_QUARTERS", 2),
    ("NEXT_N_FISCAL_QUARTERS", "NEXT_N_QUARTERS", 2),
    ("N_FISCAL_QUARTERS_AGO", "N_QUARTERS_AGO", 2),
    ("LAST_N_FISCAL_YEARS", "LAST_N_YEARS", 1),
    ("NEXT_N_FISCAL_YEARS", "NEXT_N_YEARS", 1),
    ("N_FISCAL_YEARS_AGO", "N_YEARS_AGO", 1),
    ("N_WEEKS_AGO", "N_WEEKS_AGO", 2),
    ("NEXT_N_QUARTERS", "NEXT_N_QUARTERS", 1),
    ("NEXT_N_YEARS", "NEXT_N_YEARS", 2),
]


def _fiscal(fiscal: str, calendar: str, n: int | None, op: str) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        spec = _relative("Case", "CreatedDate", calendar, n, op)(d)
        spec.query = spec.query.replace(f" {calendar}", f" {fiscal}")
        return spec

    return build


for _fiscal_name, _calendar_name, _n in FISCAL:
    for _op in ("=", "<", ">="):
        CASES[f"date_literal_{_fiscal_name.lower()}_{_op}"] = _fiscal(_fiscal_name, _calendar_name, _n, _op)


# --- the tests ----------------------------------------------------------------------------------------


def test_case_count() -> None:
    assert len(CASES) >= 60, len(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_grammar_conformance(name: str, query_engine: Any, org_data: Any, check: Callable[..., None]) -> None:
    spec = CASES[name](org_data)
    verify(spec, run_soql(query_engine, spec.query, today=spec.today), check)
