"""Sweeps: researchers start sweeps (models × frameworks × trials) that run in the background,
watch their progress, cost, errors and per-model throughput (the page redraws itself while a
sweep plays), and cancel them. The logic is in :mod:`crm_core.studio.sweeps`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.db import app_db_url
from crm_core.policy import Page
from crm_core.studio.sweeps import (
    REFRESH_SECONDS,
    cancel,
    counts_frame,
    finished_share,
    models_frame,
    runs_frame,
    start_sweep,
    sweep_files,
    sweeps_overview,
    workers_online,
)
from crm_core.sweeps.store import format_duration, sweep_status
from page_gate import page_app_store, require_page, shown_errors

role = require_page(Page.SWEEPS)
sessions = page_app_store()
app_url = app_db_url()


st.title("Sweeps")
st.caption(
    "A sweep plays every model × framework × trial on the selected instances, in the background: "
    "you may leave this page, its runs appear on Results and Trajectory Replay as they fill."
)

with st.expander("Start a sweep", expanded=False):
    files = sweep_files()
    chosen_file = st.selectbox("Start from", list(files), key="sweep-file")
    text = st.text_area(
        "Sweep file (YAML)", value=files.get(chosen_file, ""), height=300, key=f"sweep-text-{chosen_file}"
    )
    if st.button("Start sweep", type="primary", key="sweep-start"):
        bar = st.progress(0.0, text="Checking the sweep file and the org ...")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(1.0, done / total) if total else 0.0, text=f"Preparing the org: {stage} {done} / {total}")

        with shown_errors():
            source = chosen_file if text == files.get(chosen_file) else f"{chosen_file} (edited in the studio)"
            sweep_id = start_sweep(sessions, app_url, role, st.session_state["username"], text, source, progress)
            st.session_state["sweep-pick"] = sweep_id
            st.success(f"Started sweep {sweep_id}.")
        bar.empty()


def draw_sweeps(frame: pd.DataFrame) -> None:
    """The sweeps and the chosen one's progress."""
    if frame.empty:
        st.info("No sweep yet: start one above, or with `python -m crm_core sweep submit FILE`.")
        return
    online = workers_online(sessions, app_url)
    if online is not None:
        st.caption(f"Queue workers online: {online}" + ("" if online else " — start `python -m crm_core worker`"))
    st.dataframe(frame, hide_index=True, use_container_width=True)
    names = dict(zip(frame["id"], frame["sweep"], strict=True))
    sweep_id = st.selectbox("Sweep", list(names), format_func=lambda i: f"{names[i]} · {i}", key="sweep-pick")
    status = sweep_status(sessions, sweep_id)
    ended = status.planned - status.counts["queued"] - status.counts["running"]
    st.progress(finished_share(status), text=f"{status.status}: {ended} / {status.planned} episodes")
    cost, elapsed, left = st.columns(3)
    budget = "" if status.budget_usd is None else f" of ${status.budget_usd:.2f}"
    cost.metric("Cost so far", f"${status.cost_usd:.4f}{budget}")
    elapsed.metric("Elapsed", format_duration(status.elapsed_s))
    left.metric("Time left (estimate)", format_duration(status.eta_s))
    st.subheader("Episodes")
    st.table(counts_frame(status))
    st.subheader("Per model")
    st.table(models_frame(status).set_index("model"))
    st.subheader("Per model × framework")
    st.table(runs_frame(status).set_index("run"))
    if status.recent_errors:
        st.subheader("Recent errors")
        for error in status.recent_errors:
            st.error(error)
    if status.status in {"queued", "running"} and st.button("Cancel sweep", key=f"cancel-{sweep_id}"):
        with shown_errors():
            count = cancel(sessions, role, sweep_id)
            st.warning(f"Cancelled: {count} queued episodes will not run; running ones finish.")


@st.fragment(run_every=REFRESH_SECONDS)
def watch() -> None:
    """:func:`draw_sweeps`, redrawn every few seconds while a sweep plays; when none does any
    more, the whole page runs once more and is drawn without redraws."""
    overview = sweeps_overview(sessions)
    draw_sweeps(overview.frame)
    if not overview.playing:
        st.rerun()


overview = sweeps_overview(sessions)
if overview.playing:
    watch()
else:
    st.button("Refresh", key="sweeps-refresh", help="The page redraws itself only while a sweep plays.")
    draw_sweeps(overview.frame)
