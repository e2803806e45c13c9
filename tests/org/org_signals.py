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


def skill_vs_transfer_rate(conn: Connection) -> float:
    """Spearman ρ between agent skill and the share of the agent's first assignments it transferred away."""
    rows = conn.execute(
        text(
            """
            SELECT h."NewValue__c",
                   (SELECT COUNT(*) FROM "CaseHistory__c" t WHERE t."CaseId__c" = h."CaseId__c"
                    AND t."Field__c" = 'Owner Assignment' AND t."OldValue__c" = h."NewValue__c")
            FROM "CaseHistory__c" h WHERE h."Field__c" = 'Owner Assignment' AND h."OldValue__c" IS NULL
            """
        )
    ).all()
    first: Counter[str] = Counter()
    moved: Counter[str] = Counter()
    for agent, transferred in rows:
        first[agent] += 1
        moved[agent] += transferred > 0
    skill = dict(conn.execute(text("SELECT user_id, skill FROM latent_agent")).all())
    agents = sorted(a for a in first if first[a] >= 20)
    rho, _ = spearmanr([skill[a] for a in agents], [moved[a] / first[a] for a in agents])
    return float(rho)


def expertise_vs_closed_share(conn: Connection) -> float:
    """Mean over issues of Spearman ρ between agents' issue expertise and their closed cases of that issue."""
    closed = conn.execute(
        text("""SELECT "IssueId__c", "OwnerId", COUNT(*) FROM "Case" WHERE "Status" = 'Closed' GROUP BY 1, 2""")
    ).all()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for issue, owner, n in closed:
        counts[issue][owner] = n
    expertise = conn.execute(text("SELECT user_id, subject_id, expertise FROM latent_agent_expertise")).all()
    by_issue: dict[str, dict[str, float]] = defaultdict(dict)
    for user, subject, value in expertise:
        if subject in counts:
            by_issue[subject][user] = value
    rhos = []
    for issue, values in by_issue.items():
        agents = sorted(values)
        rho, _ = spearmanr([values[a] for a in agents], [counts[issue][a] for a in agents])
        rhos.append(float(rho))
    return sum(rhos) / len(rhos)


def propensity_vs_cases(conn: Connection) -> float:
    """Spearman ρ, over customers with orders, between complaint propensity and cases per order item."""
    rows = conn.execute(
        text(
            """
            SELECT l.complaint_propensity,
                   (SELECT COUNT(*) FROM "Case" c WHERE c."AccountId" = l.account_id),
                   (SELECT COUNT(*) FROM "OrderItem" oi JOIN "Order" o ON o."Id" = oi."OrderId"
                    WHERE o."AccountId" = l.account_id)
            FROM latent_customer l
            """
        )
    ).all()
    rows = [r for r in rows if r[2] >= 3]
    rho, _ = spearmanr([r[0] for r in rows], [r[1] / r[2] for r in rows])
    return float(rho)
