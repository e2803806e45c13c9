"""Knowledge articles: service policies (one checkable rule each) and FAQs stating concrete facts.

The company's numbers (return window, refund limit ...) are drawn once from the seed into
:class:`CompanyFacts`, so that policies, FAQs and the conversations that breach a policy agree.
Every FAQ fact is stored with its question and an answer that appears verbatim in the body.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from crm_core.org.catalog import COMPANY, ISSUE_BY_KEY, ISSUES
from crm_core.org.grammar import expand
from crm_core.org.products import ProductInfo, wash_at


@dataclass(frozen=True)
class CompanyFacts:
    """The retailer's service numbers, drawn from the seed."""

    return_days: int
    refund_limit: int
    max_discount: int
    price_match_days: int
    free_shipping_min: int
    standard_shipping: str
    express_cost: str
    refund_processing: str
    gold_threshold: str
    points_per_dollar: int
    pickup_hold: str
    cancel_window: str
    student_discount: str
    military_discount: str
    gift_wrap: str
    repair_turnaround: str
    countries: str
    support_phone: str
    support_hours: str
    chat_hours: str
    gift_card_validity: str
    warranty: dict[str, str]


def draw_company_facts(rng: random.Random) -> CompanyFacts:
    """The company's numbers for one org."""
    return CompanyFacts(
        return_days=rng.choice((30, 45, 60)),
        refund_limit=rng.choice((100, 150, 200)),
        max_discount=rng.choice((10, 15, 20)),
        price_match_days=rng.choice((14, 21)),
        free_shipping_min=rng.choice((50, 75, 99)),
        standard_shipping=rng.choice(("3–5 business days", "5–7 business days")),
        express_cost=rng.choice(("$12.95", "$14.95", "$9.99")),
        refund_processing=rng.choice(("5–7 business days", "7–10 business days")),
        gold_threshold=rng.choice(("$500", "$750", "$1,000")),
        points_per_dollar=rng.choice((1, 2)),
        pickup_hold=rng.choice(("7 days", "10 days")),
        cancel_window=rng.choice(("30 minutes", "60 minutes")),
        student_discount=rng.choice(("10%", "15%")),
        military_discount=rng.choice(("15%", "20%")),
        gift_wrap=rng.choice(("$4.99", "$5.99")),
        repair_turnaround=rng.choice(("3 weeks", "4 weeks")),
        countries=rng.choice(("38 countries", "42 countries")),
        support_phone=f"1-800-555-0{rng.randint(100, 199)}",
        support_hours=rng.choice(("8 a.m. to 10 p.m. Eastern Time", "7 a.m. to 9 p.m. Eastern Time")),
        chat_hours=rng.choice(("24 hours a day", "6 a.m. to midnight Eastern Time")),
        gift_card_validity=rng.choice(("5 years", "7 years")),
        warranty={
            "Footwear": rng.choice(("12 months", "18 months")),
            "Apparel": rng.choice(("12 months", "24 months")),
            "Accessories": rng.choice(("24 months", "36 months")),
            "Equipment": rng.choice(("12 months", "24 months")),
        },
    )


@dataclass(frozen=True)
class Policy:
    """A service policy: the rule, and what breaking and keeping it look like in a conversation."""

    key: str
    title: str
    rule: str
    why: str
    customer: str  # customer line that sets up the situation
    violation: str  # agent line that clearly breaks the rule
    compliant: str  # agent line that follows it


