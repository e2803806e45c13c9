"""The hidden variables of an org (see docs/org.md), drawn from the seed as numpy arrays.

The values are always drawn and stored; with ``latent=False`` the generator ignores them and
uses flat draws instead (see :class:`Effects`), so the stored values then predict nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_core.org.catalog import ISSUES, STATES, ProductKind

SEASON_MONTHS: tuple[tuple[int, ...], ...] = ((3, 4, 5), (6, 7, 8), (9, 10, 11), (12, 1, 2))
SEASON_NAMES = ("Spring", "Summer", "Fall", "Winter")


@dataclass(frozen=True)
class Latents:
    """All hidden variables of one org (indices follow the generation order of each object)."""

    skill: np.ndarray  # (agents,) standard normal; higher is faster and transfers less
    expertise_issue: np.ndarray  # (agents, issues) in [0, 1]
    expertise_product: np.ndarray  # (agents, products) in [0, 1]
    propensity: np.ndarray  # (customers,) mean 1: how often the customer complains
    order_rate: np.ndarray  # (customers,) mean 1: how often the customer orders
    basket: np.ndarray  # (customers,) mean items per order
    preferred_category: np.ndarray  # (customers,) category index
    preferred_season: np.ndarray  # (customers,) index into SEASON_NAMES
    issue_weights: np.ndarray  # (products, issues) defect profile, rows sum to 1
    top_issue: np.ndarray  # (products,) issue index with the largest weight
    product_peak: np.ndarray  # (products,) month 1..12
    product_seasonality: np.ndarray  # (products,) von Mises concentration
    issue_peak: np.ndarray  # (issues,) month 1..12
    issue_seasonality: np.ndarray  # (issues,)
    region_speed: np.ndarray  # (states,) multiplier on closure time


def _month(natural: int, shift: int) -> int:
    return (natural - 1 + shift) % 12 + 1


def draw_latents(
    rng: np.random.Generator, *, agents: int, customers: int, kinds: list[ProductKind], categories: int
) -> Latents:
    """Draw every hidden variable; `kinds` is the product kind of each product."""
    n_issues = len(ISSUES)
    n_products = len(kinds)
    issue_index = {issue.key: i for i, issue in enumerate(ISSUES)}
    logistics = [i for i, issue in enumerate(ISSUES) if issue.logistics]

    weights = np.zeros((n_products, n_issues))
    top = np.zeros(n_products, dtype=np.int64)
    for p, kind in enumerate(kinds):
        defects = [issue_index[key] for key in kind.defects if not ISSUES[issue_index[key]].logistics]
        candidates = defects or [issue_index[key] for key in kind.defects]
        top[p] = candidates[int(rng.integers(len(candidates)))]
        others = sorted(set(defects + logistics) - {int(top[p])})
        shares = rng.dirichlet(np.full(len(others), 2.0)) * 0.5
        weights[p, others] = shares
        weights[p, top[p]] = 0.5
    peaks = np.array([_month(kind.peak, int(rng.integers(-1, 2))) for kind in kinds])
    seasonal = rng.random(n_products) < 0.6
    kappa = np.where(seasonal, rng.uniform(1.6, 2.6, n_products), rng.uniform(0.0, 0.4, n_products))
    expertise_issue = rng.beta(1.0, 2.5, (agents, n_issues))
    for a in range(agents):  # each agent has one specialty issue
        expertise_issue[a, int(rng.integers(n_issues))] = rng.uniform(0.8, 1.0)
    return Latents(
        skill=rng.standard_normal(agents),
        expertise_issue=expertise_issue,
        expertise_product=rng.beta(1.0, 2.5, (agents, n_products)),
        propensity=rng.gamma(2.0, 0.5, customers),
        order_rate=rng.gamma(1.5, 1 / 1.5, customers),
        basket=1.0 + rng.gamma(2.0, 0.6, customers),
        preferred_category=rng.integers(0, categories, customers),
        preferred_season=rng.integers(0, 4, customers),
        issue_weights=weights,
        top_issue=top,
        product_peak=peaks,
        product_seasonality=kappa,
        issue_peak=np.array([_month(issue.natural_peak, int(rng.integers(-1, 2))) for issue in ISSUES]),
        issue_seasonality=rng.uniform(0.3, 0.7, n_issues),
        region_speed=np.exp(rng.normal(0.0, 0.35, len(STATES))),
    )


def seasonal_factor(peak: np.ndarray, kappa: np.ndarray, months: np.ndarray) -> np.ndarray:
    """exp(κ·cos(2π(m − peak)/12)) for each (peak, κ) row and month column (months 1..12)."""
    angle = 2 * np.pi * (months[None, :] - peak[:, None]) / 12.0
    return np.exp(kappa[:, None] * np.cos(angle))


def peak_season(month: int) -> str:
    """The season (Spring, Summer, Fall, Winter) a month belongs to."""
    for name, months in zip(SEASON_NAMES, SEASON_MONTHS, strict=True):
        if month in months:
            return name
    raise ValueError(f"not a month: {month}")
