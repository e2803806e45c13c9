"""Daily totals: period sums from cumulative arrays equal summing the rows, and the samplers'
whole-org totals give the same answers as reading only the period."""

from __future__ import annotations

import datetime as dt
import random
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine

from crm_core.tasks.daily import DailyTotals
from crm_core.tasks.reference import TiedAnswerError, first_assignment_totals, handled_counts, product_case_totals
from crm_core.tasks.sampling import sample_period
from crm_core.tasks.types.best_region_identification import best_region, closure_totals
from crm_core.tasks.types.handle_time import handle_time, single_assignment_totals
from crm_core.tasks.types.monthly_trend_analysis import monthly_trend
from crm_core.tasks.types.top_issue_identification import top_issue
from crm_core.tasks.types.transfer_count import transfer_count, transfer_totals

DAY0 = dt.date(2020, 1, 1)
rows_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 60), st.integers(-5, 10**12)), max_size=40
)


@given(rows_strategy, st.integers(-5, 70), st.integers(-5, 70))
def test_period_totals_equal_the_sum_of_the_rows_in_the_period(rows, low, high) -> None:
    cells = [(key, DAY0 + dt.timedelta(days=day), value) for key, day, value in rows]
    start = dt.datetime.combine(DAY0 + dt.timedelta(days=low), dt.time(0))
    end = dt.datetime.combine(DAY0 + dt.timedelta(days=high), dt.time(0))
    expected: dict[str, int] = {}
    for key, day, value in cells:
        if start.date() <= day < end.date():
            expected[key] = expected.get(key, 0) + value
    assert DailyTotals(cells).between(start, end) == {k: v for k, v in expected.items() if v != 0}


def test_days_may_come_as_text_datetimes_or_dates() -> None:
    totals = DailyTotals([("x", "2021-03-04", 2), ("x", dt.datetime(2021, 3, 4, 17), 3), ("x", dt.date(2021, 3, 5), 4)])
    assert totals.between(dt.datetime(2021, 3, 4), dt.datetime(2021, 3, 5)) == {"x": 5}
    assert totals.between(dt.datetime(2021, 1, 1), dt.datetime(2022, 1, 1)) == {"x": 9}


def test_bounds_inside_a_day_are_refused() -> None:
    with pytest.raises(ValueError, match="midnight"):
        DailyTotals([("x", "2021-03-04", 1)]).between(dt.datetime(2021, 3, 4, 12), dt.datetime(2021, 3, 6))


def _answer(solve):
    try:
        return solve()
    except TiedAnswerError:
        return "tie"


def test_whole_org_totals_answer_as_reading_the_period(tiny_org_url) -> None:
    engine = create_engine(tiny_org_url)
    rng = random.Random(3)
    with engine.connect() as conn:
        closure = closure_totals(conn)
        cases = product_case_totals(conn)
        firsts = first_assignment_totals(conn)
        single = single_assignment_totals(conn)
        transfers = transfer_totals(conn)
        products = sorted({product for product, _ in cases.keys})
        compared = 0
        for _ in range(25):
            period = sample_period(rng, ("month", "quarter", "season", "year", "past_months", "past_weeks"))
            start, end = period.start, period.end
            product = rng.choice(products)
            handled = handled_counts(conn, start, end)
            assert handled == handled_counts(conn, start, end, firsts)
            n, extreme = rng.randrange(0, 5), rng.choice(("min", "max"))
            pairs = [
                (partial(best_region, conn, start, end), partial(best_region, conn, start, end, closure)),
                (partial(top_issue, conn, start, end, product), partial(top_issue, conn, start, end, product, cases)),
                (
                    partial(monthly_trend, conn, start, end, product),
                    partial(monthly_trend, conn, start, end, product, cases),
                ),
                (
                    partial(handle_time, conn, start, end, n, extreme),
                    partial(handle_time, conn, start, end, n, extreme, handled, single),
                ),
                (
                    partial(transfer_count, conn, start, end, n, extreme),
                    partial(transfer_count, conn, start, end, n, extreme, handled, transfers),
                ),
            ]
            for by_period, by_org in pairs:
                assert _answer(by_period) == _answer(by_org)
                compared += 1
        assert compared == 125
    engine.dispose()
