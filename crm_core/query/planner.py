"""Planner: turns a :class:`~crm_core.query.binder.BoundQuery` into SQLAlchemy Core SELECTs.

Parent paths become left outer joins; child subqueries become one extra batched SELECT per
child relationship; every value is a bound parameter. Conditions follow Salesforce's
two-valued logic (null is a value: ``Field != 'x'`` includes nulls), with NOT pushed down so
that positive conditions stay index-friendly. Strings compare case-insensitively; ids exactly.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    distinct,
    exists,
    extract,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from crm_core.org.categories import selected_categories
from crm_core.org.schema import MODEL_BY_OBJECT, ArticleDataCategory
from crm_core.query.binder import (
    BoundBool,
    BoundCall,
    BoundCompare,
    BoundCondition,
    BoundExpression,
    BoundField,
    BoundIn,
    BoundNot,
    BoundQuery,
    BoundRange,
    BoundSemiJoin,
    BoundWrap,
    ChildSelect,
    FieldRef,
    OutputColumn,
)

Converter = Callable[[Any], Any] | None


def _dialect_sql(name: str, sql_type: Any, default: str, sqlite: str) -> type[FunctionElement]:
    """A SQL construct over its arguments, rendered from `default` or, on SQLite, from `sqlite`.

    The templates name the compiled arguments ``{0}``, ``{1}``, ... (already bound parameters
    or columns: no user text is formatted into them).
    """
    construct = type(name, (FunctionElement,), {"type": sql_type, "inherit_cache": True, "name": name})

    def render(template: str) -> Callable[..., str]:
        def compile_construct(element: FunctionElement, compiler: Any, **kw: Any) -> str:
            return template.format(*(compiler.process(argument, **kw) for argument in element.clauses))

        return compile_construct

    compiles(construct)(render(default))
    compiles(construct, "sqlite")(render(sqlite))
    return construct


# DAY_ONLY(datetime): the date part.
day_only = _dialect_sql("day_only", Date(), "CAST({0} AS DATE)", "date({0})")
# Case-insensitive LIKE of a lower-cased pattern: lower(x) LIKE on PostgreSQL (faster than ILIKE
# on UTF-8); plain LIKE on SQLite, which already ignores ASCII case and so skips lower() over
# long text columns.
ci_like = _dialect_sql("ci_like", Boolean(), "(lower({0}) LIKE {1} ESCAPE '\\')", "({0} LIKE {1} ESCAPE '\\')")
# A string column compared case-insensitively (compare it with lower-cased values): lower(x), or
# (x COLLATE NOCASE) on SQLite, which folds the same ASCII letters without a call per row.
folded = _dialect_sql("folded", String(), "lower({0})", "({0} COLLATE NOCASE)")
# Case-insensitive equality with a lower-cased ASCII value {1} of byte length {2}. PostgreSQL:
# the O(1) length test spares lower() on almost every row; one CASE predicate, never NULL, keeps
# the planner's estimate of lower(x) = v. SQLite: NOCASE.
ci_equals = _dialect_sql(
    "ci_equals",
    Boolean(),
    "(CASE WHEN octet_length({0}) = {2} THEN lower({0}) = {1} ELSE false END)",
    "(({0} COLLATE NOCASE) = {1})",
)


class RestDateTime(TypeDecorator):
    """A datetime column read straight into the REST format (``2023-07-02T11:00:00.000+0000``).

    SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff`` text, which is re-cut without parsing it into a
    ``datetime`` first; other databases return datetimes, which are formatted.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else DateTime())

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None or not isinstance(value, str):
            return format_datetime(value)
        millis = value[20:23].ljust(3, "0") if len(value) > 20 else "000"
        return f"{value[:10]}T{value[11:19]}.{millis}+0000"


class RestDate(TypeDecorator):
    """A date column read straight into the REST format (``2023-07-02``)."""

    impl = Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else Date())

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return value.isoformat()


_REST_TYPES = {"datetime": RestDateTime(), "date": RestDate()}


