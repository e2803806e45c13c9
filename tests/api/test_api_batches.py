"""Property tests of the batch-size header and the locator format."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from crm_core.api.batches import MAX_BATCH, MIN_BATCH, QueryBatches, batch_size_from_header
from crm_core.org.ids import is_valid_id, random_id


@given(st.text(max_size=60))
def test_any_header_gives_a_batch_size_in_range(value):
    assert MIN_BATCH <= batch_size_from_header(value) <= MAX_BATCH


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["batchSize", "BATCHSIZE", " batchsize "]))
def test_batch_size_is_clamped(number, key):
    assert batch_size_from_header(f"foo=1, {key}={number}") == min(MAX_BATCH, max(MIN_BATCH, number))


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_locator_urls_name_an_id_and_an_offset(offset):
    locator = random_id("01g")
    assert locator.startswith("01g") and is_valid_id(locator)
    url = QueryBatches._url("60.0", False, locator, offset)
    match = re.fullmatch(r"/services/data/v60\.0/query/(01g[0-9A-Za-z]{15})-([0-9]+)", url)
    assert match is not None and match.group(1) == locator and int(match.group(2)) == offset
