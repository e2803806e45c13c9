"""One generator per task: sample parameters from the org, compute the answer with the reference
solver, reject ties, and keep the share of "None" answers of SPEC §6. Deterministic from the seed:
every random draw comes from a per-task `random.Random` and every query is ordered."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import (
    Case,
    Contact,
    Issue,
    Knowledge,
    LatentArticleFact,
    LatentCasePolicy,
    Order,
    OrderItem,
    Product2,
    User,
)
from crm_core.tasks import reference as ref
from crm_core.tasks.periods import MONTHS, QUARTERS, SEASONS, format_when, period_bounds, window_start
from crm_core.tasks.phrasings import ADJECTIVES, MOST, PHRASINGS, fill
from crm_core.tasks.records import NONE_TASKS
from crm_core.tasks.rules import metadata_for

NONE_SHARE = 0.3
MAX_ANSWER_SHARE = 0.1
"""No single (non-None) answer may exceed this share of a task's instances, so that answering
the most common value stays a floor rather than a strategy."""
FIRST_DAY = dt.datetime(2020, 1, 1)
LAST_DAY = dt.datetime(2026, 1, 1)  # exclusive end of the org's time span


@dataclass
class Draft:
    """An instance before it gets its idx: query, answer, params and the metadata's `today`."""

    query: str
    answer: str | None
    params: dict[str, Any]
    today: str | None = None


@dataclass(frozen=True)
class PeriodChoice:
    """A sampled period: how the query says it, its bounds, and today's date for relative ones."""

    phrase: str
    bare: str
    start: dt.datetime
    end: dt.datetime
    today: dt.date | None = None

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {"start": format_when(self.start), "end": format_when(self.end)}
        if self.today is not None:
            values["today"] = self.today.isoformat()
        return values


def _random_today(rng: random.Random, earliest: dt.datetime) -> dt.datetime:
    span = (LAST_DAY - earliest).days
    return earliest + dt.timedelta(days=rng.randrange(span))


def sample_period(rng: random.Random, kinds: tuple[str, ...]) -> PeriodChoice:
    """A period of one of `kinds`: month, quarter, season, year, past_months, past_weeks, past_quarters."""
    kind = rng.choice(kinds)
    year = rng.randrange(FIRST_DAY.year, LAST_DAY.year)
    if kind == "month":
        name = rng.choice(MONTHS)
        start, end = period_bounds(name, year)
        return PeriodChoice(f"in {name} {year}", f"{name} {year}", start, end)
    if kind == "quarter":
        name = rng.choice(QUARTERS)
        start, end = period_bounds(name, year)
        return PeriodChoice(f"in {name} {year}", f"{name} {year}", start, end)
    if kind == "season":
        name = rng.choice(tuple(SEASONS))
        year = min(year, LAST_DAY.year - 2) if name == "Winter" else year
        start, end = period_bounds(name, year)
        return PeriodChoice(f"in {name} {year}", f"{name} {year}", start, end)
    if kind == "year":
        start, end = dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
        return PeriodChoice(f"in {year}", str(year), start, end)
    unit, counts = {
        "past_months": ("month", (2, 3, 4, 6, 9)),
        "past_weeks": ("week", (4, 6, 8, 12)),
        "past_quarters": ("quarter", (1, 2, 3)),
    }[kind]
    count = rng.choice(counts)
    today = _random_today(rng, dt.datetime(2020, 10, 1))
    start = window_start(today, unit, count)
    words = {"month": "months", "week": "weeks", "quarter": "quarters"}[unit]
    label = f"the past {count} {words}" if count > 1 else f"the past {unit}"
    return PeriodChoice(f"over {label}", label, start, today, today.date())


@dataclass
class OrgView:
    """What the generators sample from, read once per build (all lists ordered)."""

    products: dict[str, str]  # id -> name (names unique in the org)
    issues: dict[str, str]  # id -> name
    routing_pairs: list[tuple[str, str, str]]  # (issue id, product id, order number) seen on cases
    purchases: list[tuple[str, str, dt.date]]  # (contact id, account id, EffectiveDate) of Activated orders
    policy_cases: list[tuple[str, str | None]]
    facts: list[tuple[str, int, str, str]]  # article id, position, question, answer
    bodies: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)


