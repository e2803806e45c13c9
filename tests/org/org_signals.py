"""Measure the latent signals of a generated org with hand-written SQL (shared by the tests)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from scipy.stats import spearmanr
from sqlalchemy import Connection, text


def _dt(value: str | dt.datetime) -> dt.datetime:
    """SQLite returns datetimes of raw SQL as text, PostgreSQL as datetime."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def skill_vs_handle_time(conn: Connection) -> float:
    """Spearman ρ between agent skill and the agent's mean handle time on never-transferred closed cases."""
    rows = conn.execute(
        text(
            """
            SELECT c."OwnerId", c."CreatedDate", c."ClosedDate" FROM "Case" c
            WHERE c."Status" = 'Closed' AND (SELECT COUNT(*) FROM "CaseHistory__c" h
                WHERE h."CaseId__c" = c."Id" AND h."Field__c" = 'Owner Assignment') = 1
            """
        )
    ).all()
    times: dict[str, list[float]] = defaultdict(list)
    for owner, created, closed in rows:
        times[owner].append((_dt(closed) - _dt(created)).total_seconds())
    skill = dict(conn.execute(text("SELECT user_id, skill FROM latent_agent")).all())
    agents = sorted(a for a in times if len(times[a]) >= 5)
    rho, _ = spearmanr([skill[a] for a in agents], [sum(times[a]) / len(times[a]) for a in agents])
    return float(rho)


def top_issue_agreement(conn: Connection, min_cases: int = 15) -> float:
    """Share of products (with at least `min_cases` cases) whose most reported issue is their latent top issue."""
    rows = conn.execute(
        text(
            """
            SELECT oi."Product2Id", c."IssueId__c" FROM "Case" c
            JOIN "OrderItem" oi ON oi."Id" = c."OrderItemId__c"
            """
        )
    ).all()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for product, issue in rows:
        counts[product][issue] += 1
    latent = dict(conn.execute(text("SELECT product_id, top_issue_id FROM latent_product")).all())
    products = [p for p in counts if sum(counts[p].values()) >= min_cases]
    hits = sum(1 for p in products if counts[p].most_common(1)[0][0] == latent[p])
    return hits / len(products)


def peak_month_agreement(conn: Connection, min_cases: int = 15) -> float:
    """Share of strongly seasonal products whose busiest case month is within one month of the latent peak."""
    rows = conn.execute(
        text(
            'SELECT oi."Product2Id", c."CreatedDate" FROM "Case" c JOIN "OrderItem" oi ON oi."Id" = c."OrderItemId__c"'
        )
    ).all()
    months: dict[str, Counter[int]] = defaultdict(Counter)
    for product, created in rows:
        months[product][_dt(created).month] += 1
    latent = conn.execute(text("SELECT product_id, peak_month FROM latent_product WHERE seasonality >= 1.5")).all()
    checked = hits = 0
    for product, peak in latent:
        if sum(months[product].values()) < min_cases:
            continue
        checked += 1
        busiest = months[product].most_common(1)[0][0]
        distance = min((busiest - peak) % 12, (peak - busiest) % 12)
        hits += distance <= 1
    return hits / checked


def region_speed_vs_closure(conn: Connection, min_cases: int = 30) -> float:
    """Spearman ρ between a state's latent speed multiplier and its mean closure time."""
    rows = conn.execute(
        text(
            """
            SELECT a."ShippingState", c."CreatedDate", c."ClosedDate" FROM "Case" c
            JOIN "Account" a ON a."Id" = c."AccountId" WHERE c."Status" = 'Closed'
            """
        )
    ).all()
    times: dict[str, list[float]] = defaultdict(list)
    for state, created, closed in rows:
        times[state].append((_dt(closed) - _dt(created)).total_seconds())
    speed = dict(conn.execute(text("SELECT state, speed FROM latent_region")).all())
    states = sorted(s for s in times if len(times[s]) >= min_cases)
    rho, _ = spearmanr([speed[s] for s in states], [sum(times[s]) / len(times[s]) for s in states])
    return float(rho)


def skill_vs_case_handle_time(conn: Connection) -> float:
    """Spearman ρ, over never-transferred closed cases, between the owner's skill and the handle time."""
    rows = conn.execute(
        text(
            """
            SELECT s.skill, c."CreatedDate", c."ClosedDate" FROM "Case" c
            JOIN latent_agent s ON s.user_id = c."OwnerId"
            WHERE c."Status" = 'Closed' AND (SELECT COUNT(*) FROM "CaseHistory__c" h
                WHERE h."CaseId__c" = c."Id" AND h."Field__c" = 'Owner Assignment') = 1
            """
        )
    ).all()
    rho, _ = spearmanr([r[0] for r in rows], [(_dt(r[2]) - _dt(r[1])).total_seconds() for r in rows])
    return float(rho)
