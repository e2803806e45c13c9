"""Org Explorer: object tables (server-side paging, filters, sort), record views, SOQL/SOSL console.

The URL says what is shown (``?object=Case`` a table, ``?object=Case&id=500...`` a record,
``?view=console`` the console), so links can be shared and a reload keeps the view.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm_core.db import DatabaseURLError
from crm_core.errors import UserFacingError
from crm_core.org.metadata import describe_org
from crm_core.policy import Action, Page, can
from crm_core.studio.console import ConsoleError, ConsoleResult, query_language, shape_error, shape_result
from crm_core.studio.explorer import (
    LATENT_TABLES,
    ColumnFilter,
    ExplorerError,
    RecordLink,
    SortOrder,
    filter_ops,
    list_latent,
    list_records,
    load_record,
    named,
    org_connection,
    require_object,
    table_fields,
)
from page_gate import page_org_engine, require_page

role = require_page(Page.ORG_EXPLORER)
try:
    engine = page_org_engine()
except (UserFacingError, DatabaseURLError) as exc:
    st.error(str(exc))
    st.stop()
OBJECTS = describe_org()
params = st.query_params


def open_record(link: RecordLink) -> None:
    st.query_params.from_dict({"object": link.object, "id": link.id})


def show_table(object_name: str) -> None:
    params["object"] = object_name
    params.pop("id", None)


def record_link(link: RecordLink, key: str) -> None:
    """A real link to a record view (its URL carries object and id, so it can be shared or opened in a new tab)."""
    with st.container(key=key):
        st.page_link(
            "studio_pages/org_explorer.py",
            label=named(link.title, link.id),
            query_params={"object": link.object, "id": link.id},
            help=f"{link.object} {link.id}",
        )


def render_record(object_name: str | None, record_id: str) -> None:
    try:
        with org_connection(engine) as conn:
            view = load_record(conn, record_id, object_name)
    except ExplorerError as exc:
        st.error(f"Cannot open the record: {exc}.")
        back = object_name if object_name in OBJECTS else "Case"
        st.button(f"← {OBJECTS[back].label} table", on_click=show_table, args=(back,), key="back")
        return
    st.query_params.from_dict({"object": view.object, "id": view.id})  # the URL keeps the view
    st.button(f"← {OBJECTS[view.object].label} table", on_click=show_table, args=(view.object,), key="back")
    st.header(f"{view.label}: {view.title}")
    st.caption(f"Id `{view.id}`")
    left, right = st.columns(2)
    for i, field in enumerate(view.fields):
        with left if i % 2 == 0 else right:
            label_col, value_col = st.columns([2, 3])
            label_col.markdown(f"**{field.label}**  \n`{field.name}`")
            if field.link is not None:
                with value_col:
                    record_link(field.link, key=f"parent-{field.name}")
            else:
                value_col.text(field.text or "—")  # plain text: data is never read as Markdown
    st.subheader("Related")
    for child in view.children:
        total = f"{child.total:,}" if child.total_is_exact else f"{child.total:,}+"
        with st.expander(f"{child.relationship} ({child.label}): {total}", expanded=bool(child.records)):
            if not child.records:
                st.caption("None.")
            for record in child.records:
                record_link(record, key=f"child-{child.relationship}-{record.id}")
            if child.total > len(child.records):
                st.caption(f"Showing the newest {len(child.records)}. Filter the {child.label} table by {child.field}.")


def filter_editor(object_name: str) -> list[ColumnFilter]:
    key = f"filters-{object_name}"
    filters: list[ColumnFilter] = st.session_state.setdefault(key, [])
    obj = OBJECTS[object_name]
    fields = [f for f in obj.fields if filter_ops(f)]
    with st.expander(f"Filters ({len(filters)})", expanded=bool(filters)):
        c1, c2, c3, c4 = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
        field = c1.selectbox(
            "Field", fields, format_func=lambda f: f"{f.label} ({f.name})", key=f"filter-field-{object_name}"
        )
        op = c2.selectbox("Operator", filter_ops(field) if field else (), key=f"filter-op-{object_name}")
        if field is not None and field.picklist_values:  # a choice of the field's values
            value = c3.selectbox("Value", field.picklist_values, key=f"filter-choice-{object_name}-{field.name}")
        else:
            value = c3.text_input(
                "Value",
                placeholder="text, number, 2023-07-02 or 2023-07-02T11:00:00Z",
                key=f"filter-value-{object_name}",
            )
        if c4.button("Add", key=f"filter-add-{object_name}") and field is not None and op is not None:
            try:
                candidate = ColumnFilter(field=field.name, op=op, value=value)
                with org_connection(engine) as conn:
                    list_records(conn, object_name, filters=[candidate], page_size=1)
            except ExplorerError as exc:
                st.error(str(exc))
            else:
                st.session_state[key] = [*filters, candidate]
                st.session_state[f"page-{object_name}"] = 1
                st.rerun()
        for i, flt in enumerate(filters):
            text_col, remove_col = st.columns([6, 1])
            text_col.code(f"{flt.field} {flt.op} {flt.value}".strip(), language=None)
            if remove_col.button("Remove", key=f"remove-filter-{object_name}-{i}"):
                st.session_state[key] = filters[:i] + filters[i + 1 :]
                st.rerun()
    return filters


def render_table(object_name: str) -> None:
    obj = OBJECTS[object_name]
    filters = filter_editor(object_name)
    sortable = [f.name for f in table_fields(obj)]
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    sort_field = c1.selectbox("Sort by", sortable, index=sortable.index("CreatedDate"), key=f"sort-{object_name}")
    descending = c2.toggle("Descending", value=True, key=f"desc-{object_name}")
    page_size = c3.selectbox("Rows per page", (25, 50, 100), index=1, key=f"size-{object_name}")
    page_key = f"page-{object_name}"
    clamped = st.session_state.pop(f"clamped-{object_name}", None)
    if clamped is not None:  # set before the widget exists (Streamlit forbids it after)
        st.session_state[page_key] = clamped[1]
        st.info(f"Page {clamped[0]:,} is past the end: this is the last page, {clamped[1]:,}.")
    page_number = c4.number_input("Page", min_value=1, step=1, key=page_key)
    try:
        with org_connection(engine) as conn:
            page = list_records(
                conn,
                object_name,
                filters=filters,
                sort=SortOrder(field=sort_field, descending=descending),
                page=int(page_number) - 1,
                page_size=page_size,
            )
    except ExplorerError as exc:
        st.error(str(exc))
        return
    if page.page + 1 < page_number:  # past the end: the library showed the last page
        st.session_state[f"clamped-{object_name}"] = (int(page_number), page.page + 1)
        st.rerun()
    total = f"{page.total:,}" if page.total_is_exact else f"more than {page.total:,}"
    first = page.page * page.page_size + 1
    if not page.rows and page.page > 0:  # past the end of a capped count
        st.info(f"Page {page.page + 1:,} is past the end: there are fewer records.")
    st.caption(
        f"{total} {obj.label} records · rows {first:,}–{first + len(page.rows) - 1:,} · "
        f"page {page.page + 1:,} of {page.page_count:,}{'' if page.total_is_exact else '+'} · "
        "select a row to open it"
    )
    frame = pd.DataFrame(page.named_rows(), columns=page.columns)
    table_key = f"table-{object_name}"
    event: Any = st.dataframe(
        frame,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=table_key,
        column_config={"Id": st.column_config.TextColumn("Id", pinned=True)},
    )
    selected = event.selection.rows if event is not None else []
    if selected:
        row = page.rows[selected[0]]
        del st.session_state[table_key]  # coming back to the table must not reopen the record
        open_record(RecordLink(object=object_name, id=row["Id"], title=row["Id"]))
        st.rerun()


def render_console() -> None:
    st.caption(
        "SOQL (`SELECT Id, Subject FROM Case WHERE Status = 'New' LIMIT 10`) or SOSL "
        "(`FIND {shipping} IN ALL FIELDS RETURNING Case(Id, Subject)`). Read-only."
    )
    with st.form("console"):
        text = st.text_area("Query", key="console_query", height=120)
        submitted = st.form_submit_button("Run", type="primary")
    if submitted and text.strip():
        st.session_state["console_outcome"] = run_console(text)
    outcome = st.session_state.get("console_outcome")
    if isinstance(outcome, ConsoleError):
        st.error(f"**{outcome.error_code}**")
        st.code(outcome.message, language=None, wrap_lines=True)
    elif isinstance(outcome, ConsoleResult):
        st.success(f"{outcome.language}: totalSize = {outcome.total_size:,}")
        st.dataframe(pd.DataFrame(outcome.rows, columns=outcome.columns), hide_index=True)


def render_latent() -> None:
    st.caption("The generator's hidden variables, which drive the org's data (researchers and admins only).")
    c1, c2, c3 = st.columns([4, 2, 2], vertical_alignment="bottom")
    table_name = c1.selectbox("Latent table", LATENT_TABLES, key="latent_table")
    page_size = c2.selectbox("Rows per page", (25, 50, 100), index=1, key="latent_size")
    page_number = c3.number_input("Page", min_value=1, step=1, key=f"latent_page-{table_name}")
    try:
        with org_connection(engine) as conn:
            page = list_latent(conn, table_name, page=int(page_number) - 1, page_size=page_size)
    except ExplorerError as exc:
        st.error(str(exc))
        return
    if page.page + 1 < page_number:
        st.info(f"Page {int(page_number):,} is past the end: showing the last page, {page.page + 1:,}.")
    first = page.page * page.page_size + 1
    st.caption(
        f"{page.total:,} rows · rows {first:,}–{first + len(page.rows) - 1:,} · "
        f"page {page.page + 1:,} of {page.page_count:,}"
    )
    st.dataframe(pd.DataFrame(page.named_rows(), columns=page.columns), hide_index=True, key=f"latent-{table_name}")


def run_console(text: str) -> ConsoleResult | ConsoleError:
    from crm_core.query import QueryError, run_query

    language = query_language(text)
    try:
        with org_connection(engine) as conn:
            result = run_query(conn, text)
    except QueryError as exc:
        return shape_error(exc.to_rest())
    except ExplorerError as exc:  # the database itself failed (locked, unreachable ...)
        return ConsoleError(error_code="DATABASE_ERROR", message=str(exc))
    return shape_result(language, result)


st.title("Org Explorer")
record_id = params.get("id")
if record_id:
    render_record(params.get("object"), record_id)
    st.stop()

LATENT_VIEW = "Latent variables"
views = ["Tables", "SOQL / SOSL console"] + ([LATENT_VIEW] if can(role, Action.VIEW_LATENT) else [])
current = {"console": "SOQL / SOSL console", "latent": LATENT_VIEW}.get(params.get("view", ""), "Tables")
if current not in views:
    current = "Tables"
view = st.segmented_control("View", views, default=current, key="explorer_view", label_visibility="collapsed")
if view == "SOQL / SOSL console":
    params.from_dict({"view": "console"})
    render_console()
    st.stop()
if view == LATENT_VIEW and can(role, Action.VIEW_LATENT):
    params.from_dict({"view": "latent"})
    render_latent()
    st.stop()

names = list(OBJECTS)
requested = params.get("object", "Case")
try:
    requested = require_object(requested).name
except ExplorerError as exc:
    st.warning(str(exc))
    requested = "Case"
left, right = st.columns([3, 2], vertical_alignment="bottom")
object_name = left.selectbox(
    "Object",
    names,
    index=names.index(requested),
    format_func=lambda name: f"{OBJECTS[name].label} ({name})",
)
with right.form("open-by-id", border=False):
    typed_id = st.text_input("Open a record by id", placeholder="500Hs00... (15 or 18 characters)")
    if st.form_submit_button("Open") and typed_id.strip():
        st.query_params.from_dict({"id": typed_id.strip()})
        st.rerun()
params.from_dict({"object": object_name})
render_table(object_name)
