"""The paired difference of two arms on shared instances: its mean, interval and matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.scoring import Outcome, paired_difference


def o(task: str, idx: int, reward: float, trial: int = 0, system: str = "s") -> Outcome:
    return Outcome(system=system, task=task, idx=idx, trial=trial, reward=reward)


def test_a_worked_example_matched_by_task_and_instance():
    first = [o("a", 1, 1), o("a", 2, 1), o("b", 3, 0), o("b", 3, 1, trial=1), o("a", 4, 1)]
    second = [o("a", 1, 0), o("a", 2, 1), o("b", 3, 1), o("c", 2, 0)]
    # shared: (a,1), (a,2), (b,3); instance 4 and task c are one arm's only
    # task a: diffs 1, 0 -> 0.5; task b: 0.5 - 1 = -0.5; overall -> 0.0
    paired = paired_difference(first, second)
    assert paired.first == pytest.approx((1.0 + 0.5) / 2)
    assert paired.second == pytest.approx((0.5 + 1.0) / 2)
    assert paired.difference.mean == pytest.approx(0.0)
    assert paired.difference.n == 3
    assert paired.difference.low <= 0.0 <= paired.difference.high


def test_identical_arms_differ_by_exactly_zero_and_a_clear_gap_excludes_zero():
    same = [o("a", i, i % 2) for i in range(30)]
    paired = paired_difference(same, same)
    assert (paired.difference.mean, paired.difference.low, paired.difference.high) == (0.0, 0.0, 0.0)
    better = [o("a", i, 1.0 if i % 10 else 0.0) for i in range(40)]
    worse = [o("a", i, 0.0 if i % 10 else 1.0) for i in range(40)]
    gap = paired_difference(better, worse).difference
    assert gap.mean == pytest.approx(0.8) and gap.low > 0.5


def test_no_shared_instance_is_an_error():
    with pytest.raises(ValueError, match="share no instance"):
        paired_difference([o("a", 1, 1)], [o("a", 2, 1)])


rewards = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 8), st.sampled_from([0.0, 0.5, 1.0])), min_size=1)


@given(rewards, rewards)
def test_the_mean_is_the_difference_of_the_scores_and_lies_in_its_interval(a, b):
    first = [o(t, i, r, trial=n) for n, (t, i, r) in enumerate(a)]
    second = [o(t, i, r, trial=n) for n, (t, i, r) in enumerate(b)]
    if not {(t, i) for t, i, _ in a} & {(t, i) for t, i, _ in b}:
        with pytest.raises(ValueError):
            paired_difference(first, second)
        return
    paired = paired_difference(first, second)
    d = paired.difference
    assert d.mean == pytest.approx(paired.first - paired.second)
    assert d.low - 1e-9 <= d.mean <= d.high + 1e-9
    assert d.low >= -1.0 - 1e-9 and d.high <= 1.0 + 1e-9
    swapped = paired_difference(second, first)
    assert swapped.difference.mean == pytest.approx(-d.mean) and swapped.difference.n == d.n
