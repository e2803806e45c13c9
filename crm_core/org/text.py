"""Seeded free text: case subjects and descriptions, email threads and chat transcripts.

Texts are expanded from the grammar of :mod:`crm_core.org.grammar`: phrasings by intent
(problem, detail, request ...), product-specific words from the catalog (material, color, size,
use), and the customer's :class:`~crm_core.org.grammar.Voice`. Every case text names the product
by its Product2.Name, with verbs agreeing with it ("the Tempo Training Shorts are"), and
describes the problem in words that identify its issue. Policy conversations put exactly one
breach of one policy (or none) in the agent's words; everything else the agent says there is
neutral (greeting, verification, look-ups, holds, closing).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from crm_core.org.catalog import COMPANY, kind_of
from crm_core.org.grammar import Voice, address, draws, expand, roughen, run_on
from crm_core.org.knowledge import Policy

CALM = Voice(tone=0, detail=1, casual=False, typos=0.0)


def agreement(product: str) -> dict[str, str]:
    """Words that agree in number with a product name: it/they, is/are, has/have ..."""
    return dict(_agreement(product))


@lru_cache(maxsize=4096)
def _agreement(product: str) -> dict[str, str]:
    plural = kind_of(product).plural
    words = (
        ("it", "they"),
        ("It", "They"),
        ("its", "their"),
        ("is", "are"),
        ("was", "were"),
        ("has", "have"),
        ("doesnt", "don't"),
        ("them", "them"),
        ("this", "these"),
        ("isnt", "aren't"),
        ("s", ""),
    )
    keys = ("it", "It", "its", "is", "was", "has", "doesnt", "obj", "this", "isnt", "s")
    values = {key: pair[plural] for key, pair in zip(keys, words, strict=True)}
    if not plural:
        values.update(doesnt="doesn't", obj="it", isnt="isn't")
    return values


@dataclass(frozen=True)
class CaseFacts:
    """What a case's texts may state: the product and its details, the order, the people."""

    product: str
    issue: str  # issue key or phrasing key "<issue>/<family>"
    order: str
    customer: str = "Alex"
    agent: str = "Sam Taylor"
    color: str = "black"
    material: str = ""
    use: str = ""
    city: str = "Denver"
    price: str = ""
    warranty: str = ""
    case_number: str = ""

    @property
    def family(self) -> str:
        return kind_of(self.product).family

    def slots(self) -> dict[str, str]:
        """The values of the grammar's slots (a fresh dict the caller may add to)."""
        return dict(self._slots)

    def fill(self, text: str, **extra: str) -> str:
        """`text` with its slots filled from these facts and `extra`."""
        return text.format(**self._slots, **extra)

    @cached_property
    def _slots(self) -> dict[str, str]:
        kind = kind_of(self.product)
        return {
            "product": self.product,
            "order": self.order,
            "customer": self.customer,
            "agent": self.agent,
            "agent_first": self.agent.split()[0],
            "color": self.color,
            "material": self.material or kind.materials[0],
            "use": self.use or kind.uses[0],
            "city": self.city,
            "price": self.price,
            "warranty": self.warranty,
            "unit": kind.spec.unit,
            "noun": kind.noun.lower(),
            "company": COMPANY,
            "case_number": self.case_number,
            **_agreement(self.product),
        }


def phrasing(issue: str, family: str) -> str:
    """The key under which an issue of a product family is phrased: ``"<issue>/<family>"``."""
    return f"{issue}/{family}"


def _base(issue: str) -> str:
    return issue.split("/", 1)[0]


# --- the grammar -----------------------------------------------------------------------------

WHEN = (
    "after [two|three|four|five|six] [weeks|wears|washes|outings]",
    "on [the first|my second|my third|the fourth] [day|weekend|trip|outing] [with {obj}|]",
    "[barely|just] a [week|month|fortnight] after [it|the package] arrived",
    "[yesterday|last weekend|this morning|on Sunday|on Tuesday|over the holidays]",
    "[within days|in no time|almost right away|pretty quickly]",
)
EVENTS = (
    "a half marathon",
    "my daughter's tournament",
    "a camping trip",
    "a ski weekend",
    "my first triathlon",
    "a family wedding",
    "a work trip",
    "a hiking trip in the Rockies",
    "the club championship",
    "a charity 10K",
    "my vacation",
    "a week at the lake",
    "basketball tryouts",
    "a backpacking trip",
    "my son's birthday",
)

