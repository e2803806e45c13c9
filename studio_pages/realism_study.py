"""Realism Study: the expert's queue, the guideline, a labelled scale per dimension, autosave, submit.

Every change is saved as a draft in the app store at once, so a refresh, a sign-out or another
browser finds the answer where it was left. Submitting is idempotent (one submission id per item
view), so a double click stores one response.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.db import org_db_url
from crm_core.errors import UserFacingError
from crm_core.policy import Page
from crm_core.store import StudyItem
from crm_core.studies import (
    claim_next_item,
    definition_of,
    list_studies,
    my_responses,
    rater_progress,
    start_revision,
    submitted_version,
)
from crm_core.studio.explorer import (
    CHILD_LIST_SIZE,
    ChildList,
    ExplorerError,
    explorer_url,
    list_records,
    load_record,
    org_connection,
    org_object_counts,
)
from crm_core.studio.workbench import uses_workbench
from page_gate import page_app_store, page_org_engine, require_page, shown_errors
from study_form import pick_study, rating_form

require_page(Page.REALISM_STUDY)

username: str = st.session_state["username"]
sessions = page_app_store()
org = page_org_engine()


def show_related(children: list[ChildList]) -> None:
    """The record's related lists: each related record by name, with a link that opens it in a new tab."""
    st.markdown("**Related records**")
    counts = " · ".join(f"{c.relationship}: {c.total:,}{'' if c.total_is_exact else '+'}" for c in children)
    st.caption(counts or "None.")
    rows = [
        {
            "Related list": f"{child.relationship} ({child.label})",
            "Record": f"{record.title} ({record.id})",
            "Open": explorer_url(record.object, record.id),
        }
        for child in children
        for record in child.records
    ]
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            width="stretch",
            column_config={"Open": st.column_config.LinkColumn("Open", display_text="Open ↗")},
        )
        if any(child.total > len(child.records) for child in children):
            st.caption(f"The newest {CHILD_LIST_SIZE} of each list; the Org Explorer filters the rest.")


def show_item(item: StudyItem) -> None:
    """What the expert is asked to judge: one record, one object's records, or the org."""
    st.subheader(item.label)
    try:
        with org_connection(org) as conn:
            if item.kind == "record" and item.record_id:
                view = load_record(conn, item.record_id, item.object_name)
                st.dataframe(
                    pd.DataFrame(
                        [
                            {"Field": f.label, "Value": f"{f.link.title} ({f.link.id})" if f.link else f.text}
                            for f in view.fields
                        ]
                    ),
                    hide_index=True,
                    width="stretch",
                )
                show_related(view.children)
            elif item.kind == "object" and item.object_name:
                page = list_records(conn, item.object_name, page_size=25)
                st.caption(f"The newest 25 of {page.total:,}{'' if page.total_is_exact else '+'} records.")
                st.dataframe(pd.DataFrame(page.named_rows(), columns=page.columns), hide_index=True)
            else:
                counts = st.cache_data(ttl=600, show_spinner="Counting records ...")(org_object_counts)(org_db_url())
                st.dataframe(
                    pd.DataFrame([{"Object": name, "Records": f"{n:,}"} for name, (n, _exact) in counts.items()]),
                    hide_index=True,
                )
    except ExplorerError as exc:
        st.error(str(exc))
    # a new tab: following records there never leaves (or resets) the form
    st.link_button(
        "Open in the Org Explorer", explorer_url(item.object_name, item.record_id), icon=":material/open_in_new:"
    )


st.title("Realism Study")
with sessions() as session:
    studies = list_studies(session, include_closed=False)
    studies = [s for s in studies if not uses_workbench(definition_of(s))]  # those are done in the Task Workbench
if not studies:
    st.info("No study is open right now. An admin loads studies on the Admin page.")
    st.stop()
study = pick_study(studies, key="study")
assert study is not None
definition = definition_of(study)

try:
    with sessions() as session:
        mine = rater_progress(session, study.id, username)
        item = claim_next_item(session, study.id, username)
except UserFacingError as exc:  # e.g. the study was closed or removed meanwhile
    st.error(str(exc))
    st.stop()
done, total = mine.submitted, mine.total
st.progress(done / total if total else 1.0, text=f"{done} of {total} items answered")
with st.expander("Guideline", expanded=done == 0):
    st.markdown(definition.instructions)
    st.markdown("Scale: " + " · ".join(f"**{i}** {label}" for i, label in enumerate(definition.scale, start=1)))

if item is None:
    st.success("You have answered every item assigned to you. Thank you!")
else:
    show_item(item)
    st.divider()
    st.subheader(f"Your rating: {item.label}")  # the item's name stays in view next to the scales
    with sessions() as session:
        version = submitted_version(session, item.id, username)
    if version:
        st.info(f"You are revising your answer (version {version}); submitting stores version {version + 1}.")
    if rating_form(sessions, username, study.id, definition, item):
        st.toast(f"Submitted: {item.label}")
        st.rerun()

with st.expander("Your submitted answers"):
    with sessions() as session:
        answers = my_responses(session, study.id, username)
        rows = [
            {"Item": r.item.label, "Version": r.version, "Submitted (UTC)": r.submitted_at}
            | {rating.dimension: rating.label for rating in r.ratings}
            for r in answers
        ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        labels = {r.item_id: r.item.label for r in answers}
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        chosen = left.selectbox("Revise an answer", list(labels), format_func=labels.__getitem__, key="revise_item")
        if right.button("Revise", key="revise"):
            with shown_errors(), sessions() as session:
                start_revision(session, study.id, chosen, username)
                st.rerun()
    else:
        st.caption("None yet.")
