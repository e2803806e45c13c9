"""A small generation grammar: ``[a|b|c]`` picks one alternative, ``{slot}`` fills a value.

Alternatives nest (``[my [new|brand-new] pair|them]``) and an empty alternative drops the
part (``[really |]``). Expansion draws from the caller's ``random.Random``, so text is
deterministic per seed. :class:`Voice` is how one customer writes (tone, length, casual style,
typos); :func:`roughen` applies the casual style and typos outside the slots, so facts such as
product names and order numbers are never misspelled.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_CHOICE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{[a-z_]+\}")
_TYPO_WORD = re.compile(r"\b[a-z]{5,}\b")


def expand(rng: random.Random, template: str, **slots: str) -> str:
    """One expansion of `template`: choices resolved innermost first, then slots filled."""
    while "[" in template:
        template = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    return template.format(**slots) if slots else template


@dataclass(frozen=True)
class Voice:
    """How a customer writes: tone 0 calm .. 2 angry, detail 0 terse .. 2 detailed, casual style, typo rate."""

    tone: int
    detail: int
    casual: bool
    typos: float


def roughen(rng: random.Random, template: str, voice: Voice) -> str:
    """A casual writer's version of an expanded template (slots untouched): lower case, no apostrophes, typos."""
    if not voice.casual:
        return template
    parts = _SLOT.split(template)
    slots = _SLOT.findall(template)
    out = []
    for part in parts:
        if rng.random() < 0.5:
            part = part.replace("I'm", "im").replace("don't", "dont").replace("didn't", "didnt").replace("It's", "its")
        if rng.random() < voice.typos:
            words = list(_TYPO_WORD.finditer(part))
            if words:
                w = rng.choice(words)
                i = rng.randrange(1, len(w.group()) - 2)
                word = w.group()
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
                part = part[: w.start()] + word + part[w.end() :]
        out.append(part)
    text = "".join(p + s for p, s in zip(out, [*slots, ""], strict=True))
    if rng.random() < 0.3:
        text = text[:1].lower() + text[1:]
    return text


_JOINERS = (", and ", "; ", " - ", ", ", " and ")
_LOWERABLE = {
    "The",
    "My",
    "It",
    "This",
    "Its",
    "They",
    "These",
    "Please",
    "Could",
    "Can",
    "Both",
    "There",
    "After",
    "When",
    "Water",
    "Order",
    "For",
    "Thanks",
    "Thank",
    "What",
    "Let",
}


_PRONOUNS = {"I", "I'm", "I've", "I'd", "I'll"}


def run_on(rng: random.Random, sentences: list[str], rate: float) -> list[str]:
    """Join some adjacent sentences into one, as people write ("It broke, and I want a refund.")."""
    out: list[str] = []
    for sentence in sentences:
        first = sentence.split(" ", 1)[0]
        if (
            out
            and out[-1].endswith(".")
            and sentence
            and rng.random() < rate
            and (first in _LOWERABLE or first in _PRONOUNS)
        ):
            if first in _LOWERABLE:
                sentence = sentence[:1].lower() + sentence[1:]
            out[-1] = out[-1][:-1] + rng.choice(_JOINERS) + sentence
        else:
            out.append(sentence)
    return out


def address(rng: random.Random, sentence: str, name: str, rate: float) -> str:
    """Sometimes start a sentence with the reader's name ("Maria, the replacement ships today.")."""
    first = sentence.split(" ", 1)[0]
    if rng.random() >= rate or not (first in _LOWERABLE or first in _PRONOUNS):
        return sentence
    return f"{name}, {sentence[:1].lower() + sentence[1:] if first in _LOWERABLE else sentence}"
