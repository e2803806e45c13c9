"""SOSL conformance: searches over the tiny org, each checked against an independent search over
the org's rows (a small tokenizer and matcher written from Salesforce's documented SOSL rules), on both databases.

Search terms are picked from the data (a frequent word of the article titles, a customer's email)
so that the suite holds for any seed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from crm_core.query import run_sosl

Row = dict[str, Any]

# Searchable fields per object, by hand from the schema's field types
# (text, email, phone, name and long text; not ids, references, picklists or numbers).
SEARCHABLE: dict[str, list[str]] = {
    "User": ["Name", "FirstName", "LastName", "Email", "Phone", "Username", "Alias"],
    "Account": [
        "Name",
        "FirstName",
        "LastName",
        "PersonEmail",
        "Phone",
        "ShippingStreet",
        "ShippingCity",
        "ShippingState",
        "ShippingPostalCode",
        "ShippingCountry",
    ],
    "Contact": ["Name", "FirstName", "LastName", "Email", "Phone"],
    "Issue__c": ["Name", "Description__c"],
    "Pricebook2": ["Name", "Description"],
    "ProductCategory": ["Name"],
    "Product2": ["Name", "Description", "ProductCode"],
    "Order": ["OrderNumber"],
    "OrderItem": ["OrderItemNumber"],
    "Case": ["CaseNumber", "Subject", "Description"],
    "CaseHistory__c": ["OldValue__c", "NewValue__c"],
    "Knowledge__kav": ["ArticleNumber", "Title", "Summary", "UrlName", "FAQ_Answer__c"],
    "EmailMessage": ["Subject", "TextBody", "FromAddress", "ToAddress"],
    "LiveChatTranscript": ["Name", "Body"],
}
NAME_FIELDS: dict[str, list[str]] = {
    "User": ["Name"],
    "Account": ["Name"],
    "Contact": ["Name"],
    "Issue__c": ["Name"],
    "Pricebook2": ["Name"],
    "ProductCategory": ["Name"],
    "Product2": ["Name"],
    "Order": ["OrderNumber"],
    "OrderItem": ["OrderItemNumber"],
    "Case": ["CaseNumber", "Subject"],
    "Knowledge__kav": ["ArticleNumber", "Title"],
    "LiveChatTranscript": ["Name"],
}
EMAIL_FIELDS: dict[str, list[str]] = {
    "User": ["Email"],
    "Account": ["PersonEmail"],
    "Contact": ["Email"],
    "EmailMessage": ["FromAddress", "ToAddress"],
}
PHONE_FIELDS: dict[str, list[str]] = {"User": ["Phone"], "Account": ["Phone"], "Contact": ["Phone"]}
# SIDEBAR FIELDS: what the sidebar search box searches, names, emails and phones.
SIDEBAR_FIELDS: dict[str, list[str]] = {
    obj: NAME_FIELDS.get(obj, []) + EMAIL_FIELDS.get(obj, []) + PHONE_FIELDS.get(obj, [])
    for obj in {*NAME_FIELDS, *EMAIL_FIELDS, *PHONE_FIELDS}
}
SCOPES = {
    "ALL": SEARCHABLE,
    "NAME": NAME_FIELDS,
    "EMAIL": EMAIL_FIELDS,
    "PHONE": PHONE_FIELDS,
    "SIDEBAR": SIDEBAR_FIELDS,
}


def tokens(text: str | None) -> list[str]:
    """Lower-cased tokens: runs of letters and digits (everything else separates)."""
    return [t.lower() for t in re.findall(r"[^\W_]+", text or "")]


# --- an independent matcher: terms are (kind, value) trees ------------------------------------------


def _token_matches(pattern: str, token: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, token) is not None


def _phrase_in(words: list[str], field_tokens: list[str]) -> bool:
    n = len(words)
    return any(
        all(_token_matches(w, t) for w, t in zip(words, field_tokens[i : i + n], strict=True))
        for i in range(len(field_tokens) - n + 1)
    )


def _phrase_words(term: str) -> list[str]:
    """A term's words: split at anything but letters, digits and the wildcards."""
    return [w.lower() for w in re.findall(r"[^\W_]+(?:[*?][^\W_]*)*|[*?]", term) if w not in ("*", "?")]


Term = tuple  # ("term", text) | ("and", a, b) | ("or", a, b) | ("andnot", a, b)


