"""CRMArena Studio: page config, first start, login on every run, role-gated navigation.

Run with ``streamlit run app.py``. The org and app databases come from ``CRM_ORG_DB`` and
``CRM_APP_DB`` (SQLite files under ``data/`` by default). On first start the org is generated
with a progress bar, the app store is migrated and an ``admin`` account is created whose
password is printed once in the terminal.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy.orm import Session, sessionmaker
from streamlit_authenticator.utilities import LoginError

import sign_in_cookie
from crm_core.db import app_db_url, display_url, org_db_url
from crm_core.policy import PAGES, Page, PageSpec, page_spec, pages_for, refusal_notice
from crm_core.store import open_app_store
from crm_core.studio.startup import (
    COOKIE_EXPIRY_DAYS,
    COOKIE_NAME,
    cookie_key,
    generate_first_org,
    org_scale,
    org_state,
)
from crm_core.users import authenticator_credentials, ensure_admin
from crm_core.users.throttle import LoginLimits, clear_failures, recent_failures, record_failure

STUDIO_DIR = Path(__file__).parent

# Failed sign-ins tolerated per username within the window (shared with the REST API's logins).
# (A comment, not a docstring: Streamlit's magic would draw a bare string on the page.)
SIGN_IN_LIMITS = LoginLimits()
LOCKED_OUT = "Maximum number of login attempts exceeded"  # streamlit-authenticator's LoginError text

st.set_page_config(page_title="CRMArena Studio", page_icon=":material/support_agent:", layout="wide")


def app_store(url: str) -> sessionmaker[Session]:
    """The app store (migrated once per process, shared with the pages); ``admin`` made on first start."""
    sessions = st.cache_resource(open_app_store)(url)
    announce_admin(url, sessions)
    return sessions


@st.cache_resource(show_spinner=False)
def announce_admin(url: str, _sessions: sessionmaker[Session]) -> None:
    """Create ``admin`` if there is no admin yet and print its password once in the terminal."""
    with _sessions() as session:
        password = ensure_admin(session)
    if password is not None:
        print(
            f"\nCRMArena Studio: created user 'admin' with password: {password}\n"
            "Write it down: it is shown only this once (reset it with `python -m crm_core users set-password`).\n",
            file=sys.stderr,
            flush=True,
        )


@st.cache_resource(show_spinner=False)
def org_generation_lock() -> threading.Lock:
    """One lock per process, so that two first visitors do not both generate the org."""
    return threading.Lock()


def ensure_org(url: str) -> None:
    """Generate the org on first start, showing the generator's progress."""
    if org_state(url) == "ready":
        return
    with org_generation_lock():
        state = org_state(url)
        if state == "ready":
            return
        if state == "incomplete":
            st.error(
                f"The org database at `{display_url(url)}` is incomplete (an interrupted generation?). "
                "Regenerate it with `python -m crm_core generate --force`, then reload this page."
            )
            st.stop()
        st.title("CRMArena Studio: first start")
        st.write(f"Generating the simulated org (scale `{org_scale()}`). This happens once.")
        bar = st.progress(0.0, text="Starting ...")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(1.0, done / total) if total else 0.0, text=f"{stage}: {done:,} / {total:,}")

        generate_first_org(url, progress)
        bar.empty()
    st.rerun()


def navigation_for(pages: Iterable[PageSpec]) -> list[st.Page]:
    """The Streamlit pages of `pages` (rows of the page table); Home is the default page."""
    return [
        st.Page(
            str(STUDIO_DIR / spec.script),
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=spec.page is Page.HOME,
        )
        for spec in pages
    ]


# Register every page (hidden) before anything else: the URL's page is then resolved in this
# first run, before the rerun after a sign-in could lose it, and a signed-out visitor who
# opened /explorer lands there after signing in. Only the role's navigation below runs a page.
# (The scripts live in studio_pages/, which Streamlit does not discover on its own, so st.navigation
# alone decides which page a URL opens.)
requested = st.navigation(navigation_for(PAGES), position="hidden")
sessions = app_store(app_db_url())
ensure_org(org_db_url())

