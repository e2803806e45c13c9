"""SOSL: ``FIND {terms} [IN ... FIELDS] [RETURNING Obj(fields WHERE ... ORDER BY ... LIMIT n), ...] [LIMIT n]``.

Candidates are pre-filtered in SQL with bound, case-insensitive ``LIKE '%fragment%'`` patterns
on the searched columns (a necessary condition for a match); the exact token semantics
(words, phrases, wildcards, AND / OR / AND NOT) then run in Python, and the matches are ranked
by relevance: name-field matches first, then the number of matched terms, then occurrences.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, String, and_, func, literal, literal_column, or_, select

from crm_core.org.metadata import FieldDescribe, ObjectDescribe, describe_org
from crm_core.query.binder import Binder, BoundField, BoundQuery, FieldRef, OutputColumn, category_of
from crm_core.query.engine import connected, guarded, utc_today
from crm_core.query.errors import MALFORMED_QUERY, MALFORMED_SEARCH, QueryError, check_statement_length
from crm_core.query.fulltext import (
    ContainsWords,
    best_matches,
    has_search_index,
    has_word_positions,
    ids_follow_rowids,
    index_word,
    indexed_columns,
    non_ascii_rows,
    record_ids,
    shadowed,
    term_query,
    word_positions,
)
from crm_core.query.lexer import Kind, tokenize
from crm_core.query.parser import MAX_NESTING, Parser
from crm_core.query.planner import Plan, category_conditions, ci_like, plan_query
from crm_core.query.serializer import record

MAX_RESULTS = 2000
_RESERVED = set("&|!{}[]^~:'+-")
_WORD = re.compile(r"[^\W_]+")
_SCOPES = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
MAX_HIGHLIGHTED = 25  # records per object that WITH HIGHLIGHT marks up
DEFAULT_SNIPPET_LENGTH = 120
_SNIPPET_OBJECTS = frozenset({"Knowledge__kav", "Case"})  # article and case searches have snippets
_MARKED_TYPES = frozenset({"string", "textarea", "email"})
_EXTRA_NAME_FIELDS = {"Case": ("Subject",)}
_DIRECT_IDS = 2000  # up to this many rows' Ids are looked up row by row, more by walking the Id index


# --- search expression -------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word or quoted phrase: its tokens (``*`` and ``?`` kept as wildcards) in order."""

    text: str
    tokens: tuple[str | re.Pattern, ...]
    fragment: str  # the longest literal run, for the SQL pre-filter


