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
from functools import lru_cache

_SLOT = re.compile(r"\{[a-z_]+\}")
_TYPO_WORD = re.compile(r"\b[a-z]{5,}\b")


def expand(rng: random.Random, template: str, **slots: str) -> str:
    """One expansion of `template`: choices resolved innermost first, then slots filled."""
    text = _compiled(template).expand(rng)
    return text.format(**slots) if slots else text


# A compiled template is a tuple of parts; a part is literal text or a choice ``(draw, alternatives)``
# whose alternatives are literal text or tuples of parts again.
_Parts = tuple["str | tuple[int, tuple[str | _Parts, ...]]", ...]


class _Template:
    """A template parsed once: its parts, and the number of alternatives of each draw, in draw order.

    Choices are drawn in the order of the grammar's rewriting rule (innermost choices first, left to
    right, including those inside alternatives that end up unused), so a seed always gives the same
    text, whether the template is rewritten step by step or compiled.
    """

    def __init__(self, template: str) -> None:
        found: list[tuple[int, int, int]] = []  # (height, start, alternatives) per choice, in parse order
        parts, _, _ = _parse(template, 0, found, top=True)
        order = sorted(range(len(found)), key=lambda i: found[i][:2])
        rank = {i: n for n, i in enumerate(order)}
        self.parts = _renumber(parts, rank)
        self.sizes = tuple((found[i][2], found[i][2].bit_length()) for i in order)

    def expand(self, rng: random.Random) -> str:
        if not self.sizes:
            return self.parts[0] if self.parts else ""
        out: list[str] = []
        _write(self.parts, draws(rng, self.sizes), out)
        return "".join(out)


def draws(rng: random.Random, sizes: tuple[tuple[int, int], ...]) -> list[int]:
    """``[rng.choice(range(n)) for n, _ in sizes]`` without its per-call overhead (`sizes` holds
    ``(n, n.bit_length())``): the same draws from the same bits as CPython's ``Random.choice``
    (a test checks that they agree)."""
    getrandbits = rng.getrandbits
    picks = []
    for n, bits in sizes:
        r = getrandbits(bits)
        while r >= n:
            r = getrandbits(bits)
        picks.append(r)
    return picks


def _parse(s: str, i: int, found: list[tuple[int, int, int]], top: bool = False) -> tuple[list, int, int]:
    """Parts of `s` from `i` to the ``|`` or ``]`` that ends an alternative (the end of `s` when
    `top`), as (parts, index after them, height: 1 + the deepest nesting of choices inside)."""
    parts: list = []
    height = 0
    literal: list[str] = []
    while i < len(s):
        ch = s[i]
        if ch == "[":
            if literal:
                parts.append("".join(literal))
                literal = []
            start, alternatives, inner = i, [], 0
            i += 1
            while True:
                alternative, i, h = _parse(s, i, found)
                alternatives.append(alternative)
                inner = max(inner, h)
                if i >= len(s):
                    raise ValueError(f"unclosed [ in template {s!r}")
                i += 1
                if s[i - 1] == "]":
                    break
            found.append((inner + 1, start, len(alternatives)))
            parts.append((len(found) - 1, alternatives))
            height = max(height, inner + 1)
            continue
        if not top and ch in "|]":
            break
        literal.append(ch)
        i += 1
    if literal:
        parts.append("".join(literal))
    return parts, i, height


def _renumber(parts: list, rank: dict[int, int]) -> _Parts:
    """Parts with each choice numbered by its place in the draw order; all-literal alternatives joined."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        draw, alternatives = part
        alts = tuple(
            "".join(alt) if all(isinstance(p, str) for p in alt) else _renumber(alt, rank) for alt in alternatives
        )
        out.append((rank[draw], alts))
    return tuple(out)


def _write(parts: _Parts, picks: list[int], out: list[str]) -> None:
    for part in parts:
        if type(part) is str:
            out.append(part)
            continue
        alternative = part[1][picks[part[0]]]
        if type(alternative) is str:
            out.append(alternative)
        else:
            _write(alternative, picks, out)


@lru_cache(maxsize=4096)
def _compiled(template: str) -> _Template:
    return _Template(template)


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