with sessions() as session:
    credentials = authenticator_credentials(session)
# The sign-in throttle: the authenticator refuses a username with `max_login_attempts` failures
# before checking its password, so each user's failures in the window (from the app store, shared
# by every process and with the REST API) are handed to it, and new ones are stored after it ran.
failures = recent_failures(sessions, SIGN_IN_LIMITS)
for name, user in credentials["usernames"].items():
    user["failed_login_attempts"] = failures.get(name, 0)
# streamlit-authenticator sleeps 0.7 s in every run of a session not yet signed in, which gave its
# cookie component time to report back before the page was drawn. The cookie is written by a script
# in the page instead (sign_in_cookie), which reports nothing back: no sleep, no rerun.
sign_in_cookie.install()
authenticator = stauth.Authenticate(
    credentials, COOKIE_NAME, cookie_key(), COOKIE_EXPIRY_DAYS, auto_hash=False, login_sleep_time=0
)

username = st.session_state.get("username")
if st.session_state.get("authentication_status") and username not in credentials["usernames"]:
    # The account was removed while signed in: sign out now.
    authenticator.logout(location="unrendered")

was_signed_in = bool(st.session_state.get("authentication_status"))
header = st.empty()
if not was_signed_in:
    with header.container():
        st.title("CRMArena Studio")
        st.caption("Sign in to browse the simulated org, rate its realism and export results.")
locked_out = False
try:
    authenticator.login(
        location="main",
        fields={"Form name": "Sign in", "Login": "Sign in"},
        max_login_attempts=SIGN_IN_LIMITS.per_username,
    )
except LoginError as exc:
    locked_out = str(exc) == LOCKED_OUT
    if locked_out:
        minutes = SIGN_IN_LIMITS.window_seconds // 60
        st.error(
            f"Too many failed sign-ins for this username: sign-in is refused for up to {minutes} minutes. "
            "An admin can reset the password meanwhile."
        )
    else:
        st.error(str(exc))
for name, user in credentials["usernames"].items():
    if user.get("failed_login_attempts", 0) > failures.get(name, 0):  # a wrong password in this run
        record_failure(sessions, name)

status = st.session_state.get("authentication_status")
if status is False and not locked_out:
    st.error("Username or password is incorrect.")
if not status:
    st.stop()
if not was_signed_in:
    clear_failures(sessions, username=st.session_state["username"], window_seconds=SIGN_IN_LIMITS.window_seconds)
    # Signed in during this run (form or cookie): draw the app afresh, without the form, and
    # set the cookie in that run so that the rerun cannot cut its script short. (After a form
    # sign-in the library has already written it once in this run, which the rerun may cut.)
    st.session_state["set_auth_cookie"] = True
    st.rerun()
if st.session_state.pop("set_auth_cookie", False):
    authenticator.cookie_controller.set_cookie()

username = st.session_state["username"]
role = credentials["usernames"][username]["roles"][0]
st.session_state["roles"] = [role]  # the database decides, every run

with st.sidebar:
    st.markdown(f"**{credentials['usernames'][username]['name']}**  \n`{username}` · {role}")
    # Signed out in the click's callback, before the next run draws anything: that run shows the
    # form, and carries the script deleting the cookie to the browser.
    st.button("Sign out", key="sign_out", on_click=authenticator.logout, kwargs={"location": "unrendered"})

# The URL names a page of another role: Home opens instead, and says why until another page is
# opened (a rerun of Home keeps the notice).
notice = refusal_notice(role, requested.url_path)
if notice:
    st.session_state["refused_page_notice"] = notice
elif requested.url_path.strip("/") not in {"", page_spec(Page.HOME).url_path}:
    st.session_state.pop("refused_page_notice", None)
st.navigation(navigation_for(page_spec(page) for page in pages_for(role))).run()