@dataclass(frozen=True)
class AllOf:
    items: tuple[SearchExpression, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[SearchExpression, ...]


@dataclass(frozen=True)
class Without:
    left: SearchExpression
    right: SearchExpression


SearchExpression = Term | AllOf | AnyOf | Without


@dataclass(frozen=True)
class _Piece:
    kind: str  # word, phrase, (, ), AND, OR, NOT
    chars: tuple[tuple[str, bool], ...]  # (character, is wildcard)
    offset: int


class _SearchParser:
    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.pieces = self._lex(start, end)
        self.index = 0
        self.depth = 0

    def error(self, message: str, offset: int) -> QueryError:
        return QueryError(MALFORMED_SEARCH, message, self.text, offset)

    def _lex(self, start: int, end: int) -> list[_Piece]:
        text, pieces, pos = self.text, [], start
        word: list[tuple[str, bool]] = []
        word_start = start

        def flush() -> None:
            if word:
                literal = "".join(c for c, w in word if not w)
                kind = (
                    literal.upper() if len(literal) == len(word) and literal.upper() in ("AND", "OR", "NOT") else "word"
                )
                pieces.append(_Piece(kind, tuple(word), word_start))
                word.clear()

        while pos < end:
            char = text[pos]
            if char.isspace():
                flush()
                pos += 1
            elif char == "\\":
                if pos + 1 >= end:
                    raise self.error("unexpected end of search term after '\\'", pos)
                if not word:
                    word_start = pos
                word.append((text[pos + 1], False))
                pos += 2
            elif char in "()":
                flush()
                pieces.append(_Piece(char, (), pos))
                pos += 1
            elif char == '"':
                flush()
                close = pos + 1
                chars: list[tuple[str, bool]] = []
                while close < end and text[close] != '"':
                    if text[close] == "\\" and close + 1 < end:
                        chars.append((text[close + 1], False))
                        close += 2
                        continue
                    chars.append((text[close], text[close] in "*?"))
                    close += 1
                if close >= end:
                    raise self.error("unmatched quote in search term", pos)
                pieces.append(_Piece("phrase", tuple(chars), pos))
                pos = close + 1
            elif char in _RESERVED:
                raise self.error(
                    f"line 1:{pos} no viable alternative at character '{char}' (escape it with a backslash)", pos
                )
            else:
                if not word:
                    word_start = pos
                word.append((char, char in "*?"))
                pos += 1
        flush()
        return pieces

    @property
    def current(self) -> _Piece | None:
        return self.pieces[self.index] if self.index < len(self.pieces) else None

    def parse(self, brace_offset: int) -> SearchExpression:
        if not self.pieces:
            raise self.error("No search term found. The search term must be enclosed in braces.", brace_offset)
        expression = self.any_of()
        if self.current is not None:
            raise self.error(f"unexpected token: '{self._shown(self.current)}'", self.current.offset)
        terms = [p for p in self.pieces if p.kind in ("word", "phrase")]
        if all(_one_character(p) for p in terms):
            # Salesforce applies the rule to the whole search term: `FIND {Summit 3 Duffel Bag}` is
            # valid, `FIND {a}` and `FIND {a OR b}` are not.
            raise self.error("search term must be longer than one character", terms[0].offset)
        return expression

    def _shown(self, piece: _Piece) -> str:
        return "".join(c for c, _ in piece.chars) or piece.kind

    def any_of(self) -> SearchExpression:
        items = [self.all_of()]
        while self.current is not None and self.current.kind == "OR":
            self.index += 1
            items.append(self.all_of())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def all_of(self) -> SearchExpression:
        result = self.unary()
        items = [result]
        while self.current is not None and self.current.kind not in ("OR", ")"):
            if self.current.kind == "AND":
                self.index += 1
                if self.current is not None and self.current.kind == "NOT":
                    self.index += 1
                    left = items[0] if len(items) == 1 else AllOf(tuple(items))
                    items = [Without(left, self.unary())]
                    continue
            items.append(self.unary())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def unary(self) -> SearchExpression:
        piece = self.current
        if piece is None:
            raise self.error("unexpected end of search term", len(self.text))
        self.index += 1
        if piece.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.error(f"search terms are nested more than {MAX_NESTING} levels deep", piece.offset)
            inner = self.any_of()
            self.depth -= 1
            if self.current is None or self.current.kind != ")":
                raise self.error("missing ')' in search term", piece.offset)
            self.index += 1
            return inner
        if piece.kind in ("word", "phrase"):
            return self.term(piece)
        raise self.error(f"unexpected token: '{self._shown(piece)}'", piece.offset)

    def term(self, piece: _Piece) -> Term:
        tokens: list[str | re.Pattern] = []
        current: list[tuple[str, bool]] = []
        fragments: list[str] = []

        def close() -> None:
            if not current:
                return
            if current[0][1]:
                raise self.error("a wildcard (* or ?) cannot start a search term", piece.offset)
            if any(w for _, w in current):
                pattern = "".join((".*" if c == "*" else ".") if w else re.escape(c.lower()) for c, w in current)
                tokens.append(re.compile(pattern))
            else:
                tokens.append("".join(c for c, _ in current).lower())
            fragments.extend(re.split(r"[*?]", "".join(c if not w else "*" for c, w in current).lower()))
            current.clear()

        for char, wildcard in piece.chars:
            if wildcard or char.isalnum():
                current.append((char, wildcard))
            else:
                close()
        close()
        text = "".join(c for c, _ in piece.chars)
        return Term(text, tuple(tokens), max(fragments, key=len, default=""))


def _one_character(piece: _Piece) -> bool:
    """A word or phrase of at most one literal letter or digit and nothing else (``a``, ``7``)."""
    return sum(1 for c, w in piece.chars if not w and c.isalnum()) < 2 and len(piece.chars) < 2


# --- query -------------------------------------------------------------------------------------


@dataclass
class _Target:
    plan: Plan
    search_start: int  # first searched column in the row
    search_fields: tuple[FieldDescribe, ...]
    name_flags: tuple[bool, ...]
    limit: int | None
    ordered: bool
    table: Any
    offset: int = 0
    positional: bool = False  # the index's word positions decide matches and ranking (SQLite)
    filtered: bool = False  # a WHERE or WITH DATA CATEGORY of its own
    records: Any = None  # the statement without the search condition (WHERE and categories kept)
    like_prefiltered: Any = None  # the statement with the LIKE pre-filter instead of the index's


@dataclass
class SearchOptions:
    """The WITH clauses of a search: HIGHLIGHT, SNIPPET, SPELL_CORRECTION and METADATA."""

    highlight: bool = False
    snippet_length: int | None = None  # WITH SNIPPET [(target_length=n)]
    spell_correction: bool = True  # accepted; terms are matched as written (no correction)
    metadata: bool = False  # WITH METADATA = 'LABELS'


@dataclass
class SearchPlan:
    expression: SearchExpression
    targets: list[_Target]
    limit: int
    options: SearchOptions = field(default_factory=SearchOptions)


def searched_fields(obj: ObjectDescribe, scope: str) -> tuple[FieldDescribe, ...]:
    """The fields of `obj` that ``IN <scope> FIELDS`` searches."""
    if scope == "NAME":
        names = {f.name for f in obj.name_fields} | set(_EXTRA_NAME_FIELDS.get(obj.name, ()))
        return tuple(f for f in obj.fields if f.name in names)
    if scope == "EMAIL":
        return tuple(f for f in obj.fields if f.type == "email")
    if scope == "PHONE":
        return tuple(f for f in obj.fields if f.type == "phone")
    if scope == "SIDEBAR":  # what the sidebar search box searches: names, emails and phones
        names = {f.name for f in searched_fields(obj, "NAME")}
        return tuple(f for f in obj.fields if f.name in names or f.type in ("email", "phone"))
    return tuple(f for f in obj.fields if f.searchable or f.name_field)


@lru_cache(maxsize=512)
def sosl_plan(query: str, today: dt.date, fulltext: str | None = None) -> SearchPlan:
    """Parse, bind and plan a SOSL query (cached per text, today and index): `fulltext` names the
    dialect whose full-text index narrows the candidates (None: the LIKE pre-filter)."""
    check_statement_length(query, "SOSL")
    expression, close = _search_term(query)
    with _as_search_error(query):
        return _plan_rest(query, close + 1, expression, today, fulltext)


def parse_sosl(query: str) -> None:
    """Check only the syntax of a SOSL query (object and field names are not resolved); raise
    QueryError (MALFORMED_SEARCH) where it is not valid SOSL."""
    _, close = _search_term(query)
    with _as_search_error(query):
        parser = Parser(query, tokenize(query, close + 1))
        _scope(parser)
        if parser.keyword("RETURNING"):
            while True:
                token = parser.expect(Kind.IDENT)
                if parser.current.kind is Kind.LPAREN:
                    parser.advance()
                    select = parser.select_list(allow_children=False)
                    parser.clauses(select, token, None, token.offset, nested=True)
                    parser.expect(Kind.RPAREN)
                if parser.current.kind is not Kind.COMMA:
                    break
                parser.advance()
        _options(parser, None, [])
        _limit_and_update(parser)
        parser.expect_eof()


def _search_term(query: str) -> tuple[SearchExpression, int]:
    """The parsed ``{...}`` of a SOSL query and the offset of its closing brace."""
    start = len(query) - len(query.lstrip())
    if query[start : start + 4].upper() != "FIND":
        raise QueryError(MALFORMED_SEARCH, "unexpected token: expected FIND", query, start)
    pos = start + 4
    while pos < len(query) and query[pos].isspace():
        pos += 1
    if pos >= len(query) or query[pos] != "{":
        raise QueryError(
            MALFORMED_SEARCH, "No search term found. The search term must be enclosed in braces.", query, pos
        )
    close = pos + 1
    while close < len(query) and query[close] != "}":
        close += 2 if query[close] == "\\" else 1
    if close >= len(query):
        raise QueryError(MALFORMED_SEARCH, "missing closing brace '}' after the search term", query, pos)
    return _SearchParser(query, pos + 1, close).parse(pos), close


@contextlib.contextmanager
def _as_search_error(query: str) -> Iterator[None]:
    """SOQL syntax errors inside a search are MALFORMED_SEARCH."""
    try:
        yield
    except QueryError as exc:
        if exc.error_code != MALFORMED_QUERY:
            raise
        raise QueryError(MALFORMED_SEARCH, exc.text, query, _offset_of(query, exc)) from None


def _offset_of(query: str, exc: QueryError) -> int:
    lines = query.split("\n")
    return sum(len(line) + 1 for line in lines[: (exc.row or 1) - 1]) + (exc.column or 1) - 1


def _plan_rest(
    query: str, start: int, expression: SearchExpression, today: dt.date, fulltext: str | None
) -> SearchPlan:
    parser = Parser(query, tokenize(query, start))
    binder = Binder(query, today)
    scope = _scope(parser)
    targets: list[_Target | None] = []
    if parser.keyword("RETURNING"):
        while True:
            targets.append(_returning(parser, binder, scope, expression, fulltext))
            if parser.current.kind is not Kind.COMMA:
                break
            parser.advance()
    else:
        for obj in describe_org().values():
            target = _target(obj, _id_only(obj), scope, expression, None, fulltext)
            if target is not None:
                targets.append(target)
    options = _options(parser, binder, targets)
    limit = _limit_and_update(parser)
    parser.expect_eof()
    return SearchPlan(expression, [t for t in targets if t is not None], limit, options)


def _scope(parser: Parser) -> str:
    """``IN ALL | NAME | EMAIL | PHONE | SIDEBAR FIELDS`` (ALL when absent)."""
    if not parser.keyword("IN"):
        return "ALL"
    if not parser.current.is_keyword(*_SCOPES):
        raise parser.unexpected()
    scope = parser.advance().text.upper()
    parser.expect_keyword("FIELDS")
    return scope


def _limit_and_update(parser: Parser) -> int:
    """``[LIMIT n] [UPDATE TRACKING | VIEWSTAT [, ...]]``: the overall limit (the update clauses
    have no effect: nothing tracks searches in a local org)."""
    limit = MAX_RESULTS
    if parser.current.is_keyword("LIMIT"):
        parser.advance()
        limit = min(parser.integer(), MAX_RESULTS)
    if parser.current.is_keyword("UPDATE") and parser.peek().is_keyword("TRACKING", "VIEWSTAT"):
        parser.advance()
        parser.advance()
        if parser.current.kind is Kind.COMMA and parser.peek().is_keyword("TRACKING", "VIEWSTAT"):
            parser.advance()
            parser.advance()
    return limit


def _options(parser: Parser, binder: Binder | None, targets: list[_Target | None]) -> SearchOptions:
    """``WITH HIGHLIGHT | SNIPPET[(target_length=n)] | SPELL_CORRECTION = b | METADATA = 'LABELS' |
    DATA CATEGORY ... | DIVISION = 'd' | NETWORK = 'id' | NETWORK IN (...) | PricebookId = 'id'``, in
    any order (without `binder`, syntax only). Divisions, networks and price book entitlements have
    no effect: the org has none of them."""
    options = SearchOptions()
    while parser.keyword("WITH"):
        token = parser.current
        if parser.keyword("HIGHLIGHT"):
            options.highlight = True
        elif parser.keyword("SNIPPET"):
            options.snippet_length = DEFAULT_SNIPPET_LENGTH
            if parser.current.kind is Kind.LPAREN:
                parser.advance()
                parser.expect_keyword("TARGET_LENGTH")
                _expect_equals(parser)
                length_token = parser.current
                options.snippet_length = parser.integer()
                if not 100 <= options.snippet_length <= 500:
                    raise QueryError(
                        MALFORMED_SEARCH, "target_length must be between 100 and 500", parser.text, length_token.offset
                    )
                parser.expect(Kind.RPAREN)
        elif parser.keyword("SPELL_CORRECTION"):
            _expect_equals(parser)
            if not parser.current.is_keyword("TRUE", "FALSE"):
                raise parser.unexpected()
            options.spell_correction = parser.advance().text.upper() == "TRUE"
        elif parser.keyword("METADATA"):
            _expect_equals(parser)
            value = parser.expect(Kind.STRING)
            if value.text.upper() != "'LABELS'":
                raise QueryError(MALFORMED_SEARCH, f"unexpected token: {value.text}", parser.text, value.offset)
            options.metadata = True
        elif token.is_keyword("DATA") and parser.peek().is_keyword("CATEGORY"):
            parser.advance()
            parser.advance()
            filters = parser.category_filters()
            if binder is None:
                continue
            articles = [t for t in targets if t is not None and t.plan.object_name == "Knowledge__kav"]
            selections = binder.category_selections(filters, "Knowledge__kav", token.offset)
            for target in articles:
                conditions = category_conditions(selections, target.table)
                target.plan.statement = target.plan.statement.where(*conditions)
                target.records = target.records.where(*conditions)
                target.like_prefiltered = target.like_prefiltered.where(*conditions)
                target.filtered = True
        elif parser.keyword("DIVISION", "PRICEBOOKID"):
            _expect_equals(parser)
            parser.expect(Kind.STRING)
        elif parser.keyword("NETWORK"):
            if parser.keyword("IN"):
                parser.expect(Kind.LPAREN)
                parser.comma_list(lambda: parser.expect(Kind.STRING))
                parser.expect(Kind.RPAREN)
            else:
                _expect_equals(parser)
                parser.expect(Kind.STRING)
        else:
            raise parser.unexpected()
    return options


def _expect_equals(parser: Parser) -> None:
    token = parser.expect(Kind.OP)
    if token.value != "=":
        raise parser.unexpected(token)


def _id_only(obj: ObjectDescribe) -> BoundQuery:
    id_field = obj.field("Id")
    assert id_field is not None
    column = OutputColumn("Id", BoundField(FieldRef((), id_field, obj.name), category_of("id")))
    return BoundQuery(obj, (column,), None, (), None, (), None, None, False, False)


def _returning(
    parser: Parser, binder: Binder, scope: str, expression: SearchExpression, fulltext: str | None
) -> _Target | None:
    token = parser.expect(Kind.IDENT)
    obj = binder.find_object(token.text, token.offset)
    if parser.current.kind is not Kind.LPAREN:
        return _target(obj, _id_only(obj), scope, expression, None, fulltext)
    parser.advance()
    select = parser.select_list(allow_children=False)
    parsed = parser.clauses(select, token, None, token.offset, nested=True)
    parser.expect(Kind.RPAREN)
    if parsed.group_by or parsed.having:
        raise QueryError(MALFORMED_SEARCH, "GROUP BY is not supported in SOSL", parser.text, token.offset)
    bound = binder.bind_body(parsed, obj)
    if bound.aggregate:
        raise QueryError(MALFORMED_SEARCH, "Aggregate functions are not supported in SOSL", parser.text, token.offset)
    unlimited = BoundQuery(**{**bound.__dict__, "limit": None, "offset": None})
    target = _target(obj, unlimited, scope, expression, bound.limit, fulltext)
    if target is not None:
        target.offset = bound.offset or 0
        target.filtered = bound.where is not None
    return target


def _target(
    obj: ObjectDescribe,
    bound: BoundQuery,
    scope: str,
    expression: SearchExpression,
    limit: int | None,
    fulltext: str | None,
) -> _Target | None:
    fields = searched_fields(obj, scope)
    if not fields:
        return None
    names = {f.name for f in obj.name_fields} | set(_EXTRA_NAME_FIELDS.get(obj.name, ()))
    plan = plan_query(bound)
    table = plan.statement.selected_columns[0].table
    columns = [table.c[f.name] for f in fields]
    start = len(plan.statement.selected_columns)
    index = (table, fulltext) if fulltext is not None and indexed_columns(obj) else None
    unfiltered = plan.statement.add_columns(*columns)
    plan.statement = unfiltered.where(_prefilter(expression, columns, fields, index))
    # without ORDER BY, matches are ranked (ties by Id) in Python
    flags = tuple(f.name in names for f in fields)
    positional = fulltext == "sqlite" and _index_decides(expression, fields, indexed_columns(obj))
    target = _Target(plan, start, fields, flags, limit, bool(bound.order_by), table, positional=positional)
    target.records = unfiltered
    # rows with non-ASCII text are matched in Python among those of the LIKE pre-filter, exactly
    # as without the index (FTS5 splits and folds such text its own way)
    target.like_prefiltered = unfiltered.where(_prefilter(expression, columns, fields, None))
    return target


def _terms(expression: SearchExpression) -> Iterator[Term]:
    if isinstance(expression, Term):
        yield expression
    elif isinstance(expression, Without):
        yield from _terms(expression.left)
        yield from _terms(expression.right)
    else:
        for item in expression.items:
            yield from _terms(item)


def _index_decides(expression: SearchExpression, fields: tuple[FieldDescribe, ...], indexed: list[str]) -> bool:
    """Whether the index's word positions give exactly SOSL's matches and counts: every searched
    field is indexed, every term word is ASCII letters and digits (a trailing ``*`` at most), and no
    term with a digit meets a phone field (whose digits SOSL also matches run together)."""
    terms = list(_terms(expression))
    phones = any(f.type == "phone" for f in fields)
    return (
        all(f.name in indexed for f in fields)
        and all(index_word(token) is not None for term in terms for token in term.tokens)
        and not (phones and any(any(c.isdigit() for c in term.text) for term in terms))
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefilter(
    expression: SearchExpression,
    columns: list[Any],
    fields: tuple[FieldDescribe, ...],
    index: tuple[Any, str] | None,
) -> Any:
    """A necessary condition for a match, in SQL: the full-text index's (`index` is the table and
    the dialect) or, without one, a LIKE of each term's longest literal fragment."""
    if isinstance(expression, Term):
        if not expression.fragment:
            return or_(*[c.is_not(None) for c in columns])
        fragment = expression.fragment
        query = term_query(expression.tokens, index[1]) if index is not None else None
        tests = []
        if query is not None:
            assert index is not None
            tests.append(ContainsWords(index[0], literal(query, String())))
        for column, described in zip(columns, fields, strict=True):
            if described.type == "phone" and fragment.isdigit():
                pattern = "%" + "%".join(fragment) + "%"  # phones also match their digits run together
            elif query is None:
                pattern = f"%{_like_escape(fragment)}%"
            else:
                continue
            tests.append(ci_like(column, literal(pattern.lower(), String())))
        return or_(*tests)
    if isinstance(expression, AllOf):
        return and_(*[_prefilter(i, columns, fields, index) for i in expression.items])
    if isinstance(expression, AnyOf):
        return or_(*[_prefilter(i, columns, fields, index) for i in expression.items])
    return _prefilter(expression.left, columns, fields, index)


# --- matching ----------------------------------------------------------------------------------


def _token_matches(pattern: str | re.Pattern, token: str) -> bool:
    return pattern == token if isinstance(pattern, str) else pattern.fullmatch(token) is not None


def _count(term: Term, tokens: list[str]) -> int:
    patterns = term.tokens
    if not patterns:
        return 0
    first = patterns[0]
    if len(patterns) == 1:
        if isinstance(first, str):
            return tokens.count(first)
        return sum(1 for token in tokens if first.fullmatch(token))
    width = len(patterns)
    starts = (
        [i for i, token in enumerate(tokens) if token == first]
        if isinstance(first, str)
        else [i for i, token in enumerate(tokens) if first.fullmatch(token)]
    )
    return sum(
        1
        for start in starts
        if start + width <= len(tokens)
        and all(_token_matches(p, tokens[start + i]) for i, p in enumerate(patterns[1:], 1))
    )


class _Field:
    """One searched field's value: lower-cased text, tokenized only when a term may occur in it."""

    __slots__ = ("_tokens", "is_name", "phone", "raw", "text")

    def __init__(self, value: Any, is_name: bool, phone: bool) -> None:
        self.raw = str(value)
        self.text = self.raw.lower()
        self.is_name = is_name
        self.phone = phone
        self._tokens: list[list[str]] | None = None

    def token_lists(self) -> list[list[str]]:
        """Its words; a phone also as one run of its digits (``(415) 555-0101`` -> ``4155550101``)."""
        if self._tokens is None:
            words = _WORD.findall(self.text)
            self._tokens = [words, ["".join(c for c in self.raw if c.isdigit())]] if self.phone else [words]
        return self._tokens


Hits = tuple[int, bool]  # a term's occurrences in a record and whether one is in a name field


def _field_hits(term: Term, fields: list[_Field]) -> Hits:
    """A term's hits in a record's field values, by SOSL's own word splitting."""
    name_hit, total = False, 0
    fragment = term.fragment
    for field_value in fields:
        if fragment and not field_value.phone and fragment not in field_value.text:
            continue  # a term's longest literal run occurs in every text it matches
        for tokens in field_value.token_lists():
            count = _count(term, tokens)
            total += count
            name_hit = name_hit or (field_value.is_name and count > 0)
    return total, name_hit


def _evaluate(expression: SearchExpression, hits_of: Callable[[Term], Hits], hits: dict[Term, Hits]) -> bool:
    """Whether a record matches; `hits` collects the hits of every term evaluated (the score)."""
    if isinstance(expression, Term):
        if expression not in hits:
            hits[expression] = hits_of(expression)
        return hits[expression][0] > 0
    if isinstance(expression, AllOf):
        return all(_evaluate(i, hits_of, hits) for i in expression.items)
    if isinstance(expression, AnyOf):
        return any([_evaluate(i, hits_of, hits) for i in expression.items])  # all: score every term
    return _evaluate(expression.left, hits_of, hits) and not _evaluate(expression.right, hits_of, hits)


def _score(expression: SearchExpression, hits_of: Callable[[Term], Hits]) -> tuple | None:
    """A record's relevance (name-field match, terms matched, occurrences), None when it does not match."""
    hits: dict[Term, Hits] = {}
    if not _evaluate(expression, hits_of, hits):
        return None
    matched = [h for h in hits.values() if h[0] > 0]
    return (any(h[1] for h in matched), len(matched), sum(h[0] for h in matched))


def _row_fields(target: _Target, row: Any, start: int) -> list[_Field]:
    return [
        _Field(row[index], is_name, described.type == "phone")
        for index, (described, is_name) in enumerate(zip(target.search_fields, target.name_flags, strict=True), start)
        if row[index] is not None
    ]


def _ranked_rows(target: _Target, rows: list, expression: SearchExpression) -> list[tuple[tuple, Any]]:
    """(score, row) of the matching `rows`, each record's text read and split in Python."""
    found = []
    for row in rows:
        fields = _row_fields(target, row, target.search_start)
        score = _score(expression, lambda term, fields=fields: _field_hits(term, fields))
        if score is not None:
            found.append((score, row))
    return found


def _rank(target: _Target, found: list[tuple[tuple, Any]], id_of: Callable[[Any], str], cap: int) -> list:
    """The page of `found` (score, item) the target returns: by relevance, ties by Id, unless the
    target has its own ORDER BY (then `found` is already in that order)."""
    if not target.ordered:
        found.sort(key=lambda item: id_of(item[1]))
        found.sort(key=lambda item: item[0], reverse=True)
    end = None if target.limit is None else target.offset + target.limit
    return found[target.offset : end][:cap]


def _matches(
    connection: Connection, target: _Target, expression: SearchExpression, options: SearchOptions, cap: int
) -> list[tuple[tuple, dict]]:
    """The ranked matches of one target as (score, record), at most `cap` (the search's LIMIT)."""
    layout = target.plan.layout
    assert layout is not None
    if target.positional and has_word_positions(connection):
        need = target.offset + min(cap, MAX_RESULTS if target.limit is None else target.limit)
        page = _rank(target, _ranked_from_index(connection, target, expression, need), lambda c: c[1], cap)
        marked = options.highlight or options.snippet_length is not None
        rows = _rows_by_rowid(connection, target, [rowid for _, (rowid, _) in page], marked)
        kept = [(score, rows[rowid]) for score, (rowid, _) in page]
    else:
        rows = connection.execute(target.plan.statement).all()
        kept = _rank(target, _ranked_rows(target, rows, expression), lambda row: row[layout.id_index], cap)
    shaped = [(score, record(row, layout), row) for score, row in kept]
    if options.highlight or options.snippet_length:
        words = _marked_words(expression)
        for position, (_, item, row) in enumerate(shaped):
            if options.snippet_length and target.plan.object_name in _SNIPPET_OBJECTS:
                snippet = _snippet(target, row, words, options.snippet_length)
                if snippet is not None:
                    item["snippet.text"] = snippet
            if position < MAX_HIGHLIGHTED:
                _highlight(target.plan.object_name, item, words)
    return [(score, item) for score, item, _ in shaped]


# --- ranking from the index's word positions (SQLite) -------------------------------------------


def _rowid(target: _Target) -> Any:
    return literal_column(f'"{target.table.name}".rowid')


def _among(target: _Target, rowids: Iterable[int]) -> Any:
    """The target's row is one of `rowids` (one bound JSON array, however many)."""
    listed = select(literal_column("value")).select_from(func.json_each(json.dumps(list(rowids))))
    return _rowid(target).in_(listed.scalar_subquery())


def _ranked_from_index(
    connection: Connection, target: _Target, expression: SearchExpression, need: int
) -> list[tuple[tuple, tuple[int, Any]]]:
    """(score, (rowid, tie key)) of the matches, in the target's ORDER BY when it has one; without
    one, only of the `need` best (and those tied with the last of them). The tie key is the Id, or
    the rowid where the database ranked (Ids then ascend with row ids).

    Each term's occurrences come from the index's word positions, which split ASCII text exactly as
    SOSL does, so no text is read for those rows; rows with non-ASCII text (the partial index lists
    them) are read and split in Python as without the index. Only the matches' Ids are read."""
    object_name = target.plan.object_name
    columns = {f.name: is_name for f, is_name in zip(target.search_fields, target.name_flags, strict=True)}
    foreign = non_ascii_rows(connection, object_name)
    if not (target.filtered or target.ordered):
        best = _best_in_database(connection, target, expression, columns, need, foreign)
        if best is not None:
            return best
    by_term = {term: _term_hits(connection, object_name, term, columns, foreign) for term in set(_terms(expression))}
    scores = _index_scores(expression, by_term)
    scores.update(_foreign_scores(connection, target, expression, foreign))
    if not scores:
        return []
    if target.filtered or target.ordered:  # the target's WHERE and ORDER BY on the matches
        statement = target.records.with_only_columns(
            _rowid(target), target.table.c.Id, maintain_column_froms=False
        ).where(_among(target, scores))
        ids = connection.execute(statement).all()
    else:
        ids = _first_ids(connection, object_name, scores, need)
    return [(scores[rowid], (rowid, record_id)) for rowid, record_id in ids]


def _best_in_database(
    connection: Connection,
    target: _Target,
    expression: SearchExpression,
    columns: dict[str, bool],
    need: int,
    foreign: set[int],
) -> list[tuple[tuple, tuple[int, int]]] | None:
    """(score, (rowid, rowid)) of the `need` best matches by (score, Id), ranked by the database,
    when it can: one term or an AND / OR of terms, each one word, on an object whose Ids ascend with
    its row ids (so ties by Id are ties by row id). The rows with non-ASCII text (`foreign`) are
    matched in Python and merged in. None when the database cannot rank this search."""
    terms = list(dict.fromkeys(_terms(expression)))  # each distinct term once, as _score counts them
    words = [index_word(term.tokens[0]) if len(term.tokens) == 1 else None for term in terms]
    object_name = target.plan.object_name
    if not _flat(expression) or None in words or not ids_follow_rowids(connection, object_name):
        return None
    every = not isinstance(expression, AnyOf)
    best = best_matches(connection, object_name, words, every, columns, foreign, need)  # type: ignore[arg-type]
    found = [(score, (rowid, rowid)) for rowid, score in best]
    found += [(score, (rowid, rowid)) for rowid, score in _foreign_scores(connection, target, expression, foreign)]
    return found


def _foreign_scores(
    connection: Connection, target: _Target, expression: SearchExpression, foreign: set[int]
) -> Iterator[tuple[int, tuple]]:
    """(rowid, score) of the matches among the rows with non-ASCII text, read and matched in Python
    as without the index."""
    if not foreign:
        return
    statement = target.like_prefiltered.add_columns(_rowid(target)).where(_among(target, foreign))
    for row in connection.execute(statement.order_by(None)).all():
        fields = _row_fields(target, row, target.search_start)
        score = _score(expression, lambda term, fields=fields: _field_hits(term, fields))
        if score is not None:
            yield row[-1], score


def _first_ids(connection: Connection, object_name: str, scores: dict[int, tuple], need: int) -> list[tuple[int, str]]:
    """(rowid, Id) of the `need` best matches by (score, Id) and of any tied with them, without
    reading the Ids of every match: the rows of each score, best first, until `need` are read; of
    the last score only its first rows by Id."""
    by_score: dict[tuple, list[int]] = {}
    for rowid, score in scores.items():
        by_score.setdefault(score, []).append(rowid)
    ids: list[tuple[int, str]] = []
    for score in sorted(by_score, reverse=True):
        if len(ids) >= need:
            break
        rowids = by_score[score]
        wanted = need - len(ids)
        first = wanted if len(rowids) > max(wanted, _DIRECT_IDS) else None
        ids.extend(record_ids(connection, object_name, rowids, first))
    return ids


def _flat(expression: SearchExpression) -> bool:
    """One term, or an AND / OR of terms (every term is then evaluated for a matching row)."""
    return isinstance(expression, Term) or (
        isinstance(expression, AllOf | AnyOf) and all(isinstance(i, Term) for i in expression.items)
    )


def _index_scores(expression: SearchExpression, by_term: dict[Term, dict[int, Hits]]) -> dict[int, tuple]:
    """rowid -> score of every row the index's hits make match (those of no term never do)."""
    if not _flat(expression):  # AND NOT or nesting: evaluate each row as the Python matching does
        scores = {}
        for doc in set().union(*by_term.values()):
            score = _score(expression, lambda term, doc=doc: by_term[term].get(doc, (0, False)))
            if score is not None:
                scores[doc] = score
        return scores
    # One term, or AND / OR of terms: every term is evaluated for a matching row (the same
    # score as _score), so the rows come straight from the terms' hits.
    tables = list(by_term.values())
    docs = set(tables[0]).intersection(*tables[1:]) if isinstance(expression, AllOf) else set().union(*tables)
    if len(tables) == 1:
        return {doc: (name_hit, 1, total) for doc, (total, name_hit) in tables[0].items()}
    scores = {}
    for doc in docs:
        found = [table[doc] for table in tables if doc in table]
        scores[doc] = (any(h[1] for h in found), len(found), sum(h[0] for h in found))
    return scores


def _term_hits(
    connection: Connection, object_name: str, term: Term, columns: dict[str, bool], skipped: set[int]
) -> dict[int, Hits]:
    """rowid -> hits of `term` in the searched `columns` (name: is a name field), by the index,
    leaving out the rows `skipped`."""
    words = [index_word(token) for token in term.tokens]
    if not words:
        return {}
    listed = list(columns)
    occurrences = [word_positions(connection, object_name, w, p, listed) for w, p in words]  # type: ignore[misc]
    starts = occurrences[0]
    if len(words) > 1:  # a phrase: its words at consecutive positions of one column
        later = [set(o) for o in occurrences[1:]]
        starts = [
            (doc, col, at)
            for doc, col, at in starts
            if all((doc, col, at + i) in positions for i, positions in enumerate(later, 1))
        ]
    totals = Counter(doc for doc, _, _ in starts)
    names = {doc for doc, col, _ in starts if columns[col]}
    return {doc: (total, doc in names) for doc, total in totals.items() if doc not in skipped}


def _rows_by_rowid(connection: Connection, target: _Target, rowids: list[int], searched: bool) -> dict[int, Any]:
    """The target's rows of `rowids` (known matches): its selected fields, then the searched ones
    when `searched` (for highlights and snippets), then the rowid."""
    if not rowids:
        return {}
    statement = target.records
    if not searched:
        statement = statement.with_only_columns(
            *statement.selected_columns[: target.search_start], maintain_column_froms=False
        )
    statement = statement.add_columns(_rowid(target)).where(_among(target, rowids)).order_by(None)
    return {row[-1]: row for row in connection.execute(statement).all()}


# --- WITH HIGHLIGHT, WITH SNIPPET, WITH METADATA ---------------------------------------------------


def _marked_words(expression: SearchExpression) -> frozenset[str]:
    """The words a match marks up: those of the terms searched for (not after AND NOT), without
    wildcard terms, which Salesforce does not highlight."""
    if isinstance(expression, Term):
        if all(isinstance(t, str) for t in expression.tokens):
            return frozenset(t for t in expression.tokens if isinstance(t, str))
        return frozenset()
    if isinstance(expression, Without):
        return _marked_words(expression.left)
    return frozenset().union(*(_marked_words(i) for i in expression.items))


def _mark(text: str, words: frozenset[str]) -> tuple[str, bool]:
    """`text` with every searched word in ``<mark>`` tags, and whether any was."""
    marked = False

    def replace(match: re.Match) -> str:
        nonlocal marked
        if match.group().lower() in words:
            marked = True
            return f"<mark>{match.group()}</mark>"
        return match.group()

    return _WORD.sub(replace, text), marked


def _highlight(object_name: str, item: dict, words: frozenset[str]) -> None:
    """Add ``highlight.<Field>`` for each selected text, text area or email field with a match."""
    obj = describe_org()[object_name]
    for name, value in list(item.items()):
        described = obj.field(name) if isinstance(value, str) else None
        if described is not None and described.type in _MARKED_TYPES:
            text, marked = _mark(value, words)
            if marked:
                item[f"highlight.{name}"] = text


def _snippet(target: _Target, row: Any, words: frozenset[str], length: int) -> str | None:
    """An excerpt of about `length` characters around the first match: long text (an article's body, a
    case's description) first, then other text fields, names last."""
    fields = target.search_fields
    order = sorted(range(len(fields)), key=lambda i: (target.name_flags[i], fields[i].type != "textarea"))
    for index in order:
        value = row[target.search_start + index]
        if not isinstance(value, str) or target.search_fields[index].type not in _MARKED_TYPES:
            continue
        first = next((m for m in _WORD.finditer(value) if m.group().lower() in words), None)
        if first is None:
            continue
        start = max(0, first.start() - length // 3)
        if start > 0 and value.find(" ", start, first.start()) >= 0:
            start = value.find(" ", start, first.start()) + 1
        end = min(len(value), start + length)
        if end < len(value) and value.rfind(" ", first.end(), end) >= 0:
            end = value.rfind(" ", first.end(), end)
        excerpt, _ = _mark(value[start:end].strip(), words)
        return ("..." if start > 0 else "") + excerpt + ("..." if end < len(value) else "")
    return None


def search_metadata(plan: SearchPlan) -> dict:
    """``searchResultsMetadata`` of WITH METADATA = 'LABELS': the label of each returned field."""
    org = describe_org()
    entities = []
    for target in plan.targets:
        obj = org[target.plan.object_name]
        assert target.plan.layout is not None
        fields = []
        for name, kind, _ in target.plan.layout.entries:
            described = obj.field(name) if kind == "field" else None
            if described is not None:
                fields.append({"name": described.name, "label": described.label})
        entities.append({"entityName": obj.name, "fieldMetadata": fields})
    return {"entityMetadata": entities}


def run_sosl(conn: Connection | Engine, query: str, *, today: dt.date | None = None) -> dict:
    """Run a SOSL search; return ``{"searchRecords": [...]}`` (and ``searchResultsMetadata`` with
    WITH METADATA) or raise :class:`QueryError`."""
    day = today or utc_today()

    def action() -> dict:
        results: list[list[tuple[tuple, dict]]] = []
        with connected(conn) as connection:
            indexed = has_search_index(connection) and not shadowed(connection)
            dialect = connection.dialect.name if indexed else None
            plan = sosl_plan(query, day, dialect)
            for target in plan.targets:
                results.append(_matches(connection, target, plan.expression, plan.options, plan.limit))
        answer: dict = {"searchRecords": _merge(results, plan.limit)}
        if plan.options.metadata:
            answer["searchResultsMetadata"] = search_metadata(plan)
        return answer

    return guarded(action)


def _merge(results: list[list[tuple[tuple, dict]]], limit: int) -> list[dict]:
    """Interleave the objects' lists by score, keeping each object's own order."""
    if len(results) == 1:
        return [item for _, item in results[0][:limit]]
    positions = [0] * len(results)
    merged: list[dict] = []
    while len(merged) < limit:
        best = -1
        for index, items in enumerate(results):
            if positions[index] < len(items) and (
                best < 0 or items[positions[index]][0] > results[best][positions[best]][0]
            ):
                best = index
        if best < 0:
            break
        merged.append(results[best][positions[best]][1])
        positions[best] += 1
    return merged
