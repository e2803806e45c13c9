"""Study YAML used by the study tests."""

from __future__ import annotations

from crm_core.org.schema import MODEL_BY_OBJECT

CASES = 60
RECORDS_PER_OBJECT = {name: 5 for name in MODEL_BY_OBJECT} | {"Case": CASES, "Pricebook2": 1}
"""Records per object in the test org (Pricebook2 has fewer than a study samples)."""


def study_yaml(
    study_id: str = "cases",
    *,
    cases: int = 6,
    ratings_per_item: int = 2,
    randomize: bool = True,
    extra_items: str = "",
) -> str:
    """A small study over `cases` sampled Case records, two dimensions on a 5-point scale."""
    return f"""\
id: {study_id}
title: Case realism
instructions: Rate each case.
scale: [Very unrealistic, Unrealistic, Neutral, Realistic, Very realistic]
dimensions:
  - id: data
    question: Do the values look real?
    comment_required_at_or_below: 2
  - id: overall
    question: Overall?
    not_applicable: true
items:
  - kind: records
    objects: [Case]
    per_object: {cases}
{extra_items}ratings_per_item: {ratings_per_item}
randomize_order: {"true" if randomize else "false"}
"""
