"""How pages show a query result or a tool observation: one table, child records on demand, folded
when long (its size shown).

The table is :func:`crm_core.studio.query_tables.query_table`'s, so the console, the workbench and
Trajectory Replay show an agent's and an expert's results in the same shape. Child subqueries
open from a select box (that works inside expanders, which Streamlit does not nest).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from crm_core.studio.query_tables import ResultTable, name_ids, query_table
from crm_core.studio.replay import FOLD_CHARS


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


def show_observation(text: str | None, key: str, names: Mapping[str, str] | None = None) -> None:
    """An observation: a table when it is a query result or records, else the text; folded when long."""
    if text is None:
        return
    table = query_table(text)
    if table is not None and names:
        table = name_ids(table, names)
    size = f"{len(text):,} characters" + (f", {table.total_size:,} records" if table is not None else "")
    folded = len(text) > FOLD_CHARS
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
