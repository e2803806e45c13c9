"""Sampling machinery shared by the task types: periods, the org's sampling frame, the draw loop
that rejects ties and keeps the share of "None" answers, query filling and answer pools.

Each task type's sampler (in :mod:`crm_core.tasks.types`) draws parameters, computes the answer with
its reference solver and fills one of its phrasings. Deterministic from the seed: every random
draw comes from a per-task `random.Random` and every query is ordered."""

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
from crm_core.periods import MONTHS, QUARTERS, SEASONS, format_when, period_bounds, window_start
from crm_core.tasks.reference import TiedAnswerError, first_assignment_totals, handled_counts

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
    expected_diff: Any = None
    """Workflow drafts: the :class:`~crm_core.scoring.state.StateDiff` a correct episode leaves."""


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
    """What the samplers draw from, read once per build (all lists ordered)."""

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


def collect(
    task: str,
    count: int,
    rng: random.Random,
    sample: Sampler,
    *,
    allows_none: bool = False,
    max_attempts: int | None = None,
) -> list[Draft]:
    """Draw until `count` instances with distinct params, ~30% None when the task `allows_none`.

    `sample(rng, want_none)` returns a draft or None (rejected: tie, nothing to ask about). No
    answer takes more than MAX_ANSWER_SHARE of the instances. Stops early when the org cannot
    supply enough distinct instances.
    """
    target_none = round(count * NONE_SHARE) if allows_none else 0
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
        except TiedAnswerError:
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


_STAFF_PERIODS = ("month", "month", "quarter", "season", "past_months", "past_weeks")


StaffSolver = Callable[[dt.datetime, dt.datetime, int, Any, dict[str, int]], str | None]


def staff_sampler(
    conn: Connection, solve: StaffSolver, phrasings: tuple[str, ...], words: dict[str, tuple[str, ...]], slot: str
) -> Sampler:
    """The sampling of the agent-ranking tasks (handle_time, transfer_count): a period, an extreme
    and n; `solve(start, end, n, extreme, handled)` answers, `words[extreme]` fill `{slot}`."""
    first_assignments = first_assignment_totals(conn)

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        period = sample_period(rng, _STAFF_PERIODS)
        handled = handled_counts(conn, period.start, period.end, first_assignments)
        if not handled:
            return None
        top = max(handled.values())
        # None: nobody handled more than n cases. Otherwise n >= 1 unless only 0 leaves someone qualified.
        lowest = 1 if top > 1 else 0
        n = top + rng.randrange(0, 3) if want_none else rng.randrange(lowest, max(top, 1))
        extreme = rng.choice(("min", "max"))
        answer = solve(period.start, period.end, n, extreme, handled)
        query = fill(
            rng.choice(phrasings),
            period=period.phrase,
            period_bare=period.bare,
            n=str(n),
            **{slot: rng.choice(words[extreme])},
        )
        params = {**period.params(), "n": n, "extreme": extreme}
        return Draft(query, answer, params, params.get("today"))

    return sample


def fill(template: str, **values: str) -> str:
    """Fill a template; ``{Period}`` is the capitalized ``{period}``."""
    period = values.get("period", "")
    return template.format(**values, Period=period[:1].upper() + period[1:])


def distinct_values(conn: Connection, statement: Any) -> list[str]:
    """The distinct non-null values of a one-column query, sorted (an answer pool)."""
    return sorted({row[0] for row in conn.execute(statement).all() if row[0] is not None})


def user_ids(conn: Connection) -> list[str]:
    """Every User Id, sorted: the answer pool of the tasks that name an agent."""
    return distinct_values(conn, select(User.Id))