def matches(term: Term, field_texts: list[list[str]]) -> bool:
    kind = term[0]
    if kind == "term":
        words = _phrase_words(term[1])
        return bool(words) and any(_phrase_in(words, f) for f in field_texts)
    if kind == "and":
        return matches(term[1], field_texts) and matches(term[2], field_texts)
    if kind == "or":
        return matches(term[1], field_texts) or matches(term[2], field_texts)
    return matches(term[1], field_texts) and not matches(term[2], field_texts)


def T(text: str) -> Term:  # noqa: N802 - reads like the grammar
    return ("term", text)


def AND(*terms: Term) -> Term:  # noqa: N802
    out = terms[0]
    for t in terms[1:]:
        out = ("and", out, t)
    return out


def OR(*terms: Term) -> Term:  # noqa: N802
    out = terms[0]
    for t in terms[1:]:
        out = ("or", out, t)
    return out


def ANDNOT(a: Term, b: Term) -> Term:  # noqa: N802
    return ("andnot", a, b)


@dataclass
class Returning:
    """One object of the RETURNING clause and its expectation's options."""

    obj: str
    fields: list[str]
    where: Callable[[Row], bool] = lambda _r: True
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending), nulls first
    limit: int | None = None


@dataclass
class Search:
    query: str
    term: Term
    returning: list[Returning]
    scope: str = "ALL"
    limit: int | None = None


def expected_hits(d: Any, s: Search) -> dict[str, list[Row]]:
    """Per object, the expected records (ordered when the object has an ORDER BY)."""
    out = {}
    for ret in s.returning:
        searched = SCOPES[s.scope].get(ret.obj, [])
        rows = [
            r
            for r in d.rows[ret.obj]
            if searched and matches(s.term, [tokens(r[f]) for f in searched]) and ret.where(r)
        ]
        for name, descending in reversed(ret.order):
            present = sorted(
                (r for r in rows if r[name] is not None),
                key=lambda r, n=name: r[n].lower() if isinstance(r[n], str) else r[n],
                reverse=descending,
            )
            rows = [r for r in rows if r[name] is None] + present
        if ret.limit is not None:
            rows = rows[: ret.limit]
        out[ret.obj] = [{f: r[f] for f in ret.fields} for r in rows]
    return out


def _frozen(record: Row) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in record.items()))


def check_search(result: dict, d: Any, s: Search, rest_value: Callable[[Any], Any]) -> None:
    assert set(result) == {"searchRecords"}, result
    got: dict[str, list[Row]] = {}
    for record in result["searchRecords"]:
        attributes = record["attributes"]
        assert f"/sobjects/{attributes['type']}/" in attributes["url"]
        got.setdefault(attributes["type"], []).append({k: v for k, v in record.items() if k != "attributes"})
    want = {obj: [{k: rest_value(v) for k, v in r.items()} for r in rows] for obj, rows in expected_hits(d, s).items()}
    assert set(got) <= {r.obj for r in s.returning}, f"objects not asked for: {set(got)}"
    if s.limit is not None:
        total = sum(len(v) for v in want.values())
        assert len(result["searchRecords"]) == min(s.limit, total)
        for obj, rows in got.items():
            assert not Counter(map(_frozen, rows)) - Counter(map(_frozen, want[obj])), obj
        return
    for ret in s.returning:
        actual = got.get(ret.obj, [])
        expected = want[ret.obj]
        for r in actual:
            assert list(r) == ret.fields, f"{ret.obj}: fields {list(r)} != {ret.fields}"
        if ret.order:
            keys = [tuple(r[n].lower() if isinstance(r[n], str) else r[n] for n, _ in ret.order) for r in actual]
            want_keys = [tuple(r[n].lower() if isinstance(r[n], str) else r[n] for n, _ in ret.order) for r in expected]
            assert keys == want_keys, f"{ret.obj}: order differs"
        missing = Counter(map(_frozen, expected)) - Counter(map(_frozen, actual))
        extra = Counter(map(_frozen, actual)) - Counter(map(_frozen, expected))
        assert not missing and not extra, f"{ret.obj}: missing {list(missing)[:3]}, extra {list(extra)[:3]}"


# --- picking search terms from the data ---------------------------------------------------------------


def common_word(d: Any, obj: str, fieldname: str, rank: int = 0, min_len: int = 4) -> str:
    """The `rank`-th most frequent word (letters only) of a field, counted once per record."""
    counts: Counter[str] = Counter()
    for r in d.rows[obj]:
        counts.update({t for t in tokens(r[fieldname]) if t.isalpha() and len(t) >= min_len})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[min(rank, len(ranked) - 1)][0] if ranked else "zzzz"