def _readable(sql: Any, category: str) -> Any:
    """`sql` typed so that rows carry the REST value of date and datetime results."""
    rest_type = _REST_TYPES.get(category)
    return sql if rest_type is None else type_coerce(sql, rest_type)


# --- layouts read by the serializer ------------------------------------------------------------


@dataclass
class RecordLayout:
    """How to build one (possibly parent) record from a row: its type, Id column and entries."""

    type: str
    id_index: int
    entries: list[tuple[str, str, Any]] = field(default_factory=list)  # (name, kind, payload)

    def parent(self, name: str) -> RecordLayout | None:
        for entry_name, kind, payload in self.entries:
            if kind == "parent" and entry_name == name:
                return payload
        return None


@dataclass
class ChildPlan:
    """A child subquery: its SELECT (parent ids bound as ``parent_ids``) and its record layout."""

    statement: Select
    layout: RecordLayout
    parent_index: int
    limit: int | None
    children: list[ChildPlan] = field(default_factory=list)  # its own child subqueries (nested levels)


@dataclass
class Plan:
    """A planned query: the SELECT and how to read its rows."""

    statement: Select
    aggregate: bool
    count_only: bool
    layout: RecordLayout | None = None
    columns: list[tuple[str, int, Converter]] = field(default_factory=list)  # aggregate rows
    children: list[ChildPlan] = field(default_factory=list)
    object_name: str = ""
    count_limit: int | None = None  # COUNT() counts the rows LIMIT and OFFSET would return
    count_offset: int = 0


def format_datetime(value: dt.datetime | None) -> str | None:
    """``2023-07-02T11:00:00.000+0000``, as the REST API writes datetimes."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds") + "+0000"


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def converter_for(category: str) -> Converter:
    """The function that turns a database value of a category into its JSON value (None: as is).

    Dates and datetimes need none: their columns are read through :func:`_readable`.
    """
    if category == "number":
        return _number
    return None


def _us_date(value: str) -> str:
    return f"{int(value[5:7])}/{int(value[8:10])}/{value[:4]}"


def _us_datetime(value: str) -> str:
    hour, minute = int(value[11:13]), value[14:16]
    return f"{_us_date(value)}, {(hour - 1) % 12 + 1}:{minute} {'AM' if hour < 12 else 'PM'}"


def _us_money(value: Any) -> str:
    amount = float(value)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def format_converter(expression: BoundWrap) -> Converter:
    """FORMAT(): the value as the org's locale (en_US) shows it: ``7/2/2023``, ``7/2/2023, 11:00 AM``,
    ``$1,234.50``, ``1,234`` (integers and counts) or ``1,234.50`` (other numbers)."""
    inner = expression.inner
    assert inner is not None
    if inner.category == "date":
        return _us_date
    if inner.category == "datetime":
        return _us_datetime
    if inner.category != "number":
        return None
    counted = isinstance(inner, BoundCall) and inner.function in ("COUNT", "COUNT_DISTINCT")
    if expression.field_type == "currency" and not counted:
        return _us_money
    if counted or expression.field_type == "int":
        return lambda value: f"{int(value):,}"
    return lambda value: f"{float(value):,.2f}"


def _output(scope: _Scope, expression: BoundExpression) -> tuple[Any, Converter]:
    """The SQL of a selected expression, typed for REST values, and its value converter."""
    if isinstance(expression, BoundWrap) and expression.function == "FORMAT":
        inner = expression.inner
        assert inner is not None
        return _readable(_expression(scope, inner), inner.category), format_converter(expression)
    return _readable(_expression(scope, expression), expression.category), converter_for(expression.category)


# --- planning ----------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _aliased(object_name: str, name: str) -> Any:
    """An aliased table (immutable, so shared by every plan that joins it under that name)."""
    return MODEL_BY_OBJECT[object_name].__table__.alias(name)


class _Scope:
    """The FROM clause of one SELECT: the object's table and the outer joins of its parent paths."""

    def __init__(self, object_name: str, prefix: str = "p", nulled: frozenset = frozenset()) -> None:
        self.prefix = prefix
        self.table = MODEL_BY_OBJECT[object_name].__table__
        self.from_clause: Any = self.table
        self.joined: dict[tuple[str, ...], Any] = {(): self.table}
        self.nulled = nulled  # ROLLUP/CUBE: keys of the grouped fields this subtotal rolls up

    def table_for(self, relationships: tuple) -> Any:
        key = tuple(r.name for r in relationships)
        if key in self.joined:
            return self.joined[key]
        previous = self.table_for(relationships[:-1])
        reference = relationships[-1]
        target = _aliased(reference.reference_to, f"{self.prefix}{len(self.joined)}")
        self.from_clause = self.from_clause.outerjoin(target, previous.c[reference.name] == target.c.Id)
        self.joined[key] = target
        return target

    def column(self, ref: FieldRef) -> Any:
        return self.table_for(ref.relationships).c[ref.field.name]


