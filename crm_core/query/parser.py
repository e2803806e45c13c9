"""Recursive-descent parser of SOQL into the syntax tree of :mod:`crm_core.query.ast`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from crm_core.query.ast import (
    AGGREGATE_FUNCTIONS,
    DATE_FUNCTIONS,
    FUNCTIONS,
    WRAPPER_FUNCTIONS,
    BoolOp,
    Call,
    CategoryFilter,
    Comparison,
    Condition,
    Expression,
    InList,
    InQuery,
    Literal,
    Not,
    OrderItem,
    Path,
    PathAlias,
    Query,
    SelectChild,
    SelectField,
    SelectFields,
    SelectItem,
    SelectTypeOf,
    TypeOfWhen,
)
from crm_core.query.errors import MALFORMED_QUERY, QueryError
from crm_core.query.lexer import RESERVED, Kind, StringValue, Token, tokenize

T = TypeVar("T")
MAX_NESTING = 50  # parenthesized condition levels; deeper queries are rejected, not recursed into
MAX_CHILD_LEVELS = 4  # child subqueries below the root (REST API 58.0 and later: five levels in all)
_CLAUSE_WORDS = frozenset(
    {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "WITH", "FOR", "USING", "UPDATE", "TYPEOF", "WHEN",
     "THEN", "ELSE", "END"}
)  # fmt: skip
SECURITY_MODES = ("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE")
CATEGORY_SELECTORS = ("AT", "ABOVE", "BELOW", "ABOVE_OR_BELOW")
FIELDS_KINDS = ("ALL", "STANDARD", "CUSTOM")
_SHOWN_BARE = RESERVED | _CLAUSE_WORDS | {"SELECT", "BY"}  # keywords appear unquoted in "unexpected token"


def parse_soql(query: str) -> Query:
    """Parse a SOQL query; raise :class:`QueryError` (MALFORMED_QUERY) with row and column."""
    parser = Parser(query, tokenize(query))
    result = parser.query(top_level=True)
    parser.expect_eof()
    return result


class Parser:
    """Token cursor with the SOQL grammar's productions (also used by the SOSL parser)."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.child_depth = 0  # levels of child subqueries around the query being parsed

    # --- cursor ---------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.EOF:
            self.index += 1
        return token

    def unexpected(self, token: Token | None = None) -> QueryError:
        token = token or self.current
        if token.kind is Kind.EOF:
            shown = "<EOF>"
        elif token.kind is Kind.STRING or (token.kind is Kind.IDENT and token.text.upper() in _SHOWN_BARE):
            shown = token.text
        else:
            shown = f"'{token.text}'"
        return QueryError(MALFORMED_QUERY, f"unexpected token: {shown}", self.text, token.offset)

    def keyword(self, *words: str) -> bool:
        """Consume the current token if it is one of `words` (case-insensitive)."""
        if self.current.is_keyword(*words):
            self.advance()
            return True
        return False

    def expect_keyword(self, word: str) -> Token:
        if not self.current.is_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: Kind) -> Token:
        if self.current.kind is not kind:
            raise self.unexpected()
        return self.advance()

    def expect_eof(self) -> None:
        if self.current.kind is not Kind.EOF:
            raise self.unexpected()

    # --- query ----------------------------------------------------------------------------

    def query(self, *, top_level: bool = False, nested: bool = False, child: bool = False) -> Query:
        select_token = self.expect_keyword("SELECT")
        select = self.select_list(allow_children=top_level or (child and self.child_depth < MAX_CHILD_LEVELS))
        self.expect_keyword("FROM")
        object_token = self.expect(Kind.IDENT)
        prefix = None
        if child and self.current.kind is Kind.DOT:
            # A child subquery may name its parent object: ``FROM Account.Contacts``.
            self.advance()
            prefix, object_token = object_token.text, self.expect(Kind.IDENT)
        alias = None
        if (
            self.current.kind is Kind.IDENT
            and self.current.text.upper() not in RESERVED | _CLAUSE_WORDS
            or (self.current.is_keyword("ORDER") and not self.peek().is_keyword("BY"))
        ):
            alias = self.advance().text
        path_aliases = self.path_aliases() if not child else ()
        result = self.clauses(select, object_token, alias, select_token.offset, nested=nested)
        if path_aliases:
            result = replace(result, path_aliases=path_aliases)
        return replace(result, object_prefix=prefix) if prefix else result

    def path_aliases(self) -> tuple[PathAlias, ...]:
        """``, c.Account a, a.Owner o`` after ``FROM Contact c``: relationship paths named in FROM."""
        named = []
        while self.current.kind is Kind.COMMA:
            self.advance()
            path = self.path()
            token = self.current
            if token.kind is not Kind.IDENT or token.text.upper() in RESERVED | _CLAUSE_WORDS:
                raise self.unexpected()
            self.advance()
            named.append(PathAlias(token.text, path, token.offset))
        return tuple(named)

    def clauses(
        self,
        select: tuple[SelectItem, ...],
        object_token: Token,
        alias: str | None,
        select_offset: int,
        *,
        nested: bool,
    ) -> Query:
        scope = scope_offset = None
        if self.current.is_keyword("USING") and self.peek().is_keyword("SCOPE"):
            self.index += 2
            scope_offset = self.current.offset
            scope = self.expect(Kind.IDENT).text
        elif nested and self.current.is_keyword("USING") and self.peek().is_keyword("LISTVIEW"):
            self.index += 2  # SOSL's USING ListView = name: no list views in a local org, no effect
            if self.current.kind is not Kind.OP or self.current.value != "=":
                raise self.unexpected()
            self.advance()
            self.expect(Kind.IDENT)
        where = self.condition(nested=nested) if self.keyword("WHERE") else None
        security = None
        categories: tuple[CategoryFilter, ...] = ()
        category_offset = None
        if self.keyword("WITH"):
            if self.current.is_keyword("DATA") and self.peek().is_keyword("CATEGORY"):
                category_offset = self.current.offset
                self.index += 2
                categories = self.category_filters()
            elif self.current.is_keyword(*SECURITY_MODES):
                security = self.advance().text.upper()
            else:
                raise self.unexpected()
        group_by: tuple[Expression, ...] = ()
        grouping = grouping_offset = None
        if self.current.is_keyword("GROUP") and self.peek().is_keyword("BY"):
            self.index += 2
            if self.current.is_keyword("ROLLUP", "CUBE") and self.peek().kind is Kind.LPAREN:
                grouping, grouping_offset = self.current.text.upper(), self.current.offset
                self.index += 2
                group_by = self.comma_list(self.expression)
                self.expect(Kind.RPAREN)
            else:
                group_by = self.comma_list(self.expression)
        having = self.condition(nested=nested) if group_by and self.keyword("HAVING") else None
        order_by: tuple[OrderItem, ...] = ()
        if self.current.is_keyword("ORDER") and self.peek().is_keyword("BY"):
            self.index += 2
            order_by = self.comma_list(self.order_item)
        limit = limit_offset = offset = offset_offset = None
        if self.current.is_keyword("LIMIT"):
            self.advance()
            limit_offset = self.current.offset
            limit = self.integer()
        if self.current.is_keyword("OFFSET"):
            self.advance()
            offset_offset = self.current.offset
            offset = self.integer()
        for_clauses: list[str] = []
        update = None
        if self.current.is_keyword("FOR") and self.peek().is_keyword("VIEW", "REFERENCE"):
            for_clauses.append(self.peek().text.upper())
            self.index += 2
        if self.current.is_keyword("UPDATE") and self.peek().is_keyword("TRACKING", "VIEWSTAT"):
            update = self.peek().text.upper()
            self.index += 2
        if self.current.is_keyword("FOR") and self.peek().is_keyword("UPDATE"):
            for_clauses.append("UPDATE")
            self.index += 2
        return Query(
            select=select,
            object_name=object_token.text,
            object_offset=object_token.offset,
            alias=alias,
            where=where,
            group_by=group_by,
            having=having,
            order_by=order_by,
            limit=limit,
            limit_offset=limit_offset,
            offset=offset,
            offset_offset=offset_offset,
            select_offset=select_offset,
            scope=scope,
            scope_offset=scope_offset,
            security=security,
            data_categories=categories,
            data_category_offset=category_offset,
            grouping=grouping,
            grouping_offset=grouping_offset,
            for_clauses=tuple(for_clauses),
            update=update,
        )

    def category_filters(self) -> tuple[CategoryFilter, ...]:
        """``Group__c AT|ABOVE|BELOW|ABOVE_OR_BELOW category`` or ``(c1, c2)``, joined by AND."""
        filters = []
        while True:
            group = self.expect(Kind.IDENT)
            if not self.current.is_keyword(*CATEGORY_SELECTORS):
                raise self.unexpected()
            selector = self.advance().text.upper()
            if self.current.kind is Kind.LPAREN:
                self.advance()
                names = self.comma_list(lambda: self.expect(Kind.IDENT))
                self.expect(Kind.RPAREN)
            else:
                names = (self.expect(Kind.IDENT),)
            categories = tuple((t.text, t.offset) for t in names)
            filters.append(CategoryFilter(group.text, selector, categories, group.offset))
            if not self.keyword("AND"):
                return tuple(filters)

    def integer(self) -> int:
        token = self.current
        if token.kind is not Kind.NUMBER or not isinstance(token.value, int) or token.text[0] in "+-":
            raise self.unexpected()
        self.advance()
        return token.value

    def comma_list(self, item: Callable[[], T]) -> tuple[T, ...]:
        items = [item()]
        while self.current.kind is Kind.COMMA:
            self.advance()
            items.append(item())
        return tuple(items)

    def select_list(self, *, allow_children: bool) -> tuple[SelectItem, ...]:
        items: list[SelectItem] = []
        while True:
            token = self.current
            if token.kind is Kind.LPAREN and self.peek().is_keyword("SELECT"):
                if not allow_children:
                    raise self.unexpected()
                start = self.advance()
                self.child_depth += 1
                items.append(SelectChild(self.query(nested=True, child=True), start.offset))
                self.child_depth -= 1
                self.expect(Kind.RPAREN)
            elif token.is_keyword("FIELDS") and self.peek().kind is Kind.LPAREN:
                self.index += 2
                if not self.current.is_keyword(*FIELDS_KINDS):
                    raise self.unexpected()
                kind = self.advance().text.upper()
                self.expect(Kind.RPAREN)
                items.append(SelectFields(kind, token.offset))
            elif token.is_keyword("TYPEOF") and self.peek().kind is Kind.IDENT:
                items.append(self.type_of())
            else:
                expression = self.expression()
                alias = alias_offset = None
                token = self.current
                if token.kind is Kind.IDENT and token.text.upper() not in RESERVED | _CLAUSE_WORDS:
                    alias, alias_offset = token.text, token.offset
                    self.advance()
                items.append(SelectField(expression, alias, alias_offset))
            if self.current.kind is not Kind.COMMA:
                return tuple(items)
            self.advance()

    def type_of(self) -> SelectTypeOf:
        """``TYPEOF relationship WHEN Type THEN fields [WHEN ...] [ELSE fields] END``."""
        start = self.advance()
        relationship = self.expect(Kind.IDENT).text
        whens: list[TypeOfWhen] = []
        while self.current.is_keyword("WHEN"):
            self.advance()
            type_token = self.expect(Kind.IDENT)
            self.expect_keyword("THEN")
            whens.append(TypeOfWhen(type_token.text, type_token.offset, self.comma_list(self.path)))
        if not whens:
            raise self.unexpected()
        otherwise: tuple[Path, ...] = ()
        if self.keyword("ELSE"):
            otherwise = self.comma_list(self.path)
        self.expect_keyword("END")
        return SelectTypeOf(relationship, start.offset, tuple(whens), otherwise)

    def expression(self) -> Expression:
        """A field path, or a function call over one."""
        token = self.current
        if token.kind is not Kind.IDENT or token.text.upper() in RESERVED:
            raise self.unexpected()
        name = token.text.upper()
        if self.peek().kind is Kind.LPAREN and name in FUNCTIONS:
            self.index += 2
            if name == "DISTANCE":
                return self.distance(token)
            argument: Path | Call | None = None
            if self.current.kind is Kind.RPAREN:
                if name != "COUNT":
                    raise self.unexpected()
            elif name == "FORMAT" or (name in DATE_FUNCTIONS and self.current.is_keyword("CONVERTTIMEZONE")):
                argument = self.expression()
            else:
                argument = self.path()
            self.expect(Kind.RPAREN)
            if (
                name == "FORMAT"
                and isinstance(argument, Call)
                and argument.function not in (AGGREGATE_FUNCTIONS | WRAPPER_FUNCTIONS)
            ):
                raise QueryError(MALFORMED_QUERY, f"Unknown function: {argument.function}", self.text, argument.offset)
            return Call(name, argument, token.offset)
        if self.peek().kind is Kind.LPAREN:
            raise QueryError(MALFORMED_QUERY, f"Unknown function: {token.text}", self.text, token.offset)
        return self.path()

    def distance(self, token: Token) -> Call:
        """The rest of ``DISTANCE(field, GEOLOCATION(latitude, longitude), 'mi' | 'km')``."""
        field = self.path()
        self.expect(Kind.COMMA)
        self.expect_keyword("GEOLOCATION")
        self.expect(Kind.LPAREN)
        latitude = self.expect(Kind.NUMBER)
        self.expect(Kind.COMMA)
        longitude = self.expect(Kind.NUMBER)
        self.expect(Kind.RPAREN)
        self.expect(Kind.COMMA)
        unit = self.expect(Kind.STRING)
        self.expect(Kind.RPAREN)
        assert isinstance(unit.value, StringValue)
        point = (float(latitude.value), float(longitude.value), unit.value.value)  # type: ignore[arg-type]
        return Call("DISTANCE", field, token.offset, point)

    def path(self) -> Path:
        token = self.current
        if token.kind is not Kind.IDENT or token.text.upper() in RESERVED:
            raise self.unexpected()
        self.advance()
        parts, offsets = [token.text], [token.offset]
        while self.current.kind is Kind.DOT:
            self.advance()
            part = self.current
            if part.kind is not Kind.IDENT:
                raise self.unexpected()
            self.advance()
            parts.append(part.text)
            offsets.append(part.offset)
        return Path(tuple(parts), token.offset, tuple(offsets))

    def order_item(self) -> OrderItem:
        start = self.current.offset
        expression = self.expression()
        descending = False
        if self.keyword("DESC"):
            descending = True
        else:
            self.keyword("ASC")
        nulls_last = None
        if self.keyword("NULLS"):
            if self.keyword("LAST"):
                nulls_last = True
            else:
                self.expect_keyword("FIRST")
                nulls_last = False
        return OrderItem(expression, descending, nulls_last, start)

    # --- conditions -----------------------------------------------------------------------

    def condition(self, *, nested: bool = False) -> Condition:
        """A condition: ``NOT x``, or simple conditions joined by only AND or only OR."""
        if self.keyword("NOT"):
            result: Condition = Not(self.simple_condition(nested))
            if self.current.is_keyword("AND", "OR"):
                raise self.unexpected()
            return result
        first = self.simple_condition(nested)
        if not self.current.is_keyword("AND", "OR"):
            return first
        operator = self.current.text.upper()
        items = [first]
        while self.current.is_keyword("AND", "OR"):
            if self.current.text.upper() != operator:
                raise self.unexpected()
            self.advance()
            items.append(self.simple_condition(nested))
        return BoolOp(operator, tuple(items))

    def simple_condition(self, nested: bool) -> Condition:
        if self.current.kind is Kind.LPAREN:
            start = self.advance()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise QueryError(
                    MALFORMED_QUERY,
                    f"conditions are nested more than {MAX_NESTING} levels deep",
                    self.text,
                    start.offset,
                )
            inner = self.condition(nested=nested)
            self.expect(Kind.RPAREN)
            self.depth -= 1
            return inner
        left = self.expression()
        token = self.current
        if token.kind is Kind.OP:
            self.advance()
            return Comparison(left, token.value, self.value(), token.offset)
        if token.is_keyword("LIKE"):
            self.advance()
            return Comparison(left, "LIKE", self.value(), token.offset)
        negated = False
        if token.is_keyword("NOT") and self.peek().is_keyword("IN"):
            self.advance()
            negated = True
        if self.current.is_keyword("IN", "INCLUDES", "EXCLUDES"):
            operator = self.advance().text.upper()
            self.expect(Kind.LPAREN)
            if self.current.is_keyword("SELECT") and operator == "IN":
                if nested:
                    raise QueryError(
                        MALFORMED_QUERY, "Nesting of semi join sub-selects is not supported", self.text, token.offset
                    )
                subquery = self.query(nested=True)
                self.expect(Kind.RPAREN)
                return InQuery(left, negated, subquery, token.offset)
            values = self.comma_list(self.value)
            self.expect(Kind.RPAREN)
            return InList(left, negated, values, token.offset, operator)
        raise self.unexpected()

    def value(self) -> Literal:
        token = self.current
        kind = token.kind
        if kind is Kind.STRING:
            self.advance()
            assert isinstance(token.value, StringValue)
            return Literal("string", token.value, token.text, token.offset)
        if kind in (Kind.NUMBER, Kind.DATE, Kind.DATETIME):
            self.advance()
            return Literal(kind.name.lower(), token.value, token.text, token.offset)
        if kind is Kind.IDENT:
            word = token.text.upper()
            self.advance()
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE", token.text, token.offset)
            if word == "NULL":
                return Literal("null", None, token.text, token.offset)
            if self.current.kind is Kind.COLON:
                self.advance()
                number = self.current
                if number.kind is not Kind.NUMBER or not isinstance(number.value, int) or number.text[0] in "+-":
                    raise self.unexpected()
                self.advance()
                return Literal("date_literal", word, f"{token.text}:{number.text}", token.offset, number.value)
            return Literal("word", word, token.text, token.offset)
        raise self.unexpected()