def adjacent_pair(d: Any, obj: str, fieldname: str) -> tuple[str, str]:
    """Two alphabetic words that occur next to each other in some record (no operator words)."""
    operators = {"and", "or", "not"}
    for r in sorted(d.rows[obj], key=lambda r: r["Id"]):
        ts = tokens(r[fieldname])
        for a, b in zip(ts, ts[1:], strict=False):
            words_ok = a.isalpha() and b.isalpha() and len(a) >= 3 and len(b) >= 3 and a != b
            if words_ok and not {a.lower(), b.lower()} & operators:
                return a, b
    return "nothing", "here"


def first_row(d: Any, obj: str, pred: Callable[[Row], bool] = lambda _r: True) -> Row:
    return sorted((r for r in d.rows[obj] if pred(r)), key=lambda r: r["Id"])[0]


CASES: dict[str, Callable[[Any], Search]] = {}


def case(fn: Callable[[Any], Search]) -> Callable[[Any], Search]:
    CASES[fn.__name__] = fn
    return fn


KAV = ["Id", "Title"]
CASE_F = ["Id", "Subject"]


def _kav(term: Term, text: str, scope: str = "ALL", fields: list[str] | None = None) -> Search:
    scope_sql = "" if scope == "ALL" else f" IN {scope} FIELDS"
    return Search(
        f"FIND {{{text}}}{scope_sql} RETURNING Knowledge__kav({', '.join(fields or KAV)})",
        term,
        [Returning("Knowledge__kav", fields or KAV)],
        scope,
    )