def _sorted_rows(conn: Connection, statement: Any) -> list[tuple[Any, ...]]:
    """Rows sorted in Python (code-point order), so SQLite and PostgreSQL collations agree."""
    rows = [tuple(row) for row in conn.execute(statement).all()]
    return sorted(rows, key=lambda row: tuple("" if v is None else str(v) for v in row))


def read_org_view(conn: Connection) -> OrgView:
    """Read the sampling frame of every generator from the org."""
    names = _sorted_rows(conn, select(Product2.Id, Product2.Name))
    counts: dict[str, int] = {}
    for _, name in names:
        counts[name] = counts.get(name, 0) + 1
    products = {pid: name for pid, name in names if counts[name] == 1}
    issues = dict(_sorted_rows(conn, select(Issue.Id, Issue.Name)))
    routing_pairs = [
        (issue, product, number)
        for _, issue, product, number in _sorted_rows(
            conn,
            select(Case.Id, Case.IssueId__c, OrderItem.Product2Id, Order.OrderNumber)
            .join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
            .join(Order, Order.Id == OrderItem.OrderId)
            .where(Case.IssueId__c.is_not(None)),
        )
    ]
    purchases = _sorted_rows(
        conn,
        select(Contact.Id, Order.AccountId, Order.EffectiveDate)
        .join(Contact, Contact.AccountId == Order.AccountId)
        .where(Order.Status == "Activated")
        .distinct(),
    )
    policy_cases = _sorted_rows(conn, select(LatentCasePolicy.case_id, LatentCasePolicy.violated_article_id))
    facts = _sorted_rows(
        conn,
        select(
            LatentArticleFact.article_id,
            LatentArticleFact.position,
            LatentArticleFact.question,
            LatentArticleFact.answer,
        ),
    )
    bodies, titles = {}, {}
    for aid, title, body in _sorted_rows(conn, select(Knowledge.Id, Knowledge.Title, Knowledge.FAQ_Answer__c)):
        bodies[aid], titles[aid] = body or "", title
    return OrgView(products, issues, routing_pairs, purchases, policy_cases, facts, bodies, titles)


Sampler = Callable[[random.Random, bool], Draft | None]


def collect(task: str, count: int, rng: random.Random, sample: Sampler, max_attempts: int | None = None) -> list[Draft]:
    """Draw until `count` instances with distinct params, ~30% None for the None tasks.

    `sample(rng, want_none)` returns a draft or None (rejected: tie, nothing to ask about). No
    answer takes more than MAX_ANSWER_SHARE of the instances. Stops early when the org cannot
    supply enough distinct instances.
    """
    target_none = round(count * NONE_SHARE) if task in NONE_TASKS else 0
    cap = max(1, math.ceil(count * MAX_ANSWER_SHARE))
    per_answer: Counter[str] = Counter()
    nones: list[Draft] = []
    others: list[Draft] = []
    seen: set[str] = set()
    attempts = stalled = 0
    limit = max_attempts or count * 60
    stall_limit = max(300, count * 4)  # the org has no more distinct instances to give
    while len(nones) + len(others) < count and attempts < limit and stalled < stall_limit:
        attempts += 1
        stalled += 1
        need_none = len(nones) < target_none
        need_other = len(others) < count - target_none
        want_none = need_none and (not need_other or rng.random() < NONE_SHARE)
        try:
            draft = sample(rng, want_none)
        except ref.TiedAnswerError:
            continue
        if draft is None:
            continue
        key = repr(sorted(draft.params.items()))
        if key in seen:
            continue
        if draft.answer is None and need_none:
            nones.append(draft)
        elif draft.answer is not None and need_other and per_answer[draft.answer] < cap:
            others.append(draft)
            per_answer[draft.answer] += 1
        else:
            continue
        seen.add(key)
        stalled = 0
    # Interleave deterministically so None answers are spread through the task's instances.
    merged = others + nones
    random.Random(f"order:{task}").shuffle(merged)
    return merged


