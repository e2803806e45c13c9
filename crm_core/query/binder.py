"""Binder: resolves a SOQL syntax tree against the org's metadata and type-checks it.

Names are matched case-insensitively and replaced by canonical API names; every error is
Salesforce's (code, text, row and column). The result is a :class:`BoundQuery` that the
planner turns into SQL without further checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from crm_core.org.categories import DATA_CATEGORY_GROUPS
from crm_core.org.ids import case_safe_suffix
from crm_core.org.metadata import DATE_TYPES, NUMERIC_TYPES, FieldDescribe, ObjectDescribe, describe_org
from crm_core.query import ast
from crm_core.query.dates import literal_range, needs_argument, parse_date, parse_datetime
from crm_core.query.errors import (
    BAD_RELATIONSHIP,
    INVALID_FIELD,
    INVALID_QUERY_FILTER_OPERATOR,
    INVALID_TYPE,
    MALFORMED_QUERY,
    MAX_INTEGER,
    NO_SUCH_COLUMN,
    NOT_SUPPORTED_TYPE,
    NUMBER_OUTSIDE_VALID_RANGE,
    QueryError,
)
from crm_core.query.lexer import StringValue

MAX_OFFSET = 2000
MAX_RELATIONSHIP_LEVELS = 5
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_INT_FUNCTIONS = ast.DATE_FUNCTIONS - {"DAY_ONLY"}
_HOUR_FUNCTIONS = frozenset({"HOUR_IN_DAY"})
MAX_FIELDS_LIMIT = 200  # FIELDS(ALL) and FIELDS(CUSTOM) need LIMIT n with n <= 200
MAX_ROLLUP_FIELDS = 3
MAX_CHILD_SUBQUERIES = 20  # parent-to-child relationships per query
SEMI_JOIN_OR = "Semi join sub-selects are not allowed with the 'OR' operator"
SEMI_JOIN_NESTED = (
    "Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions."
)
SCOPES = frozenset(
    {"delegated", "everything", "mine", "mine_and_my_groups", "my_territory", "my_team_territory", "team", "mru",
     "scopingrule"}
)  # fmt: skip
# Polymorphic relationships (TYPEOF) and the types they may point to: the owner of a case or a
# chat is a user or a queue (Group); the org's owners are all users.
POLYMORPHIC = {("Case", "Owner"): ("User", "Group"), ("LiveChatTranscript", "Owner"): ("User", "Group")}
_ALIASABLE = frozenset({"FORMAT", "TOLABEL", "CONVERTCURRENCY", "DISTANCE"})


# --- bound tree ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A resolved field: the reference fields walked from the query's object, then the field."""

    relationships: tuple[FieldDescribe, ...]
    field: FieldDescribe
    owner: str  # the object the field belongs to

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.relationships) + (self.field.name,)


@dataclass(frozen=True, slots=True)
class BoundField:
    ref: FieldRef
    category: str  # id, text, number, boolean, date, datetime


@dataclass(frozen=True, slots=True)
class BoundCall:
    function: str
    ref: FieldRef | None
    category: str

    @property
    def is_aggregate(self) -> bool:
        return self.function in ast.AGGREGATE_FUNCTIONS


@dataclass(frozen=True, slots=True)
class BoundWrap:
    """``FORMAT``, ``toLabel``, ``convertCurrency`` or ``GROUPING`` over `inner`, or ``DISTANCE``
    (no inner: the org's addresses carry no coordinates, so every distance is null)."""

    function: str
    inner: BoundExpression | None
    category: str

    @property
    def is_aggregate(self) -> bool:
        inner = self.inner
        return self.function == "GROUPING" or (isinstance(inner, BoundCall | BoundWrap) and inner.is_aggregate)

    @property
    def ref(self) -> FieldRef | None:
        return self.inner.ref if self.inner is not None else None

    @property
    def field_type(self) -> str | None:
        """The Salesforce type of the innermost field (what FORMAT formats)."""
        ref = self.ref
        return ref.field.type if ref is not None else None


BoundExpression = BoundField | BoundCall | BoundWrap


@dataclass(frozen=True, slots=True)
class BoundCompare:
    """``expression op value``; value None means null; LIKE carries the pattern."""

    expression: BoundExpression
    operator: str
    value: object


@dataclass(frozen=True, slots=True)
class BoundRange:
    """A comparison with a date range [start, end) (a relative date literal)."""

    expression: BoundExpression
    operator: str
    start: object
    end: object


@dataclass(frozen=True, slots=True)
class BoundIn:
    expression: BoundExpression
    negated: bool
    values: tuple[object, ...]
    ranges: tuple[tuple[object, object], ...]
    has_null: bool


@dataclass(frozen=True, slots=True)
class BoundSemiJoin:
    expression: BoundExpression
    negated: bool
    query: BoundQuery


@dataclass(frozen=True, slots=True)
class BoundBool:
    operator: str
    items: tuple[BoundCondition, ...]


@dataclass(frozen=True, slots=True)
class BoundNot:
    item: BoundCondition


