"""One rule decides SOQL or SOSL everywhere: a text is SOSL when its first word is FIND (any case)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.agents.environment import raw_query_tool
from crm_core.query import is_sosl
from crm_core.studio.console import query_language

SPACE = st.text(alphabet=" \t\r\n", max_size=4)
FIND = st.sampled_from(["FIND", "find", "Find", "fInD"])


@given(SPACE, FIND, st.sampled_from([" ", "\t", "\n", "{", "'", ""]), st.text(max_size=30))
def test_find_as_the_first_word_is_sosl(space, find, after, rest):
    if not after and (rest[:1].isalnum() or rest[:1] == "_"):
        rest = " " + rest  # keep FIND a word of its own
    assert is_sosl(space + find + after + rest)


@given(SPACE, FIND, st.sampled_from(list("abcXYZ019_")), st.text(max_size=30))
def test_a_longer_word_starting_with_find_is_soql(space, find, char, rest):
    assert not is_sosl(space + find + char + rest)  # FINDER, find_me, Find2


@given(SPACE, st.text(max_size=30))
def test_text_not_starting_with_find_is_soql(space, text):
    if not text.lstrip().upper().startswith("FIND"):
        assert not is_sosl(space + text)


@given(st.text(max_size=40))
def test_every_caller_agrees_with_the_rule(text):
    sosl = is_sosl(text)
    assert raw_query_tool(text) == ("issue_sosl_query" if sosl else "issue_soql_query")
    assert query_language(text) == ("SOSL" if sosl else "SOQL")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FIND {jacket} RETURNING Product2(Id)", True),
        ("  find{jacket}", True),
        ("FIND", True),
        ("FINDX {jacket}", False),
        ("SELECT Id FROM Case WHERE Subject = 'FIND'", False),
        ("", False),
        ("FIN", False),
    ],
)
def test_examples(text, expected):
    assert is_sosl(text) is expected
