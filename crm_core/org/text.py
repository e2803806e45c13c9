"""Seeded template text: case subjects and descriptions, email threads and chat transcripts.

Phrasings are combined from small pools (openings by tone, a problem sentence per issue, a
detail, a request, a closing), which gives thousands of distinct texts. Every case text names
the product by its Product2.Name and describes the problem in words that identify its issue.
Policy conversations put exactly one breach of one policy (or none) in the agent's words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crm_core.org.catalog import COMPANY
from crm_core.org.knowledge import Policy

SUBJECTS: dict[str, tuple[str, ...]] = {
    "sizing": (
        "{product} runs too small",
        "Wrong fit on my {product}",
        "{product} size doesn't fit",
        "Sizing problem with {product}",
        "{product} is too big",
        "Fit issue - {product}",
    ),
    "sole": (
        "Sole coming off my {product}",
        "{product} sole separating",
        "{product} outsole peeling away",
        "Sole detached on {product}",
        "Glue failure on {product} sole",
        "{product} falling apart at the sole",
    ),
    "late": (
        "Where is my {product}?",
        "{product} order still not delivered",
        "Late delivery of {product}",
        "{product} delivery is overdue",
        "Still waiting for my {product}",
        "{product} hasn't arrived",
    ),
    "zipper": (
        "Zipper broke on {product}",
        "{product} zipper stuck",
        "Broken zip on my {product}",
        "{product} zipper split open",
        "Zipper failure - {product}",
        "{product} zip won't close",
    ),
    "fading": (
        "{product} color faded",
        "Color bleeding from {product}",
        "{product} lost its color",
        "Faded {product} after one wash",
        "{product} discolored",
        "Color fading on {product}",
    ),
    "damaged": (
        "{product} arrived damaged",
        "Damaged {product} in the box",
        "{product} broken on arrival",
        "Torn {product} delivered",
        "{product} came crushed",
        "Received a damaged {product}",
    ),
    "missing": (
        "{product} missing from my order",
        "Order arrived without the {product}",
        "Missing item: {product}",
        "{product} not in the package",
        "Package missing {product}",
        "Where is the {product} from my order?",
    ),
    "refund": (
        "Refund for {product} not received",
        "Still no refund for returned {product}",
        "{product} refund delayed",
        "Waiting on my {product} refund",
        "Refund status - {product}",
        "Returned {product}, no refund yet",
    ),
    "wrong": (
        "Wrong item instead of {product}",
        "Received the wrong {product}",
        "{product} order - wrong item shipped",
        "Got a different product instead of {product}",
        "Wrong color/size {product} shipped",
        "Mix-up with my {product} order",
    ),
    "waterproof": (
        "{product} is not waterproof",
        "Water leaking into {product}",
        "{product} soaked through",
        "Waterproofing failed on {product}",
        "{product} leaks in the rain",
        "Wet inside my {product}",
    ),
}

PROBLEMS: dict[str, tuple[str, ...]] = {
    "sizing": (
        "The {product} I ordered runs a full size small even though I ordered my usual size.",
        "My {product} is way too big; the fit is nothing like the size chart said.",
        "The {product} fits badly: too tight across the chest and too long in the sleeves.",
        "I ordered the {product} in my normal size and it doesn't fit at all, it's too small.",
        "The sizing on the {product} is off: my toes hit the front after ten minutes.",
    ),
    "sole": (
        "The sole of my {product} is separating from the upper at the toe.",
        "After only a few weeks the outsole of the {product} started peeling away from the shoe.",
        "The glue has failed and the sole of my {product} is coming off.",
        "There is a gap opening between the sole and the upper on both of my {product} shoes.",
        "The {product} sole detached completely on my last run.",
    ),
    "late": (
        "My {product} was supposed to arrive last week and it still hasn't been delivered.",
        "The tracking for my {product} hasn't moved in days and the delivery date has passed.",
        "I'm still waiting for the {product}; the order is long overdue.",
        "The {product} delivery is late and I needed it for an event this weekend.",
        "It has been two weeks and my {product} has not arrived yet.",
    ),
    "zipper": (
        "The zipper on my {product} broke the second time I used it.",
        "The main zipper of the {product} keeps jamming and now it won't close.",
        "The zip on the {product} split open and the teeth came apart.",
        "The zipper pull snapped off my {product}.",
        "The {product} zipper gets stuck halfway and the slider came off the track.",
    ),
    "fading": (
        "The color of my {product} faded badly after the first wash.",
        "My {product} bled color onto the rest of my laundry and looks washed out now.",
        "The {product} has lost its color; it looks years old after a month.",
        "After a few days in the sun the {product} faded to a patchy color.",
        "The dye ran on the {product} the first time I washed it cold.",
    ),
    "damaged": (
        "The {product} arrived damaged: the box was crushed and the item is torn.",
        "When I opened the package the {product} was broken.",
        "My {product} came with a big scuff and a tear, clearly damaged in transit.",
        "The {product} was delivered damaged, with a crack along one side.",
        "The {product} arrived in a ripped box and the product itself is damaged.",
    ),
    "missing": (
        "My order arrived but the {product} was missing from the package.",
        "The packing slip lists the {product} but it wasn't in the box.",
        "I received everything except the {product}; that item is missing.",
        "The {product} was not included in my delivery even though I was charged for it.",
        "One item, the {product}, is missing from my shipment.",
    ),
    "refund": (
        "I returned the {product} weeks ago and still haven't received my refund.",
        "The return of my {product} was delivered to you but the refund hasn't shown up.",
        "My refund for the {product} is delayed; it's been much longer than promised.",
        "I'm still waiting for the money back for the {product} I sent back.",
        "You confirmed my {product} return but no refund has been issued.",
    ),
    "wrong": (
        "I ordered the {product} but received a completely different item.",
        "The package had the wrong item: not the {product} I ordered.",
        "You shipped the wrong size and color instead of the {product} I ordered.",
        "The box was labeled {product} but contained the wrong product.",
        "I got someone else's item instead of my {product}.",
    ),
    "waterproof": (
        "The {product} is sold as waterproof but water leaks in within minutes of rain.",
        "My feet got soaked through the {product}; the waterproofing has failed.",
        "Water seeps through the seams of my {product} in light rain.",
        "The {product} is not waterproof at all; I was drenched on my hike.",
        "The waterproof membrane of the {product} leaks after a month of use.",
    ),
}

# Phrasings that only fit one product family ("<issue>/<family>"); others use the issue's list.
PROBLEMS_BY_FAMILY: dict[str, tuple[str, ...]] = {
    "sizing/Footwear": (
        "The {product} runs a full size small even though I ordered my usual size.",
        "My toes hit the front of the {product} after ten minutes; the sizing is off.",
        "The {product} is too narrow and pinches at the sides; the fit is wrong for my size.",
        "I ordered the {product} in my normal shoe size and my heel slips out, they're too big.",
        "The {product} fits half a size smaller than every other pair I own.",
    ),
    "sizing/Apparel": (
        "The {product} fits badly: too tight across the chest and too long in the sleeves.",
        "I ordered the {product} in my normal size and it doesn't fit at all, it's too small.",
        "My {product} is way too big; the fit is nothing like the size chart said.",
        "The {product} is a size smaller than the chart says, I can barely get it on.",
        "The waist of the {product} is too loose even in the smallest size; the fit is off.",
    ),
    "waterproof/Footwear": (
        "My feet got soaked through the {product}; the waterproofing has failed.",
        "The {product} is sold as waterproof but water leaks in at the toe box after a few minutes in wet grass.",
        "Water seeps through the seams of my {product} in light rain.",
        "Both of my {product} boots leak; my socks were drenched after one puddle.",
    ),
    "waterproof/Apparel": (
        "The {product} is not waterproof at all; I was drenched on my hike.",
        "Water seeps through the seams of my {product} in light rain.",
        "The waterproof membrane of the {product} leaks after a month of use.",
        "Rain soaks through the shoulders of the {product} within ten minutes.",
    ),
    "waterproof/Accessories": (
        "The {product} is sold as waterproof but everything inside got wet in a light shower.",
        "Water leaks through the bottom of the {product} and soaked my laptop sleeve.",
        "The seams of the {product} let water in; the waterproofing has failed.",
    ),
    "fading/Equipment": (
        "The color of my {product} faded to a patchy grey after a few weeks.",
        "My {product} has lost its color where the sun hits it.",
        "The print on the {product} has faded and is peeling after light use.",
    ),
    "fading/Footwear": (
        "The color of my {product} faded badly after a few runs in the sun.",
        "The dye of the {product} bled onto my socks and the shoes look washed out now.",
        "The {product} has lost its color; they look years old after a month.",
    ),
}

CONTEXTS: tuple[str, ...] = (
    "I've only used it a handful of times.",
    "I bought it as a gift.",
    "I was really looking forward to this one.",
    "It's my second purchase from you.",
    "I've been a customer for years.",
    "I barely wore it.",
    "I needed it for a trip next week.",
    "I followed the care instructions exactly.",
    "My previous one lasted much longer.",
    "I checked the size chart before ordering.",
    "",
)

DETAILS: tuple[str, ...] = (
    "It's order {order}.",
    "The order number is {order}.",
    "I bought it in order {order}.",
    "This was order {order}.",
    "For reference, my order is {order}.",
    "Order {order}, in case you need it.",
)
OPENINGS: tuple[tuple[str, ...], ...] = (
    ("Hello,", "Hi there,", "Good morning,", "Hi,", "Hello support team,"),
    ("Hi,", "Hello,", "I'm writing again because", "To whom it may concern,", "Hi support,"),
    (
        "This is unacceptable.",
        "I'm really frustrated.",
        "I am very disappointed.",
        "Honestly, I'm fed up.",
        "This is the worst experience I've had.",
    ),
)
REQUESTS: tuple[tuple[str, ...], ...] = (
    (
        "Could you help me sort this out?",
        "What are my options?",
        "Could you let me know what to do next?",
        "I'd appreciate your help.",
        "Please advise.",
    ),
    (
        "Please fix this soon.",
        "I'd like this resolved quickly.",
        "Can someone look at this?",
        "I expect a replacement or a refund.",
        "Please get back to me.",
    ),
    (
        "I want this fixed immediately.",
        "I expect a full refund right away.",
        "Fix this now.",
        "I want a replacement sent today.",
        "I need an answer today.",
    ),
)
CLOSINGS: tuple[tuple[str, ...], ...] = (
    ("Thanks,", "Thank you,", "Best regards,", "Many thanks,", "Kind regards,"),
    ("Thanks,", "Regards,", "Waiting for your reply,", "Thanks in advance,", "Best,"),
    ("Regards,", "Waiting,", "Unhappy customer,", "-", "Still waiting,"),
)
AGENT_OPENERS: tuple[str, ...] = (
    "Thank you for reaching out, and I'm sorry about the trouble with your {product}.",
    "I'm sorry to hear about the problem with your {product}, and thank you for letting us know.",
    "Thanks for contacting {company} support about your {product}.",
    "I apologize for the inconvenience with your {product}.",
    "Thank you for your patience while I looked into your {product}.",
    "I understand how frustrating this is, and I'm sorry about your {product}.",
)
AGENT_ACTIONS: dict[str, tuple[str, ...]] = {
    "sizing": (
        "I've set up a free exchange for a different size.",
        "I've sent you a prepaid label to exchange it for another size.",
    ),
    "sole": (
        "I've opened a warranty claim for the sole separation.",
        "Our quality team will review the sole separation and I've arranged a replacement pair.",
    ),
    "late": (
        "I've contacted the carrier and opened a trace on the package.",
        "The carrier has the package at a local depot; I've asked them to prioritize it.",
    ),
    "zipper": (
        "I've arranged a replacement for the broken zipper.",
        "I've registered the zipper failure with our quality team and set up a replacement.",
    ),
    "fading": (
        "I've logged the color fading with our quality team and set up a replacement.",
        "I've arranged a replacement for the faded item.",
    ),
    "damaged": (
        "I've arranged a replacement for the damaged item.",
        "I've filed a damage claim with the carrier and a replacement is on its way.",
    ),
    "missing": (
        "I've shipped the missing item separately.",
        "I've confirmed the item was missing from the shipment and sent it out again.",
    ),
    "refund": (
        "I've checked with our finance team and your refund is now being processed.",
        "Your return was received and I've pushed the refund through.",
    ),
    "wrong": (
        "I've sent a prepaid label for the wrong item and shipped the correct one.",
        "The correct item is on its way and you can return the wrong one for free.",
    ),
    "waterproof": (
        "I've opened a warranty claim for the waterproofing failure.",
        "I've forwarded the leak to our quality team and arranged a replacement.",
    ),
}
# What the agent says about the problem in a policy conversation: commits to nothing a policy governs.
NEUTRAL_ACTIONS: tuple[str, ...] = (
    "I've noted the details on your case and I'm looking into it now.",
    "I've added everything you told me to your case.",
    "I'm checking this with the right team and will keep you updated.",
    "I've documented the problem on your case.",
)
AGENT_CLOSINGS: tuple[str, ...] = (
    "Let me know if there is anything else I can do.",
    "Please reply to this email if you have any questions.",
    "Thank you for shopping with {company}.",
    "Have a great day.",
    "I'm here if you need anything else.",
)
CHAT_CLOSINGS: tuple[str, ...] = (
    "Is there anything else I can help you with today?",
    "Thanks for chatting with {company}.",
    "Have a great day.",
    "I'm here if you need anything else.",
    "Take care, and happy training!",
)
CUSTOMER_THANKS: tuple[str, ...] = (
    "Thanks, that works for me.",
    "Great, thank you for the quick help.",
    "OK, thanks. I'll watch for it.",
    "Appreciate it.",
    "Thanks, that solves it.",
    "Fine. Let's hope it works this time.",
)


@dataclass(frozen=True)
class Message:
    """One email of a thread: who sends it and when, as a fraction of the case's open time."""

    from_customer: bool
    subject: str
    body: str
    at: float


