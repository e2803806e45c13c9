"""A walk through every page for each role in Chromium, as a new user would take it.

Each page of the role's navigation is opened from the sidebar, must draw without an exception
and is kept as a screenshot (``walk-<role>-<nn>-<page>.png`` in CRM_SCREENSHOT_DIR) to be looked at.
An admin's pages are the researcher's and Admin, so the admin's walk opens Admin only (a test checks
that the policy still grants an admin nothing else that a page could show).
The studio is the tiny org with a task set, two agent runs and the realism study loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from studio_browser import (
    PASSWORD,
    ROOT,
    USERS,
    WATCH_SCRIPT_STATE,
    StudioServer,
    checked_values,
    click_and_settle,
    current_item,
    nav_titles,
    rate,
    screenshot,
    serve_studio,
    settle,
    sign_in,
)

from crm_core.policy import Action, can, page_spec, pages_for
from crm_core.store import AppUser, Draft, open_app_store
from crm_core.studies import load_definition, load_study, parse_study
from crm_core.users import add_user
from tests.app.runs_org import ORACLE_RUN, build_runs_studio

pytestmark = pytest.mark.browser
RATE_THE_AGENT = f"""
id: rate-the-agent
title: Rate the agent
instructions: Solve each instance, then rate the agent's run on it.
scale: [Bad, Poor, Fair, Good, Great]
dimensions:
  - id: correctness
    question: How correct is the agent's trajectory?
    applies_to: [task]
items:
  - kind: tasks
    per_task: 1
    runs: [{ORACLE_RUN}]
ratings_per_item: 1
"""


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory, tiny_org_url) -> Iterator[StudioServer]:
    folder = tmp_path_factory.mktemp("walk")
    studio = build_runs_studio(folder, tiny_org_url, USERS, PASSWORD)
    sessions = open_app_store(studio.app_url)
    with sessions() as session:
        load_study(session, ROOT / "studies" / "realism.yaml", studio.org_url)
        load_definition(session, parse_study(RATE_THE_AGENT), studio.org_url)
        add_user(session, "ella", "expert", PASSWORD)  # rates in the workbench study below
    sessions.kw["bind"].dispose()
    with serve_studio(folder, studio.org_url, studio.app_url) as server:
        yield server


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def walk(page: Page, role: str) -> list[str]:
    """Open every page of the sidebar in turn; the titles of the pages visited."""
    titles = nav_titles(page)
    for number, title in enumerate(titles, start=1):
        click_and_settle(page, page.get_by_test_id("stSidebarNavLink").filter(has_text=title).first)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, f"walk-{role}-{number:02d}-{slug(title)}")
    return titles


@pytest.mark.parametrize("username", ["erin", "rita"])
def test_every_page_of_each_role_draws_without_an_error(walk_server, context, username):
    role = USERS[username]
    page = context.new_page()
    sign_in(page, walk_server, username)
    titles = walk(page, role)
    assert "Org Explorer" in titles
    # a record and the console of the Explorer, which the sidebar does not reach directly
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Org Explorer").first.click()
    settle(page)
    page.get_by_test_id("stDataFrame").first.wait_for()
    page.goto(f"{walk_server.base_url}/explorer?object=CaseHistory__c")
    settle(page)
    screenshot(page, f"walk-{role}-90-case-history")
    page.goto(f"{walk_server.base_url}/explorer?object=Account&id=001000000000000AAA")
    settle(page)
    expect(page.get_by_text("Cannot open the record")).to_be_visible()
    screenshot(page, f"walk-{role}-91-bad-id")
    if role != "expert":
        page.goto(f"{walk_server.base_url}/explorer?view=latent")
        settle(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, f"walk-{role}-92-latent")


def test_the_admin_walks_the_pages_only_an_admin_has(walk_server, context):
    """An admin's other pages are the researcher's, drawn by the same code (the policy grants an
    admin exactly the researcher's actions and managing users and studies), walked above."""
    granted = {role: {action for action in Action if can(role, action)} for role in ("researcher", "admin")}
    assert granted["admin"] - granted["researcher"] == {Action.MANAGE_USERS, Action.MANAGE_STUDIES}
    assert granted["researcher"] <= granted["admin"]
    extra = [page_spec(p).title for p in pages_for("admin") if p not in pages_for("researcher")]
    assert extra == ["Admin"]
    page = context.new_page()
    sign_in(page, walk_server, "adam")
    titles = nav_titles(page)
    assert [t for t in titles if t not in extra] == [page_spec(p).title for p in pages_for("researcher")]
    for number, title in enumerate(extra, start=1):
        page.get_by_test_id("stSidebarNavLink").filter(has_text=title).first.click()
        settle(page)
        expect(page.locator("h1").first).to_have_text(title)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, f"walk-admin-{number:02d}-{slug(title)}")


def test_the_workbench_rating_of_the_agent_is_autosaved_and_comes_back(walk_server, context):
    page = context.new_page()
    sign_in(page, walk_server, "ella")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Task Workbench").first.click()
    settle(page)
    page.locator(".st-key-wb_answer input").fill("None")
    page.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_text("Rate the agent's trajectory")).to_be_visible()
    settle(page)
    item, dims = current_item(page)
    rate(page, item, dims[0], 4)
    # away and back: the rating is read back from the app store, not lost with the widgets
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Org Explorer").first.click()
    settle(page)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Task Workbench").first.click()
    settle(page)
    expect(page.get_by_text("Rate the agent's trajectory")).to_be_visible()
    assert checked_values(page, item, dims) == {dims[0]: 4}
    engine = create_engine(walk_server.app_url)
    with Session(engine) as session:
        stored = session.scalar(
            select(Draft.values).join(AppUser).where(Draft.item_id == int(item), AppUser.username == "ella")
        )
    engine.dispose()
    assert stored == {dims[0]: 4}
    screenshot(page, "walk-expert-95-workbench-rating-restored")


def test_a_url_of_another_roles_page_opens_home_and_says_why(walk_server, context):
    page = context.new_page()
    sign_in(page, walk_server, "erin", to="dashboard")  # an expert
    expect(page.get_by_text("The Results page is for admins and researchers")).to_be_visible()
    expect(page.get_by_text("Your pages")).to_be_visible()
    screenshot(page, "walk-expert-93-refused-results")
    # a rerun of Home keeps the notice
    page.evaluate(WATCH_SCRIPT_STATE)
    for attempt in range(5):  # the shortcut is now and then ignored: press it again
        page.locator("h1").first.click()  # the page, not a widget, has the focus
        page.keyboard.press("r")  # Streamlit's "Rerun" shortcut
        try:
            page.wait_for_function("window.scriptStates.includes('running')", timeout=2_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 4:
                raise
    settle(page)
    expect(page.get_by_text("The Results page is for admins and researchers")).to_be_visible()
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Org Explorer").first.click()
    # the Explorer must have been opened (a second click before its run starts would replace it)
    expect(page.locator("h1").first).to_have_text("Org Explorer")
    settle(page)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Home").first.click()
    settle(page)
    expect(page.get_by_text("The Results page is for")).to_have_count(0)  # said once, not on every visit
