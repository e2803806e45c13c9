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
# Functions over one field (or, for FORMAT, over an aggregate) that keep their argument's place.
WRAPPER_FUNCTIONS = frozenset({"FORMAT", "CONVERTCURRENCY", "TOLABEL", "CONVERTTIMEZONE"})
FUNCTIONS = AGGREGATE_FUNCTIONS | DATE_FUNCTIONS | WRAPPER_FUNCTIONS | {"GROUPING", "DISTANCE"}


@dataclass(frozen=True, slots=True)
class Path:
    """A field name or a dotted parent path (``Account.Owner.Name``)."""

    parts: tuple[str, ...]
    offset: int
    offsets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: aggregate (``COUNT(Id)``, ``COUNT()``), date function, ``FORMAT(...)``,
    ``toLabel(...)``, ``convertCurrency(...)``, ``convertTimezone(...)``, ``GROUPING(...)`` or
    ``DISTANCE(field, GEOLOCATION(lat, lon), 'unit')`` (`geolocation` holds lat, lon and unit)."""

    function: str  # upper case
    argument: Path | Call | None
    offset: int
    geolocation: tuple[float, float, str] | None = None

    @property
    def is_aggregate(self) -> bool:
        if self.function == "FORMAT" and isinstance(self.argument, Call):
            return self.argument.is_aggregate
        return self.function in AGGREGATE_FUNCTIONS or self.function == "GROUPING"


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


@dataclass(frozen=True, slots=True)
class SelectFields:
    """``FIELDS(ALL | STANDARD | CUSTOM)``."""

    kind: str  # upper case
    offset: int


@dataclass(frozen=True, slots=True)
class TypeOfWhen:
    type_name: str
    offset: int
    fields: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class SelectTypeOf:
    """``TYPEOF Owner WHEN User THEN Name, Email ELSE Name END``."""

    relationship: str
    offset: int
    whens: tuple[TypeOfWhen, ...]
    otherwise: tuple[Path, ...]


SelectItem = SelectField | SelectChild | SelectFields | SelectTypeOf


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
class CategoryFilter:
    """``Group__c AT|ABOVE|BELOW|ABOVE_OR_BELOW (Category__c, ...)`` of ``WITH DATA CATEGORY``."""

    group: str
    selector: str  # upper case
    categories: tuple[tuple[str, int], ...]  # (name, offset)
    offset: int


@dataclass(frozen=True, slots=True)
class PathAlias:
    """A relationship path named in FROM: ``c.Account a`` of ``FROM Contact c, c.Account a``."""

    alias: str
    path: Path
    offset: int  # of the alias


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
    object_prefix: str | None = None  # ``Account`` of a child subquery ``FROM Account.Contacts``
    scope: str | None = None  # USING SCOPE (no effect: see docs/query.md)
    scope_offset: int | None = None
    security: str | None = None  # WITH SECURITY_ENFORCED | USER_MODE | SYSTEM_MODE (no effect)
    data_categories: tuple[CategoryFilter, ...] = ()
    data_category_offset: int | None = None
    grouping: str | None = None  # ROLLUP or CUBE
    grouping_offset: int | None = None
    for_clauses: tuple[str, ...] = ()  # VIEW, REFERENCE, UPDATE (no effect)
    update: str | None = None  # UPDATE TRACKING | VIEWSTAT (no effect)
    path_aliases: tuple[PathAlias, ...] = ()  # ``FROM Contact c, c.Account a``