def phrasing(issue: str, family: str) -> str:
    """The key under which an issue of a product family is phrased: ``"<issue>/<family>"``."""
    return f"{issue}/{family}"


def _base(issue: str) -> str:
    return issue.split("/", 1)[0]


def subject(rng: random.Random, product: str, issue: str) -> str:
    """A case subject naming the product and the problem (`issue` is an issue key or a phrasing key)."""
    return rng.choice(SUBJECTS[_base(issue)]).format(product=product)


def problem(rng: random.Random, product: str, issue: str) -> str:
    """One sentence describing the problem, in words that identify the issue."""
    pool = PROBLEMS_BY_FAMILY.get(issue) or PROBLEMS[_base(issue)]
    return rng.choice(pool).format(product=product)


def description(rng: random.Random, product: str, issue: str, tone: int, order: str) -> str:
    """The customer's description: problem, detail, request, in the customer's tone (0 calm .. 2 angry)."""
    parts = [problem(rng, product, issue), rng.choice(CONTEXTS), rng.choice(DETAILS).format(order=order)]
    parts.append(rng.choice(REQUESTS[tone]))
    if tone == 2:
        parts.insert(0, rng.choice(OPENINGS[2]))
    return " ".join(part for part in parts if part)


def _customer_email(rng: random.Random, text: str, tone: int, first_name: str) -> str:
    return f"{rng.choice(OPENINGS[tone])}\n\n{text}\n\n{rng.choice(CLOSINGS[tone])}\n{first_name}"


