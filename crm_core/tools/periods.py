"""Period tools: named periods (months, quarters, seasons) and relative windows."""

from __future__ import annotations

from crm_core.periods import PERIOD_NAMES, UNITS, format_when, period_bounds, window_start
from crm_core.tools.base import DATE_HELP, ToolArgumentError, ToolContext, date_arg, tool


@tool(
    "get_period",
    "Start and end of a named period of a year as {start_date, end_date} (half-open: the end is excluded). "
    "Seasons: Spring Mar-May, Summer Jun-Aug, Fall Sep-Nov, Winter YYYY = Dec YYYY to end of Feb YYYY+1.",
    {
        "period_name": {"type": "string", "enum": list(PERIOD_NAMES), "description": "Month, quarter or season."},
        "year": {"type": "integer", "description": "The year, e.g. 2023."},
    },
    required=("period_name", "year"),
)
def get_period(ctx: ToolContext, period_name: str, year: int) -> dict[str, str]:
    if not 1900 <= year <= 2999:
        raise ToolArgumentError(f"argument 'year' = {year} is not a plausible year")
    start, end = period_bounds(period_name, year)
    return {"start_date": format_when(start), "end_date": format_when(end)}


@tool(
    "get_start_date",
    "The start of a window of interval_count periods (day, week, month or quarter) that ends at end_date, "
    "e.g. the past 3 months: end_date = today, period = month, interval_count = 3.",
    {
        "end_date": {"type": "string", "description": f"End of the window: {DATE_HELP}."},
        "period": {"type": "string", "enum": list(UNITS), "description": "Unit of the window."},
        "interval_count": {"type": "integer", "minimum": 0, "description": "How many units."},
    },
    required=("end_date", "period", "interval_count"),
)
def get_start_date(ctx: ToolContext, end_date: str, period: str, interval_count: int) -> str:
    return format_when(window_start(date_arg("end_date", end_date), period, interval_count))