def plan_query(bound: BoundQuery) -> Plan:
    """Plan a bound query (top level)."""
    scope = _Scope(bound.object.name)
    columns: list[Any] = []
    plan = Plan(statement=None, aggregate=bound.aggregate, count_only=bound.count_only)  # type: ignore[arg-type]
    plan.object_name = bound.object.name
    if bound.count_only:
        columns.append(func.count().label("c0"))
        plan.count_limit, plan.count_offset = bound.limit, bound.offset or 0
    elif bound.grouping:
        plan.statement = _grouping_sets_statement(bound)
        for index, item in enumerate(bound.items):
            assert isinstance(item, OutputColumn)
            plan.columns.append((item.name, index, _output(scope, item.expression)[1]))
        return plan
    elif bound.aggregate:
        for index, item in enumerate(bound.items):
            assert isinstance(item, OutputColumn)
            sql, convert = _output(scope, item.expression)
            columns.append(sql.label(f"c{index}"))
            plan.columns.append((item.name, index, convert))
    else:
        plan.layout = _record_layout(bound, scope, columns)
        plan.children = _child_plans(bound, plan.layout)
    statement = _clauses(select(*columns), bound, scope).select_from(scope.from_clause)
    if bound.count_only and bound.group_by:
        statement = select(func.count().label("c0")).select_from(
            statement.with_only_columns(*[_expression(scope, g) for g in bound.group_by]).subquery()
        )
    plan.statement = statement
    return plan


def _grouping_sets_statement(bound: BoundQuery) -> Select:
    """GROUP BY ROLLUP / CUBE: one grouped SELECT per grouping set, with the rolled-up fields null,
    as a UNION ALL; without ORDER BY, each group is followed by its subtotals and the grand total
    comes last."""
    keys = [_grouping_key(g) for g in bound.group_by]
    n = len(keys)
    if bound.grouping == "ROLLUP":
        sets = [tuple(range(k)) for k in range(n, -1, -1)]
    else:
        sets = sorted(
            (kept for size in range(n, -1, -1) for kept in itertools.combinations(range(n), size)),
            key=lambda kept: [i not in kept for i in range(n)],
        )
    branches = []
    for kept in sets:
        scope = _Scope(bound.object.name)
        # WHERE sees the records, before any rolling up
        filters = category_conditions(bound.data_categories, scope.table)
        if bound.where is not None:
            filters.append(_condition(scope, bound.where, False))
        scope.nulled = frozenset(keys[i] for i in range(n) if i not in kept)
        columns = [_output(scope, item.expression)[0].label(f"c{index}") for index, item in enumerate(bound.items)]
        columns += [literal(int(i not in kept), Integer()).label(f"g{i}") for i in range(n)]
        columns += [_sortable(scope, g).label(f"k{i}") for i, g in enumerate(bound.group_by)]
        columns += [_sortable(scope, o.expression).label(f"o{i}") for i, o in enumerate(bound.order_by)]
        branch = select(*columns).where(*filters)
        if kept:
            branch = branch.group_by(*[_expression(scope, bound.group_by[i]) for i in kept])
        if bound.having is not None:
            branch = branch.having(_condition(scope, bound.having, False))
        branches.append(branch.select_from(scope.from_clause))
    union = union_all(*branches).subquery("grouping_sets")
    statement = select(*[union.c[f"c{index}"] for index in range(len(bound.items))])
    if bound.order_by:
        order = []
        for i, item in enumerate(bound.order_by):
            column = union.c[f"o{i}"]
            column = column.desc() if item.descending else column.asc()
            order.append(column.nulls_last() if item.nulls_last else column.nulls_first())
    else:
        order = [column for i in range(n) for column in (union.c[f"g{i}"], union.c[f"k{i}"].asc().nulls_first())]
    statement = statement.order_by(*order)
    if bound.limit is not None:
        statement = statement.limit(bound.limit)
    if bound.offset is not None:
        statement = statement.offset(bound.offset)
    return statement


