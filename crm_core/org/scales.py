"""Org sizes: how many records of each kind a generated org has."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from crm_core.errors import UserFacingError


class Scale(BaseModel):
    """Record counts of one org size. Orders get 1–6 items; emails and chats follow the cases."""

    model_config = ConfigDict(frozen=True)

    name: str
    agents: int = Field(ge=3)
    customers: int = Field(ge=5)
    orders: int = Field(ge=5)
    cases: int = Field(ge=1)
    issues: int = Field(default=10, ge=10, le=10)
    products: int = Field(ge=12, le=150)
    articles: int = Field(ge=26, le=200)


SCALES: dict[str, Scale] = {
    "tiny": Scale(name="tiny", agents=8, customers=120, orders=260, cases=300, products=30, articles=40),
    "default": Scale(name="default", agents=25, customers=2000, orders=4000, cases=5000, products=150, articles=120),
    "large": Scale(
        name="large", agents=110, customers=40_000, orders=80_000, cases=100_000, products=150, articles=120
    ),
    "xl": Scale(name="xl", agents=350, customers=400_000, orders=800_000, cases=1_000_000, products=150, articles=120),
}


def scale_for_cases(n: int) -> Scale:
    """A scale with `n` cases and the default scale's proportions (agents grow with √n)."""
    if n < 1:
        raise UserFacingError(f"--cases must be at least 1, got {n}")
    agents = max(3, min(500, round(25 * math.sqrt(n / 5000))))
    products = max(12, min(150, round(150 * math.sqrt(min(1.0, n / 5000)))))
    articles = max(40, min(120, round(120 * math.sqrt(min(1.0, n / 5000)))))
    return Scale(
        name=f"cases={n}",
        agents=agents,
        customers=max(5, round(n * 0.4)),
        orders=max(5, round(n * 0.8)),
        cases=n,
        products=products,
        articles=articles,
    )


def resolve_scale(scale: str = "default", cases: int | None = None) -> Scale:
    """The scale named `scale`, or one sized for `cases` when given; UserFacingError if unknown."""
    if cases is not None:
        return scale_for_cases(cases)
    try:
        return SCALES[scale]
    except KeyError:
        raise UserFacingError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}") from None
