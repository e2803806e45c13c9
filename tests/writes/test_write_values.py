"""Values as JSON gives them, turned into stored values (hypothesis for the date-time parser)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.org.metadata import find_object
from crm_core.writes import WriteError, coerce_value, parse_datetime

moments = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 12, 31))
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: dt.timedelta(minutes=minutes))


@given(moments, offsets, st.sampled_from(["+HH:MM", "+HHMM"]))
def test_a_datetime_in_any_offset_reads_as_the_same_utc_moment(
    moment: dt.datetime, offset: dt.timedelta, style: str
) -> None:
    utc = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    local = utc + offset
    sign = "+" if offset >= dt.timedelta(0) else "-"
    hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
    zone = f"{sign}{hours:02d}:{minutes:02d}" if style == "+HH:MM" else f"{sign}{hours:02d}{minutes:02d}"
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond // 1000:03d}" + zone
    assert parse_datetime(text) == utc


@given(moments)
def test_z_and_no_zone_mean_utc(moment: dt.datetime) -> None:
    whole = moment.replace(microsecond=0)
    assert parse_datetime(whole.strftime("%Y-%m-%dT%H:%M:%SZ")) == whole
    assert parse_datetime(whole.strftime("%Y-%m-%dT%H:%M:%S")) == whole
    assert parse_datetime(whole.strftime("%Y-%m-%d")) == whole.replace(hour=0, minute=0, second=0)


@given(st.text(max_size=30))
def test_any_text_parses_or_is_none(text: str) -> None:
    result = parse_datetime(text)
    assert result is None or isinstance(result, dt.datetime)


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-01T00:00:00Z", "yesterday", "2024-01-01T25:00:00Z", ""])
def test_impossible_dates_are_refused(text: str) -> None:
    assert parse_datetime(text) is None


def test_coercion_by_field_type() -> None:
    case, item = find_object("Case"), find_object("OrderItem")
    assert case is not None and item is not None
    assert coerce_value(item.field("Quantity"), "3") == 3.0
    assert coerce_value(item.field("Quantity"), 2) == 2.0
    with pytest.raises(WriteError) as error:
        coerce_value(item.field("Quantity"), True)
    assert error.value.error_code == "JSON_PARSER_ERROR"
    assert coerce_value(case.field("ClosedDate"), "2024-05-01T10:00:00+02:00") == dt.datetime(2024, 5, 1, 8)
    assert coerce_value(case.field("Subject"), None) is None