def _grouping_key(expression: BoundExpression) -> tuple:
    if isinstance(expression, BoundField):
        return ("field",) + expression.ref.key
    assert isinstance(expression, BoundCall)
    return (expression.function,) + (expression.ref.key if expression.ref else ())


def category_conditions(selections: tuple[tuple[str, str, tuple[str, ...]], ...], table: Any) -> list[ColumnElement]:
    """WITH DATA CATEGORY: per (selector, group, categories), the article (a row of `table`) has a
    category of the group among those the selector picks."""
    categorized = ArticleDataCategory.__table__
    return [
        exists(
            select(literal(1)).where(
                categorized.c.article_id == table.c.Id,
                categorized.c.group_name == literal(group, String()),
                categorized.c.category_name.in_(sorted(selected_categories(group, selector, names))),
            )
        )
        for selector, group, names in selections
    ]


def _clauses(statement: Select, bound: BoundQuery, scope: _Scope) -> Select:
    if bound.where is not None:
        statement = statement.where(_condition(scope, bound.where, False))
    if bound.data_categories:
        statement = statement.where(*category_conditions(bound.data_categories, scope.table))
    if bound.group_by:
        statement = statement.group_by(*[_expression(scope, g) for g in bound.group_by])
    if bound.having is not None:
        statement = statement.having(_condition(scope, bound.having, False))
    if bound.order_by and not bound.count_only:
        order: list[Any] = []
        for item in bound.order_by:
            if isinstance(item.expression, BoundWrap) and item.expression.inner is None:
                continue  # DISTANCE is null for every record: it orders nothing
            expression = _sortable(scope, item.expression)
            expression = expression.desc() if item.descending else expression.asc()
            order.append(expression.nulls_last() if item.nulls_last else expression.nulls_first())
        statement = statement.order_by(*order)
    if bound.limit is not None and not bound.count_only:
        statement = statement.limit(bound.limit)
    if bound.offset is not None and not bound.count_only:
        statement = statement.offset(bound.offset)
    return statement


def _record_layout(bound: BoundQuery, scope: _Scope, columns: list[Any]) -> RecordLayout:
    """Add the columns of a non-aggregate query to `columns` and return its record layout."""
    columns.append(scope.table.c.Id)
    root = RecordLayout(bound.object.name, 0)
    for item in bound.items:
        if not isinstance(item, OutputColumn):
            root.entries.append((item.name, "child-slot", None))
            continue
        expression = item.expression
        if isinstance(expression, BoundWrap) and expression.inner is None:  # DISTANCE: always null here
            columns.append(cast(null(), Float()))
            root.entries.append((item.name, "field", (len(columns) - 1, None)))
            continue
        ref = expression.ref
        assert ref is not None
        aliased = item.name != ".".join(ref.key)  # FORMAT(...) x: a top-level entry named x
        node = root if aliased else _parent_node(root, ref, scope, columns)
        if ref.field.name == "Id" and not isinstance(expression, BoundWrap):
            index, convert = node.id_index, converter_for(expression.category)
        else:
            sql, convert = _output(scope, expression)
            columns.append(sql)
            index = len(columns) - 1
        node.entries.append((item.name if aliased else ref.field.name, "field", (index, convert)))
    return root


