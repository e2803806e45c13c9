"""The products of an org as planned: name, kind and the facts every text about them repeats.

A product's weight, material, color, use, features, fit and washing temperature are drawn once
(weights inside its kind's range, see :class:`crm_core.org.catalog.KindSpec`); its description,
its care and fit guide, and the cases and emails about it all state these same facts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crm_core.org.catalog import ProductKind
from crm_core.org.grammar import expand

FIT = ("true to size", "runs half a size small", "runs half a size large")
WASH = ("30°C", "40°C", "cold water only")


@dataclass(frozen=True)
class ProductInfo:
    """A product of the catalog as planned, with the facts its texts state."""

    name: str
    kind: ProductKind
    line: str
    material: str
    color: str
    use: str
    price: float
    code: str
    grams: int
    features: tuple[str, ...]
    fit: str  # footwear: one of FIT
    wash: str  # apparel: one of WASH

    @property
    def weight(self) -> str:
        """The weight as every text states it, e.g. "540 grams"."""
        return f"{self.grams:,} grams"

    @property
    def be(self) -> str:
        return "are" if self.kind.plural else "is"


def product_details(rng: random.Random, kind: ProductKind) -> tuple[int, tuple[str, ...], str, str]:
    """Weight in grams (inside the kind's range), two features, fit and washing temperature."""
    low, high = kind.spec.weight
    step = 5 if high < 1000 else 10
    grams = rng.randrange(low, high + 1, step)
    features = tuple(rng.sample(kind.spec.features, 2))
    return grams, features, rng.choice(FIT), rng.choice(WASH)


_OPENINGS = (
    "The {name} {be} [{a}|our ][lightweight|versatile|dependable|go-to|best-selling|no-nonsense] {noun} [built|designed|made] for {use}.",
    "[Built|Designed|Made] for {use}, the {name} [pair{s}|combine{s}] {material} with {feature0}.",
    "[Meet|Say hello to] the {name}: [{a}|our ]{noun} for {use}[, from the {line} line|].",
)
_BODIES = (
    "[It comes with|Highlights include|You get] {feature0} and {feature1}.",
    "[The|Its] {material} [keeps weight down|holds up to daily use|feels good from the first wear], [with {feature1} on top|plus {feature1}|and {feature1} for comfort].",
)


def wash_at(wash: str) -> str:
    """A washing temperature as a care sentence says it: "at 30°C", "in cold water only"."""
    return f"in {wash}" if wash.startswith("cold") else f"at {wash}"


def care(info: ProductInfo) -> str:
    """The product's main care instruction; apparel is washed at the product's own temperature."""
    if info.kind.family == "Apparel":
        return f"Machine wash {wash_at(info.wash)}, inside out, and do not use fabric softener."
    return info.kind.spec.care[0]


_SIZES = (
    "The {name} (item {code}{pair}) [come{s}|{be} sold] in {sizes}{fit}.",
    "[Available|Offered] in {sizes}{fit} ([item|style] {code}{pair}).",
)
_CARE = (
    "[Care|Caring for {them}|Looking after the {noun}]: {care_lower}",
    "[To keep the {name} looking new|For a long life of the {noun}|Between uses of the {name}], {care_lower}",
)


def product_description(rng: random.Random, info: ProductInfo, warranty: str) -> str:
    """Product2.Description: what it is, its sizes and care in prose, then its facts (material, color,
    weight, warranty) as short labelled lines."""
    kind = info.kind
    care_text = care(info)
    fit = f", {info.fit}" if kind.family == "Footwear" else ""
    pair = ", weighed as a pair" if kind.spec.unit == "pair" else ""
    slots = {
        "name": info.name,
        "be": info.be,
        "noun": kind.noun.lower(),
        "use": info.use,
        "material": info.material,
        "feature0": info.features[0],
        "feature1": info.features[1],
        "line": info.line,
        "code": info.code,
        "sizes": kind.spec.sizes,
        "fit": fit,
        "pair": pair,
        "a": "" if kind.plural else "a ",
        "them": "them" if kind.plural else "it",
        "s": "" if kind.plural else "s",
        "care": care_text,
        "care_lower": care_text[:1].lower() + care_text[1:],
    }
    parts = [expand(rng, rng.choice(template), **slots) for template in (_OPENINGS, _BODIES, _SIZES, _CARE)]
    facts = [
        f"Material: {info.material}.",
        f"Color: {info.color}.",
        f"Weight: {info.weight}.",
        f"Warranty: {warranty}.",
    ]
    return " ".join(parts) + "\n" + "\n".join(facts)