SUBJECTS: dict[str, tuple[str, ...]] = {
    "sizing": (
        "{product} run{s} [too small|small|a size small|too big|large|half a size off]",
        "[Wrong fit|Bad fit|Fit problem|Sizing issue|Size problem] [on|with] [my|the|my new] {product}",
        "{product} [size doesn't fit|{doesnt} fit|fit{s} wrong|{is} the wrong size|sizing is off]",
        "[Exchange|Need a different size|Size swap|Size exchange request] for [the|my|] {product}",
        "{product}: [too small|too big|too tight|too loose], [can I swap it?|exchange please|what are my options?|need another size]",
        "[Sizing|Size] [question|problem|help] [for|about] [the|my|my new] {product} [({color})|in {color}|]",
        "[Can I|How do I|Want to] [exchange|swap|change the size of] [my|the] {product}?",
    ),
    "sole": (
        "Sole [coming off|peeling|separating|detached|coming loose] [on|from] [my|the|my new] {product}",
        "{product} [sole separating|outsole peeling away|falling apart at the sole|sole unglued]",
        "[Glue failure|Defect|Manufacturing defect|Quality problem] on [the|my] {product} sole",
        "[Sole|Outsole] of [my|the] {product} [split|came off|is lifting] [after a few runs|already|at the toe|at the heel]",
        "{product} [defective|coming apart][ - warranty?| - sole| after {n} weeks|]",
    ),
    "late": (
        "Where is my {product}[?|??| order?| - it's late]",
        "{product} [order still not delivered|{has}n't arrived|delivery is overdue|not here yet|stuck in transit]",
        "[Late delivery|Delayed shipment|Missing delivery|Overdue package] [of|-|for] [my|the|] {product}",
        "Still waiting for [my|the] {product}[ to arrive| to ship|]",
        "[Tracking not updating|No tracking update|Package not moving] [for|on] [my|the] {product}",
        "When will my {product} [arrive|ship|get here]?",
    ),
    "zipper": (
        "[Zipper|Zip|Main zipper|Front zip] [broke|broken|stuck|split|jammed] [on|-|in] [my|the|] {product}",
        "{product} [zipper stuck|zip won't close|zipper split open|zipper pull snapped|zipper teeth separated]",
        "Zipper failure [-|on|with] [the|my|] {product}",
        "[Broken|Jammed|Split] zipper[ on the {color} {product}|: {product}| - {product}]",
        "{product} [can't be closed|won't zip up|keep{s} coming undone] [anymore|after {n} weeks|]",
    ),
    "fading": (
        "{product} [color faded|lost {its} color|discolored|bleeding color|fading after washing]",
        "[Color fading|Faded color|Dye running|Colour bleeding] [on|-|with] [my|the|] {product}",
        "Faded {product} after [one wash|a few washes|a month|{n} weeks]",
        "[My|The] {color} {product} [{is} fading|turned patchy|bled in the wash|lost {its} color]",
        "{product} [dye|color] [came off|ran|washed out] [in the wash|on my clothes|after one wash]",
        "[Colour|Color] [gone|uneven|washed out|streaky] on [my|the] {product}[ already| after washing|]",
        "[Is|Should] [fading|this much fading] [normal|expected] for the {product}?",
    ),
    "damaged": (
        "{product} [arrived damaged|broken on arrival|came crushed|arrived torn|arrived scuffed]",
        "[Damaged|Broken|Torn|Scuffed] {product} in the [box|package|delivery|shipment]",
        "Received a damaged {product}[ today| yesterday|]",
        "[Package|Box|Parcel] [crushed|torn open|soaked] - {product} [damaged|broken|ruined]",
        "{product} [damaged in transit|damaged in shipping|broken when it arrived]",
    ),
    "missing": (
        "{product} [missing from my order|not in the package|not in the box|{was}n't delivered]",
        "[Missing item|Item missing|Incomplete order|Missing product][:| -] {product}",
        "Order arrived without the {product}",
        "[Where is|Didn't get|Never received] the {product} from my order[?|]",
        "[Only part of|Half of|Part of] my order [arrived|came] - {product} [missing|not included]",
    ),
    "refund": (
        "Refund for {product} [not received|still pending|missing|not showing]",
        "[Still no refund|No refund yet|Refund not issued] for [returned|my returned|the] {product}",
        "{product} refund [delayed|status|question|taking too long]",
        "Waiting on my {product} refund[ since {n} weeks| - returned weeks ago|]",
        "[Returned|Sent back] [the|my] {product} [weeks ago|a month ago|long ago] - [no refund|where is my money|refund?]",
    ),
    "wrong": (
        "[Wrong item|Wrong product|Wrong size|Wrong color] [instead of|shipped for|received for] [the|my|] {product}",
        "Received the wrong {product}[ size| color|]",
        "[Mix-up|Problem|Error] with my {product} order",
        "[Got|Received|You sent] [something else|a different item|the wrong thing] [instead of|not] the {product}",
        "{product} order [mixed up|wrong|incorrect] - [wrong item in the box|not what I ordered]",
    ),
    "waterproof": (
        "{product} [{is} not waterproof|leak{s}|soaked through|let{s} water in|not keeping water out]",
        "[Water leaking into|Waterproofing failed on|Leak in|Water getting into] [my|the] {product}",
        "Wet inside my {product}[ after rain| on a hike|]",
        "[My|The] {product} [leak{s} at the seams|wet{s} through|{is} letting in rain] [already|after {n} weeks|]",
        "[Waterproofing|Leak] [complaint|problem|claim] [-|for|about] [the|my] {product}",
    ),
}
# One sentence that identifies the issue; per "<issue>/<family>" when the words only fit one family.
PROBLEMS: dict[str, tuple[str, ...]] = {
    "sizing": (
        "The {product} I ordered [runs|fits] [a full size|half a size|way too] small even though I "
        "[ordered|went with|picked] my [usual|normal|regular] size.",
        "[My|The] {product} {is} [way|much|clearly] too big; the fit is nothing like the size chart [said|suggested|promised].",
        "The {product} [{doesnt} fit|{is} a bad fit|{is} the wrong fit] [at all|for me] and I [checked|measured against] the size chart [twice|first|carefully].",
        "The {product} {is} off in size compared with [every other|the last|my old] {noun} I [own|bought|have].",
    ),
    "sizing/Footwear": (
        "The {product} [runs|fits] [a full size|half a size] small; my toes hit the front [after ten minutes|on the first run|within a mile].",
        "[My|The] {product} {is} too [narrow|tight] at the sides; the fit is wrong for my size.",
        "I ordered the {product} in my [normal|usual] shoe size and my heel slips out, {it} {is} too big.",
        "The {product} {is} half a size smaller than [every other pair|the pairs] I own, so the sizing is off.",
    ),
    "sizing/Apparel": (
        "The {product} [{doesnt} fit|{is} a bad fit]: too tight [around the middle|at the waist|in the hips] and too long [overall|for me|for my height].",
        "I ordered the {product} in [a medium|a large|a small|an XL|my normal size] and {it} {doesnt} fit at all, {it} {is} too small.",
        "[My|The] {product} {is} [way|much] too big; the fit is nothing like the size chart [said|showed].",
        "The {product} {is} too loose at the waist even in [the smallest size|an XS|a small]; the fit is off.",
    ),
    "sole": (
        "The sole of my {product} is separating from the upper [at the toe|at the heel|along the side].",
        "[After only a few weeks|Within a month|After [five|six|eight] runs] the outsole of the {product} started peeling away.",
        "The glue has failed and the sole of [my|the] {product} is coming off [at the toe|on the left shoe|on both shoes].",
        "There is a gap opening between the sole and the upper on [both|one] of my {product} shoes.",
        "The {product} sole [detached completely|came loose|split off] [on my last run|during a hike|on the court].",
    ),
    "late": (
        "My {product} {was} supposed to arrive [last week|days ago|on Friday] and {it} still {has}n't been delivered.",
        "The tracking for my {product} hasn't moved [in days|since Monday|for a week] and the delivery date has passed.",
        "I'm still waiting for the {product}; the order is [long|well] overdue.",
        "The {product} delivery is late and I needed {obj} for {event}.",
        "It has been [two|three] weeks and my {product} {has} not arrived yet.",
    ),
    "zipper": (
        "The zipper on my {product} broke [the second time I used it|on the first trip|after a week].",
        "The main zipper of the {product} keeps jamming and now [it won't close|it's stuck halfway].",
        "The zip on the {product} split open and the teeth came apart [at the bottom|near the top|in the middle].",
        "The zipper pull snapped off my {product} [while I was closing it|on the way to work|in the cold].",
        "The {product} zipper gets stuck [halfway|at the bottom] and the slider came off the track.",
    ),
    "fading": (
        "The color of my {product} faded badly [after the first wash|in a couple of washes|within a month].",
        "My {product} bled color onto [the rest of my laundry|my white towels|everything else in the wash] and {it} {has} lost [its|the] color now.",
        "The {product} {has} faded to a patchy [grey|shade|mess] [after a few days in the sun|in a few weeks].",
        "The dye ran on the {product} the first time I washed {obj} [cold|on a gentle cycle|by hand].",
    ),
    "damaged": (
        "The {product} arrived damaged: the box was [crushed|soaked|torn open] and the item [is torn|is scuffed|is cracked].",
        "When I opened the package the {product} {was} broken[ in two places|].",
        "My {product} came with a [big|long|deep] [scuff|tear|gash] and {is} clearly damaged in transit.",
        "The {product} {was} delivered damaged, with a crack along [one side|the edge|the base].",
    ),
    "missing": (
        "My order arrived but the {product} {was} missing from the package.",
        "The packing slip lists the {product} but it wasn't in the box[ when I opened it|].",
        "I received everything except the {product}; that item is missing.",
        "The {product} {was} not included in my delivery even though I was charged for it.",
    ),
    "refund": (
        "I returned the {product} [weeks ago|a month ago|on the [5th|12th|20th]] and still haven't received my refund.",
        "My return reached you [on Monday|last week|ten days ago] but the refund for the {product} hasn't shown up.",
        "My refund is delayed for the {product}; it's been much longer than [promised|the website says].",
        "I'm still waiting for the money back for the {product} I sent back[ from {city}|].",
    ),
    "wrong": (
        "I ordered the {product} in {color} but received a [completely different item|different product].",
        "The package had the wrong item[ inside|]: not the {product} I ordered.",
        "You shipped the wrong [size and color|size|color] instead of the {product} I ordered.",
        "The box was labeled {product} but [contained|had] the wrong product[ inside|].",
    ),
    "waterproof": (
        "The {product} {is} sold as waterproof but water leaks in [within minutes|after ten minutes|in light drizzle].",
        "I got soaked through the {product}; the waterproofing has failed [after a month|already|on the second outing].",
        "Water seeps through the seams of my {product} in [light|steady] rain.",
        "The {product} {isnt} waterproof at all; I was drenched on [my hike|the walk home|a trail run].",
    ),
    "waterproof/Footwear": (
        "My feet got soaked through the {product}; the waterproofing has failed.",
        "The {product} {is} sold as waterproof but water leaks in at the toe box [after a few minutes|in wet grass].",
        "Both of my {product} boots leak; my socks were drenched after [one puddle|a short walk|crossing a stream].",
    ),
    "waterproof/Accessories": (
        "The {product} {is} sold as waterproof but everything inside got wet in [a light shower|a short downpour].",
        "Water leaks through the bottom of the {product} and soaked [my laptop sleeve|my gym clothes|my papers].",
        "The seams of the {product} let water in; the waterproofing has failed.",
    ),
}