def _parent_node(root: RecordLayout, ref: FieldRef, scope: _Scope, columns: list[Any]) -> RecordLayout:
    """The (nested) record layout that holds `ref`'s field, adding parent records as needed."""
    node = root
    for depth, reference in enumerate(ref.relationships):
        name = reference.relationship_name
        assert name is not None
        child = node.parent(name)
        if child is None:
            columns.append(scope.table_for(ref.relationships[: depth + 1]).c.Id)
            child = RecordLayout(reference.reference_to or "", len(columns) - 1)
            node.entries.append((name, "parent", child))
        node = child
    return node


def _child_plans(bound: BoundQuery, layout: RecordLayout) -> list[ChildPlan]:
    """The plans of `bound`'s child subqueries, each child slot of `layout` pointing at its plan."""
    plans: list[ChildPlan] = []
    for position, (name, kind, _) in enumerate(layout.entries):
        if kind == "child-slot":
            item = next(i for i in bound.items if isinstance(i, ChildSelect) and i.name == name)
            plans.append(_child_plan(item))
            layout.entries[position] = (name, "children", len(plans) - 1)
    return plans


def _child_plan(item: ChildSelect) -> ChildPlan:
    bound = item.query
    scope = _Scope(bound.object.name)
    columns: list[Any] = []
    layout = _record_layout(bound, scope, columns)
    foreign_key = scope.table.c[item.field]
    columns.append(foreign_key)
    statement = select(*columns).where(foreign_key.in_(bindparam("parent_ids", expanding=True)))
    limited = BoundQuery(**{**bound.__dict__, "limit": None, "offset": None})
    statement = _clauses(statement, limited, scope).select_from(scope.from_clause)
    return ChildPlan(statement, layout, len(columns) - 1, bound.limit, _child_plans(bound, layout))


# --- expressions -------------------------------------------------------------------------------


def _expression(scope: _Scope, expression: BoundExpression) -> Any:
    if isinstance(expression, BoundField):
        if scope.nulled and _grouping_key(expression) in scope.nulled:
            return type_coerce(null(), scope.column(expression.ref).type)
        return scope.column(expression.ref)
    if isinstance(expression, BoundWrap):
        if expression.inner is None:  # DISTANCE: the org's addresses have no coordinates
            return cast(null(), Float())
        if expression.function == "GROUPING":
            return literal(int(_grouping_key(expression.inner) in scope.nulled), Integer())
        return _expression(scope, expression.inner)  # FORMAT, toLabel and convertCurrency keep the value
    function = expression.function
    if scope.nulled and _grouping_key(expression) in scope.nulled:
        return type_coerce(null(), Integer() if expression.category == "number" else Date())
    if expression.ref is None:
        return func.count()
    column = scope.column(expression.ref)
    if function == "COUNT":
        return func.count(column)
    if function == "COUNT_DISTINCT":
        return func.count(distinct(column))
    if function in ("SUM", "AVG", "MIN", "MAX"):
        return getattr(func, function.lower())(column)
    return _date_function(function, column)


def _date_function(function: str, column: Any) -> Any:
    def part(name: str) -> Any:
        return cast(extract(name, column), Integer)

    one, two, three, seven = (literal_column(str(n), Integer) for n in (1, 2, 3, 7))

    if function == "DAY_ONLY":
        return day_only(column)
    if function in ("CALENDAR_YEAR", "FISCAL_YEAR"):
        return part("year")
    if function in ("CALENDAR_MONTH", "FISCAL_MONTH"):
        return part("month")
    if function in ("CALENDAR_QUARTER", "FISCAL_QUARTER"):
        return (part("month") + two) // three
    if function == "DAY_IN_MONTH":
        return part("day")
    if function == "DAY_IN_WEEK":
        return part("dow") + one
    if function == "DAY_IN_YEAR":
        return part("doy")
    if function == "HOUR_IN_DAY":
        return part("hour")
    if function == "WEEK_IN_MONTH":
        return (part("day") - one) // seven + one
    if function == "WEEK_IN_YEAR":
        return (part("doy") - one) // seven + one
    raise ValueError(f"unknown date function {function}")


