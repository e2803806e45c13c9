"""Home: who is signed in, what each page is for, and the org's size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from crm_core.db import org_db_url
from crm_core.org.metadata import describe_org
from crm_core.policy import PAGE_TITLES, Page, pages_for
from crm_core.studio.explorer import org_object_counts
from crm_core.studio.startup import signed_in_role
from page_gate import shown_errors

PAGE_PURPOSE = {
    Page.ORG_EXPLORER: "Browse every object of the simulated org, open records and run SOQL or SOSL.",
    Page.REALISM_STUDY: "Rate how realistic the org's records and objects look; drafts are saved as you go.",
    Page.TASK_WORKBENCH: "Solve benchmark tasks yourself, then compare with an agent and the ground truth.",
    Page.TRAJECTORY_REPLAY: "Step through agent runs: prompts, tool calls and observations.",
    Page.RESULTS: "Dashboards of agent scores and realism ratings.",
    Page.SWEEPS: "Start, watch and cancel sweeps of models × frameworks × trials running in the background.",
    Page.EXPORT: "Download study responses as CSV, JSON or Parquet.",
    Page.ADMIN: "Manage users and studies, and follow study progress.",
}

role = signed_in_role(st.session_state)
if not pages_for(role):
    st.error("Sign in to use CRMArena Studio.")
    st.stop()

st.title("CRMArena Studio")
st.write(f"Signed in as **{st.session_state.get('name') or st.session_state['username']}** ({role}).")

st.subheader("Your pages")
built = {path.stem for path in Path(__file__).parent.glob("*.py")}
for page in (p for p in pages_for(role) if p.value in built):
    st.markdown(f"- **{PAGE_TITLES[page]}**: {PAGE_PURPOSE[page]}")


@st.cache_data(ttl=600, show_spinner="Counting records ...")
def org_overview(url: str) -> pd.DataFrame:
    counts = org_object_counts(url)
    labels = {name: obj.label for name, obj in describe_org().items()}
    return pd.DataFrame(
        [
            {"Object": labels[name], "API name": name, "Records": f"{n:,}" if exact else f"{n:,}+"}
            for name, (n, exact) in counts.items()
        ]
    )


st.subheader("The org")
with shown_errors():
    st.dataframe(org_overview(org_db_url()), hide_index=True, width="content")
