"""Scales and bulk ids: the sizes promised by the spec, and ids identical to make_id's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.errors import UserFacingError
from crm_core.org.id_arrays import make_ids
from crm_core.org.ids import KEY_PREFIXES, make_id
from crm_core.org.scales import SCALES, resolve_scale, scale_for_cases


def test_default_scale_has_the_spec_counts() -> None:
    default = SCALES["default"]
    assert (default.agents, default.customers, default.orders, default.cases) == (25, 2000, 4000, 5000)
    assert (default.issues, default.products, default.articles) == (10, 150, 120)


def test_large_and_xl_case_counts() -> None:
    assert SCALES["large"].cases == 100_000
    assert SCALES["xl"].cases == 1_000_000
    assert 250 <= SCALES["tiny"].cases <= 400


def test_scale_for_cases_keeps_default_proportions() -> None:
    scale = scale_for_cases(5000)
    assert (scale.cases, scale.customers, scale.orders, scale.agents) == (5000, 2000, 4000, 25)
    big = scale_for_cases(20_000)
    assert big.agents == 50  # 25 * sqrt(4)
    assert resolve_scale("tiny", cases=1234).cases == 1234


@pytest.mark.parametrize("bad", [0, -5])
def test_scale_for_cases_rejects_non_positive(bad: int) -> None:
    with pytest.raises(UserFacingError, match="--cases"):
        scale_for_cases(bad)


def test_unknown_scale_names_the_choices() -> None:
    with pytest.raises(UserFacingError, match="unknown scale 'huge'.*tiny, default, large, xl"):
        resolve_scale("huge")


@given(
    st.sampled_from(sorted(KEY_PREFIXES)),
    st.lists(st.integers(min_value=0, max_value=2**31 - 1), min_size=1, max_size=40),
)
def test_make_ids_equals_make_id(object_name: str, sequences: list[int]) -> None:
    assert make_ids(object_name, np.array(sequences)) == [make_id(object_name, s) for s in sequences]


def test_make_ids_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        make_ids("Case", [2**31])
