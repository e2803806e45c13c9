"""Realism Study: the expert's queue, the guideline, a labelled scale per dimension, autosave, submit.

Every change is saved as a draft in the app store at once, so a refresh, a sign-out or another
browser finds the answer where it was left. Submitting is idempotent (one submission id per item
view), so a double click stores one response.
"""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from crm_core.db import org_db_url
from crm_core.errors import UserFacingError
from crm_core.policy import Page
from crm_core.store import StudyItem
from crm_core.studies import (
    StudyDefinition,
    answer_problems,
    claim_next_item,
    definition_of,
    get_draft,
    list_studies,
    my_responses,
    rater_progress,
    save_draft,
    submit,
)
from crm_core.studio.explorer import ExplorerError, list_records, load_record, org_connection, org_object_counts
from crm_core.studio.workbench import uses_workbench
from page_gate import page_app_store, page_org_engine, require_page

require_page(Page.REALISM_STUDY)

username: str = st.session_state["username"]
sessions = page_app_store()
org = page_org_engine()


def value_key(item_id: int, dimension: str) -> str:
    return f"rate-{item_id}-{dimension}"


def comment_key(item_id: int, dimension: str) -> str:
    return f"comment-{item_id}-{dimension}"


def answer_of(item: StudyItem, definition: StudyDefinition) -> tuple[dict[str, int | None], dict[str, str]]:
    """The answer as the widgets hold it now."""
    dims = definition.dimensions_for(item.kind)
    values = {d.id: st.session_state.get(value_key(item.id, d.id)) for d in dims}
    comments = {d.id: st.session_state.get(comment_key(item.id, d.id)) or "" for d in dims}
    return values, comments


def autosave(study_id: str, item: StudyItem, definition: StudyDefinition) -> None:
    """Save the draft (called on every widget change)."""
    values, comments = answer_of(item, definition)
    try:
        with sessions() as session:
            saved = save_draft(session, study_id, item.id, username, values, comments)
        st.session_state["draft_saved_at"] = saved.updated_at
    except UserFacingError as exc:
        st.session_state["draft_error"] = str(exc)


def restore_draft(study_id: str, item: StudyItem, definition: StudyDefinition) -> None:
    """Open the item (reserve it, start its clock) and put its saved draft into the widgets."""
    marker = f"restored-{item.id}"
    if st.session_state.get(marker):
        return
    with sessions() as session:
        draft = get_draft(session, item.id, username)
        if draft is None:
            draft = save_draft(session, study_id, item.id, username)
    for dim in definition.dimensions_for(item.kind):
        if dim.id in draft.values:
            st.session_state[value_key(item.id, dim.id)] = int(draft.values[dim.id])
        if dim.id in draft.comments:
            st.session_state[comment_key(item.id, dim.id)] = draft.comments[dim.id]
    st.session_state["draft_saved_at"] = draft.updated_at
    st.session_state[marker] = True
    st.session_state[f"submission-{item.id}"] = uuid.uuid4().hex


def show_item(item: StudyItem) -> None:
    """What the expert is asked to judge: one record, one object's records, or the org."""
    st.subheader(item.label)
    try:
        with org_connection(org) as conn:
            if item.kind == "record" and item.record_id:
                view = load_record(conn, item.record_id, item.object_name)
                st.dataframe(
                    pd.DataFrame(
                        [{"Field": f.label, "Value": f.link.title if f.link else f.text} for f in view.fields]
                    ),
                    hide_index=True,
                    width="stretch",
                )
                related = ", ".join(f"{c.relationship}: {c.total:,}" for c in view.children) or "none"
                st.caption(f"Related records: {related}")
            elif item.kind == "object" and item.object_name:
                page = list_records(conn, item.object_name, page_size=25)
                st.caption(f"The newest 25 of {page.total:,}{'' if page.total_is_exact else '+'} records.")
                st.dataframe(pd.DataFrame(page.rows, columns=page.columns), hide_index=True)
            else:
                counts = st.cache_data(ttl=600, show_spinner="Counting records ...")(org_object_counts)(org_db_url())
                st.dataframe(
                    pd.DataFrame([{"Object": name, "Records": f"{n:,}"} for name, (n, _exact) in counts.items()]),
                    hide_index=True,
                )
    except ExplorerError as exc:
        st.error(str(exc))
    query = {"object": item.object_name, "id": item.record_id} if item.record_id else {"object": item.object_name}
    st.page_link(
        "pages/org_explorer.py",
        label="Open in the Org Explorer",
        icon=":material/open_in_new:",
        query_params={k: v for k, v in query.items() if v},
    )


def rate_item(study_id: str, item: StudyItem, definition: StudyDefinition) -> None:
    restore_draft(study_id, item, definition)
    labels = dict(enumerate(definition.scale, start=1))
    for dim in definition.dimensions_for(item.kind):
        st.radio(
            dim.question,
            options=list(labels),
            format_func=lambda v: f"{v} · {labels[v]}",
            horizontal=True,
            index=None,
            key=value_key(item.id, dim.id),
            on_change=autosave,
            args=(study_id, item, definition),
        )
        threshold = dim.comment_required_at_or_below
        hint = f"required for {labels[threshold]} or lower" if threshold else "optional"
        st.text_area(
            f"Comment ({hint})",
            key=comment_key(item.id, dim.id),
            on_change=autosave,
            args=(study_id, item, definition),
            height=68,
        )
    if "draft_error" in st.session_state:
        st.error(st.session_state.pop("draft_error"))
    saved = st.session_state.get("draft_saved_at")
    if saved is not None:
        st.caption(f"Draft saved {saved:%H:%M:%S} UTC.")
    if st.button("Submit", type="primary", key=f"submit-{item.id}"):
        values, comments = answer_of(item, definition)
        problems = answer_problems(definition, item, values, comments)
        if problems:
            for problem in problems:
                st.error(problem)
            return
        try:
            with sessions() as session:
                submit(
                    session,
                    study_id,
                    item.id,
                    username,
                    values,
                    comments,
                    submission_id=st.session_state[f"submission-{item.id}"],
                )
        except UserFacingError as exc:
            st.error(str(exc))
            return
        st.session_state.pop(f"restored-{item.id}", None)
        st.toast(f"Submitted: {item.label}")
        st.rerun()


st.title("Realism Study")
with sessions() as session:
    studies = list_studies(session, include_closed=False)
    studies = [s for s in studies if not uses_workbench(definition_of(s))]  # those are done in the Task Workbench
if not studies:
    st.info("No study is open right now. An admin loads studies on the Admin page.")
    st.stop()
study = studies[0]
if len(studies) > 1:
    titles = {s.id: s.title for s in studies}
    chosen = st.selectbox("Study", list(titles), format_func=lambda sid: titles[sid], key="study")
    study = next(s for s in studies if s.id == chosen)
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
    rate_item(study.id, item, definition)

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
    else:
        st.caption("None yet.")