_DEFECTS = frozenset({"sole", "zipper", "fading", "waterproof", "sizing"})
_SHIPPING = frozenset({"late", "missing", "damaged", "wrong", "refund"})
_ANY = _DEFECTS | _SHIPPING
# (template, the issues it fits)
DETAILS: tuple[tuple[str, frozenset[str]], ...] = (
    ("I [mostly|only] use {obj} for {use}[ here in {city}|].", _DEFECTS),
    ("{It} {was} [the {color} one|in {color}|{color}], [if that matters|in case that helps|for reference].", _ANY),
    ("[I bought|I ordered|I picked] {obj} [for|ahead of] {event}[ next month|].", _ANY),
    (
        "[I've|I have] [followed the care instructions exactly|washed {obj} exactly as the label says|never put {obj} in the dryer] [with the {color} {noun}|since {season}|before {event}|and the {material} still failed].",
        frozenset({"fading", "waterproof", "sole"}),
    ),
    (
        "[The {material} looked great at first|I liked the {material} at first|The {material} felt great] [but|and then] this happened.",
        _DEFECTS,
    ),
    (
        "[I've attached|I can send|I took] [a photo|two photos|pictures] of the {product}[ showing what I mean| if you need them| from {city}|].",
        _DEFECTS | {"damaged", "wrong"},
    ),
    (
        "[This is|It's] my [second|third|fourth] order [from you|with {company}] [this year|so far|and the first problem][ to {city}| and the first {noun}].",
        _ANY,
    ),
    (
        "I [live in|am in|ship to] {city}[, if that matters|, in case shipping is the issue|].",
        frozenset({"late", "missing", "damaged"}),
    ),
    (
        "The [tracking page|carrier's site|order page] [still says|says|shows] [in transit|label created|out for delivery] [since last week|for days|with no update].",
        frozenset({"late"}),
    ),
    (
        "[I sent it back|I returned it|The return went out] [using your prepaid label|from the post office in {city}|at a UPS store] [weeks ago|last month|right away].",
        frozenset({"refund"}),
    ),
)
# What customers add to a subject line: (template, the issues it fits).
SUBJECT_TAILS: tuple[tuple[str, frozenset[str]], ...] = (
    (" - order #{order}", _ANY),
    (" (order {order})", _ANY),
    (" [re|about|for] order {order}", _ANY),
    (" - [bought|ordered|needed {obj}] [for|before] {event}", _ANY),
    (" - [second|2nd|third|3rd] [request|email|time asking]", _ANY),
    (" [- please help|- please advise|- what are my options?|- what now?|- need advice|, help please]", _ANY),
    (
        " [- need|, need|- asking for|- requesting] [an exchange|a replacement|a fix|help]",
        _DEFECTS | {"damaged", "wrong"},
    ),
    (" [- need|- requesting|, want] [a refund|my money back|an update]", _SHIPPING),
    (" [- shipped to|- delivered to|- I'm in|, from] {city}", _ANY),
    (" [- the {color} one|, {color}|in {color}|({color})]", _ANY),
    (" [after|within|in] [two|three|a few|{n}] [weeks|days|wears|washes]", _DEFECTS),
    (" [- used for|, worn for|- bought for] {use}", _DEFECTS),
    (" [- ordered|- paid|, cost] {price}", _ANY),
)
CONTEXTS: tuple[str, ...] = (
    "I've [only|barely] used {obj} [a handful of|three or four|a couple of] times[ since {season}| in {city}| before {event}].",
    "[I bought|It was|These were] a gift for my [wife|husband|partner|brother|sister|dad|mom|friend].",
    "I was [really|so] looking forward to [wearing|using] {obj} for {event}.",
    "[I've been|I'm] a [loyal|long-time|happy] customer for [years|a long time|ages].",
    "[My previous|The last] {noun} I [bought|had] [lasted|held up] [much longer|for years|three seasons].",
)
ORDER_REFERENCES: tuple[str, ...] = (
    "Order #{order}.",
    "Order no. {order}.",
    "Ref: {order}.",
    "[It came|It was|It arrived] in order {order}[, shipped to {city}|, delivered in {city}| in {color}| before {event}].",
    "[I ordered|I bought] the {noun} [on a Sunday|in the {season} sale|for {event}|as a gift] (order {order}).",
    "[My|The] order [number |]for the {product}: {order}.",
)
GREETINGS: tuple[tuple[str, ...], ...] = (
    (
        "Hello,",
        "Hi there,",
        "Good morning,",
        "Hi,",
        "Hello support team,",
        "Hi Stridewell team,",
        "Dear Customer Care,",
    ),
    ("Hi,", "Hello,", "Hi support,", "Dear Sir/Madam,", "Hey,"),
    ("Hello.", "Customer service,", "Support,", ""),
)
REQUESTS: tuple[tuple[str, ...], ...] = (
    (
        "Could you [help me sort this out|let me know what to do next|tell me my options] [for the {product}|with the {product}|before {event}]?",
        "I'd [appreciate|be grateful for] [your help|a replacement|an exchange] [with the {noun}|for the {product}|before {event}].",
        "[Please advise.|Thanks in advance.|Any ideas?|Thank you!|Let me know how to proceed with the {noun}.|What should I do next with the {product}?]",
        "[Can|Could] you [send a replacement|exchange {obj}|arrange a return] [for the {product}|before {event}|to {city}]?",
    ),
    (
        "[Please|Can you] [fix this|sort this out|look into this] [soon|this week|quickly] [before {event}|for the {product}|so I can use the {noun}]?",
        "I'd like [a replacement|a refund|this resolved] [quickly|before {event}|as soon as possible] [for the {product}|for the {color} {noun}|].",
        "I expect [a replacement or a refund|a replacement that works|a fix] [for the {product}|before {event}].",
        "[Please reply soon.|Reply soon please.|Waiting.|Thanks.|Thanks, {customer}]",
    ),
    (
        "I want [the {product}|this|the {noun}] [fixed|resolved|sorted|replaced] [immediately|today|right now].",
        "I expect a full refund [right away|today|immediately] for the {product}[, all of it|].",
        "[Fix this now.|Sort it out.|Make this right.|Unbelievable.]",
        "[I need an answer|I want a replacement sent|I want my money back] [today|before {event}|this week] for the {product}.",
    ),
)
OPENERS_ANGRY: tuple[str, ...] = (
    "[This is unacceptable.|This is ridiculous.|Really frustrated.|Fed up.|Honestly, I'm fed up with the {noun}.]",
    "[Second|Third] time I'm writing about [this|my {noun}|the {product}|order {order}][ and nobody answers|].",
    "This is the worst [experience|order|service] I've had [with any store|in years|from you][ and I've bought from you since {season_year}|].",
)
SIGNOFFS: tuple[tuple[str, ...], ...] = (
    ("Thanks,", "Thank you,", "Best regards,", "Many thanks,", "Kind regards,", "Cheers,", "Best,"),
    ("Thanks,", "Regards,", "Awaiting your reply,", "Thanks in advance,", "Best,", "-"),
    ("Regards,", "Waiting,", "Still waiting,", "-", ""),
)