# --- the nine generators ---------------------------------------------------------------------


_STAFF_PERIODS = ("month", "month", "quarter", "season", "past_months", "past_weeks")


def _staff_sampler(conn: Connection, task: str) -> Sampler:
    """handle_time and transfer_count share their sampling: a period, an extreme and n."""
    cache: dict[tuple[dt.datetime, dt.datetime], dict[str, int]] = {}

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        period = sample_period(rng, _STAFF_PERIODS)
        key = (period.start, period.end)
        if key not in cache:
            cache[key] = ref.handled_counts(conn, period.start, period.end)
        handled = cache[key]
        if not handled:
            return None
        top = max(handled.values())
        # None: nobody handled more than n cases. Otherwise n >= 1 unless only 0 leaves someone qualified.
        lowest = 1 if top > 1 else 0
        n = top + rng.randrange(0, 3) if want_none else rng.randrange(lowest, max(top, 1))
        extreme = rng.choice(("min", "max"))
        solve = ref.handle_time if task == "handle_time" else ref.transfer_count
        answer = solve(conn, period.start, period.end, n, extreme, handled)
        words = ADJECTIVES[extreme] if task == "handle_time" else MOST[extreme]
        slot = "adj" if task == "handle_time" else "most"
        query = fill(
            rng.choice(PHRASINGS[task]),
            period=period.phrase,
            period_bare=period.bare,
            n=str(n),
            **{slot: rng.choice(words)},
        )
        params = {**period.params(), "n": n, "extreme": extreme}
        return Draft(query, answer, params, params.get("today"))

    return sample


def _product_sampler(conn: Connection, view: OrgView, task: str) -> Sampler:
    product_ids = sorted(view.products)
    with_cases = sorted({pid for _, pid, _ in view.routing_pairs if pid in view.products})
    long_periods = ("quarter", "season", "year", "past_months", "past_quarters")
    trend_periods = ("quarter", "season", "year", "past_months")

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        if task == "monthly_trend_analysis":
            period = sample_period(rng, trend_periods)
            product = rng.choice(with_cases)
            answer = ref.monthly_trend(conn, period.start, period.end, product)
            if answer is None:
                return None
        else:
            period = sample_period(rng, ("month", "past_weeks") if want_none else long_periods)
            product = rng.choice(product_ids if want_none else with_cases)
            answer = ref.top_issue(conn, period.start, period.end, product)
        query = fill(
            rng.choice(PHRASINGS[task]), period=period.phrase, period_bare=period.bare, product=view.products[product]
        )
        params = {**period.params(), "product_id": product}
        return Draft(query, answer, params, params.get("today"))

    return sample


def _region_sampler(conn: Connection) -> Sampler:
    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        period = sample_period(rng, ("month", "quarter", "season", "year", "past_months"))
        answer = ref.best_region(conn, period.start, period.end)
        if answer is None:
            return None
        query = fill(rng.choice(PHRASINGS["best_region_identification"]), period=period.phrase, period_bare=period.bare)
        params = period.params()
        return Draft(query, answer, params, params.get("today"))

    return sample


def _case_text(rng: random.Random, product: str, issue_name: str, order_number: str) -> tuple[str, str]:
    """Subject and description of a new case, from the org generator's templates when available."""
    try:
        from crm_core.org.catalog import ISSUES
        from crm_core.org.text import description, subject

        key = next(kind.key for kind in ISSUES if kind.name == issue_name)
        return subject(rng, product, key), description(rng, product, key, rng.randrange(3), order_number)
    except (ImportError, StopIteration, KeyError):
        return f"Problem with {product}", f"My {product} has a problem: {issue_name}. Order {order_number}."