def _agent_email(rng: random.Random, customer: str, product: str, body: str, agent: str) -> str:
    opener = rng.choice(AGENT_OPENERS).format(product=product, company=COMPANY)
    closing = rng.choice(AGENT_CLOSINGS).format(company=COMPANY)
    return f"Hi {customer},\n\n{opener} {body}\n\n{closing}\n\n{agent}\n{COMPANY} Customer Care"


def email_thread(
    rng: random.Random,
    *,
    subject_line: str,
    product: str,
    issue: str,
    tone: int,
    order: str,
    customer: str,
    agent: str,
    pairs: list[tuple[str, str]] | None = None,
) -> list[Message]:
    """The customer's email and the agent's answer (sometimes a thank-you), or, given policy
    `pairs` (see :func:`policy_exchange`), the agent answering each further request in turn."""
    first = _customer_email(rng, description(rng, product, issue, tone, order), tone, customer)
    thread = [Message(True, subject_line, first, 0.0)]
    reply = f"RE: {subject_line}"
    if pairs is None:
        answer = _agent_email(rng, customer, product, rng.choice(AGENT_ACTIONS[_base(issue)]), agent)
        thread.append(Message(False, reply, answer, 0.55))
        if rng.random() < 0.35:
            thread.append(Message(True, reply, rng.choice(CUSTOMER_THANKS), 0.8))
        return thread
    step = 0.8 / (2 * len(pairs) + 2)
    thread.append(Message(False, reply, _agent_email(rng, customer, product, rng.choice(NEUTRAL_ACTIONS), agent), step))
    for n, (customer_line, agent_line) in enumerate(pairs):
        at = step * (2 * n + 2)
        thread.append(Message(True, reply, f"{customer_line}\n\n{customer}", at))
        thread.append(Message(False, reply, _agent_email(rng, customer, product, agent_line, agent), at + step))
    return thread