def policies(facts: CompanyFacts) -> list[Policy]:
    """The service policies of the org (at least ten), with the company's numbers filled in."""
    f = facts
    over = f.refund_limit + 90
    under = max(20, f.refund_limit - 40)
    return [
        Policy(
            "refund_approval",
            "Refund Approval Limits",
            f"Refunds above ${f.refund_limit} must be approved by a support manager before they are issued.",
            "Large refunds are reviewed to prevent errors and fraud.",
            f"I'd like my money back for the whole order, ${over}, as soon as possible.",
            f"I've gone ahead and issued the full refund of ${over} myself just now, so there's no need to "
            "wait for a manager to look at it.",
            f"Your refund of ${under} is within what I can approve, so I've issued it to your original payment method.",
        ),
        Policy(
            "discount_limit",
            "Goodwill Discount Limits",
            f"Agents may offer a goodwill discount of at most {f.max_discount}% on a future order.",
            "Discounts above the limit need a promotion approved by marketing.",
            "Honestly, after all this I think you owe me a big discount.",
            f"To make up for it I'm giving you a {f.max_discount + 25}% discount code for your next order.",
            f"As an apology I can offer a {f.max_discount}% discount code for your next order.",
        ),
        Policy(
            "return_window",
            "Return Window",
            f"Returns are accepted only within {f.return_days} days of delivery; older items go through the "
            "warranty process instead.",
            "The window keeps returns fair and predictable for every customer.",
            f"Can I still return it? It was delivered about {f.return_days + 40} days ago.",
            f"Even though it was delivered {f.return_days + 40} days ago, I'll accept it as a regular return "
            "for a full refund.",
            f"Since it was delivered more than {f.return_days} days ago it can't be returned, but I've opened a "
            "warranty claim for you.",
        ),
        Policy(
            "card_number",
            "Payment Card Data",
            "Never ask a customer for their full payment card number; ask only for the last four digits.",
            "Full card numbers must never appear in emails, chats or case notes.",
            "I want to check which card was charged for this order.",
            "To look into the charge, please reply with the full 16-digit card number and the expiry date.",
            "To find the charge, please confirm only the last four digits of the card you used.",
        ),
        Policy(
            "identity_verification",
            "Identity Verification",
            "Verify the customer's identity (email address on file and order number) before sharing any order details.",
            "Order details include addresses and purchase history that belong to the account holder.",
            "I'm calling for my sister, can you tell me what she ordered and where it's being shipped?",
            "No problem, I don't need to verify anything: the order ships to the address on the account and "
            "contains the items I'll list below.",
            "Before I share any order details I need to verify the account holder's email address and the order "
            "number.",
        ),
        Policy(
            "delivery_promise",
            "Delivery Date Promises",
            "Never promise a specific delivery date; quote only the carrier's estimated delivery window.",
            "Carriers control delivery; a missed promise turns one problem into two.",
            "When exactly will the replacement get here? I need it for a race.",
            "I guarantee the replacement will be on your doorstep by this Friday, you have my word.",
            f"The carrier's estimate for standard shipping is {f.standard_shipping}; I'll send you the tracking "
            "link as soon as it ships.",
        ),
        Policy(
            "defect_photo",
            "Photo Evidence for Defect Claims",
            "A defect claim needs a photo of the defect before a replacement or refund is approved.",
            "Photos let the quality team trace defects back to the factory.",
            "It's clearly defective, please just send me a new one.",
            "You don't need to send any photos, I've approved the replacement and it ships today.",
            "Could you send a photo of the defect? As soon as I have it I'll approve the replacement.",
        ),
        Policy(
            "chargeback_escalation",
            "Chargeback and Legal Threats",
            "When a customer mentions a chargeback, a lawyer or legal action, escalate the case to a supervisor.",
            "Supervisors coordinate with the payments and legal teams.",
            "If this isn't fixed today I'm filing a chargeback with my bank.",
            "There's no need to involve a supervisor, I'll handle the chargeback question myself.",
            "I've escalated your case to my supervisor, who will contact you within one business day.",
        ),
        Policy(
            "store_credit",
            "Store Credit Is Not Cash",
            "Store credit and gift card balances may never be converted into a cash or card refund.",
            "Store credit is issued in place of a refund and cannot be paid out again.",
            "I have $80 of store credit from an earlier return. Can you just put that back on my card instead?",
            "Sure, I've converted your $80 store credit into a refund to your card.",
            "Store credit can't be refunded to a card, but your $80 balance never expires and works on any order.",
        ),
        Policy(
            "expedited_shipping",
            "Free Expedited Shipping",
            "Free expedited shipping may be offered only to Gold members of Stridewell Rewards.",
            "Expedited shipping is a Gold member benefit.",
            "Can you ship the replacement faster? I'm not a rewards member, by the way.",
            "Even though you're not a Gold member, I've upgraded your replacement to free expedited shipping.",
            f"Expedited shipping is available for {f.express_cost}, or free for Gold members of Stridewell Rewards.",
        ),
        Policy(
            "price_match",
            "Price Match Rules",
            f"Price matching applies only to identical items sold by authorized retailers, within "
            f"{f.price_match_days} days of purchase.",
            "Marketplace listings cannot be verified as genuine.",
            "I saw it cheaper on an online marketplace listing from a private seller, can you match that?",
            "I'll match the marketplace seller's price and refund you the difference.",
            "We only match authorized retailers, so I can't match a private marketplace listing.",
        ),
        Policy(
            "email_on_file",
            "Customer Data Stays on File",
            "Send order documents and personal information only to the email address on file.",
            "Sending personal data elsewhere risks disclosing it to the wrong person.",
            "Can you send the invoice to my work email instead? It's not the one on my account.",
            "Done, I've sent the invoice with your address and order details to the new email you gave me.",
            "I can only send the invoice to the email on file; you can add the work email in your account settings.",
        ),
    ]


