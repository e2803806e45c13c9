"""How pages show a query result or a tool observation: one table, child records on demand, folded
when long (its size shown).

The table is :func:`crm_core.studio.query_tables.query_table`'s, so the console, the workbench and
Trajectory Replay show an agent's and an expert's results in the same shape. Child subqueries
open from a select box (that works inside expanders, which Streamlit does not nest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from crm_core.studio.query_tables import ResultTable, name_ids, name_text, query_table
from crm_core.studio.replay import CHANGE_COLUMNS, FOLD_CHARS, ChangeRow, change_table


def show_table(table: ResultTable, key: str) -> None:
    """The rows as a table, then a choice of any row's child records."""
    st.dataframe(pd.DataFrame(table.rows, columns=table.columns), hide_index=True, key=f"{key}-rows")
    children = [c for c in table.children if c.table.rows]
    if not children:
        return
    labels = {n: f"row {c.row + 1} · {c.relationship} ({c.table.total_size:,} records)" for n, c in enumerate(children)}
    chosen = st.selectbox(
        "Child records",
        [None, *labels],
        format_func=lambda n: "choose a row's related records" if n is None else labels[n],
        key=f"{key}-child",
    )
    if chosen is not None:
        child = children[chosen].table
        st.dataframe(pd.DataFrame(child.rows, columns=child.columns), hide_index=True, key=f"{key}-child-rows")


def show_observation(text: str | None, key: str, names: Mapping[str, str] | None = None, fold: bool = True) -> None:
    """An observation: a table when it is a query result or records, else the text.

    Folded in an expander when long, unless `fold` is off (inside an expander already: Streamlit
    does not nest them).
    """
    if text is None:
        return
    table = query_table(text)
    if table is not None and names:
        table = name_ids(table, names)
    size = f"{len(text):,} characters" + (f", {table.total_size:,} records" if table is not None else "")
    folded = fold and len(text) > FOLD_CHARS
    if folded:
        box = st.expander(f"Observation ({size}): open")
    else:
        st.markdown(f"**Observation** ({size})")
        box = st.container()
    with box:
        if table is not None:
            show_table(table, key)
        else:
            st.code(text[:20_000], language=None, wrap_lines=True)


def show_changes(rows: list[ChangeRow], names: Mapping[str, str], key: str) -> None:
    """A workflow episode's (or expert's) changes as a table, ids shown by name."""
    frame = pd.DataFrame(change_table(rows, dict(names)), columns=CHANGE_COLUMNS)
    st.dataframe(frame, hide_index=True, key=key)


def show_state(
    final: list[ChangeRow],
    expected: list[ChangeRow],
    names: Mapping[str, str],
    key: str,
    missing: Sequence[str] = (),
    unexpected: Sequence[str] = (),
) -> None:
    """The final changes beside the expected ones, then the facts missing and unexpected."""
    left, right = st.columns(2)
    with left:
        st.markdown("**Final changes**")
        show_changes(final, names, f"{key}-final")
    with right:
        st.markdown("**Expected changes**")
        show_changes(expected, names, f"{key}-expected")
    for title, facts in (("Missing", missing), ("Unexpected", unexpected)):
        if facts:
            st.markdown(f"**{title}:** " + "; ".join(name_text(fact, names) or "" for fact in facts))
