"""The first line of an error, the one rule every user-facing message cuts errors with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from crm_core.errors import error_line, first_line


def test_a_database_error_shows_the_drivers_first_line_not_the_sql():
    engine = create_engine("sqlite://")
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("SELECT * FROM missing_table"))
    engine.dispose()
    assert first_line(caught.value) == "no such table: missing_table"
    assert error_line(caught.value) == "OperationalError: no such table: missing_table"


def test_an_empty_message_gives_the_type_alone():
    assert first_line(RuntimeError()) == "" and error_line(RuntimeError("  \n ")) == "RuntimeError"


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"])), min_size=1))
def test_only_the_first_non_blank_line_is_kept(lines):
    message = "\n".join(lines)
    line = first_line(ValueError(message))
    assert "\n" not in line
    assert line == message.strip().splitlines()[0] if message.strip() else line == ""