def subject(rng: random.Random, product: str | CaseFacts, issue: str = "", voice: Voice = CALM, order: str = "") -> str:
    """A case subject naming the product and the problem (`issue` is an issue key or a phrasing key),
    often with what the customer adds (the order number, the color, a deadline, a second request)."""
    facts = product if isinstance(product, CaseFacts) else CaseFacts(product=product, issue=issue, order=order)
    issue_key = _base(facts.issue)
    slots = {**facts.slots(), "event": rng.choice(EVENTS), "n": str(rng.randint(2, 6))}
    text = expand(rng, rng.choice(SUBJECTS[issue_key]))
    tails = [tail for tail, issues in SUBJECT_TAILS if issue_key in issues and ("{order}" not in tail or facts.order)]
    tails = [tail for tail in tails if "{price}" not in tail or facts.price]
    for tail in rng.sample(tails, rng.choice((0, 1, 1, 1, 1, 2, 2, 2)) + (voice.detail == 2 and rng.random() < 0.4)):
        if all(slot not in tail or slot not in text for slot in ("{color}", "{order}")):
            added = expand(rng, tail)
            if text.endswith("?") and added.lstrip()[:1].isalpha():  # "How do I swap it in 4 weeks?"
                text = text[:-1] + added + "?"
            else:
                text += added
    text = _SPACES.sub(" ", text.format(**slots)).replace(" ,", ",").strip()
    if voice.tone == 2 and rng.random() < 0.5:
        text = (
            rng.choice(("URGENT: ", "Again: ", "Complaint: ", "STILL waiting: ", ""))
            + text
            + rng.choice(("!", "!!", ""))
        )
    elif rng.random() < 0.12:
        text = rng.choice(("Question: ", "Help: ", "Issue: ", "Fwd: ", "Request: ")) + text
    if voice.casual and rng.random() < 0.4:
        text = text.lower().replace(facts.product.lower(), facts.product)
    return text