@case
def word_in_titles(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return _kav(T(w), w)


@case
def word_upper_case(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return _kav(T(w), w.upper())


@case
def word_mixed_case(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title", 1)
    return _kav(T(w), w.capitalize())


@case
def second_word(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Summary", 2)
    return _kav(T(w), w)


@case
def two_words_implicit_and(d: Any) -> Search:
    a = common_word(d, "Knowledge__kav", "Summary", 1)
    b = partner_word(d, a, "Summary")
    return _kav(AND(T(a), T(b)), f"{a} {b}")


@case
def two_words_any_order(d: Any) -> Search:
    a, b = adjacent_pair(d, "Knowledge__kav", "Title")
    return _kav(AND(T(b), T(a)), f"{b} {a}")


@case
def quoted_phrase(d: Any) -> Search:
    a, b = adjacent_pair(d, "Knowledge__kav", "Title")
    return _kav(T(f"{a} {b}"), f'"{a} {b}"')


@case
def quoted_phrase_reversed(d: Any) -> Search:
    a, b = adjacent_pair(d, "Knowledge__kav", "Title")
    return _kav(T(f"{b} {a}"), f'"{b} {a}"')


def partner_word(d: Any, word: str, fieldname: str) -> str:
    """A word that occurs in some, but not all, of the articles whose `fieldname` has `word`."""
    having = [r for r in d.rows["Knowledge__kav"] if word in tokens(r["Title"]) + tokens(r["Summary"])]
    counts: Counter[str] = Counter()
    for r in having:
        counts.update({t for t in tokens(r[fieldname]) if t.isalpha() and len(t) >= 4 and t != word})
    partial = sorted((w for w, n in counts.items() if n < len(having)), key=lambda w: (-counts[w], w))
    return partial[0] if partial else "zzzz"


def _two_words(first: tuple[str, int], second: str, combine: Callable, text: str) -> Callable:
    def build(d: Any) -> Search:
        a = common_word(d, "Knowledge__kav", *first)
        b = partner_word(d, a, second) if combine is not OR else common_word(d, "Knowledge__kav", second, 3)
        return _kav(combine(T(a), T(b)), text.format(a=a, b=b))

    return build


TWO_WORD_CASES = {
    "explicit_and": (("Title", 0), "Summary", AND, "{a} AND {b}"),
    "explicit_or": (("Title", 2), "Title", OR, "{a} OR {b}"),
    "and_not": (("Summary", 0), "Title", ANDNOT, "{a} AND NOT {b}"),
    "lowercase_operators": (("Title", 1), "Summary", OR, "{a} or {b}"),
    "lowercase_and_not": (("Title", 1), "Summary", ANDNOT, "{a} and not {b}"),
    "implicit_and_partner": (("Title", 0), "Title", AND, "{a} {b}"),
}
for _name, (_first, _second, _combine, _text) in TWO_WORD_CASES.items():
    CASES[_name] = _two_words(_first, _second, _combine, _text)


@case
def parenthesized(d: Any) -> Search:
    c = common_word(d, "Knowledge__kav", "Title")
    a, b = partner_word(d, c, "Title"), common_word(d, "Knowledge__kav", "Summary", 2)
    return _kav(AND(OR(T(a), T(b)), T(c)), f"({a} OR {b}) AND {c}")


@case
def or_of_phrases(d: Any) -> Search:
    a, b = adjacent_pair(d, "Knowledge__kav", "Title")
    c = common_word(d, "Knowledge__kav", "Summary", 3)
    return _kav(OR(T(f"{a} {b}"), T(c)), f'"{a} {b}" OR {c}')


@case
def wildcard_star_suffix(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title", 0, 6)
    return _kav(T(w[:3] + "*"), w[:3] + "*")


@case
def wildcard_star_middle(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title", 1, 6)
    return _kav(T(w[:2] + "*" + w[-2:]), w[:2] + "*" + w[-2:])


@case
def wildcard_question(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title", 0, 5)
    return _kav(T(w[:2] + "?" + w[3:]), w[:2] + "?" + w[3:])


@case
def wildcard_question_at_end(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Summary", 1, 5)
    return _kav(T(w[:-1] + "?"), w[:-1] + "?")


@case
def wildcard_star_matches_empty(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title", 2)
    return _kav(T(w + "*"), w + "*")


@case
def wildcard_in_phrase(d: Any) -> Search:
    a, b = adjacent_pair(d, "Knowledge__kav", "Title")
    return _kav(T(f"{a} {b[:2]}*"), f'"{a} {b[:2]}*"')


@case
def long_text_body(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "FAQ_Answer__c", 5)
    return _kav(T(w), w)


@case
def long_text_rare_word(d: Any) -> Search:
    counts: Counter[str] = Counter()
    for r in d.rows["Knowledge__kav"]:
        counts.update({t for t in tokens(r["FAQ_Answer__c"]) if t.isalpha() and len(t) >= 5})
    rare = sorted(w for w, n in counts.items() if n == 1)
    w = rare[len(rare) // 2] if rare else "zzzzz"
    return _kav(T(w), w)


@case
def no_match(d: Any) -> Search:
    return _kav(T("qqxqzv"), "qqxqzv")


@case
def in_name_fields(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return _kav(T(w), w, "NAME")


@case
def in_all_fields_explicit(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Summary", 1)
    s = _kav(T(w), w)
    s.query = s.query.replace("}", "} IN ALL FIELDS", 1)
    return s


@case
def name_fields_skip_body(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "FAQ_Answer__c", 3)
    return _kav(T(w), w, "NAME")


@case
def returning_without_fields(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return Search(f"FIND {{{w}}} RETURNING Knowledge__kav", T(w), [Returning("Knowledge__kav", ["Id"])])


@case
def without_returning(d: Any) -> Search:
    w = common_word(d, "Product2", "Name")
    objects = [o for o in NAME_FIELDS if o in d.rows]
    return Search(f"FIND {{{w}}} IN NAME FIELDS", T(w), [Returning(o, ["Id"]) for o in objects], "NAME")


@case
def returning_lowercase_names(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return Search(
        f"find {{{w}}} returning knowledge__KAV(id, title, summary)",
        T(w),
        [Returning("Knowledge__kav", ["Id", "Title", "Summary"])],
    )


@case
def returning_where(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return Search(
        f"FIND {{{w}}} RETURNING Knowledge__kav(Id, Title WHERE PublishStatus = 'online')",
        T(w),
        [Returning("Knowledge__kav", KAV, lambda r: r["PublishStatus"] == "Online")],
    )


@case
def returning_order_by(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Summary")
    return Search(
        f"FIND {{{w}}} RETURNING Knowledge__kav(Id, Title ORDER BY Title DESC)",
        T(w),
        [Returning("Knowledge__kav", KAV, order=[("Title", True)])],
    )


@case
def returning_order_by_limit(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Summary")
    return Search(
        f"FIND {{{w}}} RETURNING Knowledge__kav(Id, Title ORDER BY Title LIMIT 3)",
        T(w),
        [Returning("Knowledge__kav", KAV, order=[("Title", False)], limit=3)],
    )


@case
def returning_where_order_limit(d: Any) -> Search:
    w = common_word(d, "Case", "Subject")
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id, Subject, CaseNumber WHERE Priority != 'Low' "
        "ORDER BY CaseNumber DESC LIMIT 5)",
        T(w),
        [
            Returning(
                "Case", ["Id", "Subject", "CaseNumber"], lambda r: r["Priority"] != "Low", [("CaseNumber", True)], 5
            )
        ],
    )


@case
def returning_where_date_literal(d: Any) -> Search:
    w = common_word(d, "Case", "Subject")
    cut = sorted(r["CreatedDate"] for r in d.rows["Case"])[len(d.rows["Case"]) // 2]
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id, Subject WHERE CreatedDate >= {cut:%Y-%m-%dT%H:%M:%SZ})",
        T(w),
        [Returning("Case", CASE_F, lambda r: r["CreatedDate"] >= cut)],
    )


@case
def returning_two_objects(d: Any) -> Search:
    w = common_word(d, "Case", "Subject")
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id, Subject), Knowledge__kav(Id, Title)",
        T(w),
        [Returning("Case", CASE_F), Returning("Knowledge__kav", KAV)],
    )


@case
def returning_three_objects(d: Any) -> Search:
    w = common_word(d, "EmailMessage", "TextBody")
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id), EmailMessage(Id, Subject), LiveChatTranscript(Id, Name)",
        T(w),
        [
            Returning("Case", ["Id"]),
            Returning("EmailMessage", ["Id", "Subject"]),
            Returning("LiveChatTranscript", ["Id", "Name"]),
        ],
    )


@case
def global_limit(d: Any) -> Search:
    w = common_word(d, "Case", "Subject")
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id, Subject), Knowledge__kav(Id, Title) LIMIT 3",
        T(w),
        [Returning("Case", CASE_F), Returning("Knowledge__kav", KAV)],
        limit=3,
    )


@case
def case_subject(d: Any) -> Search:
    w = common_word(d, "Case", "Subject", 1)
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id, Subject, Status)", T(w), [Returning("Case", ["Id", "Subject", "Status"])]
    )


@case
def case_description_long_text(d: Any) -> Search:
    w = common_word(d, "Case", "Description", 4)
    return Search(f"FIND {{{w}}} RETURNING Case(Id)", T(w), [Returning("Case", ["Id"])])


@case
def case_subject_in_name_fields(d: Any) -> Search:
    w = common_word(d, "Case", "Subject", 2)
    return Search(f"FIND {{{w}}} IN NAME FIELDS RETURNING Case(Id, Subject)", T(w), [Returning("Case", CASE_F)], "NAME")


@case
def case_number(d: Any) -> Search:
    number = first_row(d, "Case")["CaseNumber"]
    return Search(
        f"FIND {{{number}}} RETURNING Case(Id, CaseNumber)", T(number), [Returning("Case", ["Id", "CaseNumber"])]
    )


@case
def chat_body(d: Any) -> Search:
    w = common_word(d, "LiveChatTranscript", "Body", 3)
    return Search(
        f"FIND {{{w}}} RETURNING LiveChatTranscript(Id, CaseId)",
        T(w),
        [Returning("LiveChatTranscript", ["Id", "CaseId"])],
    )


@case
def email_body_phrase(d: Any) -> Search:
    a, b = adjacent_pair(d, "EmailMessage", "TextBody")
    return Search(
        f'FIND {{"{a} {b}"}} RETURNING EmailMessage(Id, ParentId)',
        T(f"{a} {b}"),
        [Returning("EmailMessage", ["Id", "ParentId"])],
    )


@case
def email_by_case_where(d: Any) -> Search:
    w = common_word(d, "EmailMessage", "TextBody")
    parent = first_row(d, "EmailMessage")["ParentId"]
    return Search(
        f"FIND {{{w}}} RETURNING EmailMessage(Id, Subject WHERE ParentId = '{parent}')",
        T(w),
        [Returning("EmailMessage", ["Id", "Subject"], lambda r: r["ParentId"] == parent)],
    )


@case
def email_address_in_email_fields(d: Any) -> Search:
    email = first_row(d, "Contact", lambda r: r["Email"] is not None)["Email"]
    escaped = email.replace("-", "\\-").replace("+", "\\+")
    return Search(
        f"FIND {{{escaped}}} IN EMAIL FIELDS RETURNING Contact(Id, Email), Account(Id, PersonEmail)",
        T(email),
        [Returning("Contact", ["Id", "Email"]), Returning("Account", ["Id", "PersonEmail"])],
        "EMAIL",
    )


@case
def person_name(d: Any) -> Search:
    row = first_row(d, "Contact")
    return Search(
        f"FIND {{{row['LastName']}}} IN NAME FIELDS RETURNING Contact(Id, Name), User(Id, Name)",
        T(row["LastName"]),
        [Returning("Contact", ["Id", "Name"]), Returning("User", ["Id", "Name"])],
        "NAME",
    )


@case
def full_name_words(d: Any) -> Search:
    row = first_row(d, "Account")
    text = f"{row['FirstName']} {row['LastName']}"
    term = AND(*(T(w) for w in text.split()))
    return Search(f"FIND {{{_escape(text)}}} RETURNING Account(Id, Name)", term, [Returning("Account", ["Id", "Name"])])


@case
def phone_in_phone_fields(d: Any) -> Search:
    phone = first_row(d, "Account", lambda r: r["Phone"] is not None)["Phone"]
    digits = max(re.findall(r"[0-9]+", phone), key=len)
    return Search(
        f"FIND {{{digits}}} IN PHONE FIELDS RETURNING Account(Id, Phone)",
        T(digits),
        [Returning("Account", ["Id", "Phone"])],
        "PHONE",
    )


@case
def product_name(d: Any) -> Search:
    w = common_word(d, "Product2", "Name")
    return Search(
        f"FIND {{{w}}} RETURNING Product2(Id, Name WHERE IsActive = true)",
        T(w),
        [Returning("Product2", ["Id", "Name"], lambda r: bool(r["IsActive"]))],
    )


@case
def product_code_escaped_hyphen(d: Any) -> Search:
    code = first_row(d, "Product2", lambda r: r["ProductCode"] is not None)["ProductCode"]
    return Search(
        f"FIND {{{_escape(code)}}} RETURNING Product2(Id, ProductCode)",
        T(code),
        [Returning("Product2", ["Id", "ProductCode"])],
    )


@case
def user_email_in_email_fields(d: Any) -> Search:
    email = first_row(d, "User")["Email"]
    return Search(
        f"FIND {{{_escape(email)}}} IN EMAIL FIELDS RETURNING User(Id, Email)",
        T(email),
        [Returning("User", ["Id", "Email"])],
        "EMAIL",
    )


@case
def order_number(d: Any) -> Search:
    number = first_row(d, "Order")["OrderNumber"]
    return Search(
        f"FIND {{{number}}} IN NAME FIELDS RETURNING Order(Id, OrderNumber, Status)",
        T(number),
        [Returning("Order", ["Id", "OrderNumber", "Status"])],
        "NAME",
    )


@case
def word_across_objects_with_where(d: Any) -> Search:
    w = common_word(d, "Case", "Subject")
    return Search(
        f"FIND {{{w}}} RETURNING Case(Id WHERE Priority = 'High'), EmailMessage(Id WHERE MessageDate != null)",
        T(w),
        [Returning("Case", ["Id"], lambda r: r["Priority"] == "High"), Returning("EmailMessage", ["Id"])],
    )


@case
def issue_description(d: Any) -> Search:
    w = common_word(d, "Issue__c", "Description__c")
    return Search(f"FIND {{{w}}} RETURNING Issue__c(Id, Name)", T(w), [Returning("Issue__c", ["Id", "Name"])])


@case
def escaped_apostrophe(d: Any) -> Search:
    names = [r["LastName"] for r in d.rows["Account"] if r["LastName"] and "'" in r["LastName"]]
    name = names[0] if names else "O'Hara"
    return Search(f"FIND {{{_escape(name)}}} RETURNING Account(Id)", T(name), [Returning("Account", ["Id"])])


@case
def escaped_reserved_characters(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    text = f"{w}\\!\\?"  # escaped ! and ? are plain characters, not wildcards or operators
    return _kav(T(w), text)


# --- the one-character rule applies to the whole search term, not to each word ------------------


def _with_short_token(d: Any, obj: str, fieldname: str, short: Callable[[str], bool]) -> tuple[str, str, str]:
    """Three adjacent tokens of some record whose middle one is short (one letter or one digit)."""
    for r in sorted(d.rows[obj], key=lambda r: r["Id"]):
        ts = tokens(r[fieldname])
        for a, b, c in zip(ts, ts[1:], ts[2:], strict=False):
            words = [w for w in (a, c) if w.isalpha() and len(w) >= 3 and w not in ("and", "not")]
            if short(b) and len(words) == 2:
                return a, b, c
    return "nothing", "z", "here"


@case
def single_letter_among_words(d: Any) -> Search:
    a, b, c = _with_short_token(d, "Knowledge__kav", "FAQ_Answer__c", lambda t: len(t) == 1 and t.isalpha())
    return _kav(AND(T(a), T(b), T(c)), f"{a} {b} {c}")


@case
def single_letter_article_in_phrase(d: Any) -> Search:
    a, b, c = _with_short_token(d, "Knowledge__kav", "FAQ_Answer__c", lambda t: len(t) == 1 and t.isalpha())
    return _kav(T(f"{a} {b} {c}"), f'"{a} {b} {c}"')


@case
def single_digit_among_words(d: Any) -> Search:
    a, b, c = _with_short_token(d, "Product2", "Name", lambda t: len(t) == 1 and t.isdigit())
    return Search(
        f"FIND {{{a} {b} {c}}} RETURNING Product2(Id, Name)",
        AND(T(a), T(b), T(c)),
        [Returning("Product2", ["Id", "Name"])],
    )


@case
def single_digit_in_case_subject(d: Any) -> Search:
    a, b, c = _with_short_token(d, "Case", "Subject", lambda t: len(t) == 1 and t.isdigit())
    return Search(
        f"FIND {{{a} {b} {c}}} RETURNING Case(Id, Subject)", AND(T(a), T(b), T(c)), [Returning("Case", CASE_F)]
    )


@case
def single_letter_or_word(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    return _kav(OR(T("q"), T(w)), f"q OR {w}")


@case
def wildcard_after_single_letter_among_words(d: Any) -> Search:
    a, b, c = _with_short_token(d, "Knowledge__kav", "FAQ_Answer__c", lambda t: len(t) == 1 and t.isalpha())
    return _kav(AND(T(a), T(b + "*"), T(c[:2] + "?" + c[3:])), f"{a} {b}* {c[:2]}?{c[3:]}")


# --- SIDEBAR FIELDS, clauses without effect, WITH DATA CATEGORY -------------------------------------


@case
def in_sidebar_fields_email(d: Any) -> Search:
    email = first_row(d, "Contact", lambda r: r["Email"] is not None)["Email"]
    return Search(
        f"FIND {{{_escape(email)}}} IN SIDEBAR FIELDS RETURNING Contact(Id, Email), User(Id)",
        T(email),
        [Returning("Contact", ["Id", "Email"]), Returning("User", ["Id"])],
        "SIDEBAR",
    )


@case
def in_sidebar_fields_skips_bodies(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "FAQ_Answer__c", 3)
    return _kav(T(w), w, "SIDEBAR")


@case
def with_spell_correction_and_update_tracking(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "Title")
    s = _kav(T(w), w)
    s.query += " WITH SPELL_CORRECTION = false UPDATE TRACKING, VIEWSTAT"
    return s


@case
def with_data_category_on_articles(d: Any) -> Search:
    w = common_word(d, "Knowledge__kav", "FAQ_Answer__c", 2)
    rows = d.sql("SELECT article_id FROM article_data_category WHERE category_name = 'Care_Guides__c'")
    guides = {r["article_id"] for r in rows}
    return Search(
        f"FIND {{{w}}} RETURNING Knowledge__kav(Id, Title), Case(Id) WITH DATA CATEGORY Topics__c AT Care_Guides__c",
        T(w),
        [Returning("Knowledge__kav", KAV, lambda r: r["Id"] in guides), Returning("Case", ["Id"])],
    )


def _escape(text: str) -> str:
    return "".join("\\" + c if c in "?&|!{}[]()^~*:\\\"'+-" else c for c in text)


def test_case_count() -> None:
    assert len(CASES) >= 50, len(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sosl_conformance(name: str, query_engine: Any, org_data: Any, rest_value: Callable[[Any], Any]) -> None:
    spec = CASES[name](org_data)
    result = run_sosl(query_engine, spec.query)
    check_search(result, org_data, spec, rest_value)


def test_oracle_tokenizer_and_wildcards() -> None:
    """The expectation's own matcher, on worked examples."""
    assert tokens("Can't return: worn-out shoes (size 10)") == [
        "can",
        "t",
        "return",
        "worn",
        "out",
        "shoes",
        "size",
        "10",
    ]
    assert matches(T("sho*"), [["worn", "shoes"]])
    assert not matches(T("sho?"), [["shoes"]])
    assert matches(T("sh?es"), [["shoes"]])
    assert matches(T("worn out"), [["worn", "out", "shoes"]])
    assert not matches(T("out worn"), [["worn", "out", "shoes"]])
    assert matches(AND(T("worn"), T("size")), [["worn"], ["size"]])
    assert matches(ANDNOT(T("worn"), T("new")), [["worn"]]) and not matches(
        ANDNOT(T("worn"), T("out")), [["worn", "out"]]
    )


# --- WITH HIGHLIGHT, WITH SNIPPET, WITH METADATA: the REST shape ----------------------------------------


def marked(text: str, words: set[str]) -> str:
    """`text` with each searched word (a run of letters and digits) in <mark> tags, by hand."""
    out, last = [], 0
    for match in re.finditer(r"[^\W_]+", text):
        if match.group().lower() in words:
            out.append(text[last : match.start()] + f"<mark>{match.group()}</mark>")
            last = match.end()
    return "".join(out) + text[last:]


def test_with_highlight_marks_selected_text_fields(query_engine: Any, org_data: Any) -> None:
    w = common_word(org_data, "Knowledge__kav", "Title")
    query = f"FIND {{{w}}} RETURNING Knowledge__kav(Id, Title, Summary, ArticleNumber) WITH HIGHLIGHT"
    records = run_sosl(query_engine, query)["searchRecords"]
    assert records
    for position, record in enumerate(records):
        for field_name in ("Title", "Summary"):
            value = record[field_name]
            key = f"highlight.{field_name}"
            if position >= 25 or value is None or w not in tokens(value):
                assert key not in record
            else:
                assert record[key] == marked(value, {w}), record
        assert "highlight.ArticleNumber" not in record or w in tokens(record["ArticleNumber"])


def test_with_highlight_skips_wildcards_and_negated_terms(query_engine: Any, org_data: Any) -> None:
    a = common_word(org_data, "Knowledge__kav", "Title")
    query = f"FIND {{{a[:3]}* OR ({a} AND NOT qqxqzv)}} RETURNING Knowledge__kav(Title) WITH HIGHLIGHT LIMIT 5"
    for record in run_sosl(query_engine, query)["searchRecords"]:
        if a in tokens(record["Title"]):
            assert record["highlight.Title"] == marked(record["Title"], {a})
        else:
            assert "highlight.Title" not in record


def test_with_snippet_excerpts_the_body(query_engine: Any, org_data: Any) -> None:
    w = common_word(org_data, "Knowledge__kav", "FAQ_Answer__c", 3)
    query = f"FIND {{{w}}} IN ALL FIELDS RETURNING Knowledge__kav(Id, Title) WITH SNIPPET (target_length=120)"
    records = run_sosl(query_engine, query)["searchRecords"]
    bodies = {r["Id"]: r["FAQ_Answer__c"] for r in org_data.rows["Knowledge__kav"]}
    assert records
    for record in records:
        snippet = record["snippet.text"]
        assert "<mark>" in snippet
        plain = snippet.replace("<mark>", "").replace("</mark>", "").strip(".")
        body = bodies[record["Id"]]
        if w in tokens(body):
            assert plain in body and len(plain) <= 120, (plain, body)
            assert marked(plain, {w}) == snippet.strip(".") or marked(plain, {w}) in snippet


def test_with_metadata_labels(query_engine: Any, org_data: Any) -> None:
    w = common_word(org_data, "Case", "Subject")
    query = f"FIND {{{w}}} RETURNING Case(Id, Subject), Knowledge__kav(Title) WITH METADATA = 'LABELS'"
    result = run_sosl(query_engine, query)
    # Labels written by hand from the schema.
    assert result["searchResultsMetadata"] == {
        "entityMetadata": [
            {
                "entityName": "Case",
                "fieldMetadata": [{"name": "Id", "label": "Case ID"}, {"name": "Subject", "label": "Subject"}],
            },
            {"entityName": "Knowledge__kav", "fieldMetadata": [{"name": "Title", "label": "Title"}]},
        ]
    }
