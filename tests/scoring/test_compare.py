"""Comparing systems: bootstrap intervals (properties and coverage), shared instances, pass^k, effort."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.scoring import OVERALL, Outcome, bootstrap_interval, compare, shared_instances

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
groups = st.dictionaries(st.sampled_from("abcde"), st.lists(unit, min_size=1, max_size=12), min_size=1, max_size=4)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(groups, seeds)
def test_interval_holds_the_mean_within_the_values(data: dict[str, list[float]], seed: int) -> None:
    interval = bootstrap_interval(data, seed=seed, resamples=300)
    means = [np.mean(v) for v in data.values()]
    assert interval.mean == pytest.approx(np.mean(means))
    assert interval.low <= interval.mean <= interval.high
    # a mean of group means can never leave the range of what any group can average to
    assert interval.low >= sum(min(v) for v in data.values()) / len(data) - 1e-12
    assert interval.high <= sum(max(v) for v in data.values()) / len(data) + 1e-12
    assert interval.n == sum(len(v) for v in data.values())


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0, max_value=1), st.integers(min_value=1, max_value=30), seeds)
def test_constant_values_have_no_spread(value: float, count: int, seed: int) -> None:
    interval = bootstrap_interval({"t": [value] * count}, seed=seed, resamples=200)
    assert interval.low == pytest.approx(value) and interval.high == pytest.approx(value)


@settings(max_examples=40, deadline=None)
@given(groups, seeds)
def test_same_seed_same_interval_whatever_the_group_order(data: dict[str, list[float]], seed: int) -> None:
    reordered = dict(reversed(list(data.items())))
    assert bootstrap_interval(data, seed=seed, resamples=200) == bootstrap_interval(reordered, seed=seed, resamples=200)


@settings(max_examples=40, deadline=None)
@given(groups, seeds)
def test_a_higher_level_gives_a_wider_interval(data: dict[str, list[float]], seed: int) -> None:
    narrow = bootstrap_interval(data, seed=seed, resamples=300, level=0.8)
    wide = bootstrap_interval(data, seed=seed, resamples=300, level=0.95)
    assert wide.low <= narrow.low + 1e-12 and narrow.high <= wide.high + 1e-12


def test_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    experiments = 300
    for seed in range(experiments):
        sample = (rng.random(60) < 0.3).astype(float)
        interval = bootstrap_interval({"t": sample.tolist()}, seed=seed, resamples=1000)
        covered += interval.low <= 0.3 <= interval.high
    # percentile bootstraps under-cover slightly at n=60; far from 95% means a broken interval
    assert 0.88 <= covered / experiments <= 0.99


def test_interval_width_shrinks_with_more_instances() -> None:
    small = bootstrap_interval({"t": [1.0, 0.0] * 5})
    large = bootstrap_interval({"t": [1.0, 0.0] * 200})
    assert small.mean == large.mean == 0.5
    assert large.high - large.low < (small.high - small.low) / 3


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        bootstrap_interval({"t": []})
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval({"t": [1.0]}, level=1.5)


def outcome(system: str, idx: int, task: str, reward: float, trial: int = 0, **extra: object) -> Outcome:
    return Outcome(system=system, idx=idx, task=task, trial=trial, reward=reward, **extra)


def test_systems_are_compared_on_the_instances_all_of_them_share() -> None:
    rows = [
        outcome("A", 1, "t1", 1.0),  # only A ran instance 1: left out
        outcome("A", 2, "t1", 1.0),
        outcome("A", 3, "t2", 0.0),
        outcome("B", 2, "t1", 0.0),
        outcome("B", 3, "t2", 1.0),
        outcome("B", 4, "t2", 1.0),  # only B ran instance 4: left out
    ]
    assert shared_instances(rows) == {2, 3}
    result = compare(rows)
    assert result.instances == [2, 3] and result.tasks == ["t1", "t2"]
    assert result.score("A", "t1").interval.mean == 1.0
    assert result.score("B", "t1").interval.mean == 0.0
    assert result.score("A").interval.mean == result.score("B").interval.mean == 0.5  # (1 + 0) / 2 each
    assert result.score("A").interval.n == 2
    assert result.best("t1") == ["A"] and result.best("t2") == ["B"]
    assert result.best(OVERALL) == ["A", "B"]  # tied
    narrowed = compare(rows, within={3})
    assert narrowed.instances == [3] and narrowed.tasks == ["t2"]


def test_overall_is_the_mean_of_task_means_not_of_trials() -> None:
    rows = [outcome("A", i, "big", 1.0) for i in range(9)] + [outcome("A", 100, "small", 0.0)]
    score = compare(rows).score("A")
    assert score.interval.mean == 0.5  # tasks weigh the same: (1 + 0) / 2, not 9 / 10
    assert score.episodes == 10 and score.successes == 9


def test_pass_hat_k_per_task_and_effort_per_success() -> None:
    # instance 1: 3 trials, 2 successes; instance 2: 3 trials, 3 successes
    rewards = {1: [1.0, 0.0, 1.0], 2: [1.0, 1.0, 1.0]}
    rows = [
        outcome("A", idx, "t", reward, trial=trial, turns=2 + trial, cost_usd=0.01)
        for idx, values in rewards.items()
        for trial, reward in enumerate(values)
    ]
    score = compare(rows).score("A", "t")
    # pass^k = mean over instances of C(c, k) / C(n, k)
    assert score.pass_hat_k == pytest.approx({1: (2 / 3 + 1) / 2, 2: (1 / 3 + 1) / 2, 3: (0 + 1) / 2})
    assert score.successes == 5
    assert score.turns_per_success == pytest.approx((2 + 3 + 4) * 2 / 5)
    assert score.cost_per_success == pytest.approx(0.06 / 5)


def test_unknown_cost_and_no_success_give_no_per_success_figure() -> None:
    result = compare([outcome("A", 1, "t", 0.0, turns=3, cost_usd=0.1), outcome("B", 1, "t", 1.0, turns=4)])
    assert result.score("A", "t").cost_per_success is None  # no success
    assert result.score("A", "t").turns_per_success is None
    assert result.score("B", "t").cost_per_success is None  # cost unknown
    assert result.score("B", "t").turns_per_success == 4


def test_best_pass_marks_the_highest_pass_hat_k() -> None:
    rows = [outcome("A", 1, "t", r, trial=i) for i, r in enumerate([1.0, 1.0])]
    rows += [outcome("B", 1, "t", r, trial=i) for i, r in enumerate([1.0, 0.0])]
    result = compare(rows)
    assert result.best_pass("t", 1) == ["A"]  # 1.0 against 0.5
    assert result.best_pass("t", 2) == ["A"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("ABC"), st.integers(0, 8), st.booleans()),
        min_size=1,
        max_size=40,
    )
)
def test_every_system_is_scored_on_exactly_the_shared_instances(triples: list[tuple[str, int, bool]]) -> None:
    rows = [outcome(s, idx, f"task{idx % 3}", float(ok), trial=n) for n, (s, idx, ok) in enumerate(triples)]
    result = compare(rows)
    shared = shared_instances(rows)
    assert set(result.instances) == shared
    for system in result.systems:
        for task in result.tasks:
            mine = {r.idx for r in rows if r.system == system and r.task == task and r.idx in shared}
            assert result.score(system, task).interval.n == len(mine)
        if result.tasks:
            assert result.score(system).interval.mean == pytest.approx(
                np.mean([result.score(system, t).interval.mean for t in result.tasks])
            )


def test_a_persona_scores_the_mean_of_its_tasks() -> None:
    rows = [
        outcome("A", 1, "t1", 1.0, persona="p"),
        outcome("A", 2, "t1", 1.0, persona="p"),
        outcome("A", 3, "t2", 0.0, persona="p"),
        outcome("A", 4, "t3", 0.5, persona="q"),
    ]
    result = compare(rows)
    assert result.personas == ["p", "q"]
    assert result.rows == ["t1", "t2", "t3", "p", "q", OVERALL]
    assert result.score("A", "p").interval.mean == 0.5  # (1 + 0) / 2, not 2 / 3
    assert result.score("A", "q").interval.mean == 0.5
    assert result.score("A").interval.mean == pytest.approx(0.5)  # (1 + 0 + 0.5) / 3