_SPACES = re.compile(r" {2,}")


def problem(rng: random.Random, facts: CaseFacts, voice: Voice = CALM) -> str:
    """One sentence describing the problem, in words that identify the issue."""
    pool = PROBLEMS.get(facts.issue) or PROBLEMS[_base(facts.issue)]
    # no typos here: the words that name the problem stay readable
    return _say(rng, rng.choice(pool), facts, _without_typos(voice))


@lru_cache(maxsize=256)
def _without_typos(voice: Voice) -> Voice:
    return replace(voice, typos=0.0)


_SEASONS = ("spring", "summer", "fall", "winter", "Black Friday", "holiday")
_SINCE = ("forever", "the start", "years ago", "way back")
_SAY_DRAWS = tuple((len(values), len(values).bit_length()) for values in (EVENTS, _SEASONS, _SINCE))


def _say(rng: random.Random, template: str, facts: CaseFacts, voice: Voice) -> str:
    event, season, since = draws(rng, _SAY_DRAWS)
    expanded = roughen(rng, expand(rng, template), voice)
    # A sentence that starts with a slot keeps the slot's capital letter.
    return facts.fill(expanded, event=EVENTS[event], season=_SEASONS[season], season_year=_SINCE[since])


@lru_cache(maxsize=64)
def _details_for(issue: str) -> list[str]:
    """The detail sentences that fit an issue (a list: ``random.sample`` draws from it)."""
    return [template for template, issues in DETAILS if issue in issues]


def description(
    rng: random.Random,
    product: str | CaseFacts,
    issue: str = "",
    tone: int = 0,
    order: str = "",
    voice: Voice | None = None,
) -> str:
    """The customer's description: problem, details, order, request, in the customer's voice."""
    facts = product if isinstance(product, CaseFacts) else CaseFacts(product=product, issue=issue, order=order)
    voice = voice or Voice(tone=tone, detail=1, casual=False, typos=0.0)
    parts = []
    if voice.tone == 2:
        parts.append(_say(rng, rng.choice(OPENERS_ANGRY), facts, voice))
    parts.append(problem(rng, facts, voice))
    n_details = (0, 1, 2)[voice.detail] + (rng.random() < 0.5)
    fitting = _details_for(_base(facts.issue))
    for template in rng.sample(fitting, min(n_details, len(fitting))):
        parts.append(_say(rng, template, facts, voice))
    if voice.detail and rng.random() < 0.6:
        parts.append(_say(rng, rng.choice(CONTEXTS), facts, voice))
    if facts.order and rng.random() < (0.5, 0.75, 0.95)[voice.detail]:
        parts.insert(rng.randrange(1, len(parts) + 1), _say(rng, rng.choice(ORDER_REFERENCES), facts, voice))
    parts.append(_say(rng, rng.choice(REQUESTS[voice.tone]), facts, voice))
    return " ".join(run_on(rng, [part for part in parts if part], 0.5))


# --- emails ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One email of a thread: who sends it and when, as a fraction of the case's open time."""

    from_customer: bool
    subject: str
    body: str
    at: float


