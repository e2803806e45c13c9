"""Scoring: exact match variants, SQuAD token F1 (worked examples and properties), pass^k."""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.scoring import (
    ScoredAnswer,
    exact_match,
    exact_match_normalized,
    normalize_squad,
    pass_hat_k,
    pass_hat_k_curve,
    reward,
    summarize,
    token_f1,
)


def test_exact_match_original_rule() -> None:
    assert exact_match("005Hs0000000001AAA", "  005Hs0000000001AAA\n")
    assert not exact_match("005Hs0000000001AAA", "005hs0000000001aaa")  # case-sensitive
    assert exact_match(None, "None")
    assert exact_match("None", None)
    assert not exact_match(None, "none")
    assert not exact_match("March", "March.")


def test_exact_match_normalized_is_lenient_on_case_quotes_and_edge_punctuation() -> None:
    assert exact_match_normalized("March", ' "march". ')
    assert exact_match_normalized(None, "none")
    assert exact_match_normalized("CA", "'ca'")
    assert not exact_match_normalized("CA", "NY")
    assert not exact_match_normalized("March", "Mar ch")


def test_squad_normalization_worked_examples() -> None:
    assert normalize_squad("The  Quick, brown fox!") == "quick brown fox"
    assert normalize_squad("An apple a day") == "apple day"
    assert normalize_squad("another theme") == "another theme"  # articles only as whole words


@pytest.mark.parametrize(
    ("gold", "answer", "expected"),
    [
        ("30 days", "30 days", 1.0),
        ("30 days", "within 30 days", 2 * (2 / 3) * 1 / (2 / 3 + 1)),  # p=2/3, r=1 -> 0.8
        ("free returns within 30 days", "30 days", 2 * 1 * 0.4 / 1.4),  # p=1, r=2/5 -> 4/7
        ("the blue one", "red", 0.0),
        ("a b c", "c b a", 1.0),  # "a" is an article: gold tokens {b, c}
        ("yes yes no", "yes", 2 * 1 * (1 / 3) / (1 + 1 / 3)),  # p=1, r=1/3 -> 0.5
    ],
)
def test_token_f1_worked_examples(gold: str, answer: str, expected: float) -> None:
    assert token_f1(gold, answer) == pytest.approx(expected)


def test_token_f1_worked_values() -> None:
    assert token_f1("30 days", "within 30 days") == pytest.approx(0.8)
    assert token_f1("free returns within 30 days", "30 days") == pytest.approx(4 / 7)
    assert token_f1("yes yes no", "yes") == pytest.approx(0.5)


words = st.lists(st.sampled_from(["red", "shoe", "30", "days", "The", "a", "return", "policy,", "Free!"]), max_size=8)


@given(words, words)
def test_token_f1_bounds_and_symmetry(a: list[str], b: list[str]) -> None:
    x, y = " ".join(a), " ".join(b)
    value = token_f1(x, y)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(token_f1(y, x))


@given(words)
def test_token_f1_identity_and_normalization_invariance(a: list[str]) -> None:
    text = " ".join(a)
    assert token_f1(text, text) == 1.0
    assert token_f1(text, f"  {text.upper()} !!") == 1.0


@given(st.text(max_size=30))
def test_normalized_exact_match_accepts_the_original_matches(text: str) -> None:
    assert exact_match_normalized(text, f"  {text}  ") or not exact_match(text, f"  {text}  ")
    assert normalize_squad(normalize_squad(text)) == normalize_squad(text)


def test_reward_by_metric() -> None:
    em = SimpleNamespace(answer="CA", reward_metric="exact_match")
    fuzzy = SimpleNamespace(answer="within 30 days", reward_metric="fuzzy_match")
    none = SimpleNamespace(answer=None, reward_metric="exact_match")
    assert reward(em, "CA") == 1.0
    assert reward(em, "ca") == 0.0
    assert reward(em, "ca", normalized=True) == 1.0
    assert reward(none, "None") == 1.0
    assert reward(none, None) == 1.0
    assert reward(fuzzy, "30 days") == pytest.approx(0.8)


def _pass_hat_k_by_enumeration(n: int, c: int, k: int) -> float:
    """Probability that k trials drawn without replacement from n (c successes) all succeed."""
    outcomes = [True] * c + [False] * (n - c)
    draws = list(combinations(range(n), k))
    return sum(all(outcomes[i] for i in draw) for draw in draws) / len(draws)


@given(st.lists(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))), min_size=1, max_size=5))
def test_pass_hat_k_matches_enumeration(trials: list[tuple[int, int]]) -> None:
    k_max = min(n for n, _ in trials)
    for k in range(1, k_max + 1):
        expected = sum(_pass_hat_k_by_enumeration(n, c, k) for n, c in trials) / len(trials)
        assert pass_hat_k(trials, k) == pytest.approx(expected)
    curve = pass_hat_k_curve(trials)
    assert list(curve) == list(range(1, k_max + 1))
    assert all(curve[k] >= curve[k + 1] - 1e-12 for k in range(1, k_max))


def test_pass_hat_k_worked_example_and_errors() -> None:
    # n=4 trials: c=2 -> k=1: 2/4, k=2: 1/6; c=4 -> 1, 1. Mean: k=1 0.75, k=2 (1/6+1)/2.
    assert pass_hat_k([(4, 2), (4, 4)], 1) == pytest.approx(0.75)
    assert pass_hat_k([(4, 2), (4, 4)], 2) == pytest.approx((1 / 6 + 1) / 2)
    with pytest.raises(ValueError, match="instance 1: 1 trials"):
        pass_hat_k([(3, 1), (1, 1)], 2)
    with pytest.raises(ValueError, match="k must be at least 1"):
        pass_hat_k([(3, 1)], 0)
    with pytest.raises(ValueError, match="not within"):
        pass_hat_k([(3, 4)], 1)


def test_summary_means_per_task_persona_and_overall() -> None:
    scores = [
        ScoredAnswer(idx=0, task="handle_time", persona="manager", reward=1.0),
        ScoredAnswer(idx=1, task="handle_time", persona="manager", reward=0.0),
        ScoredAnswer(idx=2, task="handle_time", persona="manager", reward=0.0),
        ScoredAnswer(idx=3, task="transfer_count", persona="manager", reward=1.0),
        ScoredAnswer(idx=4, task="knowledge_qa", persona="service_agent", reward=0.5),
    ]
    summary = summarize(scores)
    assert summary.per_task == pytest.approx({"handle_time": 1 / 3, "transfer_count": 1.0, "knowledge_qa": 0.5})
    assert summary.per_persona == pytest.approx({"manager": (1 / 3 + 1) / 2, "service_agent": 0.5})
    assert summary.overall == pytest.approx((1 / 3 + 1 + 0.5) / 3)
    assert summary.count == 5
