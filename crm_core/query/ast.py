"""The typed syntax tree of a SOQL query, as the parser builds it (names not yet resolved)."""

from __future__ import annotations

from dataclasses import dataclass

AGGREGATE_FUNCTIONS = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
DATE_FUNCTIONS = frozenset(
    {
        "CALENDAR_MONTH", "CALENDAR_QUARTER", "CALENDAR_YEAR", "DAY_IN_MONTH", "DAY_IN_WEEK", "DAY_IN_YEAR",
        "DAY_ONLY", "FISCAL_MONTH", "FISCAL_QUARTER", "FISCAL_YEAR", "HOUR_IN_DAY", "WEEK_IN_MONTH",
        "WEEK_IN_YEAR",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Path:
    """A field name or a dotted parent path (``Account.Owner.Name``)."""

    parts: tuple[str, ...]
    offset: int
    offsets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """An aggregate (``COUNT(Id)``, ``COUNT()``) or date function (``CALENDAR_YEAR(CreatedDate)``)."""

    function: str  # upper case
    argument: Path | None
    offset: int

    @property
    def is_aggregate(self) -> bool:
        return self.function in AGGREGATE_FUNCTIONS


Expression = Path | Call


@dataclass(frozen=True, slots=True)
class SelectField:
    expression: Expression
    alias: str | None
    alias_offset: int | None


@dataclass(frozen=True, slots=True)
class SelectChild:
    """A parent-to-child subquery in the SELECT list: ``(SELECT Id FROM Cases)``."""

    query: Query
    offset: int


SelectItem = SelectField | SelectChild


@dataclass(frozen=True, slots=True)
class Literal:
    """A value: kind is string, number, date, datetime, boolean, null, date_literal or word."""

    kind: str
    value: object
    text: str
    offset: int
    argument: int | None = None  # the n of ``LAST_N_DAYS:n``


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Expression
    operator: str  # = != < <= > >= LIKE
    value: Literal
    offset: int


@dataclass(frozen=True, slots=True)
class InList:
    left: Expression
    negated: bool
    values: tuple[Literal, ...]
    offset: int
    operator: str = "IN"  # IN, INCLUDES or EXCLUDES


@dataclass(frozen=True, slots=True)
class InQuery:
    """A semi-join (``IN (SELECT ...)``) or anti-join (``NOT IN (SELECT ...)``)."""

    left: Expression
    negated: bool
    query: Query
    offset: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    operator: str  # AND or OR
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Comparison | InList | InQuery | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderItem:
    expression: Expression
    descending: bool
    nulls_last: bool | None  # None: Salesforce's default (nulls first)
    offset: int


@dataclass(frozen=True, slots=True)
class Query:
    select: tuple[SelectItem, ...]
    object_name: str
    object_offset: int
    alias: str | None
    where: Condition | None
    group_by: tuple[Expression, ...]
    having: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    limit_offset: int | None
    offset: int | None
    offset_offset: int | None
    select_offset: int