AGENT_GREETINGS = (
    "Hi {customer},",
    "Hello {customer},",
    "Dear {customer},",
    "Hi {customer}!",
    "Good [morning|afternoon] {customer},",
)
AGENT_THANKS = (
    "Thank you for [reaching out|writing to us|getting in touch|contacting us] about [your|the] {product}[, and I'm sorry about the trouble|].",
    "I'm sorry to hear [about the problem with|what happened to|about] your {product}[, and thank you for letting us know|].",
    "Thanks for contacting {company} Customer Care about the {product} from order {order}.",
    "I apologize for the inconvenience with your {product}[ and thank you for your patience|].",
    "I understand how frustrating this [is|must be][, especially with {event} coming up|], and I'm sorry about your {product}.",
)
AGENT_ASKS: dict[str, str] = {
    "sizing": "[{customer}, could|Could] you tell me which size of the {product} you [usually wear|normally order|would like instead] so I can [set up the exchange|check stock]?",
    "sole": "[{customer}, could|Could] you [send|attach] a photo of the sole of the {product} where it is separating[, for our quality team|]?",
    "late": "[{customer}, could|Could] you [confirm|double-check] the shipping address in {city} for me while I [contact the carrier|look at the tracking]?",
    "zipper": "[{customer}, could|Could] you [send|attach] a photo of the zipper on the {product}[ so our quality team can log the defect|]?",
    "fading": "[{customer}, could|Could] you [send|attach] a photo [of the faded area|showing the color] of the {product} and tell me how {it} {was} washed?",
    "damaged": "[{customer}, could|Could] you [send|attach] a photo of the damaged {product} and the box {it} came in?",
    "missing": "[{customer}, could|Could] you [confirm|check] whether the package [to {city}|for order {order}] had [any other|a second] box or a [note|slip] from the carrier?",
    "refund": "[{customer}, could|Could] you [confirm|share] the [return tracking number|date you dropped off the return] for the {product} so I can [trace it|check with the warehouse]?",
    "wrong": "[{customer}, could|Could] you [send|attach] a photo of the item you received instead of the {product}, with its label?",
    "waterproof": "[{customer}, could|Could] you [send|attach] a photo [of where the water gets in|of the inside after use] of the {product} so I can open a warranty claim?",
}
_PHOTO_FIRST = {"sole", "zipper", "fading", "damaged", "waterproof", "wrong"}
_PHOTO_ANSWERS = (
    "[Sure.|Of course.|OK.] [Here you go.|Photos attached.|See attached.] [The {product} {is} in the first one.|Taken today in {city}.|]",
    "[I've attached|Attached are|Here are] [the photos|two photos|a photo] of the {product}. [Hope that helps.|Pretty obvious.|You can see the {noun} clearly.]",
    "[Thanks, {agent_first}.|Thanks.|OK.] [I've attached the photos of the {product}.|Photos attached.|The label of the {noun} is in the second photo.]",
)
CUSTOMER_ANSWERS: dict[str, tuple[str, ...]] = {
    **{issue: _PHOTO_ANSWERS for issue in _PHOTO_FIRST},
    "sizing": (
        "I [usually wear|normally take] [a medium|a large|a small|size 10|size 8|an XL]; [the next size up|one size down] should work.",
        "[Please send|I'd like] the next size [up|down] of the {product}[, same color|, in {color} again|].",
    ),
    "late": (
        "[Yes|Yep], the address in {city} is [correct|right]. [Nothing has arrived yet.|The tracking still shows no movement.]",
        "[Confirmed|That's right], it should go to my address in {city}.",
    ),
    "missing": (
        "No, there was only [one box|the one package] and no [note|slip] from the carrier.",
        "[Just|Only] one box, and the {product} {was} not in it.",
    ),
    "refund": (
        "I dropped the return off [at the post office|at the UPS store|at your store in {city}] [two weeks ago|on the 3rd|last month].",
        "[Sure|Here it is], the return tracking number is in the attached receipt.",
    ),
}
AGENT_ACTIONS: dict[str, tuple[str, ...]] = {
    "sizing": (
        "I've set up a free exchange for a different size of the {product} and emailed you a prepaid return label.",
        "I've sent you a prepaid label to exchange the {product} for another size; the new size ships once the carrier scans the return.",
    ),
    "sole": (
        "I've opened a warranty claim for the sole separation; the {product} {is} covered for {warranty} against manufacturing defects.",
        "Our quality team will review the sole separation and I've arranged a replacement {unit} of the {product}.",
    ),
    "late": (
        "I've contacted the carrier and opened a trace on the package with your {product}.",
        "The carrier has the package at a local depot near {city}; I've asked them to prioritize it.",
    ),
    "zipper": (
        "I've arranged a replacement {product} for the broken zipper.",
        "I've registered the zipper failure on your {product} with our quality team and set up a replacement under the {warranty} warranty.",
    ),
    "fading": (
        "I've logged the color fading with our quality team and set up a replacement {product}.",
        "I've arranged a replacement for the faded {product}.",
    ),
    "damaged": (
        "I've arranged a replacement for the damaged {product} at no cost to you.",
        "I've filed a damage claim with the carrier and a replacement {product} {is} on its way.",
    ),
    "missing": (
        "I've shipped the missing {product} separately.",
        "I've confirmed the {product} {was} missing from the shipment and sent it out again.",
    ),
    "refund": (
        "I've checked with our finance team and your refund of {price} is now being processed for the {product}.",
        "Your return was received for the {product} and I've pushed the refund of {price} through.",
    ),
    "wrong": (
        "I've sent a prepaid label for the wrong item and shipped the {product} you ordered.",
        "The correct {product} {is} on its way and you can return the wrong one for free.",
    ),
    "waterproof": (
        "I've opened a warranty claim for the waterproofing failure; the {product} {is} covered for {warranty}.",
        "I've forwarded the leak to our quality team and arranged a replacement {product}.",
    ),
}
AGENT_NEXT = (
    "You'll receive [a confirmation email|an email with the tracking link|an update from me] [about the {product}|at your address in {city}|, {customer},] [shortly|within a day|as soon as it ships].",
    "[I'll keep your case open|Your case stays open] until [you confirm the {noun} is fine|the {product} arrives|the refund shows up for the {product}|you tell me, {customer}].",
    "If anything else comes up with the {product}, just reply[ to this email| here| and it comes straight to me].",
    "",
)
# What the agent says about the problem in a policy conversation: commits to nothing a policy governs.
NEUTRAL_ACTIONS: tuple[str, ...] = (
    "I've noted the details [on your case|about the {product}] and I'm looking into it now.",
    "I've added everything you told me [to your case|about the {product}] [so nothing gets lost|].",
    "I'm checking this with the right team and will keep you updated[ on the {product}|].",
    "I've documented the problem [with the {product}|] on your case.",
)
AGENT_CLOSINGS: tuple[str, ...] = (
    "Let me know if there is anything else I can do[, {customer}| about the {product}].",
    "Please reply to this email if you have any [questions|other questions] about the {product}.",
    "Thank you for shopping with {company}, {customer}.",
    "[Have a great day|Have a good weekend|Enjoy your week|Take care], {customer}.",
    "I'm here if you need anything else[ for the {product}|, {customer}].",
    "[Best wishes.|All the best.|Talk soon.|Take care!]",
    "",
)
AGENT_TITLES = (
    "Customer Care",
    "Customer Care Specialist",
    "Support Specialist",
    "Customer Care Team",
    "Service Advocate",
)
CUSTOMER_CHASERS: tuple[tuple[str, ...], ...] = (
    ("[Hi|Hello] {agent_first}, just checking [in|on this]. [Any news|Any update] on the {product}?",),
    ("[Any update|Any news] on [my {product}|the {product}|my {color} {noun}]? [Nothing yet.|Still nothing.|]",),
    (
        "[I'm still waiting|Still waiting|Nobody has answered] [for a real answer about|about|on] the {product}. [Taking forever.|Please escalate.|Hello??]",
    ),
)
CUSTOMER_THANKS: tuple[str, ...] = (
    "[Thanks|Thank you][, {agent_first}|], that works for me[ and the {noun}|].",
    "Great, thank you for the [quick|fast|kind] help with the {product}[, {agent_first}|].",
    "OK, thanks[ {agent_first}|]. [Watching for it.|I'll keep an eye out for the {noun}.|I'll look out for the email about the {product}.]",
    "Appreciate it[, {agent_first}|]!",
    "Thanks, that [solves it|sorts it out|is all I needed] [for the {product}|for order {order}|, {agent_first}].",
    "Fine. Let's hope [it works|it goes better|the {noun} holds up] this time[ before {event}|].",
)


def _customer_email(rng: random.Random, text: str, facts: CaseFacts, voice: Voice) -> str:
    greeting = expand(rng, rng.choice(GREETINGS[voice.tone]), company=COMPANY)
    signoff = rng.choice(SIGNOFFS[voice.tone])
    name = facts.customer if rng.random() < 0.8 else facts.customer[:1]
    head = f"{greeting}\n\n" if greeting else ""
    tail = f"\n\n{signoff}\n{name}" if signoff else f"\n\n{name}"
    return f"{head}{text}{tail}"


