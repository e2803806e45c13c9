"""Export: a study's responses as CSV, JSON or Parquet, rater ids pseudonymized unless names are asked for."""

from __future__ import annotations

import streamlit as st

from crm_core.errors import UserFacingError
from crm_core.policy import Action, Page, can
from crm_core.studies import EXPORT_FORMATS, export_bytes, list_studies, progress, responses_frame
from page_gate import page_app_store, require_page

role = require_page(Page.EXPORT)

sessions = page_app_store()
MIME = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet"}

st.title("Export")
with sessions() as session:
    studies = list_studies(session)
if not studies:
    st.info("No study has been loaded yet.")
    st.stop()
titles = {s.id: f"{s.title} ({s.id}, {s.status})" for s in studies}
study_id = st.selectbox("Study", list(titles), format_func=lambda sid: titles[sid], key="export_study")
show_names = False
if can(role, Action.EXPORT_NAMES):
    show_names = st.checkbox(
        "Show rater names", key="show_names", help="Off: raters appear as stable pseudonyms (keyed hashes)."
    )

try:
    with sessions() as session:
        summary = progress(session, study_id)
        frame = responses_frame(session, study_id, pseudonymize_raters=not show_names)
        files = {
            fmt: export_bytes(session, study_id, fmt, pseudonymize_raters=not show_names) for fmt in EXPORT_FORMATS
        }
except UserFacingError as exc:  # e.g. the study was removed meanwhile
    st.error(str(exc))
    st.stop()

responses = frame["submission_id"].nunique()
st.write(
    f"**{responses}** responses ({len(frame)} rows, one per dimension) from "
    f"**{len(summary.submitted_by_rater)}** raters · {summary.ratings_done} of {summary.ratings_required} "
    f"ratings done · {summary.drafts_open} drafts open."
)
st.markdown(f"Export rows: `{len(frame)}`")
columns = st.columns(len(EXPORT_FORMATS))
suffix = "names" if show_names else "pseudonymized"
for column, fmt in zip(columns, EXPORT_FORMATS, strict=True):
    column.download_button(
        f"Download {fmt.upper()}",
        data=files[fmt],
        file_name=f"{study_id}-responses-{suffix}.{fmt}",
        mime=MIME[fmt],
        key=f"download-{fmt}",
        on_click="ignore",
        icon=":material/download:",
    )
st.subheader("Preview")
st.dataframe(frame.head(200), hide_index=True)
