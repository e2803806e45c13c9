"""What a task tells the agent besides the query: the policy it must apply (``required``) and
domain details (``optional``). Each task type states its own policy; these are the shared parts."""

from __future__ import annotations

from crm_core.periods import PERIOD_RULES

HANDLED = (
    "An agent handled a case in a period when the case's first Owner Assignment (the earliest "
    "CaseHistory__c record with Field__c = 'Owner Assignment') falls in the period and names the agent in "
    "NewValue__c. Qualified agents handled more than n cases in the period."
)
ID_ANSWER = "Answer with the Id only."
NONE_ANSWER = "Answer None if there is no such {what}."
PRODUCT_CASES = "Count the cases created in the period whose OrderItemId__c is an order item of the product, per "

_OPTIONAL_COMMON = "Dates and times in the org are UTC."


def metadata_for(required: str, *, periods: bool, today: str | None = None) -> dict[str, str]:
    """``{"required", "optional"}``: the policy, prefixed by `today` (YYYY-MM-DD) when the query is
    relative, and the period rules when the query names a period."""
    optional = [_OPTIONAL_COMMON]
    if periods:
        optional.insert(0, PERIOD_RULES)
    if today is not None:
        required = f"Today's date: {today}. {required}"
    return {"required": required, "optional": " ".join(optional)}