def _agent_email(rng: random.Random, facts: CaseFacts, lines: list[str], event: str) -> str:
    slots = {**facts.slots(), "event": event}
    greeting = expand(rng, rng.choice(AGENT_GREETINGS), **slots)
    said = [expand(rng, line, **slots) for line in lines if line]
    if said and len(lines) > 1:  # a policy answer (one line) stays verbatim
        k = rng.randrange(len(said))
        said[k] = address(rng, said[k], facts.customer, 0.6)
    body = " ".join(run_on(rng, said, 0.5))
    closing = address(rng, expand(rng, rng.choice(AGENT_CLOSINGS), **slots), facts.customer, 0.4)
    title = rng.choice(AGENT_TITLES)
    signature = f"{facts.agent}\n{title}\n{COMPANY}"
    return f"{greeting}\n\n{body}" + (f"\n\n{closing}" if closing else "") + f"\n\n{signature}"


def _reply_subject(rng: random.Random, subject_line: str) -> str:
    return rng.choice(("RE: ", "Re: ", "RE: ", "Re: ")) + subject_line


def email_thread(
    rng: random.Random,
    *,
    subject_line: str,
    facts: CaseFacts,
    voice: Voice,
    pairs: list[tuple[str, str]] | None = None,
) -> list[Message]:
    """The email thread of a case (2–8 messages), or, given policy `pairs` (see
    :func:`policy_exchange`), the agent answering each further request in turn."""
    event = rng.choice(EVENTS)
    first = _customer_email(rng, description(rng, facts, voice=voice), facts, voice)
    thread = [Message(True, subject_line, first, 0.0)]
    reply = _reply_subject(rng, subject_line)
    issue = _base(facts.issue)
    if pairs is not None:
        step = 0.8 / (2 * len(pairs) + 2)
        opening = [rng.choice(AGENT_THANKS), rng.choice(NEUTRAL_ACTIONS)]
        thread.append(Message(False, reply, _agent_email(rng, facts, opening, event), step))
        for n, (customer_line, agent_line) in enumerate(pairs):
            at = step * (2 * n + 2)
            thread.append(Message(True, reply, f"{customer_line}\n\n{facts.customer}", at))
            thread.append(Message(False, reply, _agent_email(rng, facts, [agent_line], event), at + step))
        return thread
    slots = {**facts.slots(), "event": event}
    # Defect claims need a photo before anything is approved (the photo-evidence policy).
    ask_first = issue in _PHOTO_FIRST or rng.random() < 0.4
    plan: list[tuple[bool, str]] = []
    if ask_first:
        plan.append((False, _agent_email(rng, facts, [rng.choice(AGENT_THANKS), AGENT_ASKS[issue]], event)))
        answer = expand(rng, rng.choice(CUSTOMER_ANSWERS[issue]), **slots)
        plan.append((True, _customer_email(rng, answer, facts, voice)))
    lines = [] if ask_first else [rng.choice(AGENT_THANKS)]
    plan.append(
        (False, _agent_email(rng, facts, [*lines, rng.choice(AGENT_ACTIONS[issue]), rng.choice(AGENT_NEXT)], event))
    )
    for _ in range(rng.choice((0, 0, 1, 1, 2)) if voice.tone else rng.choice((0, 0, 0, 1))):
        chaser = expand(rng, rng.choice(CUSTOMER_CHASERS[voice.tone]), **slots)
        plan.append((True, f"{chaser}\n\n{facts.customer}"))
        update = "[Thanks for your patience|Sorry for the wait|Quick update], {customer}: [I've checked again and|I followed up and] [everything is on track|it is moving now|the team has it]."
        plan.append((False, _agent_email(rng, facts, [update], event)))
    if rng.random() < 0.45:
        thanks = address(rng, expand(rng, rng.choice(CUSTOMER_THANKS), **slots), slots["agent_first"], 0.5)
        plan.append((True, f"{thanks}\n\n{facts.customer}"))
    plan = plan[:7]
    step = 0.85 / len(plan)
    thread += [Message(from_customer, reply, body, step * (n + 1)) for n, (from_customer, body) in enumerate(plan)]
    return thread


def quoted(body: str, sender: str, address: str, when: dt.datetime) -> str:
    """An earlier message as a reply quotes it, under an "On ..., ... wrote:" line."""
    head = f"On {when:%a, %b} {when.day}, {when:%Y} at {when:%H:%M}, {sender} <{address}> wrote:"
    return f"{head}\n{quote_lines(body)}"


def quote_lines(body: str) -> str:
    """`body` as quoted lines ("> ...")."""
    return "\n".join(f"> {line}" if line else ">" for line in body.splitlines())


_QUOTE_HEAD = re.compile(r"\n\n(On [^\n]+ at \d\d:\d\d, [^\n]+ <[^\n>]+> wrote:)\n")


def split_quote(body: str) -> tuple[str, str | None, str]:
    """An email body as (its own text, the "On ... wrote:" line of the message it quotes or None,
    the quoted message's text without the "> " marks)."""
    head = _QUOTE_HEAD.search(body)
    if head is None:
        return body, None, ""
    lines = body[head.end() :].splitlines()
    return (
        body[: head.start()],
        head.group(1),
        "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines),
    )


# --- chats -----------------------------------------------------------------------------------


@dataclass
class ChatLine:
    """One line of a chat: seconds after the start, speaker (None for a system line) and text."""

    at: int
    speaker: str | None
    text: str


@dataclass
class Chat:
    """A chat transcript as lines; ``transfer_at`` is the second of the transfer line, if any."""

    lines: list[ChatLine] = field(default_factory=list)
    transfer_at: int | None = None

    def say(self, gap: int, speaker: str | None, text: str) -> None:
        last = self.lines[-1].at if self.lines else 0
        self.lines.append(ChatLine(last + gap, speaker, text))

    @property
    def seconds(self) -> int:
        return self.lines[-1].at if self.lines else 0

    def body(self, started: dt.datetime, scale: float = 1.0) -> str:
        """The transcript as Salesforce shows it: a header, then "( 1m 5s ) Name: text" lines."""
        head = [f"Chat Started: {started:%A, %B %d, %Y, %H:%M:%S} (+0000)", f"Chat Origin: {COMPANY} Web Chat"]
        out = []
        for line in self.lines:
            at = int(line.at * scale)
            stamp = f"( {at // 60}m {at % 60}s )" if at >= 60 else f"( {at}s )"
            out.append(f"{stamp} {line.speaker}: {line.text}" if line.speaker else f"{stamp} {line.text}")
        return "\n".join([*head, *out])