@dataclass
class Article:
    """A knowledge article as generated, with its facts (for knowledge_qa) or its policy key."""

    title: str
    summary: str
    body: str
    kind: str  # "FAQ" or "Policy"
    policy_key: str | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url_name(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", self.title).strip("-")


def _faq(title: str, summary: str, body: str, facts: list[tuple[str, str]]) -> Article:
    for _, answer in facts:
        if answer not in body:
            raise AssertionError(f"answer {answer!r} not stated in article {title!r}")
    return Article(title=title, summary=summary, body=body, kind="FAQ", facts=facts)


def sectioned(kind: str, title: str, summary: str, sections: list[tuple[str, str]]) -> str:
    """An article body shaped like Salesforce Knowledge: type line, summary, then headed sections."""
    parts = [f"Article type: {kind}", f"Summary: {summary}"]
    parts += [f"{heading}\n{text}" for heading, text in sections if text]
    return "\n\n".join(parts)


def _phrase(rng: random.Random, phrasings: tuple[str, ...], slots: dict[str, str]) -> str:
    """One of `phrasings` of a sentence many articles have, expanded with the article's own slots."""
    return expand(rng, rng.choice(phrasings), **slots)


_FAQ_HELP = (
    "[Still need help with|More questions about|Something else about] {topic}? [Call|Phone] Customer Care at {phone} "
    "or start a chat[ and mention this article|, quoting the article title|]; [the opening hours are|you'll find the "
    "hours] in Contacting Customer Service.",
    "[If this doesn't answer your question about|For anything this article leaves open about] {topic}, [call|ring] "
    "{phone}[ or reply to your order confirmation email| or send us a chat message|]; see Contacting Customer "
    "Service for [the hours|when we're open].",
)
_FAQ_RELATED = (
    "[Related articles|See also|Readers of this article also read]: {a}; {b}; {c}.",
    "[You may also want|Also useful|Other articles that help] [on this topic|here]: {a}, {b} and {c}.",
)


def _with_sections(rng: random.Random, article: Article, facts: CompanyFacts, related: list[str]) -> Article:
    """A general FAQ laid out as a Knowledge FAQ: question, answer, related articles, how to get more help."""
    question = article.facts[0][0] if article.facts else article.summary
    help_line = _phrase(rng, _FAQ_HELP, {"topic": article.title.rstrip("?"), "phone": facts.support_phone})
    if article.title == "Contacting Customer Service":
        help_line = ""  # the article is the contact details
    sections = [
        ("Question", question),
        ("Answer", article.body),
        ("Related articles", _phrase(rng, _FAQ_RELATED, dict(zip("abc", related, strict=True)))),
        ("Still need help?", help_line),
    ]
    body = sectioned("FAQ", article.title, article.summary, sections)
    return _faq(article.title, article.summary, body, article.facts)


def general_faqs(f: CompanyFacts, rng: random.Random) -> list[Article]:
    """FAQ articles about the company's services, each laid out with its related articles."""
    plain = _general_answers(f)
    titles = [a.title for a in plain]
    return [
        _with_sections(rng, article, f, [titles[(n + k * 7) % len(titles)] for k in (1, 2, 3)])
        for n, article in enumerate(plain)
    ]


def _general_answers(f: CompanyFacts) -> list[Article]:
    c = COMPANY
    return [
        _faq(
            "Shipping Times and Costs",
            "How long shipping takes and what it costs.",
            f"Standard shipping takes {f.standard_shipping} and is free on orders over ${f.free_shipping_min}. "
            f"Express shipping costs {f.express_cost} and arrives in 2 business days.",
            [
                ("How long does standard shipping take?", f.standard_shipping),
                ("What is the minimum order value for free standard shipping?", f"${f.free_shipping_min}"),
                ("How much does express shipping cost?", f.express_cost),
            ],
        ),
        _faq(
            "Returning an Item",
            "How to return a product and get a refund.",
            f"You can return unworn items within {f.return_days} days of delivery. Print the prepaid label "
            "from your order page; a return shipping fee of $6.95 is deducted from the refund unless the item "
            "was faulty.",
            [
                ("Within how many days of delivery can an item be returned?", f"{f.return_days} days"),
                ("What return shipping fee is deducted from a refund?", "$6.95"),
            ],
        ),
        _faq(
            "When Will I Get My Refund?",
            "Refund processing times.",
            f"Once your return reaches our warehouse in Reno, refunds are processed within {f.refund_processing}. "
            "Your bank may take up to 3 more days to show the credit.",
            [
                ("How long does refund processing take after a return arrives?", f.refund_processing),
                ("Where is the returns warehouse located?", "Reno"),
                ("How many extra days can a bank take to show a refund credit?", "3 more days"),
            ],
        ),
        _faq(
            "Exchanging for a Different Size",
            "Free size exchanges.",
            f"Size exchanges are free within {f.return_days} days of delivery. Start the exchange online and we "
            "ship the new size as soon as the carrier scans your return, usually within 48 hours.",
            [("How soon is the new size shipped after the carrier scans an exchange return?", "within 48 hours")],
        ),
        _faq(
            "Stridewell Rewards Membership",
            "How the rewards program works.",
            f"Stridewell Rewards members earn {f.points_per_dollar} points per dollar spent. Members who spend "
            f"{f.gold_threshold} in a calendar year reach Gold status. 500 points can be redeemed for a $10 "
            "reward.",
            [
                ("How many rewards points do members earn per dollar?", f"{f.points_per_dollar} points per dollar"),
                ("How much must a member spend in a year to reach Gold status?", f.gold_threshold),
                ("How many points are needed for a $10 reward?", "500 points"),
            ],
        ),
        _faq(
            "Gold Member Benefits",
            "What Gold members get.",
            "Gold members of Stridewell Rewards get free expedited shipping, early access to sales 48 hours "
            "before everyone else and a birthday reward of $15.",
            [
                ("How early do Gold members get access to sales?", "48 hours"),
                ("What birthday reward do Gold members receive?", "$15"),
            ],
        ),
        _faq(
            "Contacting Customer Service",
            "Phone and chat hours.",
            f"Call us at {f.support_phone}, open {f.support_hours}, every day. Live chat is available {f.chat_hours}.",
            [
                ("What is the customer service phone number?", f.support_phone),
                ("What are the phone support hours?", f.support_hours),
                ("When is live chat available?", f.chat_hours),
            ],
        ),
        _faq(
            "Buy Online, Pick Up in Store",
            "Store pickup.",
            f"Orders for store pickup are usually ready within 2 hours. We hold them for {f.pickup_hold}; "
            "bring a photo ID and your order number.",
            [
                ("How long are store pickup orders held?", f.pickup_hold),
                ("How soon is a store pickup order usually ready?", "within 2 hours"),
            ],
        ),
        _faq(
            "Cancelling an Order",
            "Cancelling before shipment.",
            f"You can cancel an order from your account within {f.cancel_window} of placing it. After that the "
            "order is already being packed and must be returned once it arrives.",
            [("How long after placing an order can it be cancelled online?", f.cancel_window)],
        ),
        _faq(
            "Student and Military Discounts",
            "Who qualifies and how much.",
            f"Verified students get {f.student_discount} off full-price items and active military members and "
            f"veterans get {f.military_discount} off. Verification is done through our partner ID.me.",
            [
                ("How large is the student discount?", f.student_discount),
                ("How large is the military discount?", f.military_discount),
                ("Which partner verifies student and military status?", "ID.me"),
            ],
        ),
        _faq(
            "Gift Wrapping",
            "Gift wrap and messages.",
            f"Gift wrapping costs {f.gift_wrap} per item and includes a handwritten card with up to 200 characters.",
            [
                ("How much does gift wrapping cost per item?", f.gift_wrap),
                ("How many characters can a gift card message have?", "200 characters"),
            ],
        ),
        _faq(
            "Gift Cards",
            "Buying and using gift cards.",
            f"Gift cards are available from $25 to $500 and are valid for {f.gift_card_validity} from purchase.",
            [
                ("What is the largest gift card value available?", "$500"),
                ("How long is a gift card valid?", f.gift_card_validity),
            ],
        ),
        _faq(
            "Shoe Repair Service",
            "Resoling and repairs.",
            f"Our partner workshop in Portland resoles hiking boots for $65. Repairs take about "
            f"{f.repair_turnaround} including shipping.",
            [
                ("How much does resoling hiking boots cost?", "$65"),
                ("How long does a boot repair take?", f.repair_turnaround),
                ("Where is the partner repair workshop?", "Portland"),
            ],
        ),
        _faq(
            "International Shipping",
            "Shipping outside the United States.",
            f"We ship to {f.countries}. International orders take 7–14 business days and duties are paid by "
            "the recipient.",
            [
                ("How many countries does the company ship to?", f.countries),
                ("How long do international orders take?", "7–14 business days"),
            ],
        ),
        _faq(
            "Second Stride Shoe Recycling",
            "Recycling worn-out shoes.",
            "Drop worn shoes at any store for the Second Stride program and receive a $10 coupon. Collected "
            "shoes are ground into rubber for playground surfaces.",
            [
                ("What is the name of the shoe recycling program?", "Second Stride"),
                ("What coupon do customers get for recycling shoes?", "a $10 coupon"),
            ],
        ),
        _faq(
            "Price Match Guarantee",
            "When we match a lower price.",
            f"We match the price of identical items from authorized retailers within {f.price_match_days} days "
            "of your purchase. Marketplace sellers are not eligible.",
            [("Within how many days of purchase can a price match be requested?", f"{f.price_match_days} days")],
        ),
        _faq(
            "Product Warranty",
            "What the warranty covers.",
            f"Footwear is covered against manufacturing defects for {f.warranty['Footwear']}, apparel for "
            f"{f.warranty['Apparel']}, bags and accessories for {f.warranty['Accessories']} and fitness equipment "
            f"for {f.warranty['Equipment']}.",
            [
                ("How long is footwear covered against manufacturing defects?", f.warranty["Footwear"]),
                ("How long are bags and accessories covered by the warranty?", f.warranty["Accessories"]),
            ],
        ),
        _faq(
            "Finding Your Shoe Size",
            "Measuring your feet.",
            "Measure your foot in the evening, heel to longest toe, and add 1 centimeter of room. Our size chart "
            "converts that length to US, UK and EU sizes.",
            [
                ("How much room should be added to the measured foot length?", "1 centimeter"),
                ("At what time of day should feet be measured?", "in the evening"),
            ],
        ),
        _faq(
            "Caring for Waterproof Jackets",
            "Keeping a shell waterproof.",
            "Wash waterproof shells every 20 wears with a technical wash, then tumble dry on low for 20 minutes "
            "to reactivate the water-repellent finish.",
            [
                ("How often should waterproof shells be washed?", "every 20 wears"),
                ("How long should a shell be tumble dried to reactivate its finish?", "20 minutes"),
            ],
        ),
        _faq(
            "Order Tracking",
            "Where is my order?",
            "A tracking email is sent within 24 hours of shipment. Orders ship from our Memphis distribution "
            "center through UPS and USPS.",
            [
                ("How soon after shipment is the tracking email sent?", "within 24 hours"),
                ("Where is the distribution center that ships orders?", "Memphis"),
            ],
        ),
        _faq(
            "Payment Methods",
            "How you can pay.",
            "We accept Visa, Mastercard, American Express, PayPal and Apple Pay. Orders can be split into 4 "
            "interest-free payments with Klarna.",
            [
                ("Into how many interest-free payments can an order be split?", "4 interest-free payments"),
                ("Which provider offers split payments?", "Klarna"),
            ],
        ),
        _faq(
            "Pre-orders",
            "Reserving upcoming products.",
            "Pre-orders require a 20% deposit, charged when you reserve. The balance is charged when the item "
            "ships, usually 6 weeks after the announcement.",
            [("What deposit does a pre-order require?", "a 20% deposit")],
        ),
        _faq(
            "Team and Club Orders",
            "Bulk orders for teams.",
            "Teams ordering 12 or more units of one product get 10% off and free custom numbering. Contact "
            "teams@stridewell.example.com for a quote.",
            [
                ("How many units make a team order?", "12 or more units"),
                ("What email address handles team quotes?", "teams@stridewell.example.com"),
            ],
        ),
        _faq(
            "Damaged or Missing Items",
            "What to do when a package is not right.",
            "Report a damaged or missing item within 7 days of delivery with a photo of the package. We ship a "
            "replacement at no cost.",
            [("Within how many days must a damaged or missing item be reported?", "within 7 days of delivery")],
        ),
        _faq(
            "Running Shoe Lifespan",
            "When to replace running shoes.",
            "Most running shoes should be replaced every 300 to 500 miles. Rotate two pairs to let the foam "
            "recover for 48 hours between runs.",
            [("After how many miles should running shoes be replaced?", "every 300 to 500 miles")],
        ),
        _faq(
            "Newsletter Offers",
            "Signing up for emails.",
            "Sign up for our newsletter and get 10% off your first order. We send at most 2 emails per week.",
            [
                ("What discount do newsletter subscribers get on their first order?", "10% off"),
                ("How many newsletter emails are sent per week at most?", "2 emails per week"),
            ],
        ),
        _faq(
            "Store Locations",
            "Our stores.",
            "Stridewell has 64 stores in 21 states. Most stores open at 10 a.m. and close at 9 p.m.",
            [
                ("How many stores does the company have?", "64 stores"),
                ("In how many states does the company have stores?", "21 states"),
            ],
        ),
        _faq(
            "Sustainability Commitments",
            "Materials and packaging.",
            f"By 2025, 70% of {c}'s apparel uses recycled polyester, and all shipping boxes are made from 100% "
            "recycled cardboard.",
            [
                ("What share of apparel uses recycled polyester?", "70%"),
                ("What are the shipping boxes made from?", "100% recycled cardboard"),
            ],
        ),
        _faq(
            "Yoga Mat Care",
            "Cleaning mats.",
            "Clean rubber mats with a damp cloth and mild soap; never leave them in direct sunlight for more "
            "than 2 hours, which makes the rubber brittle.",
            [("How long can a rubber mat be left in direct sunlight?", "2 hours")],
        ),
        _faq(
            "Issue Categories Used by Support",
            "How support classifies problems.",
            "Support files every case under one issue category: "
            + ", ".join(issue.name for issue in ISSUES)
            + ". Cases are answered within 1 business day.",
            [("How soon are support cases answered?", "within 1 business day")],
        ),
    ]


_POLICY_TEXT = {
    "scope": (
        "[This policy applies to|The rule binds|It covers] [every agent and supervisor|all service agents and their "
        "supervisors|agents, team leads and supervisors] [who handle|dealing with|answering] {topic}[, in every "
        "channel|, whether by phone, email, web form or chat|, in chat and email as much as on the phone].",
        "[Anyone who talks to customers|Every agent, supervisor and seasonal hire] [must follow|is bound by] the "
        "{title} policy[ in every channel| on phone, email, web and chat|, including the web form].",
    ),
    "note": (
        "[Note|Write] on the case what the customer asked about {topic} and what you answered.",
        "Record the request and your answer on the case[ so the next agent sees how {topic} was handled|, "
        "tagged {title}].",
    ),
    "dispute": (
        "If the customer disputes the answer, escalate the case to your supervisor instead of [making an "
        "exception to|bending] the {title} rule.",
        "[When|If] a customer [pushes back|won't accept the answer] on {topic}, hand the case to your supervisor"
        "[ rather than making an exception| instead of deciding alone].",
    ),
    "exceptions": (
        "[Agents who are unsure|If you are unsure] [must|should] ask their supervisor before acting on {topic}. "
        "Only a support manager may grant an exception to the {title} policy, and [the exception is recorded on "
        "the case|it is written on the case].",
        "[No agent may|Agents may not] [waive|make exceptions to] the {title} policy; [a support manager|only a "
        "support manager] can, and [records the exception on the case|notes the reason on the case].",
    ),
    "audit": (
        "[Breaches|Cases that break the rule on {topic}] are [reviewed|sampled] in [weekly|monthly] quality audits"
        "[ and discussed in one-to-one coaching| and raised in coaching sessions|] [under {title}|for {topic}|].",
        "[Quality reviewers check|Team leads sample] [conversations about|cases involving] {topic} [every week|each "
        "month] and [coach|follow up with] agents who [broke|missed] the {title} rule.",
    ),
    "change": (
        "{title}: [examples updated|example answers rewritten|wording clarified|scope extended to chat]",
        "[added the chat example|clarified the escalation step|new sample request] for {topic}",
    ),
}


def policy_articles(facts: CompanyFacts, rng: random.Random) -> list[Article]:
    """One article per policy: purpose, the rule, how to apply it, escalation and revision history."""
    articles = []
    for n, policy in enumerate(policies(facts)):
        slots = {"title": policy.title, "topic": policy.title.lower()}

        steps = [
            f'Recognize the situation. A typical request: "{policy.customer}"',
            f"Apply the rule: {policy.rule}",
            f'Answer along these lines: "{policy.compliant}"',
            _phrase(rng, _POLICY_TEXT["note"], slots),
            _phrase(rng, _POLICY_TEXT["dispute"], slots),
        ]
        sections = [
            ("Purpose", f"This policy tells service agents how to handle {policy.title.lower()}. {policy.why}"),
            ("Scope", _phrase(rng, _POLICY_TEXT["scope"], slots)),
            ("Policy", f"Policy for service agents: {policy.rule}"),
            ("Applying the policy", "\n".join(f"{k}. {step}" for k, step in enumerate(steps, start=1))),
            ("Exceptions and escalation", _phrase(rng, _POLICY_TEXT["exceptions"], slots)),
            ("Audit", _phrase(rng, _POLICY_TEXT["audit"], slots)),
            (
                "Revision history",
                "| version | date | change |\n|---|---|---|\n"
                f"| 1.0 | 2020-01-{6 + n:02d} | first published |\n"
                f"| 1.1 | 2022-0{1 + n % 9}-15 | {_phrase(rng, _POLICY_TEXT['change'], slots)} |",
            ),
        ]
        articles.append(
            Article(
                title=f"Policy: {policy.title}",
                summary=policy.rule,
                body=sectioned("Policy", policy.title, policy.rule, sections),
                kind="Policy",
                policy_key=policy.key,
            )
        )
    return articles


_GUIDE = {
    "covers": (
        "[Below|In this guide] you'll find [how the {name} {fit}|sizing advice for the {name}], how to [care for|look "
        "after] {them} and what the warranty covers[ during its {warranty}|].",
        "[Read on to learn|Keep reading to see|This article explains] how to [pick a size|choose your size] in the "
        "{name}, [keep {them} in shape|make {them} last] and [start a warranty claim|get help if {it} {fail}].",
        "[Use|Keep] this [page|guide] for [sizing, care and warranty claims on the {name}|choosing a size of the "
        "{name}, caring for {them} and claiming the warranty][ if you ever need to| when something goes wrong|].",
    ),
    "who": (
        "[Customers pick|Most buyers choose|We recommend] the {name} for {use}[; {other_use} works too| and "
        "everyday wear|], and [our store teams|our support agents|our product testers] [like|point out|rate] "
        "{feature1} [most|first|above all].",
        "[If you spend a lot of time on|For] {use}, [{this} {noun_lower}|the {name}] {be} [a good match|built for "
        "you|what we'd pick]: [the {material}|{feature0}] [matters most there|makes the difference|is what you'll "
        "notice].",
    ),
    "checked": (
        "[Our quality team inspects|Our lab tests|We check] [every batch|each production run|samples of every "
        "batch] of {line} {noun_plural} for [seams and bonding|bonding and colorfastness|stitching, bonding and "
        "color] before [they leave|they ship from] [our Memphis distribution center|the warehouse in Memphis].",
        "[Before shipping|Before it reaches you], [every|each] {unit} of the {name} [passes|goes through] a quality "
        "[check|inspection] [at our Memphis distribution center|in our Memphis lab][ for seams and "
        "colorfastness| for bonding and finish|].",
    ),
    "not_covered": (
        "[Normal wear and tear from {use}|Everyday wear of the {material}|Wear from normal use of the {noun_lower}], "
        "accidents and [alterations|repairs done elsewhere] [are not covered|fall outside the warranty|aren't "
        "covered by it].",
        "The warranty on the {name} does not cover [normal wear|wear from {use}|scuffs from everyday use], "
        "[accidents|accidental damage] or [alterations|changes made after purchase].",
    ),
    "claim": (
        "[To start a claim|To claim|For a warranty claim], [open a case from your account page|reply to your order "
        "confirmation|start a chat with Customer Care|call Customer Care] with item number {code} and [a photo of "
        "the problem|photos of the defect|your order number and a photo]; [approved claims are replaced or "
        "refunded|we replace or refund the {noun_lower} once the claim is approved|if the claim is approved you get "
        "a replacement or a refund].",
    ),
    "wash": (
        "[Machine wash|Wash] the {name} {wash_at}, inside out, [and skip fabric softener|without fabric softener|and "
        "leave out the fabric softener][, which coats the {material}|, which dulls the {material}|].",
        "[Turn the {name} inside out and machine wash it|Machine wash the {name} inside out] {wash_at}; [fabric "
        "softener clogs the {material}, so leave it out|no fabric softener].",
    ),
    "clean": (
        "[The {material} of the {name} needs little care|Looking after the {name} is simple|The {name}'s "
        "{material} is easy to look after]: {care}",
        "[For the {name}'s {material}|To clean the {name}|After {use}]: {care}",
    ),
    "store": (
        "[Keep|Store] {them} [clean and dry|dry and clean] [and out of|away from] [direct sun|direct heat and "
        "sunlight|radiators and car trunks] [between uses|when not in use|].",
        "[Between uses|When you're not using {them}|Off season], [store|keep] the {name} [somewhere dry|in a "
        "cool, dry place|in a dry cupboard] [out of the sun|away from heat].",
    ),
    "trouble": (
        "[What customers report most often|The most common problems] with {line} {noun_plural}, and [how support "
        "handles them|what we do about them|the fix]:",
        "[If something goes wrong|Known issues] with the {name}[ - and what support does|, and how we help|]:",
    ),
    "foot_fit": (
        "[Measure|Trace and measure] your foot [in the evening|at the end of the day|after a walk] and [compare "
        "it with|check it against] the {name}'s size chart; [between two sizes|if you're in between], [or with thick "
        "socks, |][go for|choose|pick] the larger one.",
        "[Use|Check] the size chart [with your foot measured in the evening|against your longest foot]; "
        "[runners who wear thick socks|anyone between two sizes] [should|may want to] [size up|choose the "
        "larger size][ for {use}|].",
    ),
    "apparel_fit": (
        "[Before you order|Before ordering] the {name}, [measure|take] your chest, waist and hips [over light "
        "clothing|over a base layer] and [pick|choose] the size [that matches|for] the largest [measurement|of "
        "the three]. [For a relaxed fit|If you layer underneath|For {use}, if you like room to move], [go one "
        "size up|choose one size up|size up].",
    ),
    "other_fit": (
        "[The exact dimensions of each size are on the {name}'s product page.|Each size's exact dimensions are "
        "listed on the {name}'s product page.|See the product page for the dimensions of every size of the "
        "{name}.]",
    ),
    "related": (
        "[Related articles for the {name}|See also, for the {name}|Other articles about {them}]: {a}; {b}; {c}.",
        "[Also useful for owners of the {name}|More help with the {name}]: {a}, {b} and {c}.",
    ),
}


_GUIDE_RELATED = {
    "Footwear": ("Finding Your Shoe Size", "Shoe Repair Service", "Running Shoe Lifespan"),
    "Apparel": ("Caring for Waterproof Jackets", "Exchanging for a Different Size"),
    "Accessories": ("Damaged or Missing Items",),
    "Equipment": ("Yoga Mat Care", "Damaged or Missing Items"),
}


def product_guide(rng: random.Random, facts: CompanyFacts, info: ProductInfo) -> Article:
    """A product guide (overview, specifications table, fit, care steps, warranty, troubleshooting)
    stating the product's own facts, with three of them as questions; its shared sentences (the
    warranty's terms, care, the quality check ...) are phrased from `rng`, one stream per guide,
    and name the product or its details, so no two guides share a paragraph."""
    name, kind = info.name, info.kind
    family = kind.family
    warranty = facts.warranty[family]
    spec = kind.spec
    plural = kind.plural
    slots = {
        "name": name,
        "it": "they" if plural else "it",
        "them": "them" if plural else "it",
        "fit": "fit" if plural else "fits",
        "fail": "fail" if plural else "fails",
        "noun_lower": kind.noun.lower(),
        "unit": spec.unit,
        "noun_plural": kind.noun.lower() if plural else f"{kind.noun.lower()}s",
        "line": info.line,
        "be": info.be,
        "this": "these" if plural else "this",
        "use": info.use,
        "other_use": next((use for use in kind.uses if use != info.use), info.use),
        "material": info.material,
        "feature0": info.features[0],
        "feature1": info.features[1],
        "color": info.color,
        "warranty": warranty,
        "code": info.code,
        "wash_at": wash_at(info.wash),
    }
    qa = [
        (f"What is the warranty period for the {name}?", warranty),
        (f"How much does the {name} weigh?", info.weight),
    ]
    sizes = f"The {name} {'come' if plural else 'comes'} in {spec.sizes}."
    if family == "Footwear":
        fit = (
            f"For most feet the {name} {'fits true to size' if info.fit == 'true to size' else info.fit}. "
            f"{sizes} {_phrase(rng, _GUIDE['foot_fit'], slots)}"
        )
        qa.append((f"How does the {name} fit?", info.fit))
    elif family == "Apparel":
        fit = f"{sizes} {_phrase(rng, _GUIDE['apparel_fit'], slots)}"
    else:
        fit = f"{sizes} {_phrase(rng, _GUIDE['other_fit'], slots)}"
    if family == "Apparel":
        wash = _phrase(rng, _GUIDE["wash"], slots)
        qa.append((f"At what temperature should the {name} be washed?", info.wash))
    else:
        first = spec.care[0]
        wash = _phrase(rng, _GUIDE["clean"], {**slots, "care": first[:1].lower() + first[1:]})
        if family != "Footwear":
            qa.append((f"What material is the {name} made of?", info.material))
    per = f" per {spec.unit}" if spec.unit == "pair" else ""
    table = "\n".join(
        [
            f"| specification | {name} |",
            "|---|---|",
            f"| material | {info.material} |",
            f"| weight | {info.weight} |",
            f"| color | {info.color} |",
            f"| warranty | {warranty} |",
        ]
    )
    extra_care = [
        f"{rng.choice(('For the', 'With the'))} {name}, {step[:1].lower()}{step[1:]}" for step in spec.care[1:]
    ]
    care_steps = [wash, *extra_care, _phrase(rng, _GUIDE["store"], slots)]
    be = info.be
    it = "they" if kind.plural else "it"
    has = "have" if kind.plural else "has"
    overview = (
        f"The {name} {be} part of the {info.line} line, made for {info.use}, and {has} {info.features[0]} and "
        f"{info.features[1]}. {_phrase(rng, _GUIDE['who'], slots)} {_phrase(rng, _GUIDE['covers'], slots)}"
    )
    trouble = [ISSUE_BY_KEY[key].name for key in kind.defects]
    construction = (
        f"The {name} {be} made of {info.material}, with {info.features[0]}, {info.features[1]} and a finish tested "
        f"in our lab. {_phrase(rng, _GUIDE['checked'], slots)}"
    )
    pool = ["Product Warranty", "Returning an Item", *_GUIDE_RELATED[family]]
    pool += [f"Troubleshooting: {issue}" for issue in trouble]
    a, b, c = rng.sample(pool, 3)
    sections = [
        ("Overview", overview),
        ("Materials and construction", construction),
        (
            "Specifications",
            f"The {name} {'weigh' if plural else 'weighs'} {info.weight}{per}, item number {info.code}.\n{table}",
        ),
        ("Sizing and fit", fit),
        ("Care", "\n".join(f"{k}. {step}" for k, step in enumerate(care_steps, start=1))),
        (
            "Warranty",
            f"The {name} {be} covered against manufacturing defects for {warranty}; keep your order number "
            f"for warranty claims. {_phrase(rng, _GUIDE['not_covered'], slots)} {_phrase(rng, _GUIDE['claim'], slots)}",
        ),
        (
            "Troubleshooting",
            f"{_phrase(rng, _GUIDE['trouble'], slots)}\n"
            + "\n".join(f"- {issue}: {_trouble_action(rng, issue, slots)}" for issue in trouble),
        ),
        ("Related articles", _phrase(rng, _GUIDE["related"], {**slots, "a": a, "b": b, "c": c})),
    ]
    title = f"Care and Fit Guide: {name}"
    summary = f"How to care for the {name}, how {it} {'fit' if kind.plural else 'fits'} and what the warranty covers."
    body = sectioned("Guide", title, summary, sections)
    return _faq(title, summary, body, qa)


_TROUBLE_ACTIONS = {
    "Sizing / Fit": "compare with the size chart; exchanges for another size are free within the return window.",
    "Sole Separation": "send a photo of the separation; a warranty claim replaces the pair.",
    "Late Delivery": "check the tracking link; support opens a trace with the carrier after the estimate passes.",
    "Zipper Failure": "do not force the slider; send a photo and support arranges a repair or replacement.",
    "Color Fading": "wash cold and inside out; fading after normal washing is a defect, send a photo.",
    "Damaged on Arrival": "report it within 7 days of delivery with a photo of the package.",
    "Missing Item": "check for a second package, then report the missing item.",
    "Refund Delay": "refunds start when the return reaches the warehouse.",
    "Wrong Item Shipped": "keep the item unused; support sends a prepaid label and the right product.",
    "Waterproofing Failure": "reproof after cleaning; leaks at the seams are covered by the warranty.",
}


_TROUBLE_PHRASINGS = {
    "Sizing / Fit": (
        "[check|measure against] the {name}'s size chart [first|before ordering]; [an exchange for another size "
        "is|size exchanges are] free [within the return window|while the return window is open].",
        "exchanges of the {name} for a different size [cost nothing|are free] within the return window[; support "
        "sends a prepaid label|].",
        "swapping {this} {noun_lower} for another size [costs nothing|is free] while the return window is open[, "
        "and support sends the label|].",
    ),
    "Sole Separation": (
        "[a photo of where the sole of the {name} lifts|a photo of the separation on the {name}] [starts|is all we "
        "need for] a warranty claim[, and the pair is replaced|; we replace the pair].",
        "[stop wearing them for {use} and |]send a photo; [separation within the {warranty} warranty|a sole that "
        "comes loose from the {material}] is replaced under the warranty.",
    ),
    "Color Fading": (
        "[wash the {name} cold, inside out|wash the {name} inside out in cold water]; [color loss after normal "
        "washing|fading from normal washing] is a defect[ - send a photo|, so send us a photo].",
        "[fading of the {material} after the care instructions were followed|{color} that fades despite cold "
        "washes] counts as a defect; [a photo|one photo] is enough to [start|open] a claim.",
    ),
    "Zipper Failure": (
        "[don't force|never force] the slider of the {name}; [with a photo|send a photo and] support [repairs "
        "or replaces|arranges a repair or a replacement for] the {noun_lower}.",
        "a stuck or split zipper on the {name} is [covered|a defect]: [send a photo|a photo of the zipper] and "
        "[we repair or replace it|support sets up a repair or replacement].",
    ),
    "Waterproofing Failure": (
        "[reproof the {material} after cleaning|renew the water repellency of the {material} after washing]; "
        "[leaking seams|leaks at the seams] [are covered by the {warranty} warranty|are a warranty case].",
        "if water comes through the seams of the {name}, [that's|it is] covered by the warranty; [wetting "
        "out|a surface that wets out] [after {use}|] usually [needs|just needs] reproofing.",
    ),
}


def _trouble_action(rng: random.Random, issue: str, slots: dict[str, str]) -> str:
    """What support does about `issue`, in one of its phrasings (the troubleshooting article's words
    when it has no others)."""
    phrasings = _TROUBLE_PHRASINGS.get(issue, (_TROUBLE_ACTIONS[issue],))
    return expand(rng, rng.choice(phrasings), **slots)


# What the agent checks first for an issue (step 4 of its troubleshooting article).
_TROUBLE_CHECKS = {
    "sizing": "Ask which size the customer usually wears and which size of the item arrived.",
    "sole": "Ask for a photo of the sole where it lifts from the upper.",
    "late": "Read the carrier's tracking and note the date of the last scan.",
    "zipper": "Ask for a photo of the zipper and whether the slider or the teeth failed.",
    "fading": "Ask for a photo of the faded area and how the item was washed.",
    "damaged": "Ask for a photo of the damaged item and of the box it came in.",
    "missing": "Ask whether a second box or a carrier note arrived, and compare the packing slip with the order.",
    "refund": "Look up the return's tracking and whether the warehouse scanned it in.",
    "wrong": "Ask for a photo of the item received, with its label.",
    "waterproof": "Ask for a photo of where the water came in and how long the item was out in the rain.",
}


def troubleshooting_articles(facts: CompanyFacts) -> list[Article]:
    """One troubleshooting article per issue category: symptoms, steps for the agent, escalation."""
    articles = []
    for issue in ISSUES:
        lower = issue.name.lower()
        steps = [
            f"Verify the customer (the email address on file and the order number) before discussing the {lower}.",
            f"Open the order and find the order item the {lower} concerns.",
            f"Confirm the symptoms: {issue.description.lower()}",
            _TROUBLE_CHECKS[issue.key],
            f"Set the case's issue to {issue.name} and the priority to {issue.priority}.",
            f"Offer the remedy below and note on the case how the {lower} was resolved.",
        ]
        remedy = _TROUBLE_ACTIONS[issue.name]
        sections = [
            (
                "Symptoms",
                f"{issue.description} Customers rarely say \u201c{issue.name}\u201d; read the description and the "
                "first message for what they saw.",
            ),
            ("Steps", "\n".join(f"{k}. {step}" for k, step in enumerate(steps, start=1))),
            ("Remedy", remedy[:1].upper() + remedy[1:]),
            (
                "Escalate when",
                f"Hand a {lower} case to a supervisor when the customer mentions a chargeback or legal action, when "
                f"a refund above ${facts.refund_limit} is needed, or when the same customer reports a {lower} a "
                "third time.",
            ),
        ]
        title = f"Troubleshooting: {issue.name}"
        summary = f"How support handles {lower} cases."
        articles.append(Article(title, summary, sectioned("Troubleshooting", title, summary, sections), "FAQ"))
    return articles
