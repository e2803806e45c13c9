"""Tokens of SOQL (and of the part of SOSL after the search terms)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from crm_core.query.errors import MALFORMED_QUERY, QueryError


class Kind(Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    DOT = "."
    COLON = ":"
    EOF = "<EOF>"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its source text, its decoded value and its offset in the query."""

    kind: Kind
    text: str
    value: object
    offset: int

    def is_keyword(self, *words: str) -> bool:
        return self.kind is Kind.IDENT and self.text.upper() in words


@dataclass(frozen=True, slots=True)
class StringValue:
    """A decoded string literal, with its LIKE pattern (``\\`` escapes ``%``, ``_`` and itself)."""

    value: str
    like_pattern: str


# Words that cannot be field names or aliases (Salesforce's reserved SOQL keywords).
RESERVED = frozenset(
    {
        "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
        "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "OFFSET", "TRUE", "FALSE",
        "USING", "FOR", "RETURNING",
    }
)  # fmt: skip

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")
_DATE_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCT = {"(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA, ".": Kind.DOT, ":": Kind.COLON}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def tokenize(query: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Split ``query[start:end]`` into tokens ending with an EOF token; raise MALFORMED_QUERY on bad input."""
    end = len(query) if end is None else end
    tokens: list[Token] = []
    pos = start
    while True:
        while pos < end and query[pos].isspace():
            pos += 1
        if pos >= end:
            tokens.append(Token(Kind.EOF, "<EOF>", None, pos))
            return tokens
        char = query[pos]
        if char == "'":
            token, pos = _string(query, pos, end)
            tokens.append(token)
            continue
        if char.isdigit() or (char in "+-." and pos + 1 < end and (query[pos + 1].isdigit() or query[pos + 1] == ".")):
            if match := _DATETIME.match(query, pos, end):
                tokens.append(Token(Kind.DATETIME, match.group(), match.group(), pos))
            elif match := _DATE.match(query, pos, end):
                tokens.append(Token(Kind.DATE, match.group(), match.group(), pos))
            elif _DATE_PREFIX.match(query, pos, end):
                raise QueryError(MALFORMED_QUERY, f"unexpected token: '{_word_at(query, pos, end)}'", query, pos)
            elif match := _NUMBER.match(query, pos, end):
                text = match.group()
                # an exponent makes a double, as a decimal point does: 3e3 is 3000.0, 1.5E2 is 150.0
                value: int | float = int(text) if text.lstrip("+-").isdigit() else float(text)
                tokens.append(Token(Kind.NUMBER, text, value, pos))
            else:
                raise QueryError(MALFORMED_QUERY, f"unexpected token: '{_word_at(query, pos, end)}'", query, pos)
            pos = match.end()
            continue
        if match := _IDENT.match(query, pos, end):
            tokens.append(Token(Kind.IDENT, match.group(), match.group(), pos))
            pos = match.end()
            continue
        for op in _OPS:
            if query.startswith(op, pos) and pos + len(op) <= end:
                tokens.append(Token(Kind.OP, op, "!=" if op == "<>" else op, pos))
                pos += len(op)
                break
        else:
            if char in _PUNCT:
                tokens.append(Token(_PUNCT[char], char, char, pos))
                pos += 1
            else:
                raise QueryError(MALFORMED_QUERY, f"unexpected token: '{char}'", query, pos)


def _word_at(query: str, pos: int, end: int) -> str:
    stop = pos
    while stop < end and not query[stop].isspace() and query[stop] not in "(),":
        stop += 1
    return query[pos:stop] or query[pos]


def _string(query: str, start: int, end: int) -> tuple[Token, int]:
    close = query.find("'", start + 1, end)
    if close >= 0 and query.find("\\", start + 1, close) < 0:  # no escape: the text as it is
        inner = query[start + 1 : close]
        return Token(Kind.STRING, query[start : close + 1], StringValue(inner, inner), start), close + 1
    value: list[str] = []
    pattern: list[str] = []
    pos = start + 1
    while pos < end:
        char = query[pos]
        if char == "'":
            text = query[start : pos + 1]
            return Token(Kind.STRING, text, StringValue("".join(value), "".join(pattern)), start), pos + 1
        if char == "\\":
            if pos + 1 >= end:
                break
            code = query[pos + 1]
            if code in "%_":
                value.append(code)
                pattern.append("\\" + code)
                pos += 2
                continue
            if code == "u":
                digits = query[pos + 2 : pos + 6]
                if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise QueryError(
                        MALFORMED_QUERY,
                        f"Invalid string literal '{query[start + 1 : pos + 6]}'. Illegal character sequence "
                        f"'\\u{digits}' in string literal.",
                        query,
                        start,
                    )
                decoded = chr(int(digits, 16))
                pos += 6
            elif code in _ESCAPES:
                decoded = _ESCAPES[code]
                pos += 2
            else:
                raise QueryError(
                    MALFORMED_QUERY,
                    f"Invalid string literal '{query[start + 1 : pos + 2]}'. Illegal character sequence "
                    f"'\\{code}' in string literal.",
                    query,
                    start,
                )
            value.append(decoded)
            pattern.append(_like_literal(decoded))
            continue
        value.append(char)
        pattern.append("\\\\" if char == "\\" else char)
        pos += 1
    raise QueryError(MALFORMED_QUERY, "unterminated string literal", query, start)


def _like_literal(char: str) -> str:
    return "\\\\" if char == "\\" else char