CHAT_GREETINGS = (
    "Hi {customer}, thanks for contacting {company}[ Customer Care|], [how can I help|what can I do for you] today?",
    "Hello {customer}! My name is {agent_first}, [how can I help you today|what can I help you with]?",
    "Hi {customer}, you're chatting with {agent_first} - [what's going on|how can I help]?",
)
CHAT_VERIFY = (
    "I'm sorry to hear [that|about the {noun}], {customer}; [before I look into it,|to pull up your account,] could "
    "you confirm the email address on your account and the order number?",
    "[Thanks for the details|Got it], {customer} - [can you|could you] confirm your email address and the order "
    "number so I can find the {noun}?",
)
CHAT_LOOKUP = (
    "Thanks, {customer}, let me pull up order {order} [and the {product}|for the {product}][, one moment "
    "please|; this will take a minute|].",
    "[Perfect|Thank you], I've found order {order} with the {product}[, {customer}|] - [give me a moment to check the "
    "details|let me look at it].",
)
CHAT_HOLD_BACK = (
    "Thanks for holding[, {customer}|] - [I can see the {product} on the order|I've checked the order history "
    "for the {product}].",
    "[Sorry for the wait|Thank you for waiting], {customer}: [I've reviewed order {order}|I have the {noun} "
    "details in front of me now].",
)
CHAT_CLOSINGS: tuple[str, ...] = (
    "Is there anything else I can help you with today[, {customer}| about the {product}]?",
    "Thanks for chatting with {company}[, {customer}|] about the {noun}.",
    "[Have a great day|Enjoy the rest of your day|Take care], {customer}!",
    "I'm here if you need anything else[ about the {product}|, {customer}].",
)
CHAT_BYES = (
    "No, that's all. Thanks!",
    "That's it, thank you[ so much|].",
    "[Nope|No], all good. Bye!",
    "Thanks, bye.",
    "ok thx",
)


def chat(
    rng: random.Random,
    *,
    facts: CaseFacts,
    voice: Voice,
    pairs: list[tuple[str, str]] | None = None,
    transfer_from: str | None = None,
) -> Chat:
    """A chat: greeting, the problem, verification, a look-up with a hold, the fix (or, given policy
    `pairs`, the agent answering each request in turn), closing. With `transfer_from` the chat
    starts with that agent and is transferred to the case's owner (as the case history records)."""
    event = rng.choice(EVENTS)
    slots = {**facts.slots(), "event": event}
    talk = Chat()
    first_agent = transfer_from or facts.agent
    first_slots = {**slots, "agent": first_agent, "agent_first": first_agent.split()[0]}
    customer = facts.customer

    def line(gap: int, speaker: str | None, template: str, values: dict[str, str] = slots) -> None:
        talk.say(gap, speaker, expand(rng, template, **values))

    talk.say(0, None, f"Agent {first_agent} joined the chat.")
    line(rng.randint(5, 20), first_agent, rng.choice(CHAT_GREETINGS), first_slots)
    talk.say(rng.randint(20, 90), customer, problem(rng, facts, voice))
    if voice.detail or rng.random() < 0.5:
        fitting = _details_for(_base(facts.issue))
        talk.say(rng.randint(15, 60), customer, _say(rng, rng.choice(fitting), facts, voice))
    line(rng.randint(10, 40), first_agent, rng.choice(CHAT_VERIFY), first_slots)
    answer = "[Sure, |][it's|the email is] the one I'm [writing from|using now], and the order is {order}."
    talk.say(rng.randint(20, 80), customer, roughen(rng, expand(rng, answer), voice).format(order=facts.order))
    if transfer_from:
        line(
            rng.randint(15, 40),
            first_agent,
            "[Thanks|Thank you]. [This needs|I'd like] a colleague who specializes in this [to take a look|to help]; I'm transferring you to {agent} now.",
            {**first_slots, "agent": facts.agent},
        )
        talk.say(rng.randint(20, 90), None, f"Chat transferred from {first_agent} to {facts.agent}.")
        talk.transfer_at = talk.seconds
        line(
            rng.randint(10, 30),
            facts.agent,
            "Hi {customer}, this is {agent_first}. [I've read your conversation with {first_agent} about the "
            "{product}.|I see what happened with the {product}.]",
            {**slots, "first_agent": first_agent.split()[0]},
        )
    line(rng.randint(10, 40), facts.agent, rng.choice(CHAT_LOOKUP))
    talk.say(rng.randint(60, 240), None, "Customer on hold.")
    line(rng.randint(5, 15), facts.agent, rng.choice(CHAT_HOLD_BACK))
    if pairs is None:
        issue = _base(facts.issue)
        line(rng.randint(20, 60), facts.agent, rng.choice(AGENT_ACTIONS[issue]))
        line(rng.randint(10, 30), facts.agent, rng.choice(AGENT_NEXT) or "Anything else I can check for you?")
        line(rng.randint(20, 80), customer, rng.choice(CUSTOMER_THANKS))
    else:
        line(rng.randint(20, 60), facts.agent, rng.choice(NEUTRAL_ACTIONS))
        for customer_line, agent_line in pairs:
            talk.say(rng.randint(20, 90), customer, customer_line)
            talk.say(rng.randint(20, 90), facts.agent, agent_line)
    line(rng.randint(10, 30), facts.agent, rng.choice(CHAT_CLOSINGS))
    line(rng.randint(10, 40), customer, rng.choice(CHAT_BYES))
    talk.say(rng.randint(5, 20), None, "Chat ended.")
    return talk


def policy_exchange(rng: random.Random, policy_list: list[Policy], violated: Policy | None) -> list[tuple[str, str]]:
    """(customer line, agent line) pairs: one breach of `violated` (if any) among compliant answers."""
    others = [p for p in policy_list if violated is None or p.key != violated.key]
    chosen = rng.sample(others, 2 if violated is None else 1)
    pairs = [(p.customer, p.compliant) for p in chosen]
    if violated is not None:
        pairs.insert(rng.randrange(len(pairs) + 1), (violated.customer, violated.violation))
    return pairs