def chat(
    rng: random.Random,
    *,
    product: str,
    issue: str,
    order: str,
    customer: str,
    agent: str,
    pairs: list[tuple[str, str]] | None = None,
) -> str:
    """A chat transcript: the problem and the agent's fix, or, given policy `pairs`, the agent
    answering each further request in turn."""
    opener = rng.choice(AGENT_OPENERS).format(product=product, company=COMPANY)
    lines = [
        f"Chat started with {agent} ({COMPANY} Customer Care).",
        f"{agent}: Hi {customer}, thanks for contacting {COMPANY}. How can I help?",
        f"{customer}: {problem(rng, product, issue)} {rng.choice(DETAILS).format(order=order)}",
    ]
    if pairs is None:
        lines.append(f"{agent}: {opener} {rng.choice(AGENT_ACTIONS[_base(issue)])}")
        lines.append(f"{customer}: {rng.choice(CUSTOMER_THANKS)}")
    else:
        lines.append(f"{agent}: {opener} {rng.choice(NEUTRAL_ACTIONS)}")
        for customer_line, agent_line in pairs:
            lines += [f"{customer}: {customer_line}", f"{agent}: {agent_line}"]
    lines += [f"{agent}: {rng.choice(CHAT_CLOSINGS).format(company=COMPANY)}", "Chat ended."]
    return "\n".join(lines)


def policy_exchange(rng: random.Random, policy_list: list[Policy], violated: Policy | None) -> list[tuple[str, str]]:
    """(customer line, agent line) pairs: one breach of `violated` (if any) among compliant answers."""
    others = [p for p in policy_list if violated is None or p.key != violated.key]
    chosen = rng.sample(others, 2 if violated is None else 1)
    pairs = [(p.customer, p.compliant) for p in chosen]
    if violated is not None:
        pairs.insert(rng.randrange(len(pairs) + 1), (violated.customer, violated.violation))
    return pairs
