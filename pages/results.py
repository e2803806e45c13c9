"""Results: score dashboards over every run and the experts' workbench answers; realism ratings.

Every agent score is computed by the function behind ``python -m crm_core score`` and also
written as text (three decimals, as the CLI prints it) next to the charts.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.policy import Page
from crm_core.studies import definition_of, get_study, list_studies
from crm_core.studio.dashboards import (
    efficiency_scatter,
    load_sources,
    overview_frame,
    pass_curves,
    pass_frame,
    persona_bars,
    persona_frame,
    realism_agreement,
    realism_frame,
    realism_histogram,
    score_heatmap,
    task_frame,
)
from crm_core.studio.workbench import uses_workbench
from page_gate import page_app_store, require_page

require_page(Page.RESULTS)

sessions = page_app_store()


def fmt(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.3f}"


def scores_tab() -> None:
    sources = load_sources(sessions)
    if not sources:
        st.info("No runs and no workbench answers yet.")
        return
    overview = overview_frame(sources)
    models = sorted(overview["model"].unique())
    frameworks = sorted(overview["framework"].unique())
    f1, f2 = st.columns(2)
    chosen_models = f1.multiselect("Models", models, default=models, key="results_models")
    chosen_frameworks = f2.multiselect("Frameworks", frameworks, default=frameworks, key="results_frameworks")
    sources = [s for s in sources if s.model in chosen_models and s.framework in chosen_frameworks]
    overview = overview_frame(sources)
    st.subheader("Overall (mean of tasks)")
    st.dataframe(overview, hide_index=True, column_config={"overall": st.column_config.NumberColumn(format="%.3f")})
    st.markdown("  \n".join(f"`{s.label}`: overall **{fmt(s.overall)}**" for s in sources))
    tasks = task_frame(sources)
    st.plotly_chart(score_heatmap(tasks), key="chart-heatmap")
    with st.expander("Scores by task (text)"):
        for source in sources:
            st.markdown(f"**{source.label}**: " + ", ".join(f"{task} {fmt(v)}" for task, v in source.per_task.items()))
    st.plotly_chart(persona_bars(persona_frame(sources)), key="chart-personas")
    st.markdown(
        "  \n".join(
            f"`{s.label}` personas: " + ", ".join(f"{p} {fmt(v)}" for p, v in s.per_persona.items()) for s in sources
        )
    )
    st.plotly_chart(pass_curves(pass_frame(sources)), key="chart-pass")
    st.markdown(
        "  \n".join(
            f"`{s.label}` " + ", ".join(f"pass^{k} {fmt(v)}" for k, v in s.pass_hat_k.items())
            for s in sources
            if s.pass_hat_k
        )
    )
    axis = st.segmented_control(
        "Against", ["mean turns", "tokens", "cost (USD)"], default="mean turns", key="results_x"
    )
    st.plotly_chart(efficiency_scatter(overview, axis or "mean turns"), key="chart-efficiency")


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
scores, realism = st.tabs(["Agents and experts", "Realism"])
with scores:
    scores_tab()
with realism:
    realism_tab()
