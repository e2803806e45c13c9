"""Home: who is signed in, what each page is for, and the org's size."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.db import org_db_url
from crm_core.org.metadata import describe_org
from crm_core.policy import Page, page_spec, pages_for
from crm_core.studio.explorer import org_object_counts
from crm_core.studio.startup import signed_in_role
from page_gate import shown_errors

role = signed_in_role(st.session_state)
if not pages_for(role):
    st.error("Sign in to use CRMArena Studio.")
    st.stop()

st.title("CRMArena Studio")
notice = st.session_state.get("refused_page_notice")  # app.py drops it when another page opens
if notice:
    st.warning(notice)
st.write(f"Signed in as **{st.session_state.get('name') or st.session_state['username']}** ({role}).")

st.subheader("Your pages")
for spec in (page_spec(page) for page in pages_for(role) if page is not Page.HOME):
    st.markdown(f"- **{spec.title}**: {spec.purpose}")


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
