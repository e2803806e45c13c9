"""Property tests of the parsers: dates the tools accept, periods, and task records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from crm_core.periods import MONTHS, PERIOD_NAMES, format_when, parse_when, period_bounds, window_start
from crm_core.tasks.records import TaskInstance, dumps_instances, read_task_file
from crm_core.tasks.registry import spec_of, task_names

moments = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)


@given(moments)
def test_datetime_text_round_trips(moment: dt.datetime) -> None:
    assert parse_when(format_when(moment)) == moment
    assert parse_when(moment.date().isoformat()) == dt.datetime.combine(moment.date(), dt.time())
    rest = moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")  # the REST API's format
    assert parse_when(rest) == moment


@given(moments, st.integers(-12, 14), st.sampled_from([0, 30, 45]))
def test_offsets_are_converted_to_utc(moment: dt.datetime, hours: int, minutes: int) -> None:
    sign = "-" if hours < 0 else "+"
    offset = dt.timedelta(hours=abs(hours), minutes=minutes) * (-1 if hours < 0 else 1)
    local = moment + offset
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(hours):02d}:{minutes:02d}"
    assert parse_when(text) == moment


@given(st.text(max_size=25))
def test_garbage_is_rejected_with_value_error(text: str) -> None:
    try:
        parse_when(text)
    except ValueError:
        return
    assert text.strip()[:4].isdigit()  # only date-shaped text parses


@given(st.sampled_from(PERIOD_NAMES), st.integers(1990, 2080))
def test_named_periods_are_half_open_and_tile_the_year(name: str, year: int) -> None:
    start, end = period_bounds(name, year)
    assert start < end and start.day == 1 and end.day == 1
    if name in MONTHS:
        following = MONTHS[(MONTHS.index(name) + 1) % 12]
        assert period_bounds(following, year + (name == "December"))[0] == end  # next starts at our end
    if name in ("Q1", "Q2", "Q3"):
        assert period_bounds(f"Q{int(name[1]) + 1}", year)[0] == end
    if name == "Winter":
        assert (start.month, end.year, end.month) == (12, year + 1, 3)


@given(moments, st.sampled_from(["day", "week", "month", "quarter"]), st.integers(0, 24))
def test_window_start_is_before_its_end(moment: dt.datetime, unit: str, count: int) -> None:
    start = window_start(moment, unit, count)
    assert start <= moment
    assert (start == moment) == (count == 0)


records = st.builds(
    lambda idx, task, query, answer, params: TaskInstance(
        idx=idx,
        task=task,
        persona=spec_of(task).persona,
        query=query,
        answer=answer,
        metadata={"required": "r", "optional": "o"},
        reward_metric="fuzzy_match" if task == "knowledge_qa" else "exact_match",
        params=params,
    ),
    st.integers(0, 10_000),
    st.sampled_from(task_names()),
    st.text(min_size=1, max_size=40),
    st.none() | st.text(max_size=20).filter(lambda a: a != "None"),
    st.dictionaries(st.sampled_from(["n", "start", "case_id"]), st.integers() | st.text(max_size=10), max_size=3),
)


@given(st.lists(records, min_size=1, max_size=5, unique_by=lambda r: r.idx), st.sampled_from(["jsonl", "json"]))
def test_task_files_round_trip(tmp_path_factory, instances: list[TaskInstance], fmt: str) -> None:
    path = Path(tmp_path_factory.mktemp("rt")) / f"tasks.{fmt}"
    path.write_text(dumps_instances(instances, fmt), encoding="utf-8")
    assert read_task_file(path) == instances
