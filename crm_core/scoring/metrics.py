"""Per-answer metrics: exact match (original and normalized) and SQuAD-style token F1."""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Literal, Protocol

RewardMetric = Literal["exact_match", "fuzzy_match", "state_match"]
"""``state_match`` instances are scored on the org state an episode leaves (:mod:`crm_core.scoring.state`)."""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
_EDGE_PUNCTUATION = string.punctuation + "\u2018\u2019\u201c\u201d" + " \t\n"


def as_text(answer: str | None) -> str:
    """An answer as CRMArena compares it: None becomes the string ``"None"``, stripped."""
    return "None" if answer is None else str(answer).strip()


def exact_match(gold: str | None, answer: str | None) -> bool:
    """CRMArena's rule: stripped, case-sensitive string equality; None and "None" are equal."""
    return as_text(gold) == as_text(answer)


def normalize_exact(answer: str | None) -> str:
    """Lenient form for the normalized exact match: case-folded, quotes and edge punctuation gone."""
    text = as_text(answer)
    text = "".join(ch for ch in text if ch not in _QUOTES)
    return text.strip(_EDGE_PUNCTUATION).casefold()


def exact_match_normalized(gold: str | None, answer: str | None) -> bool:
    """Exact match after :func:`normalize_exact` on both sides."""
    return normalize_exact(gold) == normalize_exact(answer)


def normalize_squad(text: str | None) -> str:
    """SQuAD normalization: lower case, no punctuation, no articles (a, an, the), single spaces."""
    text = as_text(text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def token_f1(gold: str | None, answer: str | None) -> float:
    """Token-level F1 between the SQuAD-normalized gold and answer (1.0 when both are empty)."""
    gold_tokens = normalize_squad(gold).split()
    answer_tokens = normalize_squad(answer).split()
    if not gold_tokens or not answer_tokens:
        return float(gold_tokens == answer_tokens)
    common = Counter(gold_tokens) & Counter(answer_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(answer_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


class Scorable(Protocol):
    """What :func:`reward` needs from a task instance."""

    @property
    def answer(self) -> str | None: ...

    @property
    def reward_metric(self) -> RewardMetric: ...


def reward(instance: Scorable, answer: str | None, *, normalized: bool = False) -> float:
    """The instance's reward for `answer`: exact match (0/1) or token F1 for ``fuzzy_match``.

    `normalized` switches exact match to the lenient variant; fuzzy match ignores it.
    """
    if instance.reward_metric == "fuzzy_match":
        return token_f1(instance.answer, answer)
    matcher = exact_match_normalized if normalized else exact_match
    return 1.0 if matcher(instance.answer, answer) else 0.0
