"""Data categories of knowledge articles (Salesforce's ``DataCategorySelection``).

Two category groups classify every article: ``Products__c`` (the product family a care guide is
about; other articles sit at the top category ``All__c``) and ``Topics__c`` (policies, care guides
or service FAQs). ``WITH DATA CATEGORY`` in SOQL filters on them; the generator stores each
article's categories in the hidden ``article_data_category`` table.
"""

from __future__ import annotations

import re

from crm_core.org.catalog import PRODUCT_KINDS

TOP = "All__c"


def category_name(label: str) -> str:
    """A category's API name: ``Hiking & Outdoor`` -> ``Hiking_Outdoor__c``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_") + "__c"


FAMILY_CATEGORIES = {family: category_name(family) for family in sorted({k.family for k in PRODUCT_KINDS})}
TOPICS = {"Policy": "Policies__c", "Guide": "Care_Guides__c", "FAQ": "Services__c"}

# group -> {category: parent category (None for the top)}
DATA_CATEGORY_GROUPS: dict[str, dict[str, str | None]] = {
    "Products__c": {TOP: None, **{c: TOP for c in FAMILY_CATEGORIES.values()}},
    "Topics__c": {TOP: None, **{c: TOP for c in TOPICS.values()}},
}


def article_categories(kind: str, family: str | None) -> list[tuple[str, str]]:
    """The (group, category) pairs of an article: its kind (FAQ or Policy) and, for a care guide,
    its product's family."""
    topic = TOPICS["Policy"] if kind == "Policy" else TOPICS["Guide"] if family else TOPICS["FAQ"]
    product = FAMILY_CATEGORIES[family] if family else TOP
    return [("Products__c", product), ("Topics__c", topic)]


def selected_categories(group: str, selector: str, categories: tuple[str, ...]) -> set[str]:
    """The categories of `group` that ``AT | ABOVE | BELOW | ABOVE_OR_BELOW categories`` selects."""
    tree = DATA_CATEGORY_GROUPS[group]
    selected: set[str] = set()
    for category in categories:
        selected.add(category)
        if selector in ("ABOVE", "ABOVE_OR_BELOW"):
            parent = tree[category]
            while parent is not None:
                selected.add(parent)
                parent = tree[parent]
        if selector in ("BELOW", "ABOVE_OR_BELOW"):
            selected |= _descendants(tree, category)
    return selected


def _descendants(tree: dict[str, str | None], category: str) -> set[str]:
    children = {c for c, parent in tree.items() if parent == category}
    return children.union(*(_descendants(tree, c) for c in children)) if children else set()