def _routing_sampler(conn: Connection, view: OrgView) -> Sampler:
    pairs = [pair for pair in view.routing_pairs if pair[1] in view.products]
    agents = [row[0] for row in conn.execute(select(User.Id).order_by(User.Id)).all()]
    open_cases = ref.cases_by_owner(conn, closed=False)
    by_issue: dict[str, Counter[str]] = {}
    by_product: dict[str, Counter[str]] = {}
    solved: dict[tuple[str, str], str | None] = {}

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        issue, product, order_number = rng.choice(pairs)
        if (issue, product) not in solved:
            if issue not in by_issue:
                by_issue[issue] = ref.cases_by_owner(conn, closed=True, issue_id=issue)
            if product not in by_product:
                by_product[product] = ref.cases_by_owner(conn, closed=True, product_id=product)
            try:
                solved[issue, product] = ref.route(agents, by_issue[issue], by_product[product], open_cases)
            except ref.TiedAnswerError:
                solved[issue, product] = None
        answer = solved[issue, product]
        if answer is None:
            return None
        subject_line, text = _case_text(rng, view.products[product], view.issues[issue], order_number)
        query = fill(rng.choice(PHRASINGS["case_routing"]), subject=subject_line, description=text)
        return Draft(query, answer, {"issue_id": issue, "product_id": product})

    return sample


def product_term(name: str) -> str:
    """The generic words a customer uses for a product: its kind ("trail jacket"), not its brand line."""
    try:
        from crm_core.org.catalog import PRODUCT_KINDS

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


def _ned_sampler(conn: Connection, view: OrgView) -> Sampler:
    all_terms = sorted({product_term(name) for name in view.products.values()})

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        contact, _, day = rng.choice(view.purchases)
        bought = sorted(ref.purchased_products(conn, contact, day))
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
        answer = ref.named_entity(conn, contact, day, term)
        if not want_none and answer is None:
            return None
        today = day + dt.timedelta(days=rng.choice((1, 2, 3, 5, 7, 10, 14, 14, 21, 30)))
        query = fill(
            rng.choice(PHRASINGS["named_entity_disambiguation"]),
            contact_id=contact,
            term=term,
            when=_when_phrase(rng, day, today),
        )
        params = {"contact_id": contact, "purchase_date": day.isoformat(), "today": today.isoformat(), "term": term}
        return Draft(query, answer, params, today.isoformat())

    return sample


def _policy_sampler(view: OrgView) -> Sampler:
    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        case_id, article = rng.choice(view.policy_cases)
        query = fill(rng.choice(PHRASINGS["policy_violation_identification"]), case_id=case_id)
        title = view.titles.get(article) if article else None
        return Draft(query, article, {"case_id": case_id, "policy_title": title})

    return sample


def _knowledge_sampler(view: OrgView) -> Sampler:
    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        article, position, question, answer = rng.choice(view.facts)
        start = view.bodies.get(article, "").find(answer)
        if start < 0:
            return None
        query = fill(rng.choice(PHRASINGS["knowledge_qa"]), question=question)
        params = {"article_id": article, "position": position, "answer_start": start, "answer_end": start + len(answer)}
        return Draft(query, answer, params)

    return sample


def samplers(conn: Connection, view: OrgView) -> dict[str, Sampler]:
    """The sampler of every task, in the order of the task set."""
    return {
        "case_routing": _routing_sampler(conn, view),
        "handle_time": _staff_sampler(conn, "handle_time"),
        "transfer_count": _staff_sampler(conn, "transfer_count"),
        "top_issue_identification": _product_sampler(conn, view, "top_issue_identification"),
        "monthly_trend_analysis": _product_sampler(conn, view, "monthly_trend_analysis"),
        "best_region_identification": _region_sampler(conn),
        "named_entity_disambiguation": _ned_sampler(conn, view),
        "policy_violation_identification": _policy_sampler(view),
        "knowledge_qa": _knowledge_sampler(view),
    }


def metadata_of(task: str, draft: Draft) -> dict[str, str]:
    """The instance's metadata (policies, domain details, today's date when it matters)."""
    return metadata_for(task, draft.today)
