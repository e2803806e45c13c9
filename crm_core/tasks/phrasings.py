"""Natural-language templates: at least eight phrasings per task, filled from each instance's params."""

from __future__ import annotations

PHRASINGS: dict[str, tuple[str, ...]] = {
    "handle_time": (
        "Which agent had the {adj} average handle time {period}, counting only agents who handled more than {n} cases?",
        "Among agents who handled more than {n} cases {period}, who had the {adj} average handle time?",
        "I need the agent with the {adj} average case handle time {period}. Only include agents with more than "
        "{n} handled cases.",
        "{Period}, which agent showed the {adj} mean handle time? Ignore agents who handled {n} cases or fewer.",
        "Find the agent whose average handle time was the {adj} {period}, considering agents that handled "
        "over {n} cases.",
        "Who is the agent with the {adj} average handle time {period} (only agents with more than {n} cases handled)?",
        "Looking at {period_bare}, identify the agent with the {adj} average time to handle a case, among "
        "those who handled more than {n} cases.",
        "For the team review: which agent had the {adj} average handle time {period}? Agents need more than "
        "{n} handled cases to count.",
        "Report the agent with the {adj} average handle time {period}, limited to agents who handled more "
        "than {n} cases.",
    ),
    "transfer_count": (
        "Which agent transferred the {most} cases {period}, among agents who handled more than {n} cases?",
        "Among agents who handled more than {n} cases {period}, who made the {most} case transfers?",
        "Identify the agent with the {most} transfers {period}. Only agents with more than {n} handled cases count.",
        "{Period}, which agent passed the {most} cases on to other agents? Consider agents who handled over {n} cases.",
        "Who had the {most} case transfers {period}, counting only agents that handled more than {n} cases?",
        "Find the agent who gave away the {most} cases {period} (agents with more than {n} handled cases only).",
        "Looking at {period_bare}, which agent had the {most} transferred cases among those who handled more than {n}?",
        "For the staffing review: the agent with the {most} transfers {period}, among agents handling more "
        "than {n} cases?",
        "Report the agent who transferred the {most} cases {period}; ignore agents who handled {n} cases or fewer.",
    ),
    "top_issue_identification": (
        "What was the most reported issue for the {product} {period}?",
        "Which issue came up most often in cases about the {product} {period}?",
        "{Period}, what was the top issue reported for the {product}?",
        "Identify the most common issue customers reported with the {product} {period}.",
        "For the {product}, which issue had the most cases {period}?",
        "What problem did customers report most for the {product} {period}?",
        "Looking at {period_bare}, which issue was reported most for the {product}?",
        "Find the issue with the highest number of cases for the {product} {period}.",
        "Our quality team asks: what was the leading issue for the {product} {period}?",
    ),
    "monthly_trend_analysis": (
        "In which month were the most cases about the {product} created {period}?",
        "Which month had the highest number of cases for the {product} {period}?",
        "{Period}, in which month did the {product} get the most cases?",
        "Identify the month with the most cases related to the {product} {period}.",
        "When did cases about the {product} peak {period}? Give the month.",
        "Looking at {period_bare}, which month saw the most {product} cases?",
        "Find the busiest month for {product} cases {period}.",
        "For the {product}, which month had the most customer cases {period}?",
        "Our planning team asks: which month had the most {product} cases {period}?",
    ),
    "best_region_identification": (
        "Which state had the quickest average case closure {period}?",
        "{Period}, in which state were cases closed fastest on average?",
        "Identify the state with the shortest average time to close a case {period}.",
        "Which region (state) had the lowest average case closure time {period}?",
        "Looking at {period_bare}, which state closed its cases most quickly on average?",
        "Find the state where cases were resolved fastest on average {period}.",
        "What state had the best average closure time for cases {period}?",
        "Where did we close cases fastest {period}? Give the state.",
        "For the regional review: which state had the quickest mean case closure {period}?",
    ),
    "case_routing": (
        "A new case just came in.\nSubject: {subject}\nDescription: {description}\nWhich agent should it be routed to?",
        "Route this new case to the best agent.\nSubject: {subject}\nDescription: {description}",
        "New case:\nSubject: {subject}\nDescription: {description}\nWho is the best agent to take it?",
        "Please assign the following case under our routing policy.\nSubject: {subject}\nDescription: {description}",
        "Which agent should handle this incoming case?\nSubject: {subject}\nDescription: {description}",
        "A customer opened a case.\nSubject: {subject}\nDescription: {description}\nFind the right agent for it.",
        "Subject: {subject}\nDescription: {description}\nWho should this new case be routed to?",
        "Incoming case to route.\nSubject: {subject}\nDescription: {description}\nPick the agent.",
        "Help me route a new case.\nSubject: {subject}\nDescription: {description}\nWhich agent is best "
        "placed to resolve it?",
    ),
    "named_entity_disambiguation": (
        'Contact {contact_id} writes: "Hi, I have a question about the {term} I bought {when}." Which '
        "product do they mean?",
        'Customer (contact {contact_id}): "The {term} I purchased {when} has a problem." Which product is it?',
        'Contact {contact_id} says: "I\'d like to know more about the {term} I ordered {when}." Identify the product.',
        'A customer, contact {contact_id}, mentions "the {term} from my order {when}". Which product is that?',
        'Contact {contact_id}: "Can you check the {term} I got {when}?" Find the product they mean.',
        'Which product does contact {contact_id} mean by "the {term} I bought {when}"?',
        'Contact {contact_id} writes in about "my {term}, bought {when}". Which product record is it?',
        'Customer message from contact {contact_id}: "Quick question on the {term} I purchased {when}." '
        "Identify the product.",
        'Contact {contact_id} refers to "the {term} I ordered {when}". Which product is this?',
    ),
    "policy_violation_identification": (
        "Did the agent on case {case_id} breach any company policy? If so, which policy article?",
        "Review case {case_id}: which policy, if any, did the service agent violate?",
        "Check the emails and chats of case {case_id} for a policy violation by our agent. Which article was breached?",
        "Quality audit of case {case_id}: identify the policy article the agent broke, if any.",
        "In case {case_id}, did our agent follow every policy? Name the breached policy article if not.",
        "Which knowledge policy did the agent violate while handling case {case_id}, if any?",
        "Audit case {case_id} and tell me which policy the agent broke (or None).",
        "Case {case_id} was flagged for review. Which policy article, if any, did the agent breach?",
        "Look at the conversation on case {case_id}: was a policy violated? Give the policy article.",
    ),
    "knowledge_qa": (
        "{question}",
        "A customer asks: {question}",
        "Customer question: {question}",
        "Can you help me answer this? {question}",
        "I'm on a chat with a customer who wants to know: {question}",
        "Quick question from a customer: {question}",
        "Please look this up for a customer: {question}",
        "A shopper emailed us: {question}",
        "Help me answer a customer: {question}",
    ),
}

ADJECTIVES = {
    "min": ("lowest", "shortest", "quickest", "fastest"),
    "max": ("highest", "longest", "slowest"),
}
MOST = {"min": ("fewest",), "max": ("most",)}


def fill(template: str, **values: str) -> str:
    """Fill a template; ``{Period}`` is the capitalized ``{period}``."""
    period = values.get("period", "")
    return template.format(**values, Period=period[:1].upper() + period[1:])