def _sortable(scope: _Scope, expression: BoundExpression) -> Any:
    sql = _expression(scope, expression)
    return folded(sql) if expression.category == "text" else sql


def _operand(scope: _Scope, expression: BoundExpression) -> tuple[Any, bool]:
    """The SQL of a compared expression and whether it compares case-insensitively."""
    sql = _expression(scope, expression)
    if expression.category == "text":
        return folded(sql), True
    return sql, False


def _fold(value: Any, folded: bool) -> Any:
    return value.lower() if folded and isinstance(value, str) else value


_COMPARE = {
    "=": lambda x, v: x == v,
    "<": lambda x, v: x < v,
    "<=": lambda x, v: x <= v,
    ">": lambda x, v: x > v,
    ">=": lambda x, v: x >= v,
}


def _condition(scope: _Scope, condition: BoundCondition, negate: bool) -> ColumnElement:
    """SQL for `condition` (negated when `negate`), never NULL-valued where null matters."""
    if isinstance(condition, BoundBool):
        items = [_condition(scope, item, negate) for item in condition.items]
        use_and = (condition.operator == "AND") != negate
        return and_(*items) if use_and else or_(*items)
    if isinstance(condition, BoundNot):
        return _condition(scope, condition.item, not negate)
    expression = condition.expression
    raw = _expression(scope, expression)
    if isinstance(condition, BoundCompare):
        operator = condition.operator
        if condition.value is None:
            is_null = (operator == "=") != negate
            if expression.category == "boolean":
                return or_(raw.is_(None), raw == false()) if is_null else raw == true()
            return raw.is_(None) if is_null else raw.is_not(None)
        if operator == "!=":
            operator, negate = "=", not negate
        value = condition.value
        if operator == "LIKE":
            positive = ci_like(raw, literal(value.lower(), String()))
        elif operator == "=" and expression.category == "text" and isinstance(value, str) and value.isascii():
            folded_value = value.lower()
            positive = ci_equals(raw, literal(folded_value, String()), literal(len(folded_value), Integer()))
        else:
            operand, folded = _operand(scope, expression)
            positive = _COMPARE[operator](operand, _fold(condition.value, folded))
        return or_(raw.is_(None), not_(positive)) if negate else positive
    if isinstance(condition, BoundRange):
        operator = condition.operator
        if operator == "!=":
            operator, negate = "=", not negate
        start, end = condition.start, condition.end
        positive = {
            "=": lambda: and_(raw >= start, raw < end),
            "<": lambda: raw < start,
            "<=": lambda: raw < end,
            ">": lambda: raw >= end,
            ">=": lambda: raw >= start,
        }[operator]()
        return or_(raw.is_(None), not_(positive)) if negate else positive
    if isinstance(condition, BoundIn):
        negate = negate != condition.negated
        operand, folded = _operand(scope, expression)
        parts = []
        if condition.values:
            parts.append(operand.in_([_fold(v, folded) for v in condition.values]))
        parts.extend(and_(raw >= start, raw < end) for start, end in condition.ranges)
        non_null = or_(*parts) if parts else false()
        if not negate:
            return or_(non_null, raw.is_(None)) if condition.has_null else non_null
        if condition.has_null:
            return and_(raw.is_not(None), not_(non_null))
        return or_(raw.is_(None), not_(non_null))
    assert isinstance(condition, BoundSemiJoin)
    inner = condition.query
    inner_scope = _Scope(inner.object.name, prefix="s")
    column = inner.items[0]
    assert isinstance(column, OutputColumn)
    inner_column = _expression(inner_scope, column.expression)
    subquery = select(inner_column)
    if inner.where is not None:
        subquery = subquery.where(_condition(inner_scope, inner.where, False))
    subquery = subquery.select_from(inner_scope.from_clause).correlate(None)
    negate = negate != condition.negated
    if not negate:
        return raw.in_(subquery)
    return or_(raw.is_(None), raw.not_in(subquery.where(inner_column.is_not(None))))
