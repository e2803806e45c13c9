"""What each task tells the agent besides the query: the policy it must apply (``required``) and
domain details (``optional``), following the rules of SPEC §6 word for word."""

from __future__ import annotations

from crm_core.tasks.periods import PERIOD_RULES

HANDLED = (
    "An agent handled a case in a period when the case's first Owner Assignment (the earliest "
    "CaseHistory__c record with Field__c = 'Owner Assignment') falls in the period and names the agent in "
    "NewValue__c. Qualified agents handled more than n cases in the period."
)
ID_ANSWER = "Answer with the Id only."
NONE_ANSWER = "Answer None if there is no such {what}."

REQUIRED: dict[str, str] = {
    "handle_time": (
        f"{HANDLED} Handle time of a case = ClosedDate - CreatedDate. Consider only cases created in the period "
        "with Status 'Closed' that were never transferred (exactly one Owner Assignment in their whole history) "
        "and are owned by a qualified agent; compare the agents' mean handle times. "
        f"{ID_ANSWER} {NONE_ANSWER.format(what='case')}"
    ),
    "transfer_count": (
        f"{HANDLED} A transfer is an Owner Assignment record created in the period with OldValue__c set; it "
        "counts for the agent in OldValue__c (the agent who gave the case away). Every qualified agent has a "
        f"transfer count, zero included. {ID_ANSWER} {NONE_ANSWER.format(what='qualified agent')}"
    ),
    "top_issue_identification": (
        "Count the cases created in the period whose OrderItemId__c is an order item of the product, per "
        f"IssueId__c; the most reported issue has the largest count. Answer with the Issue__c Id only. "
        f"{NONE_ANSWER.format(what='case')}"
    ),
    "monthly_trend_analysis": (
        "Count the cases created in the period whose OrderItemId__c is an order item of the product, per "
        "calendar month of CreatedDate. Answer with the full English month name only (e.g. March)."
    ),
    "best_region_identification": (
        "Consider the cases created in the period with Status 'Closed'. A case's region is the ShippingState of "
        "its Account; closure time = ClosedDate - CreatedDate. The best region has the lowest mean closure "
        "time. Answer with the two-letter state code only."
    ),
    "case_routing": (
        "Routing policy: route a new case to the agent with the most Closed cases of the same issue "
        "(IssueId__c). If several agents tie, prefer the one with the most Closed cases on order items of the "
        "same product; if still tied, the one with the fewest cases whose Status is not 'Closed'. "
        "Answer with the agent's User Id only."
    ),
    "named_entity_disambiguation": (
        "Find the product the customer means among the items of the customer's Activated orders (the "
        "contact's account) placed on the purchase date (Order EffectiveDate). "
        f"Answer with the Product2 Id only. {NONE_ANSWER.format(what='product')}"
    ),
    "policy_violation_identification": (
        "Read the case's emails and chat transcripts and check the service agent's answers against the "
        "company's policy articles (Knowledge__kav). Answer with the Id of the policy article the agent "
        "breached, or None if the agent followed every policy."
    ),
    "knowledge_qa": "Answer the question from the knowledge articles, with the exact short answer they state.",
}

_OPTIONAL_COMMON = "Dates and times in the org are UTC."


def metadata_for(task: str, today: str | None = None) -> dict[str, str]:
    """``{"required", "optional"}`` for an instance; `today` (YYYY-MM-DD) when the query is relative."""
    optional = [_OPTIONAL_COMMON]
    if task in {
        "handle_time",
        "transfer_count",
        "top_issue_identification",
        "monthly_trend_analysis",
        "best_region_identification",
    }:
        optional.insert(0, PERIOD_RULES)
    required = REQUIRED[task]
    if today is not None:
        required = f"Today's date: {today}. {required}"
    return {"required": required, "optional": " ".join(optional)}
