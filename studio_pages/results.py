"""Results: which model and framework is best on which task; trajectory ratings; realism ratings.

Every section is a small function over what `crm_core.studio.dashboards` computes; the tables
are the answer (mean, 95% bootstrap interval, ★ for the best), the charts show the same numbers.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.policy import Page
from crm_core.scoring import OVERALL, Comparison, Outcome, compare
from crm_core.studies import definition_of, get_study, list_studies
from crm_core.studio.dashboards import (
    RunRow,
    agent_outcomes,
    best_table,
    effort_frame,
    effort_scatter,
    human_baseline,
    human_outcomes,
    interval_bars,
    interval_frame,
    kept_runs,
    org_realism_tables,
    pass_curves,
    pass_frame,
    pass_table,
    realism_agreement,
    realism_frame,
    realism_histogram,
    realistic_by_object,
    run_rows,
    systems_table,
    trajectory_ratings,
)
from crm_core.studio.sweep_results import paired_frame, paired_sweeps, sweep_comparison
from crm_core.studio.workbench import uses_workbench
from page_gate import page_app_store, page_org_engine, require_page

require_page(Page.RESULTS)

sessions = page_app_store()


def fmt(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.3f}"


def table(frame: pd.DataFrame, index: str) -> None:
    """A static table (every cell readable, nothing to scroll) indexed by `index`."""
    st.table(frame.set_index(index))


def best_section(comparison: Comparison) -> None:
    st.subheader("Best per task")
    st.caption(
        f"Mean score [95% bootstrap interval] on the {len(comparison.instances)} instances all "
        f"{len(comparison.systems)} systems share; ★ marks the best; n = instances."
    )
    table(best_table(comparison), "task")
    st.plotly_chart(
        interval_bars(interval_frame(comparison, [*comparison.personas, OVERALL]), "By persona and overall"),
        key="chart-intervals",
    )


def systems_section(comparison: Comparison, runs: list[RunRow]) -> None:
    st.subheader("Systems (model · framework)")
    table(systems_table(comparison, runs), "system")
    axis = st.segmented_control(
        "Against", ["turns / success", "cost / success (USD)"], default="turns / success", key="results_x"
    )
    st.plotly_chart(effort_scatter(effort_frame(comparison), axis or "turns / success"), key="chart-effort")


def pass_section(comparison: Comparison) -> None:
    st.subheader("pass^k")
    st.caption("Chance that all k trials of an instance succeed (k = 1 .. trials); ★ marks the best.")
    passes = pass_table(comparison)
    if passes.empty:
        st.caption("No system has trials to compute pass^k from.")
        return
    table(passes, "task")
    st.plotly_chart(pass_curves(pass_frame(comparison)), key="chart-pass")


def human_section(agents: list[Outcome], systems: list[str], partial: bool) -> None:
    st.subheader("Experts (workbench) and agents on the same instances")
    with sessions() as session:
        humans = human_outcomes(session, partial=partial)
    if not humans:
        st.caption("No expert has submitted a workbench answer yet.")
        return
    baseline = human_baseline(agents, humans, systems)
    if not baseline.instances:
        st.caption("The experts' instances are not among those every compared agent ran.")
        return
    table(best_table(baseline), "task")


def runs_section(runs: list[RunRow], kept: list[RunRow]) -> None:
    kept_ids = {r.run_id for r in kept}
    with st.expander(f"Runs: {len(kept)} of {len(runs)} compared"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "run": r.run_id,
                        "system": r.system,
                        "episodes": r.episodes,
                        "overall (as `crm_core score`)": fmt(r.overall),
                        "compared": r.run_id in kept_ids,
                        "note": "workbench practice" if r.practice else "one episode" if r.single else "",
                    }
                    for r in runs
                ]
            ),
            hide_index=True,
        )


def scores_tab() -> None:
    runs = run_rows(sessions)
    c1, c2, c3 = st.columns(3)
    practice = c1.toggle("Include workbench practice runs", key="results_practice")
    single = c2.toggle("Include one-episode runs", key="results_single")
    partial = c3.toggle(
        "Partial credit",
        key="results_partial",
        help="Score each trial with partial credit: the state-match F1 on workflow tasks (fields changed "
        "right), the normalized score on the others. Off: exact match, 0 or 1.",
    )
    kept = kept_runs(runs, practice=practice, single=single)
    agents = agent_outcomes(sessions, [r.run_id for r in kept], partial=partial)
    systems = list(dict.fromkeys(o.system for o in agents))
    chosen = st.multiselect("Systems", systems, default=systems, key="results_systems")
    if not chosen:
        st.info("No agent runs to compare yet." if not systems else "Choose at least one system.")
    else:
        comparison = compare(agents, systems=chosen)
        if not comparison.instances:
            st.warning("These systems share no instance: choose fewer systems.")
        else:
            best_section(comparison)
            systems_section(comparison, kept)
            pass_section(comparison)
        human_section(agents, chosen, partial)
    runs_section(runs, kept)


def sweeps_tab() -> None:
    sweeps = paired_sweeps(sessions)
    if not sweeps:
        st.info("No sweep with two arms (two org variants, or one org and two frameworks) yet.")
        return
    sweep_id = st.selectbox("Sweep", list(sweeps), format_func=sweeps.__getitem__, key="results_sweep")
    comparison = sweep_comparison(sessions, sweep_id)
    if comparison is None:
        st.info("Neither arm of this sweep has a shared instance stored yet.")
        return
    first, second = comparison.arms
    held = "model · framework" if comparison.by == "org variant" else "model"
    st.subheader(f"{first} against {second}")
    st.caption(
        f"Overall score of each arm on the instances both share, per {held}; "
        f"{first} − {second} with a 95% paired bootstrap interval over instances."
    )
    table(paired_frame(comparison), "compared")
    st.subheader("pass^k per framework")
    table(pass_table(comparison.passes), "task")
    st.plotly_chart(pass_curves(pass_frame(comparison.passes)), key="chart-sweep-pass")


def ratings_tab() -> None:
    with sessions() as session:
        studies = [s for s in list_studies(session) if uses_workbench(definition_of(s))]
        if not studies:
            st.info("No workbench study is loaded.")
            return
        titles = {s.id: s.title for s in studies}
        study_id = st.selectbox("Study", list(titles), format_func=titles.__getitem__, key="ratings_study")
        frame = trajectory_ratings(session, study_id)
    if frame.empty:
        st.info("No trajectory rated yet.")
        return
    st.caption("Experts' ratings of agents' trajectories: mean [95% bootstrap interval], latest answer of each rater.")
    table(frame, "system")


@st.cache_data(ttl=3600, show_spinner="Measuring the org's free text ...")
def _org_realism() -> tuple[pd.DataFrame, pd.DataFrame]:
    return org_realism_tables(page_org_engine())


def realism_by_object_section(frame: pd.DataFrame) -> None:
    """Share of ratings at "Realistic" or better per object, and the org's own realism report."""
    if not frame.empty:
        st.subheader("Rated realistic, per object")
        st.dataframe(
            realistic_by_object(frame),
            hide_index=True,
            column_config={"share_realistic": st.column_config.NumberColumn("share at 4+", format="percent")},
        )
    with st.expander("The org's realism report (free text and consistency rules)"):
        fields, rules = _org_realism()
        st.dataframe(fields, hide_index=True)
        st.dataframe(rules, hide_index=True)