BoundCondition = BoundCompare | BoundRange | BoundIn | BoundSemiJoin | BoundBool | BoundNot


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One selected column: the name it has in the result and what it computes."""

    name: str
    expression: BoundExpression


@dataclass(frozen=True, slots=True)
class ChildSelect:
    """A child subquery of the SELECT list (``Cases`` of Account) over ``field`` of the child object."""

    name: str
    field: str
    query: BoundQuery


@dataclass(frozen=True, slots=True)
class BoundOrder:
    expression: BoundExpression
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class BoundQuery:
    """A checked query: output columns and child selects in SELECT order, and its clauses."""

    object: ObjectDescribe
    items: tuple[OutputColumn | ChildSelect, ...]
    where: BoundCondition | None
    group_by: tuple[BoundExpression, ...]
    having: BoundCondition | None
    order_by: tuple[BoundOrder, ...]
    limit: int | None
    offset: int | None
    aggregate: bool
    count_only: bool
    grouping: str | None = None  # ROLLUP or CUBE
    data_categories: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (selector, group, categories)


# --- binding ---------------------------------------------------------------------------------


def category_of(sf_type: str) -> str:
    """The comparison category of a Salesforce field type."""
    if sf_type in ("id", "reference"):
        return "id"
    if sf_type in NUMERIC_TYPES:
        return "number"
    if sf_type == "boolean" or sf_type in DATE_TYPES:
        return sf_type
    return "text"


def normalize_id(value: str) -> str | None:
    """The canonical 18-character id for a 15- or 18-character id (any case for 18), or None."""
    if len(value) == 15 and value.isalnum() and value.isascii():
        return value + case_safe_suffix(value)
    if len(value) == 18 and value.isalnum() and value.isascii():
        if value[15:] == case_safe_suffix(value[:15]):  # already canonical, as nearly every id is
            return value
        chars = list(value[:15])
        for block, code in enumerate(value[15:].upper()):
            bits = _SUFFIX_CHARS.find(code)
            if bits < 0:
                return None
            for i in range(5):
                char = chars[block * 5 + i]
                chars[block * 5 + i] = char.upper() if bits & (1 << i) else char.lower()
                if char.isalpha() is False and bits & (1 << i):
                    return None
        id15 = "".join(chars)
        return id15 + case_safe_suffix(id15)
    return None


class Binder:
    """Binds one query text's syntax trees (SOQL, or the RETURNING parts of SOSL)."""

    def __init__(self, text: str, today: dt.date) -> None:
        self.text = text
        self.today = today
        self.org = describe_org()
        self.path_aliases: dict[str, tuple[str, ...]] = {}  # of the query being bound: alias -> path

    def error(self, code: str, message: str, offset: int) -> QueryError:
        return QueryError(code, message, self.text, offset)

    # --- objects and fields -----------------------------------------------------------------

    def find_object(self, name: str, offset: int) -> ObjectDescribe:
        lower = name.lower()
        for obj in self.org.values():
            if obj.name.lower() == lower:
                return obj
        raise self.error(INVALID_TYPE, NOT_SUPPORTED_TYPE.format(name=name), offset)

    def resolve(self, obj: ObjectDescribe, path: ast.Path, alias: str | None) -> FieldRef:
        parts, offsets = list(path.parts), list(path.offsets)
        if len(parts) > 1:
            first = parts[0].lower()
            if (alias and first == alias.lower()) or (
                first == obj.name.lower() and obj.parent_relationship(parts[0]) is None
            ):
                parts, offsets = parts[1:], offsets[1:]
        if len(parts) > 1 and parts[0].lower() in self.path_aliases:  # ``a.Name`` of ``FROM Contact c, c.Account a``
            named = self.path_aliases[parts[0].lower()]
            parts, offsets = [*named, *parts[1:]], [offsets[0]] * len(named) + offsets[1:]
        relationships: list[FieldDescribe] = []
        current = obj
        for part, offset in zip(parts[:-1], offsets[:-1], strict=True):
            reference = current.parent_relationship(part)
            if reference is None or reference.reference_to is None:
                raise self.error(INVALID_FIELD, BAD_RELATIONSHIP.format(name=part, where="field path"), offset)
            relationships.append(reference)
            current = self.org[reference.reference_to]
        if len(relationships) > MAX_RELATIONSHIP_LEVELS:
            raise self.error(
                MALFORMED_QUERY,
                f"SOQL statements cannot query more than {MAX_RELATIONSHIP_LEVELS} levels of relationships",
                path.offset,
            )
        found = current.field(parts[-1])
        if found is None:
            if relationships:
                message = NO_SUCH_COLUMN.format(field=parts[-1], entity=current.name)
            else:
                message = NO_SUCH_COLUMN.format(field=parts[-1], entity=obj.name)
            raise self.error(INVALID_FIELD, message, offsets[-1])
        return FieldRef(tuple(relationships), found, current.name)

    def expression(self, obj: ObjectDescribe, expression: ast.Expression, alias: str | None) -> BoundExpression:
        if isinstance(expression, ast.Path):
            ref = self.resolve(obj, expression, alias)
            return BoundField(ref, category_of(ref.field.type))
        function = expression.function
        if function in ast.WRAPPER_FUNCTIONS | {"GROUPING", "DISTANCE"}:
            return self.wrapper(obj, expression, alias)
        argument = expression.argument
        if argument is None:
            return BoundCall(function, None, "number")
        if isinstance(argument, ast.Call):  # a date function over convertTimezone(field)
            ref = self.time_zone_converted(obj, argument, alias)
            argument = argument.argument
            assert isinstance(argument, ast.Path)
        else:
            ref = self.resolve(obj, argument, alias)
        described = ref.field
        offset = argument.offset
        if function in ast.AGGREGATE_FUNCTIONS:
            category = category_of(described.type)
            supported = described.aggregatable and (
                function in ("COUNT", "COUNT_DISTINCT")
                or (function in ("SUM", "AVG") and category == "number")
                or (function in ("MIN", "MAX") and category != "boolean")
            )
            if not supported:
                raise self.error(
                    INVALID_FIELD, f"field {described.name} does not support aggregate operator {function}", offset
                )
            if function in ("COUNT", "COUNT_DISTINCT"):
                return BoundCall(function, ref, "number")
            if function in ("SUM", "AVG"):
                return BoundCall(function, ref, "number")
            return BoundCall(function, ref, category)
        if described.type not in DATE_TYPES or (described.type == "date" and function in _HOUR_FUNCTIONS):
            raise self.error(
                MALFORMED_QUERY,
                f"{function} only applies to {'dateTime' if function in _HOUR_FUNCTIONS else 'date or dateTime'} "
                f"fields: {described.name}",
                offset,
            )
        if function == "DAY_ONLY":
            if described.type != "datetime":
                raise self.error(MALFORMED_QUERY, f"DAY_ONLY only applies to dateTime fields: {described.name}", offset)
            return BoundCall(function, ref, "date")
        return BoundCall(function, ref, "number")

    def time_zone_converted(self, obj: ObjectDescribe, call: ast.Call, alias: str | None) -> FieldRef:
        """``convertTimezone(field)`` inside a date function: the org's time zone is UTC, so the field."""
        assert isinstance(call.argument, ast.Path)
        ref = self.resolve(obj, call.argument, alias)
        if ref.field.type != "datetime":
            raise self.error(
                MALFORMED_QUERY, f"convertTimezone() only applies to dateTime fields: {ref.field.name}", call.offset
            )
        return ref

    def wrapper(self, obj: ObjectDescribe, call: ast.Call, alias: str | None) -> BoundWrap:
        """FORMAT, toLabel, convertCurrency, GROUPING or DISTANCE (convertTimezone only in a date function)."""
        function, argument = call.function, call.argument
        if function == "CONVERTTIMEZONE":
            raise self.error(MALFORMED_QUERY, "convertTimezone() can only be used inside a date function", call.offset)
        assert argument is not None
        if function == "DISTANCE":
            return self.distance(obj, call)
        inner = self.expression(obj, argument, alias)
        if function == "FORMAT":
            return BoundWrap(function, inner, "text")
        assert isinstance(inner, BoundField)
        field = inner.ref.field
        offset = _offset(argument)
        if function == "TOLABEL" and field.type != "picklist":
            raise self.error(INVALID_FIELD, f"toLabel() can only be used on picklist fields: {field.name}", offset)
        if function == "CONVERTCURRENCY" and field.type != "currency":
            raise self.error(
                INVALID_FIELD, f"convertCurrency() can only be used on currency fields: {field.name}", offset
            )
        category = {"TOLABEL": "text", "CONVERTCURRENCY": "number", "GROUPING": "number"}[function]
        return BoundWrap(function, inner, category)

    def distance(self, obj: ObjectDescribe, call: ast.Call) -> BoundWrap:
        """``DISTANCE(<prefix>Address, GEOLOCATION(lat, lon), 'mi'|'km')`` on a compound address field."""
        path = call.argument
        assert isinstance(path, ast.Path) and call.geolocation is not None
        name = path.parts[-1]
        prefix = name[: -len("Address")] if name.lower().endswith("address") else ""
        if len(path.parts) != 1 or not prefix or obj.field(prefix + "Street") is None:
            raise self.error(
                INVALID_FIELD, f"DISTANCE() needs a location or address field of {obj.name}: {name}", path.offset
            )
        latitude, longitude, unit = call.geolocation
        if unit not in ("mi", "km"):
            raise self.error(MALFORMED_QUERY, f"DISTANCE() unit must be 'mi' or 'km': '{unit}'", call.offset)
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise self.error(
                NUMBER_OUTSIDE_VALID_RANGE,
                f"GEOLOCATION() needs a latitude in [-90, 90] and a longitude in [-180, 180]: {latitude}, {longitude}",
                call.offset,
            )
        return BoundWrap("DISTANCE", None, "number")

    # --- queries ----------------------------------------------------------------------------

    def bind(self, query: ast.Query, *, parent: ObjectDescribe | None = None) -> BoundQuery:
        """Bind a top-level query (or, with `parent`, a child subquery of that object)."""
        if parent is None:
            obj = self.find_object(query.object_name, query.object_offset)
            relation_field = None
        else:
            relation = parent.child_relationship(query.object_name)
            if query.object_prefix is not None and query.object_prefix.lower() != parent.name.lower():
                relation = None
            if relation is None:
                raise self.error(
                    INVALID_TYPE,
                    BAD_RELATIONSHIP.format(
                        name=".".join(filter(None, (query.object_prefix, query.object_name))),
                        where="FROM part of query call",
                    ),
                    query.object_offset,
                )
            obj = self.org[relation.child_object]
            relation_field = relation.field
        return self.bind_body(query, obj, child_of=relation_field)

    def bind_body(self, query: ast.Query, obj: ObjectDescribe, *, child_of: str | None = None) -> BoundQuery:
        """Bind a query's clauses on `obj` (`child_of`: the reference field of a child subquery)."""
        outer = self.path_aliases
        self.path_aliases = self.named_paths(obj, query)
        try:
            return self._bind_body(query, obj, child_of=child_of)
        finally:
            self.path_aliases = outer

    def named_paths(self, obj: ObjectDescribe, query: ast.Query) -> dict[str, tuple[str, ...]]:
        """The relationship paths ``FROM Contact c, c.Account a, a.Owner o`` names, each as the
        parent relationships it follows from `obj` (``o`` -> Account, Owner)."""
        named: dict[str, tuple[str, ...]] = {}
        for item in query.path_aliases:
            first, *relations = item.path.parts
            if first.lower() in named:
                start = named[first.lower()]
            elif relations and first.lower() in {(query.alias or "").lower(), obj.name.lower()}:
                start = ()
            else:
                raise self.error(
                    INVALID_TYPE, BAD_RELATIONSHIP.format(name=first, where="FROM part of query call"), item.path.offset
                )
            current = obj
            for name in start:
                current = self.org[current.parent_relationship(name).reference_to]  # type: ignore[union-attr, index]
            for name, offset in zip(relations, item.path.offsets[1:], strict=True):
                reference = current.parent_relationship(name)
                if reference is None or reference.reference_to is None:
                    raise self.error(
                        INVALID_TYPE, BAD_RELATIONSHIP.format(name=name, where="FROM part of query call"), offset
                    )
                current = self.org[reference.reference_to]
            if item.alias.lower() in named or item.alias.lower() == (query.alias or "").lower():
                raise self.error(MALFORMED_QUERY, f"duplicate alias: {item.alias}", item.offset)
            named[item.alias.lower()] = (*start, *relations)
        return named

    def _bind_body(self, query: ast.Query, obj: ObjectDescribe, *, child_of: str | None) -> BoundQuery:
        alias = query.alias
        query = replace(query, select=self.expand_select(obj, query))
        self.check_clauses(obj, query)
        calls = [i for i in query.select if isinstance(i, ast.SelectField) and isinstance(i.expression, ast.Call)]
        aggregate = bool(query.group_by) or any(c.expression.is_aggregate for c in calls)  # type: ignore[union-attr]
        count_only = any(
            isinstance(c.expression, ast.Call) and c.expression.function == "COUNT" and c.expression.argument is None
            for c in calls
        )
        if count_only and len(query.select) > 1:
            raise self.error(
                MALFORMED_QUERY, "COUNT() must be the only element in the SELECT list", query.select_offset
            )
        if child_of is not None and aggregate:
            first = next((c.expression for c in calls if c.expression.is_aggregate), None)  # type: ignore[union-attr]
            raise self.error(
                MALFORMED_QUERY,
                "Aggregate queries are not supported in a child subquery",
                first.offset if first is not None else query.object_offset,
            )
        children = _child_subqueries(query)
        if child_of is None and len(children) > MAX_CHILD_SUBQUERIES:
            raise self.error(
                MALFORMED_QUERY,
                f"SOQL statements cannot query more than {MAX_CHILD_SUBQUERIES} parent-to-child relationships",
                children[MAX_CHILD_SUBQUERIES].offset,
            )
        if aggregate and not count_only and not query.group_by and query.limit_offset is not None:
            raise self.error(
                MALFORMED_QUERY, "LIMIT is not allowed in an aggregate query without GROUP BY", query.limit_offset
            )
        group_by = tuple(self.group_item(obj, g, alias) for g in query.group_by)
        grouped = {_expression_key(g) for g in group_by}
        items: list[OutputColumn | ChildSelect] = []
        names: set[str] = set()
        unaliased = 0
        for item in query.select:
            if isinstance(item, ast.SelectChild):
                if aggregate:
                    raise self.error(MALFORMED_QUERY, "unexpected token: '('", item.offset)
                child = self.bind(item.query, parent=obj)
                relation = obj.child_relationship(item.query.object_name)
                assert relation is not None
                if relation.name.lower() in names:
                    raise self.error(INVALID_FIELD, f"duplicate field selected: {relation.name}", item.offset)
                names.add(relation.name.lower())
                items.append(ChildSelect(relation.name, relation.field, child))
                continue
            expression = self.expression(obj, item.expression, alias)
            offset = _offset(item.expression)
            wrapped = isinstance(expression, BoundWrap)
            if item.alias is not None and not aggregate and not (wrapped and expression.function in _ALIASABLE):
                raise self.error(
                    MALFORMED_QUERY, "Only aggregate expressions use field aliasing", item.alias_offset or 0
                )
            if isinstance(expression, BoundCall) and expression.function == "COUNT" and expression.ref is None:
                continue
            if isinstance(expression, BoundWrap) and expression.function == "GROUPING":
                self.check_grouping(query, expression, grouped, offset)
            if aggregate:
                is_aggregate = isinstance(expression, BoundCall | BoundWrap) and expression.is_aggregate
                if not is_aggregate and _expression_key(expression) not in grouped:
                    raise self.error(
                        MALFORMED_QUERY, f"Field must be grouped or aggregated: {_source_name(item.expression)}", offset
                    )
                if item.alias is not None:
                    name = item.alias
                elif isinstance(expression, BoundCall) or expression.ref is None or is_aggregate:
                    name = f"expr{unaliased}"
                    unaliased += 1
                else:
                    name = expression.ref.field.name
            else:
                if isinstance(expression, BoundCall):
                    raise self.error(
                        MALFORMED_QUERY,
                        f"{expression.function} can only be used in a query with GROUP BY",
                        offset,
                    )
                if item.alias is not None:
                    name = item.alias
                elif expression.ref is None:
                    name = f"expr{unaliased}"
                    unaliased += 1
                else:
                    name = ".".join(expression.ref.key)
            if name.lower() in names:
                code = MALFORMED_QUERY if item.alias is not None else INVALID_FIELD
                text = f"duplicate alias: {name}" if item.alias is not None else f"duplicate field selected: {name}"
                raise self.error(code, text, item.alias_offset if item.alias is not None else offset)
            names.add(name.lower())
            items.append(OutputColumn(name, expression))
        where = self.condition(obj, query.where, alias, allow_aggregates=False) if query.where else None
        having = None
        if query.having is not None:
            having = self.condition(obj, query.having, alias, allow_aggregates=True, grouped=grouped)
        order_by = tuple(self.order_item(obj, o, alias, aggregate, grouped) for o in query.order_by)
        if query.limit is not None and query.limit < 1 and query.limit_offset is not None:
            raise self.error(NUMBER_OUTSIDE_VALID_RANGE, "The LIMIT must be greater than zero", query.limit_offset)
        if query.limit is not None and query.limit > MAX_INTEGER:
            raise self.error(
                NUMBER_OUTSIDE_VALID_RANGE, f"The LIMIT must be at most {MAX_INTEGER}", query.limit_offset or 0
            )
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise self.error(
                NUMBER_OUTSIDE_VALID_RANGE,
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                query.offset_offset or 0,
            )
        if child_of is not None and query.offset is not None:
            raise self.error(MALFORMED_QUERY, "OFFSET is not supported in a child subquery", query.offset_offset or 0)
        return BoundQuery(
            object=obj,
            items=tuple(items),
            where=where,
            group_by=group_by,
            having=having,
            order_by=order_by,
            limit=query.limit,
            offset=query.offset,
            aggregate=aggregate,
            count_only=count_only,
            grouping=query.grouping,
            data_categories=self.data_categories(obj, query),
        )

    def expand_select(self, obj: ObjectDescribe, query: ast.Query) -> tuple[ast.SelectItem, ...]:
        """The SELECT list with ``FIELDS(...)`` and ``TYPEOF`` replaced by the field paths they stand for."""
        items: list[ast.SelectItem] = []
        for item in query.select:
            if isinstance(item, ast.SelectFields):
                if item.kind != "STANDARD" and (query.limit is None or query.limit > MAX_FIELDS_LIMIT):
                    raise self.error(
                        MALFORMED_QUERY,
                        f"The SOQL FIELDS function must have a LIMIT of at most {MAX_FIELDS_LIMIT}",
                        item.offset,
                    )
                custom = {"ALL": (False, True), "STANDARD": (False,), "CUSTOM": (True,)}[item.kind]
                for is_custom in custom:
                    items.extend(
                        ast.SelectField(ast.Path((f.name,), item.offset, (item.offset,)), None, None)
                        for f in obj.fields
                        if f.name.endswith("__c") == is_custom
                    )
            elif isinstance(item, ast.SelectTypeOf):
                items.extend(self.type_of(obj, item))
            else:
                items.append(item)
        return tuple(items)

    def type_of(self, obj: ObjectDescribe, item: ast.SelectTypeOf) -> list[ast.SelectField]:
        """A TYPEOF as the parent paths of the type the org's records have (User)."""
        reference = obj.parent_relationship(item.relationship)
        if reference is None:
            raise self.error(
                INVALID_FIELD, BAD_RELATIONSHIP.format(name=item.relationship, where="field path"), item.offset
            )
        types = POLYMORPHIC.get((obj.name, reference.relationship_name or ""))
        if types is None:
            raise self.error(
                MALFORMED_QUERY,
                f"TYPEOF can only be used on a polymorphic relationship: {reference.relationship_name}",
                item.offset,
            )
        chosen = item.otherwise
        for when in item.whens:
            if when.type_name.lower() not in {t.lower() for t in types}:
                raise self.error(
                    INVALID_TYPE,
                    f"{when.type_name} is not a type of the polymorphic relationship {reference.relationship_name}",
                    when.offset,
                )
            if when.type_name.lower() == reference.reference_to.lower():  # type: ignore[union-attr]
                chosen = when.fields
        name = reference.relationship_name or item.relationship
        return [
            ast.SelectField(ast.Path((name, *p.parts), p.offset, (item.offset, *p.offsets)), None, None) for p in chosen
        ]

    def check_clauses(self, obj: ObjectDescribe, query: ast.Query) -> None:
        """USING SCOPE, WITH DATA CATEGORY and GROUP BY ROLLUP/CUBE as Salesforce allows them."""
        if query.scope is not None and query.scope.lower() not in SCOPES:
            raise self.error(MALFORMED_QUERY, f"Invalid scope: {query.scope}", query.scope_offset or 0)
        if query.grouping is not None and len(query.group_by) > MAX_ROLLUP_FIELDS:
            raise self.error(
                MALFORMED_QUERY,
                f"GROUP BY {query.grouping} accepts at most {MAX_ROLLUP_FIELDS} fields",
                query.grouping_offset or 0,
            )

    def data_categories(self, obj: ObjectDescribe, query: ast.Query) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """WITH DATA CATEGORY filters of a SOQL query with canonical names."""
        if not query.data_categories:
            return ()
        return self.category_selections(query.data_categories, obj.name, query.data_category_offset or 0)

    def category_selections(
        self, filters: tuple[ast.CategoryFilter, ...], object_name: str, offset: int
    ) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """Category filters checked against the org's hierarchy: (selector, group, categories)."""
        if object_name != "Knowledge__kav":
            raise self.error(
                MALFORMED_QUERY,
                f"WITH DATA CATEGORY is only supported on knowledge articles, not on {object_name}",
                offset,
            )
        bound = []
        groups = {g.lower(): g for g in DATA_CATEGORY_GROUPS}
        for category_filter in filters:
            group = groups.get(category_filter.group.lower())
            if group is None:
                raise self.error(
                    INVALID_FIELD, f"Invalid data category group: {category_filter.group}", category_filter.offset
                )
            known = {c.lower(): c for c in DATA_CATEGORY_GROUPS[group]}
            names = []
            for name, name_offset in category_filter.categories:
                if name.lower() not in known:
                    raise self.error(INVALID_FIELD, f"Invalid data category: {name} in group {group}", name_offset)
                names.append(known[name.lower()])
            bound.append((category_filter.selector, group, tuple(names)))
        return tuple(bound)

    def check_grouping(self, query: ast.Query, expression: BoundWrap, grouped: set, offset: int) -> None:
        if query.grouping is None:
            raise self.error(MALFORMED_QUERY, "GROUPING() can only be used with GROUP BY ROLLUP or CUBE", offset)
        if expression.inner is None or _expression_key(expression.inner) not in grouped:
            raise self.error(MALFORMED_QUERY, "GROUPING() needs a field of the GROUP BY ROLLUP or CUBE", offset)

    def group_item(self, obj: ObjectDescribe, expression: ast.Expression, alias: str | None) -> BoundExpression:
        bound = self.expression(obj, expression, alias)
        if isinstance(bound, BoundCall) and bound.is_aggregate:
            raise self.error(MALFORMED_QUERY, "Aggregate functions are not allowed in GROUP BY", expression.offset)
        if isinstance(bound, BoundField) and not bound.ref.field.groupable:
            raise self.error(
                INVALID_FIELD, f"field '{bound.ref.field.name}' can not be grouped in a query call", _offset(expression)
            )
        return bound

    def order_item(
        self, obj: ObjectDescribe, item: ast.OrderItem, alias: str | None, aggregate: bool, grouped: set
    ) -> BoundOrder:
        bound = self.expression(obj, item.expression, alias)
        offset = _offset(item.expression)
        if isinstance(bound, BoundField) and not bound.ref.field.sortable:
            raise self.error(INVALID_FIELD, f"field '{bound.ref.field.name}' can not be sorted in a query call", offset)
        is_aggregate = isinstance(bound, BoundCall | BoundWrap) and bound.is_aggregate
        if aggregate and not is_aggregate and _expression_key(bound) not in grouped:
            raise self.error(
                MALFORMED_QUERY,
                f"Ordered field must be grouped or aggregated: {_source_name(item.expression)}",
                offset,
            )
        if not aggregate and isinstance(bound, BoundCall):
            raise self.error(
                MALFORMED_QUERY, f"{bound.function} can only be used in a query with GROUP BY", item.offset
            )
        nulls_last = bool(item.nulls_last)
        return BoundOrder(bound, item.descending, nulls_last)

    # --- conditions -------------------------------------------------------------------------

    def condition(
        self,
        obj: ObjectDescribe,
        condition: ast.Condition,
        alias: str | None,
        *,
        allow_aggregates: bool,
        grouped: set | None = None,
    ) -> BoundCondition:
        def bind(node: ast.Condition, depth: int = 0, or_depth: int | None = None) -> BoundCondition:
            """`or_depth`: the depth of the outermost OR above `node` (0: the whole WHERE)."""
            if isinstance(node, ast.BoolOp):
                if or_depth is None and node.operator == "OR":
                    or_depth = depth
                return BoundBool(node.operator, tuple(bind(i, depth + 1, or_depth) for i in node.items))
            if isinstance(node, ast.Not):
                return BoundNot(bind(node.item, depth + 1, or_depth))
            left = self.filter_expression(obj, node.left, alias, allow_aggregates, grouped)
            if isinstance(node, ast.InQuery):
                if or_depth is not None:
                    raise self.error(MALFORMED_QUERY, SEMI_JOIN_OR if or_depth == 0 else SEMI_JOIN_NESTED, node.offset)
                return self.semi_join(obj, left, node)
            if isinstance(node, ast.InList):
                return self.in_list(left, node)
            return self.comparison(left, node)

        return bind(condition)

    def filter_expression(
        self,
        obj: ObjectDescribe,
        expression: ast.Expression,
        alias: str | None,
        allow_aggregates: bool,
        grouped: set | None,
    ) -> BoundExpression:
        bound = self.expression(obj, expression, alias)
        offset = _offset(expression)
        if isinstance(bound, BoundCall | BoundWrap) and bound.is_aggregate:
            if not allow_aggregates:
                raise self.error(
                    MALFORMED_QUERY, "Aggregate functions are not supported in the WHERE clause", expression.offset
                )
            return bound
        if isinstance(bound, BoundField) and not bound.ref.field.filterable:
            raise self.error(INVALID_FIELD, f"field '{bound.ref.field.name}' can not be filtered in query call", offset)
        if grouped is not None and _expression_key(bound) not in grouped:
            raise self.error(
                MALFORMED_QUERY, f"Field must be grouped or aggregated: {_source_name(expression)}", offset
            )
        return bound

    def comparison(self, left: BoundExpression, node: ast.Comparison) -> BoundCondition:
        literal = node.value
        operator = node.operator
        if operator == "LIKE":
            if left.category == "id":
                raise self.error(INVALID_QUERY_FILTER_OPERATOR, "invalid operator on id field", node.offset)
            if left.category != "text" or literal.kind != "string":
                raise self.type_error(left, literal)
            assert isinstance(literal.value, StringValue)
            return BoundCompare(left, "LIKE", literal.value.like_pattern)
        if literal.kind == "null":
            if operator not in ("=", "!="):
                raise self.error(MALFORMED_QUERY, f"invalid operator for null: {operator}", node.offset)
            return BoundCompare(left, operator, None)
        value = self.value(left, literal)
        if isinstance(value, _Range):
            return BoundRange(left, operator, value.start, value.end)
        if left.category == "boolean" and operator not in ("=", "!="):
            raise self.error(
                INVALID_QUERY_FILTER_OPERATOR, f"invalid operator on boolean field: {operator}", node.offset
            )
        return BoundCompare(left, operator, value)

    def in_list(self, left: BoundExpression, node: ast.InList) -> BoundCondition:
        if node.operator != "IN":
            raise self.error(
                INVALID_QUERY_FILTER_OPERATOR,
                "includes or excludes operator only valid on multipicklist field",
                node.offset,
            )
        values: list[object] = []
        ranges: list[tuple[object, object]] = []
        has_null = False
        for literal in node.values:
            if literal.kind == "null":
                has_null = True
                continue
            value = self.value(left, literal)
            if isinstance(value, _Range):
                ranges.append((value.start, value.end))
            elif value not in values:
                values.append(value)
        return BoundIn(left, node.negated, tuple(values), tuple(ranges), has_null)

    def semi_join(self, obj: ObjectDescribe, left: BoundExpression, node: ast.InQuery) -> BoundCondition:
        inner_query = node.query
        if not isinstance(left, BoundField) or left.category != "id":
            raise self.error(
                INVALID_FIELD,
                "semi join sub-selects are only allowed on id or reference fields",
                _offset(node.left),
            )
        inner_obj = self.find_object(inner_query.object_name, inner_query.object_offset)
        fields = [i for i in inner_query.select if isinstance(i, ast.SelectField)]
        if len(inner_query.select) != 1 or len(fields) != 1 or not isinstance(fields[0].expression, ast.Path):
            extra = inner_query.select[1] if len(inner_query.select) > 1 else inner_query.select[0]
            offset = extra.offset if isinstance(extra, ast.SelectChild) else extra.expression.offset
            raise self.error(
                MALFORMED_QUERY, "semi join sub-selects must select exactly one id or reference field", offset
            )
        for clause, offset in (
            (inner_query.order_by, inner_query.object_offset),
            (inner_query.limit, inner_query.limit_offset),
            (inner_query.offset, inner_query.offset_offset),
            (inner_query.group_by, inner_query.object_offset),
        ):
            if clause:
                raise self.error(
                    MALFORMED_QUERY,
                    "semi join sub-selects do not support GROUP BY, ORDER BY, LIMIT or OFFSET",
                    offset or inner_query.object_offset,
                )
        inner = self.bind_body(inner_query, inner_obj)
        column = inner.items[0]
        assert isinstance(column, OutputColumn) and isinstance(column.expression, BoundField)
        inner_field = column.expression.ref
        inner_target = inner_field.owner if inner_field.field.type == "id" else inner_field.field.reference_to
        outer_target = left.ref.owner if left.ref.field.type == "id" else left.ref.field.reference_to
        if inner_field.field.type not in ("id", "reference") or inner_target != outer_target:
            raise self.error(
                INVALID_FIELD,
                f"The selected field '{inner_field.field.name}' in the subquery and the left operand field in the "
                f"where expression in the outer query '{left.ref.field.name}' should point to the same object type",
                fields[0].expression.offset,
            )
        return BoundSemiJoin(left, node.negated, inner)

    def type_error(self, left: BoundExpression, literal: ast.Literal) -> QueryError:
        category = left.category
        soap = {"id": "id", "text": "string", "number": "double", "boolean": "boolean", "date": "date",
                "datetime": "dateTime"}[category]  # fmt: skip
        date_part = isinstance(left, BoundCall) and left.category == "number" and not left.is_aggregate
        if date_part or (isinstance(left, BoundField) and left.ref.field.type == "int"):
            soap = "int"
        quoted = "should be enclosed in quotes" if category in ("id", "text") else "should not be enclosed in quotes"
        if isinstance(left, BoundWrap) and left.ref is None:
            name = left.function
        elif isinstance(left, BoundCall | BoundWrap) and left.is_aggregate:
            name = f"{left.function}({left.ref.field.name if left.ref else ''})"
        else:
            name = left.ref.field.name  # type: ignore[union-attr]
        return self.error(
            INVALID_FIELD,
            f"value of filter criterion for field '{name}' must be of type {soap} and {quoted}",
            literal.offset,
        )

    def value(self, left: BoundExpression, literal: ast.Literal) -> object:
        category = left.category
        kind = literal.kind
        if kind == "date_literal" or (kind == "word" and needs_argument(str(literal.value)) is not None):
            return self.date_literal(left, literal)
        if kind == "word":
            if category in ("date", "datetime"):
                raise self.error(MALFORMED_QUERY, f"unexpected token: '{literal.text}'", literal.offset)
            raise self.type_error(left, literal)
        if category == "text":
            if kind != "string":
                raise self.type_error(left, literal)
            return literal.value.value  # type: ignore[union-attr]
        if category == "id":
            if kind != "string":
                raise self.type_error(left, literal)
            raw = literal.value.value  # type: ignore[union-attr]
            normalized = normalize_id(raw)
            if normalized is None:
                raise self.error(INVALID_QUERY_FILTER_OPERATOR, f"invalid ID field: {raw}", literal.offset)
            return normalized
        if category == "number":
            if kind != "number":
                raise self.type_error(left, literal)
            return literal.value
        if category == "boolean":
            if kind != "boolean":
                raise self.type_error(left, literal)
            return literal.value
        if category == "date":
            if kind != "date":
                raise self.type_error(left, literal)
            try:
                return parse_date(literal.text)
            except ValueError:
                raise self.error(MALFORMED_QUERY, f"invalid date: {literal.text}", literal.offset) from None
        if kind != "datetime":
            raise self.type_error(left, literal)
        try:
            return parse_datetime(literal.text)
        except ValueError:
            raise self.error(MALFORMED_QUERY, f"invalid dateTime: {literal.text}", literal.offset) from None

    def date_literal(self, left: BoundExpression, literal: ast.Literal) -> _Range:
        if left.category not in ("date", "datetime"):
            raise self.type_error(left, literal)
        name = str(literal.value)
        wants = needs_argument(name)
        if wants is None:
            raise self.error(MALFORMED_QUERY, f"unexpected token: '{literal.text}'", literal.offset)
        if wants and literal.argument is None:
            raise self.error(MALFORMED_QUERY, f"Date literal {name} needs a number: {name}:n", literal.offset)
        if not wants and literal.argument is not None:
            raise self.error(MALFORMED_QUERY, f"Date literal {name} does not take a number", literal.offset)
        start, end = literal_range(name, literal.argument, self.today)
        if left.category == "datetime":
            return _Range(dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time()))
        return _Range(start, end)


@dataclass(frozen=True, slots=True)
class _Range:
    start: object
    end: object


def _expression_key(expression: BoundExpression) -> tuple:
    if isinstance(expression, BoundField):
        return ("field",) + expression.ref.key
    if isinstance(expression, BoundWrap):
        if expression.function == "GROUPING" or expression.inner is None:
            return (expression.function, id(expression))
        return _expression_key(expression.inner)
    return (expression.function,) + (expression.ref.key if expression.ref else ())


def _offset(expression: ast.Expression) -> int:
    if isinstance(expression, ast.Call):
        return _offset(expression.argument) if expression.argument is not None else expression.offset
    return expression.offset


def _source_name(expression: ast.Expression) -> str:
    if isinstance(expression, ast.Path):
        return ".".join(expression.parts)
    argument = _source_name(expression.argument) if expression.argument else ""
    return f"{expression.function}({argument})"


def _child_subqueries(query: ast.Query) -> list[ast.SelectChild]:
    """Every child subquery of `query`, those nested in child subqueries included, in text order."""
    found = []
    for item in query.select:
        if isinstance(item, ast.SelectChild):
            found.append(item)
            found.extend(_child_subqueries(item.query))
    return sorted(found, key=lambda c: c.offset)
