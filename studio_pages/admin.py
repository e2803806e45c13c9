"""Admin: users (add, role, reset password) and studies (load, close, reopen, progress)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from crm_core.db import org_db_url
from crm_core.errors import UserFacingError
from crm_core.policy import Page, Role
from crm_core.studies import close_study, list_studies, load_study_file, progress, reopen_study
from crm_core.users import add_user, list_users, set_password, set_role
from page_gate import page_app_store, require_page

require_page(Page.ADMIN)

sessions = page_app_store()
STUDIES_DIR = Path(__file__).resolve().parent.parent / "studies"
ROLES = [r.value for r in Role]


def report(outcome: str) -> None:
    """Keep a one-time message (e.g. a generated password) across the rerun after a form."""
    st.session_state["admin_message"] = outcome


st.title("Admin")
if "admin_message" in st.session_state:
    st.success(st.session_state.pop("admin_message"))
users_tab, studies_tab = st.tabs(["Users", "Studies"])

with users_tab:
    with sessions() as session:
        users = list_users(session)
        st.dataframe(
            pd.DataFrame(
                [{"Username": u.username, "Name": u.name, "Role": u.role, "Created (UTC)": u.created_at} for u in users]
            ),
            hide_index=True,
        )
    usernames = [u.username for u in users]
    add_col, role_col, password_col = st.columns(3)
    with add_col.form("add_user", clear_on_submit=True):
        st.markdown("**Add a user**")
        new_username = st.text_input("Username", key="new_username")
        new_name = st.text_input("Full name (optional)", key="new_name")
        new_role = st.selectbox("Role", ROLES, key="new_role")
        new_password = st.text_input("Password (empty: generate one)", type="password", key="new_password")
        if st.form_submit_button("Add user"):
            try:
                with sessions() as session:
                    user, generated = add_user(
                        session, new_username, new_role, new_password or None, name=new_name.strip() or None
                    )
            except UserFacingError as exc:
                st.error(str(exc))
            else:
                extra = f" Password (shown once): `{generated}`" if generated else ""
                report(f"Added {user.username} ({user.role}).{extra}")
                st.rerun()
    with role_col.form("set_role"):
        st.markdown("**Change a role**")
        who = st.selectbox("User", usernames, key="role_user")
        role = st.selectbox("New role", ROLES, key="role_value")
        if st.form_submit_button("Set role") and who:
            try:
                with sessions() as session:
                    set_role(session, who, role)
            except UserFacingError as exc:
                st.error(str(exc))
            else:
                report(f"{who} is now {role}.")
                st.rerun()
    with password_col.form("reset_password", clear_on_submit=True):
        st.markdown("**Reset a password**")
        whose = st.selectbox("User", usernames, key="password_user")
        typed = st.text_input("New password (empty: generate one)", type="password", key="password_value")
        if st.form_submit_button("Reset password") and whose:
            try:
                with sessions() as session:
                    generated = set_password(session, whose, typed or None)
            except UserFacingError as exc:
                st.error(str(exc))
            else:
                extra = f" New password (shown once): `{generated}`" if generated else ""
                report(f"Password of {whose} reset; their API tokens are revoked.{extra}")
                st.rerun()

with studies_tab:
    with sessions() as session:
        studies = list_studies(session)
        rows = []
        for study in studies:
            p = progress(session, study.id)
            rows.append(
                {
                    "Study": study.id,
                    "Title": study.title,
                    "Status": study.status,
                    "Items": p.items,
                    "Ratings done": f"{p.ratings_done} / {p.ratings_required}",
                    "Items complete": p.items_complete,
                    "Drafts open": p.drafts_open,
                    "Raters": ", ".join(f"{name} ({n})" for name, n in p.submitted_by_rater.items()),
                }
            )
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("No study loaded yet.")
    load_col, close_col = st.columns(2)
    with load_col.form("load_study"):
        st.markdown("**Load a study** from `studies/`")
        files = sorted(p.name for p in STUDIES_DIR.glob("*.yaml"))
        chosen = st.selectbox("Study file", files, key="study_file")
        if st.form_submit_button("Load study") and chosen:
            try:
                with sessions() as session, st.spinner("Sampling items from the org ..."):
                    loaded = load_study_file(session, STUDIES_DIR / chosen, org_db_url())
            except UserFacingError as exc:
                st.error(str(exc))
            else:
                report(loaded.message())
                st.rerun()
    with close_col.form("close_study"):
        st.markdown("**Close or reopen a study**")
        status = {s.id: s.status for s in studies}
        target = st.selectbox("Study", list(status), format_func=lambda sid: f"{sid} ({status[sid]})", key="close_id")
        close, reopen = st.columns(2)
        closing = close.form_submit_button("Close study")
        reopening = reopen.form_submit_button("Reopen study")
        if (closing or reopening) and target:
            try:
                with sessions() as session:
                    (close_study if closing else reopen_study)(session, target)
            except UserFacingError as exc:
                st.error(str(exc))
            else:
                report(f"Study {target} is {'closed' if closing else 'open'}.")
                st.rerun()