def realism_tab() -> None:
    with sessions() as session:
        studies = [s for s in list_studies(session) if not uses_workbench(definition_of(s))]
        if not studies:
            st.info("No realism study is loaded.")
            return
        titles = {s.id: s.title for s in studies}
        ids = list(titles)
        study_id = st.selectbox(
            "Study", ids, index=ids.index("realism") if "realism" in ids else 0, format_func=titles.__getitem__
        )
        definition = definition_of(get_study(session, study_id))
        frame = realism_frame(session, study_id)
        agreement = realism_agreement(session, study_id)
    realism_by_object_section(frame)
    if frame.empty:
        st.info("No ratings submitted yet.")
        return
    overall = agreement[-1]
    realistic = definition.scale[3] if len(definition.scale) >= 4 else definition.scale[-1]
    c1, c2, c3 = st.columns(3)
    c1.metric("Ratings", f"{overall.ratings:,}")
    c2.metric(f"“{realistic}” or better", "—" if overall.share_realistic is None else f"{overall.share_realistic:.1%}")
    c3.metric("Krippendorff's alpha (ordinal)", fmt(overall.alpha))
    st.dataframe(
        pd.DataFrame([row.model_dump() for row in agreement]),
        hide_index=True,
        column_config={
            "alpha": st.column_config.NumberColumn(format="%.3f"),
            "share_realistic": st.column_config.NumberColumn(f"share at {realistic}+", format="percent"),
        },
    )
    st.plotly_chart(realism_histogram(frame, definition.scale, "object"), key="chart-realism-object")
    st.plotly_chart(realism_histogram(frame, definition.scale, "dimension"), key="chart-realism-dimension")


st.title("Results")
scores, paired, ratings, realism = st.tabs(["Agents and experts", "Sweeps", "Trajectory ratings", "Realism"])
with scores:
    scores_tab()
with paired:
    sweeps_tab()
with ratings:
    ratings_tab()
with realism:
    realism_tab()
